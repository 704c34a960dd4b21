// The local content store, laid out like containerd's content/local:
//
//   <root>/blobs/sha256/<hex>   committed blobs, read-only, named by their digest
//   <root>/ingest/<random>      one file per writer while bytes arrive
//
// A blob becomes visible only by rename(2) of a fully written, verified ingest
// file, so readers never see partial content and a crash leaves at most an
// orphaned ingest file (reclaimed by cleanIngest). See types.ts for the
// lifecycle every ContentStore follows.
import { createHash, randomBytes } from "node:crypto";
import type { Hash } from "node:crypto";
import * as fs from "node:fs";
import { mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import type { Readable } from "node:stream";
import { digestHex, parseDigest, sha256Digest } from "./digest.js";
import { ContentError } from "./types.js";
import type { BlobInfo, BlobWriter, ContentStore, Digest } from "./types.js";

export interface LocalContentStoreOptions {
  /**
   * fsync each blob before it becomes visible (default true). Only worth
   * turning off for throwaway roots such as tests.
   */
  sync?: boolean;
}

// Writes are pipelined: each chunk is copied into the writer's own batch
// buffer, hashed there and acknowledged at once; full batches go to disk in
// the background. The source keeps reading while earlier bytes are written, so
// reading, hashing and writing overlap and a blob costs about one sha256 pass
// (as `sha256sum`). The copy (a memcpy, cheap next to sha256) is what makes the
// early acknowledgement safe: a source may reuse its buffer once the callback
// ran, and the bytes on disk are by construction the bytes that were hashed.
// At most MAX_UNWRITTEN bytes per writer wait for the disk; beyond that the
// stream pushes back, so parallel layer downloads hold little memory each.
const WRITE_BATCH = 1024 * 1024;
const MAX_UNWRITTEN = 8 * 1024 * 1024;
const READ_HIGH_WATER_MARK = 256 * 1024;
// Blobs never change after commit; a read-only mode makes a tool that was given
// path() and tries to edit the file in place fail instead of corrupting it.
const BLOB_MODE = 0o444;
const HEX_NAME = /^[a-f0-9]{64}$/;

// Ingest files of live writers in this process, across every store instance,
// so cleanIngest never pulls a file out from under a writer still in use.
const liveIngests = new Set<string>();

export class LocalContentStore implements ContentStore {
  readonly root: string;
  readonly #sync: boolean;

  private constructor(root: string, sync: boolean) {
    this.root = root;
    this.#sync = sync;
  }

  /** Opens (creating when needed) the store at `root`. */
  static async open(root: string, options: LocalContentStoreOptions = {}): Promise<LocalContentStore> {
    const absolute = resolve(root);
    await mkdir(absolute, { recursive: true, mode: 0o700 });
    await mkdir(join(absolute, "blobs", "sha256"), { recursive: true });
    await mkdir(join(absolute, "ingest"), { recursive: true });
    return new LocalContentStore(absolute, options.sync ?? true);
  }

  path(digest: Digest): string {
    return join(this.root, "blobs", "sha256", digestHex(parseDigest(digest)));
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.info(digest)) !== undefined;
  }

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const stats = await stat(this.path(digest));
      return { digest, size: stats.size };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  read(digest: Digest): Readable {
    const path = this.path(digest);
    // The stream opens lazily, so a missing blob can only surface as a stream
    // error; wrapping open() turns ENOENT into the store's own not-found.
    return fs.createReadStream(path, {
      highWaterMark: READ_HIGH_WATER_MARK,
      fs: {
        open: (
          file: fs.PathLike,
          flags: fs.OpenMode,
          mode: fs.Mode | null | undefined,
          callback: (error: Error | null, fd?: number) => void,
        ) => {
          fs.open(file, flags, mode, (error, fd) => {
            callback(error && isNotFound(error) ? notFound(digest, error) : error, fd);
          });
        },
        read: fs.read,
        close: fs.close,
      },
    });
  }

  async readBytes(digest: Digest): Promise<Buffer> {
    try {
      return await readFile(this.path(digest));
    } catch (error) {
      if (isNotFound(error)) throw notFound(digest, error);
      throw error;
    }
  }

  async put(data: Buffer, expected?: Digest): Promise<BlobInfo> {
    const actual = sha256Digest(data);
    if (expected !== undefined && parseDigest(expected) !== actual) throw digestMismatch(expected, actual);
    const existing = await this.info(actual);
    if (existing) return existing;
    const writer = await this.writer(actual, data.length);
    writer.stream.end(data);
    return writer.commit();
  }

  async writer(expected: Digest, size?: number): Promise<BlobWriter> {
    const digest = parseDigest(expected);
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
      throw new RangeError(`invalid blob size ${size} for ${digest}`);
    }
    const ingest = join(this.root, "ingest", randomBytes(16).toString("hex"));
    const file = await open(ingest, "wx", BLOB_MODE);
    liveIngests.add(ingest);
    return new IngestWriter({ file, ingest, target: this.path(digest), digest, size, sync: this.#sync });
  }

  /** Removes a committed blob. Throws ContentError("not-found") when it is absent. */
  async delete(digest: Digest): Promise<void> {
    try {
      await unlink(this.path(digest));
    } catch (error) {
      if (isNotFound(error)) throw notFound(digest, error);
      throw error;
    }
  }

  async list(): Promise<BlobInfo[]> {
    const dir = join(this.root, "blobs", "sha256");
    const names = (await readdir(dir)).filter((name) => HEX_NAME.test(name));
    const infos = await Promise.all(names.map((name) => this.info(`sha256:${name}`)));
    // A blob deleted between readdir and stat is simply gone.
    return infos.filter((info): info is BlobInfo => info !== undefined);
  }

  /**
   * Removes ingest files left by writers that died (kill -9, crash) and have
   * not been touched for `olderThanMs`; returns how many were removed. Files of
   * this process's live writers are kept whatever their age. A writer in
   * another process that stalls longer than `olderThanMs` loses its file and
   * fails at commit, so pick an age well beyond any plausible stall.
   */
  async cleanIngest(olderThanMs: number): Promise<number> {
    const dir = join(this.root, "ingest");
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      if (liveIngests.has(path)) continue;
      try {
        if ((await stat(path)).mtimeMs > cutoff) continue;
        await unlink(path);
        removed++;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return removed;
  }
}

interface IngestWriterOptions {
  file: FileHandle;
  ingest: string;
  target: string;
  digest: Digest;
  size: number | undefined;
  sync: boolean;
}

class IngestWriter implements BlobWriter {
  readonly stream: Writable;
  readonly #options: IngestWriterOptions;
  readonly #hash: Hash = createHash("sha256");
  // Bytes accepted (and hashed) so far.
  #written = 0;
  // Accepted bytes not yet handed to the disk, and where they will go.
  #batch: Buffer | undefined;
  #batchBytes = 0;
  // Full-size batch buffers whose write completed, reused for the next batches.
  readonly #spare: Buffer[] = [];
  #batchPosition = 0;
  // Bytes handed to the disk whose write has not completed.
  #unwritten = 0;
  readonly #writes = new Set<Promise<void>>();
  #writeError: Error | undefined;
  // The stream's callback for the chunk that went over MAX_UNWRITTEN.
  #waitingForDisk: ((error?: Error | null) => void) | undefined;
  // Settles when the stream has finished (all bytes on disk) or died first.
  readonly #ended: Promise<void>;
  #commit: Promise<BlobInfo> | undefined;
  #discard: Promise<void> | undefined;

  constructor(options: IngestWriterOptions) {
    this.#options = options;
    this.stream = new Writable({
      highWaterMark: WRITE_BATCH,
      write: (chunk: Buffer, _encoding, callback) => this.#accept(chunk, callback),
      final: (callback) => {
        this.#flush();
        void Promise.all(this.#writes).then(() => callback(this.#writeError));
      },
      destroy: (error, callback) => {
        // Destroyed before finishing: a write failed or the writer was
        // abandoned. Either way the partial file must go. After a normal
        // finish (autoDestroy), the file belongs to commit().
        if (error || !this.stream.writableFinished) {
          this.#discardIngest().then(
            () => callback(error),
            (cleanupError: Error) => callback(error ?? cleanupError),
          );
        } else {
          callback(null);
        }
      },
    });
    this.#ended = new Promise<void>((resolve, reject) => {
      this.stream.once("finish", resolve);
      this.stream.once("close", () => {
        reject(this.stream.errored ?? new Error(`writer for ${options.digest} was destroyed before it finished`));
      });
    });
    // Failures are reported by commit() (and to whoever pipes into the
    // stream); without these a writer nobody commits would crash the process
    // with an unhandled 'error' event or rejection.
    this.stream.on("error", () => {});
    this.#ended.catch(() => {});
  }

  get written(): number {
    return this.#written;
  }

  commit(): Promise<BlobInfo> {
    this.#commit ??= this.#verifyAndPublish();
    return this.#commit;
  }

  /** Discards the ingest file; a no-op once commit() has been called. */
  async abort(): Promise<void> {
    if (this.#commit) {
      await this.#commit.catch(() => {});
      return;
    }
    this.stream.destroy();
    await this.#discardIngest();
  }

  #accept(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const { size, digest } = this.#options;
    if (this.#writeError) {
      callback(this.#writeError);
      return;
    }
    if (size !== undefined && this.#written + chunk.length > size) {
      // Fail as soon as the source overruns: no point storing the rest of a
      // body that can no longer match.
      callback(sizeMismatch(digest, size, `at least ${this.#written + chunk.length}`));
      return;
    }
    let offset = 0;
    while (offset < chunk.length) {
      // A blob of known size smaller than a batch gets a buffer its size.
      const remaining = size === undefined ? WRITE_BATCH : size - this.#written - offset;
      const batch = (this.#batch ??= this.#newBatch(Math.min(WRITE_BATCH, remaining)));
      const copied = chunk.copy(batch, this.#batchBytes, offset);
      this.#hash.update(batch.subarray(this.#batchBytes, this.#batchBytes + copied));
      this.#batchBytes += copied;
      offset += copied;
      if (this.#batchBytes === batch.length) this.#flush();
    }
    this.#written += chunk.length;
    if (this.#unwritten + this.#batchBytes <= MAX_UNWRITTEN) callback();
    else this.#waitingForDisk = callback;
  }

  // A fresh 1 MiB buffer per batch (outside node's pool: a new allocation,
  // fresh pages, then garbage for the collector) made the copy into it the
  // main thread's largest item in a pull's profile; recycling the batches cut
  // that copy time by a third (bench/pull.ts profile, 3 pulls of 70 MB).
  #newBatch(length: number): Buffer {
    if (length === WRITE_BATCH) return this.#spare.pop() ?? Buffer.allocUnsafe(WRITE_BATCH);
    return Buffer.allocUnsafe(length);
  }

  /** Hands the current batch to the disk. */
  #flush(): void {
    if (!this.#batch || this.#batchBytes === 0) return;
    const bytes = this.#batchBytes;
    const batch = this.#batch;
    const data = batch.subarray(0, bytes);
    const position = this.#batchPosition;
    this.#batch = undefined;
    this.#batchBytes = 0;
    this.#batchPosition += bytes;
    this.#unwritten += bytes;
    // Positional writes, so batches may complete in any order.
    const write: Promise<void> = writeAll(this.#options.file, [data], position)
      .catch((error: Error) => {
        this.#writeError ??= error;
      })
      .finally(() => {
        if (batch.length === WRITE_BATCH) this.#spare.push(batch);
        this.#unwritten -= bytes;
        this.#writes.delete(write);
        const waiting = this.#waitingForDisk;
        if (waiting && (this.#writeError || this.#unwritten + this.#batchBytes <= MAX_UNWRITTEN)) {
          this.#waitingForDisk = undefined;
          waiting(this.#writeError);
        }
      });
    this.#writes.add(write);
  }

  async #verifyAndPublish(): Promise<BlobInfo> {
    const { digest, size, file, ingest, target, sync } = this.#options;
    if (!this.stream.writableEnded) this.stream.end();
    try {
      await this.#ended;
    } catch (error) {
      await this.#discardIngest();
      throw error;
    }
    try {
      if (size !== undefined && this.#written !== size) throw sizeMismatch(digest, size, `${this.#written}`);
      const actual: Digest = `sha256:${this.#hash.digest("hex")}`;
      if (actual !== digest) throw digestMismatch(digest, actual);
      const info: BlobInfo = { digest, size: this.#written };
      // Another writer already published the same bytes: keep theirs and skip
      // our fsync entirely.
      if (await exists(target)) {
        await this.#discardIngest();
        return info;
      }
      // fsync before rename so that after a power loss the name never points
      // at a file whose data did not reach the disk; nothing re-verifies a
      // committed blob, so such a file would be served as valid forever. The
      // cost is real: it waits for the whole blob to be written back (for a
      // large layer on slow storage that dominates the commit) and is paid
      // once per blob, not per chunk; parallel layer downloads overlap it.
      // The directory is not fsynced: losing the rename itself only means the
      // blob is fetched again.
      if (sync) await file.sync();
      await file.close();
      await rename(ingest, target);
      liveIngests.delete(ingest);
      return info;
    } catch (error) {
      await this.#discardIngest();
      throw error;
    }
  }

  #discardIngest(): Promise<void> {
    this.#discard ??= (async () => {
      const { file, ingest } = this.#options;
      // FileHandle.close waits for writes still in flight, so the descriptor
      // cannot be reused by another open while a write targets it.
      await file.close().catch(() => {});
      await unlink(ingest).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
      liveIngests.delete(ingest);
    })();
    return this.#discard;
  }
}

/** Writes all of `chunks` at `position`, continuing after short writes. */
async function writeAll(file: FileHandle, chunks: Buffer[], position: number): Promise<void> {
  let pending = chunks;
  let offset = position;
  while (pending.length > 0) {
    const { bytesWritten } = await file.writev(pending, offset);
    if (bytesWritten === 0) throw new Error("write made no progress");
    offset += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const chunk of pending) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
      skip = 0;
    }
    pending = rest;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === "ENOENT";
}

function notFound(digest: Digest, cause: unknown): ContentError {
  return new ContentError("not-found", `blob ${digest} not found`, { cause });
}

function digestMismatch(expected: Digest, actual: Digest): ContentError {
  return new ContentError("digest-mismatch", `digest mismatch: expected ${expected}, got ${actual}`);
}

function sizeMismatch(digest: Digest, expected: number, actual: string): ContentError {
  return new ContentError("size-mismatch", `size mismatch for ${digest}: expected ${expected} bytes, got ${actual}`);
}
