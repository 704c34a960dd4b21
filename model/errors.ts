// The one error vocabulary of tscompose. Every error class of every layer
// carries a `kind`; callers decide by kind (a gone container is fine to
// remove, a conflict is skipped by prune), the daemon answers the HTTP status
// of the kind (src/daemon/http.ts), the client rebuilds it from the answer
// (the wire carries it as `kind`) and the CLI exits with its exit code
// (src/cli/errors.ts). Finer codes (RegistryError's "platform",
// UnpackError's "breakout") stay on their classes for the few callers that
// need them; the kind is what crosses a layer. It lives in model/, below every
// layer and importing nothing, because every layer speaks it: the engine
// raises it, the daemon sends it, the CLI and the TUI (which may import nothing
// from engine/) read it. The engine's own class, EngineError, is in
// engine/errors.ts.

export const ERROR_KINDS = [
  "not-found", // no such container, image, network, volume, blob, file
  "conflict", // the object is in the wrong state or in use: exists already, not running, still referenced
  "invalid", // the request cannot be carried out as written: a bad name, value, reference, profile, layer
  "unauthorized", // no or wrong credentials (a registry's 401)
  "forbidden", // authenticated but not allowed (a registry's 403, EACCES)
  "unavailable", // a service we depend on is down or answers nonsense: worth retrying later
  "timeout", // something we waited for did not finish in time
  "no-space", // a full filesystem or an exceeded quota
  "internal", // anything else: a bug or a failure of the machine
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

/** What every error class of tscompose carries. */
export interface KindedError extends Error {
  readonly kind: ErrorKind;
}

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === "string" && (ERROR_KINDS as readonly string[]).includes(value);
}

// Node's and libc's error codes, for the errors that reach us without a class of ours.
const ERRNO_KINDS: Readonly<Record<string, ErrorKind>> = {
  ENOENT: "not-found",
  EEXIST: "conflict",
  ENOTEMPTY: "conflict",
  EBUSY: "conflict",
  EINVAL: "invalid",
  ENOTDIR: "invalid",
  EISDIR: "invalid",
  ENAMETOOLONG: "invalid",
  EACCES: "forbidden",
  EPERM: "forbidden",
  ECONNREFUSED: "unavailable",
  ECONNRESET: "unavailable",
  EHOSTUNREACH: "unavailable",
  ENETUNREACH: "unavailable",
  EAI_AGAIN: "unavailable",
  ETIMEDOUT: "timeout",
  ENOSPC: "no-space",
  EDQUOT: "no-space",
};

/**
 * The kind of any thrown value: its own `kind`, else the one its Node error
 * code says, else that of its cause (a plain Error wrapping one of ours keeps
 * its meaning), else "internal".
 */
export function kindOf(err: unknown): ErrorKind {
  let e: unknown = err;
  for (let depth = 0; typeof e === "object" && e !== null && depth < 10; depth++) {
    const { kind, code, cause } = e as { kind?: unknown; code?: unknown; cause?: unknown };
    if (isErrorKind(kind)) return kind;
    if (typeof code === "string" && Object.hasOwn(ERRNO_KINDS, code)) return ERRNO_KINDS[code] as ErrorKind;
    e = cause;
  }
  return "internal";
}
