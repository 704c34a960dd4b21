// Pulling an image, as `docker pull` does it, with the same progress
// statuses:
//
//   resolve the reference (mirrors first for Docker Hub) -> manifest for the platform
//   -> config blob (its digest is the image ID; its rootfs.diff_ids name the layers)
//   -> per layer: "Already exists" when its chain is unpacked and its blob
//      stored; otherwise download (max-concurrent-downloads at once,
//      service-wide) into the content store, which verifies the blob digest
//   -> unpack in order, each layer as soon as the one below it is done and
//      its bytes are arriving (download.ts tees them to the unpacker), the
//      snapshotter verifying the diffID
//   -> record the image, then its references.
//
// Everything the pull will rely on is leased before it looks for it, so a
// concurrent rmi cannot collect a layer the pull has just found. A failed
// pull removes what it created that nothing else uses: nothing is left of it.
import { availableParallelism } from "node:os";
import { Transform, type Readable } from "node:stream";
import { formatLimit, MAX_CONFIG_SIZE } from "../content/limits.js";
import { familiarName, normalizedName, parseReference, repositoryName, type ImageReference } from "../content/reference.js";
import type { RegistryClient } from "../content/registry.js";
import type { ContentStore, Descriptor, Digest } from "../content/types.js";
import { chainIds as computeChainIds } from "../snapshot/chain.js";
import { SnapshotError, type ChainId, type Snapshotter } from "../snapshot/types.js";
import { UnpackError } from "../snapshot/unpack.js";
import { EngineError, type PullOptions, type PullProgress } from "../types.js";
import { parseImageConfig, toImageConfig } from "./config.js";
import { LayerDownload, type DownloadContext } from "./download.js";
import type { FileLock } from "../sys/flock.js";
import type { Leases } from "./leases.js";
import { Semaphore } from "../sys/semaphore.js";
import { refKey, type ImageStore } from "./store.js";
import { shortDigest, type ImageLayerRecord, type ImageRecord } from "./types.js";

export interface PullContext extends DownloadContext {
  content: ContentStore;
  snapshotter: Snapshotter;
  store: ImageStore;
  registry: RegistryClient;
  leases: Leases;
  /** The store's cross-process lock: taking a lease and committing a record happen under it, as garbage collection does (remove.ts). */
  storeLock: FileLock;
  /** Removes what a failed operation created, unless something else uses it (remove.ts). */
  collect: (candidates: { chains: ChainId[]; blobs: Digest[] }) => Promise<void>;
}

export interface PullResult {
  record: ImageRecord;
  /** The digest the reference resolved to (index or manifest): the repo digest. */
  digest: Digest;
  /** Normalized tag reference set by the pull (absent for pulls by digest). */
  tag: string | undefined;
  /** Whether the reference already named this image and nothing had to be fetched. */
  upToDate: boolean;
}

// Layers unpacked at once by one pull: enough to keep both the thread pool
// (inflate) and the main thread (tar parsing, writes) busy.
const UNPACK_CONCURRENCY = Math.min(4, Math.max(2, availableParallelism()));

/** Counts bytes going into the unpacker, for "Extracting" progress. */
function counting(source: Readable, onBytes: (n: number) => void): Readable {
  let n = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      onBytes(n);
      cb(null, chunk);
    },
  });
  source.on("error", (err) => counter.destroy(err));
  counter.on("close", () => {
    if (!source.readableEnded) source.destroy();
  });
  return source.pipe(counter);
}

function describeLayerError(err: unknown, layer: Descriptor): Error {
  if (err instanceof SnapshotError && err.code === "digest-mismatch") {
    return new EngineError("invalid", `failed to register layer ${layer.digest}: ${err.message}`, { cause: err });
  }
  if (err instanceof UnpackError) {
    return new EngineError("invalid", `failed to register layer ${layer.digest}: ${err.message}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

export async function pullImage(ctx: PullContext, input: string, opts: PullOptions = {}): Promise<PullResult> {
  const emit = (p: PullProgress): void => opts.onProgress?.(p);
  const ref = parseReference(input);
  if (opts.signal?.aborted) throw new EngineError("internal", `pull of ${normalizedName(ref)} was cancelled`);
  const resolved = await ctx.registry.resolve(ref, opts.platform ? { platform: opts.platform } : {});
  const manifest = resolved.manifest.parsed;
  emit({ id: ref.digest ?? ref.tag ?? "latest", status: `Pulling from ${ref.path}` });

  const configDesc = manifest.config;
  const configBytes = await fetchSmallBlob(ctx, ref, configDesc);
  const config = parseImageConfig(configBytes, normalizedName(ref));
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new EngineError("invalid", `${normalizedName(ref)}: the manifest lists ${manifest.layers.length} layers but the config has ${diffIds.length} diff_ids`);
  }
  const chains = computeChainIds(diffIds);
  const blobs = [resolved.descriptor.digest, resolved.manifest.descriptor.digest, configDesc.digest, ...manifest.layers.map((l) => l.digest)];
  // The config's digest is the image ID: an image being pulled counts as in use for rmi and prune.
  const releaseLease = await ctx.storeLock.run(() => ctx.leases.acquire([...blobs, ...chains]));

  const createdChains: ChainId[] = [];
  const createdBlobs: Digest[] = [];
  const downloads = new Map<string, LayerDownload>();
  const listener = (p: PullProgress): void => emit(p);
  let failed = false;
  let released = false;
  const releaseDownloads = (cancel: boolean): void => {
    if (released) return;
    released = true;
    for (const dl of downloads.values()) dl.release(listener, cancel);
  };
  try {
    // The config was fetched before the lease: a collection in between may have taken it again.
    if (!(await ctx.content.has(configDesc.digest))) await fetchSmallBlob(ctx, ref, configDesc);
    // Which layers are already here: unpacked chain and stored blob.
    const present: boolean[] = [];
    for (const [i, layer] of manifest.layers.entries()) {
      const chain = chains[i] as ChainId;
      const [unpacked, stored] = await Promise.all([ctx.snapshotter.getLayer(chain), ctx.content.has(layer.digest)]);
      present.push(unpacked !== undefined && stored);
    }
    for (const [i, layer] of manifest.layers.entries()) {
      const id = shortDigest(layer.digest);
      if (present[i]) {
        emit({ id, status: "Already exists" });
        continue;
      }
      if (downloads.has(layer.digest)) continue;
      emit({ id, status: "Pulling fs layer" });
      if (!(await ctx.content.has(layer.digest))) {
        downloads.set(layer.digest, LayerDownload.join(ctx, ref, layer, listener));
        createdBlobs.push(layer.digest);
      }
    }

    // Unpack: layers are independent directories, so several unpack at once
    // (each as soon as its bytes arrive); each commits only after the layer
    // below it, so chains appear in order. Unpack slots are taken in layer
    // order and held until the commit: the lowest layer holding a slot can
    // always finish, so no layer waits forever for a parent without a slot.
    const unpackSlots = new Semaphore(UNPACK_CONCURRENCY);
    const created: (ChainId | undefined)[] = [];
    const tasks: Promise<ImageLayerRecord>[] = [];
    let parentDone: Promise<unknown> = Promise.resolve();
    for (const [i, layer] of manifest.layers.entries()) {
      const chain = chains[i] as ChainId;
      const parent = i > 0 ? chains[i - 1] : undefined;
      const diffId = diffIds[i] as Digest;
      const id = shortDigest(layer.digest);
      const dl = downloads.get(layer.digest);
      const slot = unpackSlots.acquire();
      const parentReady = parentDone;
      const task = (async (): Promise<ImageLayerRecord> => {
        const release = await slot;
        try {
          let info = await ctx.snapshotter.getLayer(chain);
          if (!info) {
            let last = 0;
            try {
              info = await ctx.snapshotter.applyLayer({
                ...(parent === undefined ? {} : { parent }),
                diffId,
                parentReady,
                open: async () => {
                  const source = dl ? await dl.open() : ctx.content.read(layer.digest);
                  return counting(source, (n) => {
                    const now = Date.now();
                    // While the unpacker reads along with the download, the layer's line says "Downloading".
                    if (dl?.finished === false || (now - last < 100 && n < layer.size)) return;
                    last = now;
                    emit({ id, status: "Extracting", current: Math.min(n, layer.size), total: layer.size });
                  });
                },
              });
            } catch (err) {
              // A download failure surfaces here through the unpacker's input: report the download's own error.
              if (dl) await dl.done;
              // A failed parent fails this layer too: its own error says nothing new.
              await parentReady;
              throw describeLayerError(err, layer);
            }
            created[i] = chain;
            if (dl) await dl.done;
            emit({ id, status: "Pull complete" });
          } else {
            await parentReady;
            if (dl) {
              await dl.done;
              emit({ id, status: "Pull complete" });
            }
          }
          return { blob: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, diffId, chainId: chain, unpackedSize: info.size };
        } finally {
          release();
        }
      })();
      // Settled on failure too (allSettled below); this keeps an early rejection from being "unhandled".
      task.catch(() => undefined);
      tasks.push(task);
      parentDone = task;
    }
    let layerRecords: ImageLayerRecord[];
    try {
      layerRecords = await Promise.all(tasks);
    } catch (err) {
      // Stop the downloads feeding the other unpacks, then let every unpack end before cleaning up.
      releaseDownloads(true);
      await Promise.allSettled(tasks);
      throw err;
    } finally {
      createdChains.push(...created.filter((c): c is ChainId => c !== undefined));
    }

    await ctx.content.put(resolved.manifest.bytes, resolved.manifest.descriptor.digest);
    if (resolved.index) await ctx.content.put(resolved.bytes, resolved.descriptor.digest);

    const record: ImageRecord = {
      id: configDesc.digest,
      config: { mediaType: configDesc.mediaType, digest: configDesc.digest, size: configDesc.size },
      manifest: { mediaType: resolved.manifest.descriptor.mediaType, digest: resolved.manifest.descriptor.digest, size: resolved.manifest.descriptor.size },
      ...(resolved.index ? { index: { mediaType: resolved.descriptor.mediaType, digest: resolved.descriptor.digest, size: resolved.descriptor.size } } : {}),
      layers: layerRecords,
      platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
      created: config.created,
      imageConfig: toImageConfig(config),
      addedAt: new Date().toISOString(),
    };
    const digestRef = `${repositoryName(ref)}@${resolved.descriptor.digest}`;
    const tag = ref.digest === undefined ? refKey(ref) : undefined;
    // Under the lock: an rmi or prune in another process removes a record and its references
    // under it too, so it never deletes the record between our look at it and our references.
    const { existing, previousDigest, previousTag } = await ctx.storeLock.run(async () => {
      const existing = await ctx.store.get(record.id);
      if (!existing || existing.manifest.digest !== record.manifest.digest || existing.index?.digest !== record.index?.digest) await ctx.store.put(record);
      const pulledAt = new Date().toISOString();
      const previousDigest = await ctx.store.setRef(digestRef, record.id, { pulledAt });
      const previousTag = tag !== undefined ? await ctx.store.setRef(tag, record.id, { pulledAt }) : undefined;
      return { existing, previousDigest, previousTag };
    });
    const upToDate = downloads.size === 0 && createdChains.length === 0 && (tag !== undefined ? previousTag === record.id : previousDigest === record.id);

    emit({ id: "", status: `Digest: ${resolved.descriptor.digest}` });
    const shown = familiarName(tag !== undefined ? parseReference(tag) : ref);
    emit({ id: "", status: upToDate ? `Status: Image is up to date for ${shown}` : `Status: Downloaded newer image for ${shown}` });
    return { record: existing && existing.manifest.digest === record.manifest.digest ? existing : record, digest: resolved.descriptor.digest, tag, upToDate };
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    releaseDownloads(failed);
    // Nothing may keep writing after the pull returned.
    await Promise.allSettled([...downloads.values()].map((d) => d.done));
    await releaseLease();
    if (failed) {
      await ctx.collect({ chains: createdChains, blobs: [...createdBlobs, configDesc.digest] }).catch(() => undefined);
    }
  }
}

/** Fetches a small blob (the config) unless the store has it; returns its bytes. */
async function fetchSmallBlob(ctx: PullContext, ref: ImageReference, desc: Descriptor): Promise<Buffer> {
  // The whole config is read into memory and parsed: a descriptor claiming more is refused before a byte is fetched.
  if (desc.size > MAX_CONFIG_SIZE) {
    throw new EngineError("invalid", `image config of ${normalizedName(ref)} exceeds the ${formatLimit(MAX_CONFIG_SIZE)} limit (its descriptor says ${desc.size} bytes)`);
  }
  if (await ctx.content.has(desc.digest)) return ctx.content.readBytes(desc.digest);
  const writer = await ctx.content.writer(desc.digest, desc.size);
  await ctx.registry.fetchBlob(ref, desc, writer);
  return ctx.content.readBytes(desc.digest);
}
