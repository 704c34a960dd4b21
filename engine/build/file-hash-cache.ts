// Content hashes of build-context files remembered across reads of the same
// context, so an unchanged context costs an lstat per file rather than a read
// and a sha256 of every byte (the daemon hashes the contexts of a stack's
// builds at every `up`, for the config hash). A hash is reused only while the
// file's stamp (device, inode, size, mtime and ctime) is the same. A file
// changed within RACY_MS of being hashed is not remembered: two writes of the
// same size inside one timestamp tick of a coarse-clock file system leave the
// same stamp (git's "racily clean" entries), so such a file is hashed again
// next time, by which time its stamp is old enough to trust.
import type { Stats } from "node:fs";

const RACY_MS = 2000;

export interface FileStamp {
  key: string;
  ctimeMs: number;
}

export function fileStamp(st: Stats): FileStamp {
  return { key: `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`, ctimeMs: st.ctimeMs };
}

export class FileHashCache {
  private readonly hashes = new Map<string, { stamp: string; hash: string }>();

  /** `maxEntries`: past it the cache starts over (it only saves work; files of contexts long gone would otherwise stay). */
  constructor(
    private readonly maxEntries = 1_000_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.hashes.size;
  }

  /** The hash remembered for `file` (an absolute path) if its stamp is still `stamp`. */
  get(file: string, stamp: FileStamp): string | undefined {
    const hit = this.hashes.get(file);
    return hit?.stamp === stamp.key ? hit.hash : undefined;
  }

  set(file: string, stamp: FileStamp, hash: string): void {
    if (this.now() - stamp.ctimeMs < RACY_MS) {
      this.hashes.delete(file);
      return;
    }
    if (this.hashes.size >= this.maxEntries && !this.hashes.has(file)) this.hashes.clear();
    this.hashes.set(file, { stamp: stamp.key, hash });
  }
}

/**
 * The process's one cache of context file hashes: the daemon's config-hash
 * digest of a context at `up` and the embedded builder's COPY hashing read
 * the same files, so `up --build` reads and hashes each file once, not once
 * for each. Keys are absolute paths with their stamps, whichever engine asks.
 */
export const contextFileHashes = new FileHashCache();
