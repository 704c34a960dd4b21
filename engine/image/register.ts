// Making an image out of blobs already in the content store (docker load,
// docker import): verify the config against the layers, unpack the layers in
// order (the snapshotter checks each diffID), write a manifest when the
// source had none, then the record and the references. Like a pull, what a
// failed registration created is removed again.
import { MediaTypes } from "../content/manifest.js";
import { sha256Digest } from "../content/digest.js";
import type { Descriptor, Digest } from "../content/types.js";
import { chainIds as computeChainIds } from "../snapshot/chain.js";
import type { ChainId } from "../snapshot/types.js";
import { EngineError, type PullProgress } from "../types.js";
import { parseImageConfig, toImageConfig } from "./config.js";
import { blobCompression, ociLayerMediaType } from "./ingest.js";
import type { PullContext } from "./pull.js";
import { shortDigest, type ImageLayerRecord, type ImageRecord } from "./types.js";

export interface RegisterRequest {
  configBytes: Buffer;
  /** Layer blobs in the store, base first; media types are worked out from the bytes when absent. */
  layers: { digest: Digest; size: number; mediaType?: string }[];
  /** The manifest the image came with (an OCI layout's); one is written when absent. */
  manifest?: { bytes: Buffer; mediaType: string };
  /** Normalized tag references to point at the image. */
  tags: string[];
  what: string;
  /** A build step's parent image (ImageRecord.parent). */
  parent?: Digest;
  onProgress?: (p: PullProgress) => void;
}

export interface RegisterResult {
  record: ImageRecord;
  /** Tags that named another image before (that image is now untagged for them). */
  replaced: { tag: string; previous: Digest }[];
}

export async function registerImage(ctx: PullContext, req: RegisterRequest): Promise<RegisterResult> {
  const configInfo = await ctx.content.put(req.configBytes);
  const config = parseImageConfig(req.configBytes, req.what);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== req.layers.length) {
    throw new EngineError("invalid", `${req.what}: ${req.layers.length} layers, but the config lists ${diffIds.length} diff_ids`);
  }
  const chains = computeChainIds(diffIds);
  const layerDescs: Descriptor[] = [];
  for (const l of req.layers) layerDescs.push({ mediaType: l.mediaType ?? ociLayerMediaType(await blobCompression(ctx.content, l.digest)), digest: l.digest, size: l.size });

  let manifest = req.manifest;
  let configMediaType = MediaTypes.ociConfig as string;
  if (manifest) {
    const parsed = JSON.parse(manifest.bytes.toString("utf8")) as { config?: { mediaType?: unknown } };
    if (typeof parsed.config?.mediaType === "string") configMediaType = parsed.config.mediaType;
  } else {
    // All gzip: Docker schema 2, what docker itself would push. Otherwise OCI, which can say "uncompressed".
    const docker = layerDescs.every((l) => l.mediaType === MediaTypes.ociLayerGzip || l.mediaType === MediaTypes.dockerLayer);
    const body = {
      schemaVersion: 2,
      mediaType: docker ? MediaTypes.dockerManifest : MediaTypes.ociManifest,
      config: { mediaType: docker ? MediaTypes.dockerConfig : MediaTypes.ociConfig, size: configInfo.size, digest: configInfo.digest },
      layers: layerDescs.map((l) => ({ mediaType: docker ? MediaTypes.dockerLayer : l.mediaType, size: l.size, digest: l.digest })),
    };
    manifest = { bytes: Buffer.from(JSON.stringify(body, null, 3)), mediaType: body.mediaType };
    configMediaType = body.config.mediaType;
  }
  const manifestInfo = await ctx.content.put(manifest.bytes);
  const manifestDigest = sha256Digest(manifest.bytes);

  const releaseLease = await ctx.storeLock.run(() => ctx.leases.acquire([configInfo.digest, manifestDigest, ...req.layers.map((l) => l.digest), ...chains]));
  const created: ChainId[] = [];
  let ok = false;
  try {
    const layers: ImageLayerRecord[] = [];
    let parent: ChainId | undefined;
    for (const [i, l] of layerDescs.entries()) {
      const chain = chains[i] as ChainId;
      const diffId = diffIds[i] as Digest;
      let info = await ctx.snapshotter.getLayer(chain);
      if (!info) {
        req.onProgress?.({ id: shortDigest(l.digest), status: "Loading layer", current: 0, total: l.size });
        try {
          info = await ctx.snapshotter.applyLayer({ ...(parent ? { parent } : {}), diffId, open: () => ctx.content.read(l.digest) });
        } catch (err) {
          throw new EngineError("invalid", `${req.what}: layer ${i + 1} (${l.digest}): ${(err as Error).message}`, { cause: err });
        }
        created.push(chain);
        req.onProgress?.({ id: shortDigest(l.digest), status: "Loading layer", current: l.size, total: l.size });
      }
      layers.push({ blob: { mediaType: l.mediaType, digest: l.digest, size: l.size }, diffId, chainId: chain, unpackedSize: info.size });
      parent = chain;
    }
    const record: ImageRecord = {
      id: configInfo.digest,
      config: { mediaType: configMediaType, digest: configInfo.digest, size: configInfo.size },
      manifest: { mediaType: manifest.mediaType, digest: manifestDigest, size: manifestInfo.size },
      layers,
      platform: { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) },
      created: config.created,
      imageConfig: toImageConfig(config),
      addedAt: new Date().toISOString(),
      ...(req.parent !== undefined ? { parent: req.parent } : {}),
    };
    // Record and references under the store lock, as a pull commits them (pull.ts).
    const { stored, replaced } = await ctx.storeLock.run(async () => {
      if (!(await ctx.store.get(record.id))) await ctx.store.put(record);
      const replaced: RegisterResult["replaced"] = [];
      for (const tag of req.tags) {
        const previous = await ctx.store.setRef(tag, record.id);
        if (previous && previous !== record.id) replaced.push({ tag, previous });
      }
      return { stored: await ctx.store.get(record.id), replaced };
    });
    ok = true;
    return { record: stored ?? record, replaced };
  } finally {
    await releaseLease();
    if (!ok) await ctx.collect({ chains: created, blobs: [configInfo.digest, manifestDigest] }).catch(() => undefined);
  }
}
