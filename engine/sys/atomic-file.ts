// The one way tscompose persists a small file (records, metadata, IPAM, jobs,
// credentials): whole or not at all, even across kill -9 and power loss.
//
//   1. write to a unique temporary name in the same directory (".tmp-<name>-<random>":
//      two writers of the same path never share a temp file, unlike a fixed ".tmp"),
//   2. fsync the file (its content is on disk before any name points to it),
//   3. rename(2) it over the target (atomic within a filesystem),
//   4. fsync the directory (the rename itself survives a power loss).
//
// A crash leaves at most a ".tmp-" file beside the target, which readers ignore
// and cleanTemp reclaims. The mode is the caller's (default 0600: records hold
// environments, i.e. secrets) and is set at open, so there is no window where
// the file is readable with the umask's mode.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { KindedError } from "../errors.js";

export const TEMP_PREFIX = ".tmp-";

export interface AtomicWriteOptions {
  /** File mode, default 0o600. */
  mode?: number;
  /**
   * fsync file and directory (default true). Only tests of other logic turn
   * it off, to save the disk's time.
   */
  sync?: boolean;
}

function tempName(file: string): string {
  return join(dirname(file), `${TEMP_PREFIX}${basename(file)}-${randomBytes(6).toString("hex")}`);
}

/** Whether a directory entry is a temporary file of writeFileAtomic (to skip when listing records). */
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const sync = opts.sync ?? true;
  const tmp = tempName(file);
  // "wx": a name that exists (a stale temp file or someone's symlink) is never written through.
  const handle = await open(tmp, "wx", opts.mode ?? 0o600);
  try {
    await handle.writeFile(data);
    if (sync) await handle.sync();
    await handle.close();
    await rename(tmp, file);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (sync) await syncDir(dirname(file));
}

/** The same for synchronous callers (stores whose API is synchronous). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const sync = opts.sync ?? true;
  const tmp = tempName(file);
  const fd = openSync(tmp, "wx", opts.mode ?? 0o600);
  let closed = false;
  try {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    if (sync) fsyncSync(fd);
    closeSync(fd);
    closed = true;
    renameSync(tmp, file);
  } catch (err) {
    if (!closed) {
      try {
        closeSync(fd);
      } catch {
        // already failing: the first error is the one to report
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to remove
    }
    throw err;
  }
  if (sync) {
    const dfd = openSync(dirname(file), "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }
}

/** fsync a directory, making the renames and creations in it durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Parses a JSON file; undefined when it does not exist; throws an error naming the file when it does not parse. */
export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CorruptFileError(file, (err as Error).message);
  }
}

/** A persisted file that exists but does not parse: never a reason to delete what it describes. */
export class CorruptFileError extends Error implements KindedError {
  readonly kind = "internal";

  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: invalid JSON (${reason})`);
    this.name = "CorruptFileError";
  }
}

/**
 * Removes temporary files older than `olderThanMs` (left by a killed writer).
 * Younger ones may belong to a live writer in another process.
 */
export async function cleanTemp(dir: string, olderThanMs: number): Promise<void> {
  const cutoff = Date.now() - olderThanMs;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!isTempName(name)) continue;
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    if (st && st.mtimeMs < cutoff) await unlink(path).catch(() => undefined);
  }
}

/** What setAside appends to a corrupt file's name; such files are kept for a human, never read nor deleted by tscompose. */
export const CORRUPT_SUFFIX = ".corrupt-";

function asideName(file: string): string {
  return `${file}${CORRUPT_SUFFIX}${new Date().toISOString().replace(/[:.]/g, "-")}`;
}

/**
 * Moves a persisted file that cannot be used out of the way
 * (<file>.corrupt-<time>), so that a rebuilt one can take its place while
 * the bad one stays for inspection. The new name; undefined if it was gone.
 */
export async function setAside(file: string): Promise<string | undefined> {
  const aside = asideName(file);
  try {
    await rename(file, aside);
    return aside;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** setAside for synchronous callers. */
export function setAsideSync(file: string): string | undefined {
  const aside = asideName(file);
  try {
    renameSync(file, aside);
    return aside;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
