// Why an unpack failed. The codes are few on purpose: a caller only needs to
// tell a hostile or broken layer (never retry) from a local failure (io).
//   breakout     an entry tried to reach outside the destination (.., a path
//                through a symlink, a hard link to something outside)
//   invalid      an entry that cannot be applied as written (empty or NUL in a
//                name, name too long, hard link to a missing file or a directory,
//                a path whose parent is not a directory)
//   unsupported  a format we do not read (zstd without zlib support, bzip2, xz)
//   corrupt      the stream is not a readable tar (bad checksum, truncated, bad gzip)
//   limit        the layer is larger than the snapshotter allows (a compression
//                bomb, too many entries: limits.ts)
//   io           the local filesystem failed (ENOSPC, EACCES ...)
import { kindOf } from "../errors.js";
import type { ErrorKind, KindedError } from "../errors.js";

export type UnpackErrorCode = "breakout" | "invalid" | "unsupported" | "corrupt" | "limit" | "io";

export class UnpackError extends Error implements KindedError {
  constructor(
    readonly code: UnpackErrorCode,
    message: string,
    options?: { cause?: unknown; entry?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UnpackError";
    this.entry = options?.entry;
    // A broken or hostile layer is invalid whatever the reason; a local failure is what the OS said (ENOSPC ...).
    this.kind = code === "io" ? kindOf(options?.cause) : "invalid";
  }

  readonly kind: ErrorKind;

  /** The tar entry name (as written in the archive) that caused the failure, if any. */
  readonly entry: string | undefined;
}
