// Making images from changes, docker commit's way, in two primitives a
// builder can also call per step:
//   storeDiffLayer: an overlay upper dir -> a layer blob (gzip, or plain as
//     commits and builds keep them) in the content store; the diffID (sha256 of the tar) and the blob's digest are computed
//     in the same pass over the bytes (snapshot/diff.ts writes the tar).
//   commitImage: a parent image + new layers + config changes + a history
//     entry -> a registered image (register.ts unpacks the new layers into the
//     snapshotter from their blobs, as for a pulled image, so containers of
//     the new image share them).
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { hostPlatform } from "../content/platform.js";
import type { BlobInfo, ContentStore, Digest } from "../content/types.js";
import { DigestCounter } from "../snapshot/decompress.js";
import { diffUpperDir, type DiffOptions } from "../snapshot/diff.js";
import { EngineError } from "../types.js";
import { applyChanges } from "./changes.js";
import { parseImageConfig, type OciImageConfig } from "./config.js";
import { spoolToStore } from "./ingest.js";
import type { PullContext } from "./pull.js";
import { registerImage, type RegisterResult } from "./register.js";

export interface StoredLayer {
  /** The gzip blob in the content store. */
  blob: BlobInfo;
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
  /** Entries skipped while writing the tar (sockets). */
  warnings: string[];
  /** Tar entries written: 0 for an upper dir without changes. */
  entries: number;
}

/** Writes the changes in `upperDir` as a gzip (or plain) layer blob into the store; `tmpDir` is on the store's filesystem. */
export async function storeDiffLayer(content: ContentStore, upperDir: string, tmpDir: string, opts: DiffOptions & { compress?: boolean } = {}): Promise<StoredLayer> {
  const diff = diffUpperDir(upperDir, opts);
  const counter = new DigestCounter();
  const compressed = new PassThrough();
  // Uncompressed (a builder's local layers): an OCI media type registries accept, and no gzip pass.
  const produced = opts.compress === false ? pipeline(diff.tar, counter, compressed) : pipeline(diff.tar, counter, createGzip(), compressed);
  const stored = spoolToStore(content, compressed, tmpDir);
  const [walk, pipe, blob] = await Promise.allSettled([diff.done, produced, stored]);
  // The walk's error is the cause (a file the layer cannot hold); the streams' errors follow from it.
  for (const r of [walk, pipe, blob]) if (r.status === "rejected") throw r.reason;
  if (walk.status !== "fulfilled" || blob.status !== "fulfilled") throw new Error("unreachable");
  return { blob: blob.value, diffId: counter.digest(), warnings: walk.value.warnings, entries: walk.value.entries };
}

export interface CommitRequest {
  /** The parent image's ID (config digest); undefined: a first layer (FROM scratch). */
  parent: Digest | undefined;
  /** New layers, bottom first; none for a config-only step. */
  layers: StoredLayer[];
  /** Applied to the parent's container config (Docker form: Cmd, Env ...) before `changes`: a container's own settings. */
  overrides?: Record<string, unknown>;
  /** -c/--change instructions (changes.ts). */
  changes?: readonly string[];
  author?: string;
  /** The history entry's comment (commit -m). */
  comment?: string;
  /** The history entry's created_by (the container's command, or the build step). */
  createdBy?: string;
  /** Normalized tag references. */
  tags: string[];
  verb?: "commit" | "import";
  /** The new image's creation time (default now): a builder may pin it. */
  created?: string;
}

/** The image config blob of a commit: the parent's, with the new layers, config and history entry. */
export function commitConfig(parent: OciImageConfig | undefined, req: CommitRequest): OciImageConfig {
  const created = req.created ?? new Date().toISOString();
  const container: Record<string, unknown> = { ...structuredClone(parent?.config ?? {}), ...structuredClone(req.overrides ?? {}) };
  applyChanges(container, req.changes ?? [], req.verb ?? "commit");
  // What described the parent's own making does not describe this image.
  // FROM scratch: the host's platform, as docker's builder.
  const host = hostPlatform();
  const base: OciImageConfig = parent ?? { architecture: host.architecture, os: host.os, ...(host.variant ? { variant: host.variant } : {}), rootfs: { type: "layers", diff_ids: [] } };
  const { author: _author, container: _container, container_config: _cc, ...rest } = base;
  const history = [...(parent?.history ?? [])];
  history.push({
    created,
    ...(req.author ? { author: req.author } : {}),
    ...(req.createdBy !== undefined ? { created_by: req.createdBy } : {}),
    ...(req.comment ? { comment: req.comment } : {}),
    ...(req.layers.length === 0 ? { empty_layer: true } : {}),
  });
  return {
    ...rest,
    created,
    ...(req.author ? { author: req.author } : {}),
    config: container,
    rootfs: { type: "layers", diff_ids: [...(parent?.rootfs.diff_ids ?? []), ...req.layers.map((l) => l.diffId)] },
    history,
  };
}

export async function commitImage(ctx: PullContext, req: CommitRequest): Promise<RegisterResult> {
  let parentConfig: OciImageConfig | undefined;
  let parentLayers: { digest: Digest; size: number; mediaType: string }[] = [];
  if (req.parent !== undefined) {
    const record = await ctx.store.get(req.parent);
    if (!record) throw new EngineError("not-found", `the parent image ${req.parent} is no longer there (removed since the container was created?)`);
    parentConfig = parseImageConfig(await ctx.content.readBytes(record.config.digest), req.parent);
    parentLayers = record.layers.map((l) => ({ digest: l.blob.digest, size: l.blob.size, mediaType: l.blob.mediaType }));
  }
  if (parentConfig === undefined && req.layers.length === 0) throw new EngineError("invalid", "an image needs at least one layer");
  const config = commitConfig(parentConfig, req);
  // The new blobs' media types are worked out from their bytes (gzip), so the manifest is Docker's when the parent's layers are gzip too.
  return registerImage(ctx, {
    configBytes: Buffer.from(JSON.stringify(config)),
    layers: [...parentLayers, ...req.layers.map((l) => ({ digest: l.blob.digest, size: l.blob.size }))],
    tags: req.tags,
    what: `the ${req.verb ?? "commit"}ted image`,
  });
}

export type HistoryEntry = NonNullable<OciImageConfig["history"]>[number];

export interface BuildStepCommit {
  parent: Digest | undefined;
  /** The step's layer; none for a step that changed no file. */
  layer: StoredLayer | undefined;
  /** The whole container config (Docker form) of the new image: a builder keeps it, the parent's is replaced. */
  container: Record<string, unknown>;
  /** History entries after the parent's (config-only steps since the last commit, then this step's). */
  history: HistoryEntry[];
  tags: string[];
}

/**
 * A builder's step as an image: unlike a commit, the config is given whole
 * (a Dockerfile's steps may reset keys) and the history entries are the
 * builder's, one per instruction, empty_layer where no layer was made.
 */
export async function commitBuildStep(ctx: PullContext, req: BuildStepCommit): Promise<RegisterResult> {
  let parentConfig: OciImageConfig | undefined;
  let parentLayers: { digest: Digest; size: number }[] = [];
  if (req.parent !== undefined) {
    const record = await ctx.store.get(req.parent);
    if (!record) throw new EngineError("not-found", `the parent image ${req.parent} is no longer there (removed during the build?)`);
    parentConfig = parseImageConfig(await ctx.content.readBytes(record.config.digest), req.parent);
    parentLayers = record.layers.map((l) => ({ digest: l.blob.digest, size: l.blob.size }));
  }
  const layers = req.layer ? [req.layer] : [];
  if (parentConfig === undefined && layers.length === 0) throw new EngineError("invalid", "an image needs at least one layer: the stage FROM scratch adds no file");
  const created = req.history.at(-1)?.created ?? new Date().toISOString();
  const host = hostPlatform();
  const base: OciImageConfig = parentConfig ?? { architecture: host.architecture, os: host.os, ...(host.variant ? { variant: host.variant } : {}), rootfs: { type: "layers", diff_ids: [] } };
  const { author: _author, container: _container, container_config: _cc, ...rest } = base;
  const config: OciImageConfig = {
    ...rest,
    created,
    config: req.container,
    rootfs: { type: "layers", diff_ids: [...(parentConfig?.rootfs.diff_ids ?? []), ...layers.map((l) => l.diffId)] },
    history: [...(parentConfig?.history ?? []), ...req.history],
  };
  return registerImage(ctx, {
    configBytes: Buffer.from(JSON.stringify(config)),
    layers: [...parentLayers, ...layers.map((l) => ({ digest: l.blob.digest, size: l.blob.size }))],
    tags: req.tags,
    what: "the built image",
    ...(req.parent !== undefined ? { parent: req.parent } : {}),
  });
}
