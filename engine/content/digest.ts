// Content digests ("sha256:<64 lowercase hex>"), following opencontainers/go-digest.
//
// Only sha256 is accepted. Registries and the OCI spec also know sha512, but
// every image in practice is addressed by sha256, and a digest we cannot
// compute is a digest we cannot verify; rejecting it loudly beats storing
// content we never checked.
import { createHash } from "node:crypto";
import { ContentError } from "./types.js";
import type { Digest } from "./types.js";

const SHA256_HEX = /^[a-f0-9]{64}$/;
// go-digest's algorithm grammar: components joined by one of + . _ -
const ALGORITHM = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;

/** True when `value` is a well-formed sha256 digest. */
export function isDigest(value: unknown): value is Digest {
  return (
    typeof value === "string" && value.length === 71 && value.startsWith("sha256:") && SHA256_HEX.test(value.slice(7))
  );
}

/**
 * Validates `value` as a digest and returns it typed. Throws
 * ContentError("invalid-digest") naming what is wrong: the shape, an
 * unsupported algorithm, or the hex part.
 */
export function parseDigest(value: string): Digest {
  if (isDigest(value)) return value;
  const colon = value.indexOf(":");
  if (colon <= 0) {
    throw new ContentError("invalid-digest", `invalid digest ${JSON.stringify(value)}: expected "<algorithm>:<hex>"`);
  }
  const algorithm = value.slice(0, colon);
  if (!ALGORITHM.test(algorithm)) {
    throw new ContentError("invalid-digest", `invalid digest ${JSON.stringify(value)}: malformed algorithm`);
  }
  if (algorithm !== "sha256") {
    throw new ContentError(
      "invalid-digest",
      `unsupported digest algorithm ${JSON.stringify(algorithm)} in ${JSON.stringify(value)}: only sha256 is supported`,
    );
  }
  throw new ContentError(
    "invalid-digest",
    `invalid digest ${JSON.stringify(value)}: sha256 needs exactly 64 lowercase hex characters`,
  );
}

/** The hex part of a digest, as used for file names. */
export function digestHex(digest: Digest): string {
  return digest.slice(7);
}

/** The sha256 digest of an in-memory blob. */
export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}
