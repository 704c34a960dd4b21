// Chain IDs per the OCI image spec (config.md, "Layer ChainID"):
//   chainID(L0) = diffID(L0)
//   chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln))   (hex digest, "sha256:" prefixed)
import { createHash } from "node:crypto";
import type { Digest } from "../content/types.js";
import type { ChainId } from "./types.js";

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: string): value is Digest {
  return DIGEST.test(value);
}

export function chainId(parent: ChainId | undefined, diffId: Digest): ChainId {
  if (parent === undefined) return diffId;
  return `sha256:${createHash("sha256").update(`${parent} ${diffId}`).digest("hex")}`;
}

/** Chain IDs of every prefix of an image's layers, base first. */
export function chainIds(diffIds: readonly Digest[]): ChainId[] {
  const out: ChainId[] = [];
  let parent: ChainId | undefined;
  for (const diffId of diffIds) {
    parent = chainId(parent, diffId);
    out.push(parent);
  }
  return out;
}

/** The 64 hex digits of a digest (directory names). */
export function digestHex(digest: Digest): string {
  return digest.slice("sha256:".length);
}
