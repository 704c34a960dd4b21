// docker save / docker load archives.
//
// Save writes Docker's classic format, the one `docker save` of Docker up to
// 24 writes and every `docker load` reads:
//   <config hex>.json                 the image config, byte for byte (its digest is the image ID)
//   <chain hex>/layer.tar             each layer as an uncompressed tar (its sha256 is the diffID)
//   <chain hex>/VERSION, <chain hex>/json   legacy per-layer metadata
//   manifest.json                     [{"Config": ..., "RepoTags": [...], "Layers": [...]}]
//   repositories                      {"busybox": {"latest": "<top layer dir>"}}
// A layer shared by several saved images is written once.
//
// Load reads that format (with the symlinks docker writes for repeated
// layers), and OCI image layout tars (index.json + blobs/sha256/..., as
// skopeo, buildx and Docker 25+ write them); when an archive has both, as
// Docker 25's does, manifest.json wins. Entry names are only ever used as keys
// into what was read, never as paths to write, so a hostile archive cannot
// write anywhere: files are hashed into the content store, and layers go
// through the snapshotter's unpacker like pulled ones.
import { createHash } from "node:crypto";
import * as path from "node:path";
import { Transform, type Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { isIndexType, parseManifest, type ImageManifest } from "../content/manifest.js";
import { hostPlatform, selectPlatform } from "../content/platform.js";
import { familiarName, parseReference, repositoryName } from "../content/reference.js";
import type { BlobInfo, Digest } from "../content/types.js";
import { decompressor, detectCompression, peek } from "../snapshot/decompress.js";
import { EngineError, type PullProgress } from "../types.js";
import { spoolToStore } from "./ingest.js";
import type { PullContext } from "./pull.js";
import { registerImage } from "./register.js";
import { isDigestRef, refKey } from "./store.js";
import type { ImageRecord } from "./types.js";

// Files up to this size are kept in memory (configs, manifests, index.json).
const SMALL_FILE = 4 * 1024 * 1024;
const OCI_BLOB = /^blobs\/sha256\/([a-f0-9]{64})$/;

// ---- save

interface SaveItem {
  record: ImageRecord;
  /** Familiar tags ("busybox:latest") recorded in manifest.json. */
  tags: string[];
}

async function resolveSaveItems(ctx: PullContext, inputs: string[]): Promise<SaveItem[]> {
  const byId = new Map<Digest, SaveItem>();
  const add = async (id: Digest, tag: string | undefined): Promise<void> => {
    let item = byId.get(id);
    if (!item) {
      const record = await ctx.store.get(id);
      if (!record) throw new EngineError("not-found", `No such image: ${id}`);
      item = { record, tags: [] };
      byId.set(id, item);
    }
    if (tag !== undefined && !item.tags.includes(tag)) item.tags.push(tag);
  };
  const refs = await ctx.store.refs();
  for (const input of inputs) {
    let ref;
    try {
      ref = parseReference(input);
    } catch {
      ref = undefined;
    }
    // "busybox" without a tag: every tag of the repository, as docker save does.
    if (ref && ref.tag === undefined && ref.digest === undefined) {
      const repo = repositoryName(ref);
      const tagged = [...refs].filter(([key]) => !isDigestRef(key) && key.startsWith(`${repo}:`) && !key.slice(repo.length + 1).includes("/"));
      if (tagged.length > 0) {
        for (const [key, id] of tagged) await add(id, familiarName(parseReference(key)));
        continue;
      }
    }
    const found = await ctx.store.lookup(input);
    if (!found) throw new EngineError("not-found", `No such image: ${input}`);
    await add(found.id, found.ref !== undefined && !isDigestRef(found.ref) ? familiarName(parseReference(found.ref)) : undefined);
  }
  return [...byId.values()];
}

/** Writes one entry whose bytes come from a stream of known size. */
async function streamEntry(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, source: Readable): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const entry = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    source.on("error", (err) => {
      entry.destroy(err);
      reject(err);
    });
    source.pipe(entry as unknown as Writable);
  });
}

/** The uncompressed tar of a layer blob, checked against its diffID as it streams. */
async function uncompressedLayer(ctx: PullContext, blob: Digest, diffId: Digest): Promise<Readable> {
  const { head, stream } = await peek(ctx.content.read(blob), 6);
  const inflate = decompressor(detectCompression(head));
  const hash = createHash("sha256");
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = `sha256:${hash.digest("hex")}`;
      cb(actual === diffId ? null : new EngineError("internal", `layer blob ${blob} does not match its diffID ${diffId} (got ${actual}): the content store is corrupt`));
    },
  });
  const source = inflate ? stream.pipe(inflate) : stream;
  source.on("error", (err) => check.destroy(err));
  return source.pipe(check);
}

export async function saveArchive(ctx: PullContext, inputs: string[], out: Writable): Promise<void> {
  if (inputs.length === 0) throw new EngineError("invalid", "docker save needs at least one image");
  const items = await resolveSaveItems(ctx, inputs);
  const pack = tar.pack();
  const written = pipeline(pack as unknown as Readable, out);
  written.catch(() => undefined);
  const mtime = new Date(0);
  const file = (name: string, data: Buffer | string): Promise<void> =>
    new Promise((resolve, reject) => pack.entry({ name, mode: 0o644, mtime }, data, (err) => (err ? reject(err) : resolve())));
  try {
    const doneLayers = new Set<string>();
    const manifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const { record, tags } of items) {
      const configName = `${record.id.slice(7)}.json`;
      await file(configName, await ctx.content.readBytes(record.config.digest));
      const layerPaths: string[] = [];
      let parent: string | undefined;
      for (const layer of record.layers) {
        const dir = layer.chainId.slice(7);
        if (!doneLayers.has(dir)) {
          doneLayers.add(dir);
          await new Promise<void>((resolve, reject) => pack.entry({ name: `${dir}/`, type: "directory", mode: 0o755, mtime }, (err) => (err ? reject(err) : resolve())));
          await file(`${dir}/VERSION`, "1.0");
          await file(`${dir}/json`, JSON.stringify({ id: dir, ...(parent ? { parent } : {}), created: record.created ?? mtime.toISOString() }));
          await streamEntry(pack, { name: `${dir}/layer.tar`, size: layer.unpackedSize, mode: 0o644, mtime }, await uncompressedLayer(ctx, layer.blob.digest, layer.diffId));
        }
        layerPaths.push(`${dir}/layer.tar`);
        parent = dir;
      }
      manifest.push({ Config: configName, RepoTags: tags.length > 0 ? tags : null, Layers: layerPaths });
      for (const tag of tags) {
        const colon = tag.lastIndexOf(":");
        const repo = tag.slice(0, colon);
        (repositories[repo] ??= {})[tag.slice(colon + 1)] = parent ?? "";
      }
    }
    await file("manifest.json", JSON.stringify(manifest));
    if (Object.keys(repositories).length > 0) await file("repositories", `${JSON.stringify(repositories)}\n`);
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    await written.catch(() => undefined);
    throw err;
  }
  await written;
}

// ---- load

export interface LoadResult {
  images: { id: Digest; tags: string[] }[];
  /** docker load's report: "Loaded image: busybox:latest", "Loaded image ID: sha256:...". */
  messages: string[];
}

interface ArchiveContents {
  files: Map<string, Buffer>;
  blobs: Map<string, BlobInfo>;
  links: Map<string, string>;
}

/** "./a/../b" -> "b"; names escaping the archive root are dropped. */
function cleanName(name: string): string | undefined {
  const n = path.posix.normalize(`/${name}`).slice(1).replace(/\/+$/, "");
  return n === "" ? undefined : n;
}

async function readArchive(ctx: PullContext, input: Readable, tmpDir: string, spooled: Digest[]): Promise<ArchiveContents> {
  const contents: ArchiveContents = { files: new Map(), blobs: new Map(), links: new Map() };
  const extract = tar.extract();
  const piped = pipeline(input, extract as unknown as Writable);
  piped.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const header = entry.header;
      const name = cleanName(header.name);
      const body = entry as unknown as Readable;
      if (name === undefined || (header.type !== "file" && header.type !== "contiguous-file")) {
        if (name !== undefined && (header.type === "symlink" || header.type === "link") && header.linkname) {
          const target = header.type === "symlink" ? path.posix.join(path.posix.dirname(name), header.linkname) : header.linkname;
          const clean = cleanName(target);
          if (clean !== undefined) contents.links.set(name, clean);
        }
        body.resume();
        continue;
      }
      const size = header.size ?? 0;
      const ociHex = OCI_BLOB.exec(name)?.[1];
      if (size <= SMALL_FILE) {
        const chunks: Buffer[] = [];
        for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
        contents.files.set(name, Buffer.concat(chunks));
      } else if (ociHex !== undefined) {
        // Named by its digest: straight into the store, which verifies it.
        const digest: Digest = `sha256:${ociHex}`;
        if (await ctx.content.has(digest)) {
          body.resume();
          contents.blobs.set(name, { digest, size });
        } else {
          const writer = await ctx.content.writer(digest, size);
          try {
            await pipeline(body, writer.stream);
            contents.blobs.set(name, await writer.commit());
            spooled.push(digest);
          } catch (err) {
            await writer.abort();
            throw new EngineError("invalid", `archive entry ${name}: ${(err as Error).message}`, { cause: err });
          }
        }
      } else {
        const info = await spoolToStore(ctx.content, body, tmpDir);
        contents.blobs.set(name, info);
        spooled.push(info.digest);
      }
    }
    await piped;
  } catch (err) {
    input.destroy();
    const upstream = await piped.then(
      () => undefined,
      (e: unknown) => e,
    );
    const cause = err instanceof EngineError ? err : (upstream ?? err);
    if (cause instanceof EngineError) throw cause;
    throw new EngineError("invalid", `invalid archive: ${(cause as Error).message}`, { cause });
  }
  return contents;
}

class Archive {
  constructor(
    private readonly ctx: PullContext,
    private readonly contents: ArchiveContents,
    private readonly spooled: Digest[],
  ) {}

  resolve(name: string): string {
    let n = cleanName(name) ?? name;
    for (let i = 0; i < 16 && this.contents.links.has(n); i++) n = this.contents.links.get(n) as string;
    return n;
  }

  async bytes(name: string): Promise<Buffer> {
    const n = this.resolve(name);
    const small = this.contents.files.get(n);
    if (small) return small;
    const blob = this.contents.blobs.get(n);
    if (blob) return this.ctx.content.readBytes(blob.digest);
    throw new EngineError("invalid", `invalid archive: ${name} is missing`);
  }

  /** A file of the archive as a blob in the content store. */
  async blob(name: string): Promise<BlobInfo> {
    const n = this.resolve(name);
    const known = this.contents.blobs.get(n);
    if (known) return known;
    const small = this.contents.files.get(n);
    if (!small) throw new EngineError("invalid", `invalid archive: ${name} is missing`);
    const info = await this.ctx.content.put(small);
    this.spooled.push(info.digest);
    this.contents.blobs.set(n, info);
    return info;
  }

  has(name: string): boolean {
    const n = this.resolve(name);
    return this.contents.files.has(n) || this.contents.blobs.has(n);
  }
}

function normalizeTag(tag: string): string | undefined {
  try {
    const key = refKey(tag);
    return isDigestRef(key) ? undefined : key;
  } catch {
    return undefined;
  }
}

async function loadDockerArchive(ctx: PullContext, archive: Archive, onProgress: ((p: PullProgress) => void) | undefined, result: LoadResult): Promise<void> {
  let entries: unknown;
  try {
    entries = JSON.parse((await archive.bytes("manifest.json")).toString("utf8"));
  } catch (err) {
    throw new EngineError("invalid", `invalid archive: manifest.json: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(entries)) throw new EngineError("invalid", "invalid archive: manifest.json is not a list");
  for (const raw of entries as { Config?: unknown; RepoTags?: unknown; Layers?: unknown }[]) {
    if (typeof raw?.Config !== "string" || !Array.isArray(raw.Layers) || raw.Layers.some((l) => typeof l !== "string")) {
      throw new EngineError("invalid", "invalid archive: a manifest.json entry needs Config and Layers");
    }
    const tags = (Array.isArray(raw.RepoTags) ? raw.RepoTags : []).filter((t): t is string => typeof t === "string").flatMap((t) => normalizeTag(t) ?? []);
    const layers = [];
    for (const l of raw.Layers as string[]) layers.push(await archive.blob(l));
    const { record, replaced } = await registerImage(ctx, {
      configBytes: await archive.bytes(raw.Config),
      layers,
      tags,
      what: `image ${raw.Config} of the archive`,
      ...(onProgress ? { onProgress } : {}),
    });
    report(result, record, tags, replaced);
  }
}

async function loadOciLayout(ctx: PullContext, archive: Archive, onProgress: ((p: PullProgress) => void) | undefined, result: LoadResult): Promise<void> {
  const blobName = (d: string): string => `blobs/sha256/${d.replace(/^sha256:/, "")}`;
  const top = parseManifest(await archive.bytes("index.json"), undefined, "index.json of the archive");
  if (top.kind !== "index") throw new EngineError("invalid", "invalid archive: index.json is not an image index");
  for (const desc of top.index.manifests) {
    const annotations = desc.annotations ?? {};
    const name = annotations["io.containerd.image.name"] ?? annotations["org.opencontainers.image.ref.name"];
    // A bare "latest" names no repository: such an image loads untagged.
    const tag = name !== undefined && /[/:]/.test(name) ? normalizeTag(name) : undefined;
    let current = desc;
    let manifest: ImageManifest | undefined;
    let manifestBytes: Buffer | undefined;
    for (let depth = 0; depth < 4 && !manifest; depth++) {
      const bytes = await archive.bytes(blobName(current.digest));
      const parsed = parseManifest(bytes, isIndexType(current.mediaType) || current.mediaType.includes("manifest") ? current.mediaType : undefined, current.digest);
      if (parsed.kind === "manifest") {
        manifest = parsed.manifest;
        manifestBytes = bytes;
      } else {
        const chosen = selectPlatform(parsed.index.manifests.filter((m) => archive.has(blobName(m.digest))), hostPlatform());
        if (!chosen) throw new EngineError("invalid", `invalid archive: ${current.digest} has no image for this platform in the archive`);
        current = chosen;
      }
    }
    if (!manifest || !manifestBytes) throw new EngineError("invalid", "invalid archive: indexes nested too deep");
    const layers = [];
    for (const l of manifest.layers) layers.push({ ...(await archive.blob(blobName(l.digest))), mediaType: l.mediaType });
    const { record, replaced } = await registerImage(ctx, {
      configBytes: await archive.bytes(blobName(manifest.config.digest)),
      layers,
      manifest: { bytes: manifestBytes, mediaType: manifest.mediaType },
      tags: tag ? [tag] : [],
      what: `image ${current.digest} of the archive`,
      ...(onProgress ? { onProgress } : {}),
    });
    report(result, record, tag ? [tag] : [], replaced);
  }
}

function report(result: LoadResult, record: ImageRecord, tags: string[], replaced: { tag: string; previous: Digest }[]): void {
  for (const r of replaced) {
    result.messages.push(`The image ${familiarName(parseReference(r.tag))} already exists, renaming the old one with ID ${r.previous} to empty string`);
  }
  result.images.push({ id: record.id, tags });
  if (tags.length === 0) result.messages.push(`Loaded image ID: ${record.id}`);
  for (const t of tags) result.messages.push(`Loaded image: ${familiarName(parseReference(t))}`);
}

export async function loadArchive(ctx: PullContext, input: Readable, opts: { tmpDir: string; onProgress?: (p: PullProgress) => void }): Promise<LoadResult> {
  const spooled: Digest[] = [];
  const result: LoadResult = { images: [], messages: [] };
  try {
    const archive = new Archive(ctx, await readArchive(ctx, input, opts.tmpDir, spooled), spooled);
    if (archive.has("manifest.json")) await loadDockerArchive(ctx, archive, opts.onProgress, result);
    else if (archive.has("index.json")) await loadOciLayout(ctx, archive, opts.onProgress, result);
    else throw new EngineError("invalid", "invalid archive: neither manifest.json (docker save) nor index.json (OCI layout) found");
    return result;
  } finally {
    // Archive files that became no image's blob (legacy json files, other platforms' layers) go again.
    await ctx.collect({ chains: [], blobs: spooled });
  }
}
