// Names from a tar are hostile input. Two rules keep every write inside the
// destination:
// 1. Names are cleaned lexically first (cleanEntryName): "." and empty
//    components dropped, ".." applied; a leading "/" is stripped as docker
//    does (so "/etc/x" and "/../x" land at "etc/x" and "x"); a relative name
//    whose ".." climbs above the root is refused as a breakout.
// 2. The parents of a cleaned name are walked one component at a time with
//    lstat, never following a symlink (DirWalker). A parent that is a symlink
//    is refused, even one that points inside: a well-formed layer never needs
//    to write through a symlink (layers are made by walking a filesystem
//    without following links), so refusing is both safe and compatible.
// Node has no openat(2) / O_PATH, so this is check-then-use on paths; that is
// sound because the destination is a private directory nobody else writes to
// while we unpack (the snapshotter unpacks into a fresh temporary directory).
// Races with a concurrently running container (CVE-2018-15664) are out of scope.
//
// The calls are synchronous on purpose (here and in writer.ts): each is a
// microsecond syscall, and going through libuv's thread pool costs a round
// trip per call that made unpacking several times slower than GNU tar. The
// event loop still runs between entries, while the next one is read.
import { chmodSync, lstatSync, mkdirSync, type Stats } from "node:fs";
import { lstat } from "node:fs/promises";
import * as path from "node:path";
import { UnpackError } from "./errors.js";

/** NAME_MAX and PATH_MAX of Linux: longer names fail in the kernel anyway; we fail first, with the name. */
export const NAME_MAX = 255;
export const PATH_MAX = 4096;

/**
 * Cleans a tar entry name into a path relative to the destination root, using
 * "/" separators and no "." or ".." components. Returns "" for the root itself.
 */
export function cleanEntryName(name: string): string {
  if (name.includes("\0")) throw new UnpackError("invalid", `entry name contains a NUL byte: ${JSON.stringify(name)}`, { entry: name });
  if (name === "") throw new UnpackError("invalid", "entry has an empty name", { entry: name });
  const absolute = name.startsWith("/");
  const out: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0) out.pop();
      // Above the root: "/.." is "/" (docker strips the leading slash the same way).
      else if (!absolute) throw new UnpackError("breakout", `entry ${JSON.stringify(name)} points outside the layer`, { entry: name });
      continue;
    }
    if (Buffer.byteLength(part) > NAME_MAX) {
      throw new UnpackError("invalid", `entry ${JSON.stringify(truncate(name))} has a component longer than ${NAME_MAX} bytes`, { entry: name });
    }
    out.push(part);
  }
  return out.join("/");
}

function truncate(name: string): string {
  return name.length > 120 ? `${name.slice(0, 120)}...` : name;
}

export async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** lstat that returns undefined for a missing path (synchronous, see above). */
export function lstatSyncOrUndefined(p: string): Stats | undefined {
  return lstatSync(p, { throwIfNoEntry: false });
}

/**
 * Resolves cleaned names under `root` without following symlinks, creating
 * missing parent directories (mode 0755, owned by us) as tar does. Directories
 * already verified are cached; forget() must be called when a path is removed.
 */
export class DirWalker {
  private readonly known = new Set<string>([""]);

  constructor(readonly root: string) {}

  abs(rel: string): string {
    return rel === "" ? this.root : `${this.root}/${rel}`;
  }

  /** Checks the absolute path fits PATH_MAX (the kernel refuses longer ones with ENAMETOOLONG). */
  checkLength(rel: string, entry: string): void {
    if (Buffer.byteLength(this.abs(rel)) >= PATH_MAX) {
      throw new UnpackError("invalid", `entry ${JSON.stringify(truncate(entry))} is too long (path exceeds ${PATH_MAX} bytes)`, { entry });
    }
  }

  /** Makes `rel` and all its parents real directories, refusing symlinks and non-directories on the way. */
  ensureDir(rel: string, entry: string): void {
    this.walk(rel, entry, true);
  }

  /**
   * Verifies every component of `rel` is an existing real directory. Returns
   * false if one is missing; throws for a symlink or a non-directory.
   */
  isDir(rel: string, entry: string): boolean {
    return this.walk(rel, entry, false);
  }

  /** Drops cached knowledge of `rel` and everything below it (after removing it). */
  forget(rel: string): void {
    const prefix = `${rel}/`;
    for (const k of this.known) if (k === rel || k.startsWith(prefix)) this.known.delete(k);
  }

  /** Records that `rel` is now a directory we created or verified. */
  remember(rel: string): void {
    this.known.add(rel);
  }

  private walk(rel: string, entry: string, create: boolean): boolean {
    if (this.known.has(rel)) return true;
    const parts = rel.split("/");
    let cur = "";
    for (const part of parts) {
      cur = cur === "" ? part : `${cur}/${part}`;
      if (this.known.has(cur)) continue;
      const p = this.abs(cur);
      const st = lstatSyncOrUndefined(p);
      if (st === undefined) {
        if (!create) return false;
        // mkdir never follows a symlink in the last component: it fails with EEXIST.
        mkdirSync(p, { mode: 0o755 });
        chmodSync(p, 0o755); // exact, whatever the process umask
      } else if (st.isSymbolicLink()) {
        throw new UnpackError("breakout", `entry ${JSON.stringify(entry)} goes through symlink ${JSON.stringify(cur)}`, { entry });
      } else if (!st.isDirectory()) {
        throw new UnpackError("invalid", `entry ${JSON.stringify(entry)}: ${JSON.stringify(cur)} is not a directory`, { entry });
      }
      this.known.add(cur);
    }
    return true;
  }
}

/** dirname for cleaned relative names ("" for top-level entries). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "" : rel.slice(0, i);
}

export function baseOf(rel: string): string {
  return path.posix.basename(rel);
}
