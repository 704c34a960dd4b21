// A BlobWriter that passes a download through to the content store's writer
// and, on request, to a second reader: the layer unpacker. With it a layer is
// unpacked while it downloads instead of after, so a pull costs about
// max(download, unpack) per layer rather than their sum.
//
// The unpacker can only start a layer once the layer below it is unpacked,
// which may be long after that layer's download began. Until a reader
// attaches, chunks are kept (not copied) up to `bufferLimit` bytes, so an
// attach replays everything from byte 0; a download that outgrows the limit,
// or finishes, before anyone attaches drops its buffer and the unpacker reads
// the committed blob from the store instead (from the page cache, in practice).
//
// The reader ends only after the store verified the blob's digest, and fails
// if it did not: the unpacker sees end-of-stream only for verified bytes.
import { PassThrough, Writable, type Readable } from "node:stream";
import type { BlobInfo, BlobWriter } from "../content/types.js";

const READER_HIGH_WATER_MARK = 4 * 1024 * 1024;

export interface TeeWriterOptions {
  /** Bytes kept for a reader that has not attached yet (default 32 MiB). */
  bufferLimit?: number;
  /** Called with the total after every chunk (progress). */
  onBytes?: (written: number) => void;
}

type Mode = "buffering" | "attached" | "detached";

export class TeeWriter implements BlobWriter {
  readonly stream: Writable;
  readonly #inner: BlobWriter;
  readonly #limit: number;
  readonly #onBytes: ((written: number) => void) | undefined;
  #mode: Mode = "buffering";
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  #reader: PassThrough | undefined;
  #written = 0;
  #commit: Promise<BlobInfo> | undefined;

  constructor(inner: BlobWriter, opts: TeeWriterOptions = {}) {
    this.#inner = inner;
    this.#limit = opts.bufferLimit ?? 32 * 1024 * 1024;
    this.#onBytes = opts.onBytes;
    this.stream = new Writable({
      highWaterMark: 1024 * 1024,
      write: (chunk: Buffer, _encoding, callback) => this.#write(chunk, callback),
      destroy: (error, callback) => {
        // Whoever destroys us (an aborted pull) stops both consumers.
        if (error) this.#reader?.destroy(error);
        if (!this.#inner.stream.destroyed && error) this.#inner.stream.destroy(error);
        callback(error);
      },
    });
    this.stream.on("error", () => {});
  }

  get written(): number {
    return this.#written;
  }

  /**
   * A stream of the blob from its first byte, or undefined when it is too
   * late for that (buffer dropped, already attached): read the store then.
   */
  attach(): Readable | undefined {
    if (this.#mode !== "buffering") return undefined;
    const reader = new PassThrough({ highWaterMark: READER_HIGH_WATER_MARK });
    for (const chunk of this.#buffered) reader.write(chunk);
    this.#buffered = [];
    this.#bufferedBytes = 0;
    this.#mode = "attached";
    this.#reader = reader;
    return reader;
  }

  #write(chunk: Buffer, callback: (error?: Error | null) => void): void {
    this.#written += chunk.length;
    this.#onBytes?.(this.#written);
    const waits: Promise<void>[] = [];
    if (!this.#inner.stream.write(chunk)) waits.push(drained(this.#inner.stream, true));
    if (this.#mode === "buffering") {
      this.#buffered.push(chunk);
      this.#bufferedBytes += chunk.length;
      if (this.#bufferedBytes > this.#limit) this.#detach();
    } else if (this.#mode === "attached" && this.#reader && !this.#reader.destroyed) {
      // A slow unpacker slows the download: memory stays bounded.
      if (!this.#reader.write(chunk)) waits.push(drained(this.#reader, false));
    }
    if (waits.length === 0) callback();
    else Promise.all(waits).then(() => callback(), (err: Error) => callback(err));
  }

  #detach(): void {
    this.#mode = "detached";
    this.#buffered = [];
    this.#bufferedBytes = 0;
  }

  commit(): Promise<BlobInfo> {
    this.#commit ??= (async () => {
      await new Promise<void>((resolve, reject) => {
        if (this.stream.writableFinished) return resolve();
        this.stream.once("finish", resolve);
        this.stream.once("error", reject);
        this.stream.once("close", () => reject(this.stream.errored ?? new Error("the download was interrupted")));
        this.stream.end();
      });
      try {
        const info = await this.#inner.commit();
        this.#reader?.end();
        // Nobody attached while it downloaded: the unpacker reads the store.
        if (this.#mode === "buffering") this.#detach();
        return info;
      } catch (err) {
        this.#reader?.destroy(err as Error);
        this.#detach();
        throw err;
      }
    })();
    return this.#commit;
  }

  async abort(): Promise<void> {
    const error = new Error("the download was aborted");
    this.#reader?.destroy(error);
    this.#detach();
    if (!this.stream.destroyed) this.stream.destroy();
    await this.#inner.abort();
  }
}

/**
 * Waits until `stream` drains. For the store's writer, its death is the
 * download's failure; the tee reader dying (the unpack failed) only means
 * there is nobody left to feed, and the pull reports the unpack's error.
 */
function drained(stream: Writable, fatal: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off("drain", onDrain);
      stream.off("close", onClose);
      stream.off("error", onError);
      if (err && fatal) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(stream.errored ?? new Error("the blob writer closed before the download finished"));
    stream.on("drain", onDrain);
    stream.on("close", onClose);
    stream.on("error", onError);
  });
}
