// Why talking to a registry failed. A caller (pull, the reconciler's retry
// policy, the CLI) decides by code; the message is for the user and always
// names the registry and the reference involved.
//   unauthorized   401: no or wrong credentials (or the token server refused them)
//   denied         403: authenticated, but not allowed
//   not-found      404: manifest, blob or repository unknown
//   invalid-manifest  the registry sent something that is not a usable manifest
//   unsupported    a manifest kind we do not pull (schema 1, unknown media type)
//   digest-mismatch   bytes do not hash to the digest they were asked for
//   truncated      the body ended before the size the descriptor promised
//   platform       an index has no manifest for the requested platform
//   unavailable    connection failures and 5xx after all retries
//   protocol       any other answer the distribution API does not allow
import type { ErrorKind, KindedError } from "../errors.js";

export type RegistryErrorCode =
  | "unauthorized"
  | "denied"
  | "not-found"
  | "invalid-manifest"
  | "unsupported"
  | "digest-mismatch"
  | "truncated"
  | "platform"
  | "unavailable"
  | "protocol";

// The kind of each code: what the registry's answer means to our caller.
const REGISTRY_KINDS: Readonly<Record<RegistryErrorCode, ErrorKind>> = {
  unauthorized: "unauthorized",
  denied: "forbidden",
  "not-found": "not-found",
  platform: "not-found",
  unsupported: "invalid",
  // The registry (or the path to it) failed us: another try, or another registry, may do.
  "invalid-manifest": "unavailable",
  "digest-mismatch": "unavailable",
  truncated: "unavailable",
  unavailable: "unavailable",
  protocol: "unavailable",
};

export class RegistryError extends Error implements KindedError {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RegistryError";
    this.status = options?.status;
    this.kind = REGISTRY_KINDS[code];
  }

  readonly kind: ErrorKind;

  /** The HTTP status that caused the error, when there was one. */
  readonly status: number | undefined;
}

/** The `errors` array of a distribution API error body, rendered as "CODE: message; ...". */
export function describeErrorBody(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: unknown; message?: unknown }[] };
    if (!Array.isArray(parsed.errors) || parsed.errors.length === 0) return undefined;
    return parsed.errors
      .map((e) => [e.code, e.message].filter((part) => typeof part === "string" && part !== "").join(": "))
      .filter(Boolean)
      .join("; ");
  } catch {
    return undefined;
  }
}
