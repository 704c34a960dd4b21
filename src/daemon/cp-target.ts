// Where `cp SRC DST` puts SRC: docker cp's path rules, for both directions
// (the daemon stats both sides, then the copier writes SRC *as* the returned
// path). From docker's `cp` reference:
// - SRC a file: DST missing -> a file DST (its parent must exist; "DST/" must
//   exist); DST a file -> overwritten; DST a directory -> DST/basename(SRC).
// - SRC a directory: DST missing -> made, with SRC's contents; DST a file ->
//   error; DST a directory -> DST/basename(SRC), or with "SRC/." SRC's
//   contents into DST itself.
// - "SRC/" or "SRC/." when SRC is not a directory -> error.
import { posix } from "node:path";
import type { ErrorKind, KindedError } from "../../model/errors.js";
import type { ContainerPathKind } from "../../engine/types.js";

export interface CopyEnd {
  /** As the user wrote it (a trailing "/" or "/." matters). */
  path: string;
  /** What it is; SRC's last link followed only with -L, DST's always (undefined: not there). */
  kind: ContainerPathKind | undefined;
}

export class CopyPathError extends Error implements KindedError {
  readonly kind: ErrorKind;

  constructor(message: string, notFound = false) {
    super(message);
    this.name = "CopyPathError";
    this.kind = notFound ? "not-found" : "invalid";
  }
}

/** The path SRC is copied as (DST, or DST/basename(SRC)); throws CopyPathError when docker cp refuses. */
export function copyTarget(src: CopyEnd, dst: CopyEnd & { parentIsDirectory: boolean }): string {
  if (src.kind === undefined) throw new CopyPathError(`could not find the file ${src.path}`, true);
  const contentsOnly = /(^|\/)\.$/.test(src.path);
  const srcDir = src.kind === "directory";
  if (!srcDir && (contentsOnly || src.path.endsWith("/"))) throw new CopyPathError(`${src.path}: not a directory`);
  const base = posix.basename(posix.normalize(src.path.replace(/\/+$/, "") || "/"));
  const into = (dir: string): string => (base === "" || base === "." || base === "/" ? dir : posix.join(dir, base));
  if (dst.kind === undefined) {
    if (!srcDir && dst.path.endsWith("/")) throw new CopyPathError(`destination directory ${dst.path} must exist`, true);
    if (!dst.parentIsDirectory) throw new CopyPathError(`no such directory: ${posix.dirname(dst.path.replace(/\/+$/, "") || "/")}`, true);
    return dst.path;
  }
  if (dst.kind === "directory") return srcDir && contentsOnly ? dst.path : into(dst.path);
  if (srcDir) throw new CopyPathError(`cannot copy a directory to a file: ${dst.path}`);
  if (dst.path.endsWith("/")) throw new CopyPathError(`${dst.path}: not a directory`);
  return dst.path;
}
