// One layer blob on its way from a registry into the content store, shared
// by every pull in the service that needs the same blob at the same time
// (two services of a stack on one base image download it once).
//
// It waits for a download slot (max-concurrent-downloads, service-wide),
// streams through a TeeWriter so the unpacker can attach while bytes arrive,
// and reports docker's per-layer statuses to every subscribed pull.
import type { Readable } from "node:stream";
import type { RegistryClient } from "../content/registry.js";
import type { ImageReference } from "../content/reference.js";
import type { ContentStore, Descriptor } from "../content/types.js";
import type { PullProgress } from "../types.js";
import type { Semaphore } from "../sys/semaphore.js";
import { TeeWriter } from "./tee.js";
import { shortDigest } from "./types.js";

export interface DownloadContext {
  content: ContentStore;
  registry: RegistryClient;
  slots: Semaphore;
  /** Downloads in flight, by blob digest. */
  inflight: Map<string, LayerDownload>;
  /** Bytes a download keeps for an unpacker that has not attached yet. */
  teeBufferLimit?: number;
}

// Progress of a running download is reported at most this often per layer.
const PROGRESS_INTERVAL_MS = 100;

export class LayerDownload {
  readonly done: Promise<void>;
  readonly #ctx: DownloadContext;
  readonly #desc: Descriptor;
  readonly #listeners = new Set<(p: PullProgress) => void>();
  #subscribers = 0;
  #tee: TeeWriter | undefined;
  #cancelled: Error | undefined;
  #finished = false;
  readonly #failCancelled = (): never => {
    throw this.#cancelled ?? new Error("the pull was cancelled");
  };
  readonly #started: Promise<void>;
  #markStarted!: () => void;

  private constructor(ctx: DownloadContext, ref: ImageReference, desc: Descriptor) {
    this.#ctx = ctx;
    this.#desc = desc;
    this.#started = new Promise((resolve) => (this.#markStarted = resolve));
    this.done = this.#run(ref);
    // Failures reach whoever awaits done or open(); none is unhandled meanwhile.
    this.done.catch(() => {});
  }

  /** Joins the download of `desc` in flight, or starts one. Call release() when no longer interested. */
  static join(ctx: DownloadContext, ref: ImageReference, desc: Descriptor, onProgress: (p: PullProgress) => void): LayerDownload {
    let dl = ctx.inflight.get(desc.digest);
    if (!dl) {
      dl = new LayerDownload(ctx, ref, desc);
      ctx.inflight.set(desc.digest, dl);
      const started = dl;
      void dl.done.then(
        () => ctx.inflight.get(desc.digest) === started && ctx.inflight.delete(desc.digest),
        () => ctx.inflight.get(desc.digest) === started && ctx.inflight.delete(desc.digest),
      );
    }
    dl.#subscribers++;
    dl.#listeners.add(onProgress);
    return dl;
  }

  /** Whether the blob is committed to the store. */
  get finished(): boolean {
    return this.#finished;
  }

  get id(): string {
    return shortDigest(this.#desc.digest);
  }

  /** Drops one subscriber; the last one leaving an unfinished download cancels it. */
  release(onProgress: (p: PullProgress) => void, cancel: boolean): void {
    this.#listeners.delete(onProgress);
    this.#subscribers--;
    if (cancel && this.#subscribers <= 0) this.#cancel(new Error("the pull was cancelled"));
  }

  #emit(p: Omit<PullProgress, "id">): void {
    for (const l of this.#listeners) l({ id: this.id, ...p });
  }

  #cancel(err: Error): void {
    this.#cancelled ??= err;
    this.#markStarted();
    this.#tee?.stream.destroy(err);
  }

  async #run(ref: ImageReference): Promise<void> {
    const { content, registry, slots } = this.#ctx;
    try {
      // Let the subscriber that created us attach its listener before the first status.
      await Promise.resolve();
      if (slots.busy) this.#emit({ status: "Waiting" });
      const release = await slots.acquire();
      try {
        if (this.#cancelled) this.#failCancelled();
        const writer = await content.writer(this.#desc.digest, this.#desc.size);
        let last = 0;
        const total = this.#desc.size;
        this.#tee = new TeeWriter(writer, {
          bufferLimit: this.#ctx.teeBufferLimit,
          onBytes: (n) => {
            const now = Date.now();
            if (now - last < PROGRESS_INTERVAL_MS && n < total) return;
            last = now;
            this.#emit({ status: "Downloading", current: n, total });
          },
        });
        this.#markStarted();
        if (this.#cancelled) this.#failCancelled();
        await registry.fetchBlob(ref, this.#desc, this.#tee);
      } finally {
        release();
      }
      this.#finished = true;
      this.#emit({ status: "Verifying Checksum" });
      this.#emit({ status: "Download complete" });
    } finally {
      this.#markStarted();
    }
  }

  /**
   * The blob's bytes for the unpacker: live from the download when it can
   * still attach, else from the store once committed.
   */
  async open(): Promise<Readable> {
    await this.#started;
    const live = this.#cancelled ? undefined : this.#tee?.attach();
    if (live) return live;
    await this.done;
    return this.#ctx.content.read(this.#desc.digest);
  }
}
