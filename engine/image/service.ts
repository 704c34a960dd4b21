// The image service: every image operation of the embedded engine behind one
// object, configured by a state directory and a daemon.json.
//
//   <stateDir>/content     blobs (content store)
//   <stateDir>/snapshots   unpacked layers and container rootfs (overlay snapshotter)
//   <stateDir>/images      image records and references (store.ts), leases
//                          (leases.ts), store.lock and users.lock
//   <stateDir>/tmp         archives being loaded or imported
//
// It implements the engine's ImageBackend; the daemon serves the CLI's image
// commands from the same instance (src/daemon/images-routes.ts). Still, two
// processes may run it on one state dir at once (tests, tools, an embedder
// beside a daemon): leases live on disk, and
// store.lock (a flock, engine/sys/flock.ts) serializes taking a lease,
// committing a record and collecting garbage across both. Every open service
// holds users.lock shared; leftovers of killed writers (ingest files, unpacks
// and removals cut short, spooled archives) are only cleaned by an open that
// finds nobody else using the store (cleanLeftovers: the daemon's start).
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ensureStateDir } from "../sys/state-dir.js";
import type { Readable, Writable } from "node:stream";
import { loadDockerCredentials, type CredentialLookup, type RegistryCredentials } from "../content/credentials.js";
import { parseReference } from "../content/reference.js";
import { RegistryClient, type RegistryClientOptions } from "../content/registry.js";
import { LocalContentStore } from "../content/store.js";
import type { ContentStore, Digest } from "../content/types.js";
import { OverlaySnapshotter } from "../snapshot/overlay.js";
import type { ChainId, Snapshotter } from "../snapshot/types.js";
import type { UnpackOptions } from "../snapshot/unpack.js";
import { EngineError, type ImageInfo, type ImportOptions, type PullOptions, type PullProgress } from "../types.js";
import { loadArchive, saveArchive, type LoadResult } from "./archive.js";
import { parseImageConfig } from "./config.js";
import { parseEngineConfig, readEngineConfig, type EngineConfig } from "../config.js";
import type { LayerDownload } from "./download.js";
import { applyChanges } from "./changes.js";
import { commitBuildStep, commitImage, storeDiffLayer, type BuildStepCommit, type CommitRequest, type StoredLayer } from "./commit.js";
import { importRootfs } from "./import.js";
import { checkLogin } from "./login.js";
import { inspectImage, toImageInfo, type ImageInspect } from "./inspect.js";
import { FileLock } from "../sys/flock.js";
import { Leases } from "./leases.js";
import { KeyedMutex } from "../sys/keyed-mutex.js";
import { Semaphore } from "../sys/semaphore.js";
import { pullImage, type PullContext, type PullResult } from "./pull.js";
import { pushImage, type PushResult } from "./push.js";
import { collectGarbage, pruneImages, removeImage, type PruneResult, type RemoveOptions } from "./remove.js";
import { ImageStore, refKey } from "./store.js";
import type { ImageEntry, ImageRecord } from "./types.js";
import { withEngineErrors } from "../boundary.js";

export interface ImageServiceOptions {
  stateDir: string;
  /** The parsed daemon.json (the engine's, read once by createEngine). */
  config?: EngineConfig;
  /** daemon.json; a missing file means defaults. Ignored when `config` or `daemonConfig` is given. */
  configFile?: string;
  /** A daemon.json object, checked as the file would be (tests, embedders). */
  daemonConfig?: Record<string, unknown>;
  /** Overrides for the registry client (a dispatcher, credentials, retry policy ...). */
  registry?: Partial<RegistryClientOptions>;
  /** Overrides max-concurrent-downloads. */
  maxConcurrentDownloads?: number;
  /** fsync blobs and records before they become visible (default true). */
  sync?: boolean;
  /** Share the engine's snapshotter (a container rootfs is an overlay of these layers). */
  snapshotter?: Snapshotter;
  unpack?: UnpackOptions;
  warn?: (message: string) => void;
  /**
   * Remove what killed writers left (ingest files, half-unpacked and
   * half-removed layers, spooled archives) when no other process has the
   * store open; told what was done.
   */
  cleanLeftovers?: (report: LeftoversReport) => void;
}

/** What cleanLeftovers did: skipped while another process (a CLI image command) uses the store. */
export type LeftoversReport = { cleaned: true; ingests: number; tmp: number } | { cleaned: false; reason: string };

export class ImageService {
  readonly stateDir: string;
  readonly content: ContentStore;
  readonly snapshotter: Snapshotter;
  readonly store: ImageStore;
  readonly registry: RegistryClient;
  readonly config: EngineConfig;
  readonly #ctx: PullContext;
  readonly #pulls = new KeyedMutex();
  readonly #tmp: string;
  readonly #storeLock: FileLock;
  readonly #users: FileLock;
  readonly #asked: AsyncLocalStorage<CredentialLookup>;

  private constructor(parts: {
    stateDir: string;
    content: ContentStore;
    snapshotter: Snapshotter;
    store: ImageStore;
    registry: RegistryClient;
    config: EngineConfig;
    maxConcurrentDownloads: number;
    leases: Leases;
    storeLock: FileLock;
    users: FileLock;
    asked: AsyncLocalStorage<CredentialLookup>;
  }) {
    this.stateDir = parts.stateDir;
    this.content = parts.content;
    this.snapshotter = parts.snapshotter;
    this.store = parts.store;
    this.registry = parts.registry;
    this.config = parts.config;
    this.#tmp = join(parts.stateDir, "tmp");
    this.#storeLock = parts.storeLock;
    this.#users = parts.users;
    this.#asked = parts.asked;
    const inflight = new Map<string, LayerDownload>();
    this.#ctx = {
      content: this.content,
      snapshotter: this.snapshotter,
      store: this.store,
      registry: this.registry,
      leases: parts.leases,
      storeLock: parts.storeLock,
      slots: new Semaphore(parts.maxConcurrentDownloads),
      inflight,
      collect: async (c) => {
        await collectGarbage(this.#ctx, c);
      },
    };
  }

  static async open(opts: ImageServiceOptions): Promise<ImageService> {
    const config = opts.config ?? (opts.daemonConfig ? parseEngineConfig(opts.daemonConfig) : readEngineConfig(opts.configFile));
    // A CLI image command may be the first to touch the state dir.
    ensureStateDir(opts.stateDir);
    await mkdir(join(opts.stateDir, "tmp"), { recursive: true, mode: 0o700 });
    const content = await LocalContentStore.open(join(opts.stateDir, "content"), { sync: opts.sync ?? true });
    const snapshotter = opts.snapshotter ?? new OverlaySnapshotter({ root: join(opts.stateDir, "snapshots"), unpack: { limits: config.layerLimits, ...opts.unpack } });
    const store = await ImageStore.open(join(opts.stateDir, "images"), { sync: opts.sync ?? true });
    const own: CredentialLookup = opts.registry?.credentials ?? (await loadDockerCredentials({ warn: opts.warn }));
    // A request's client may bring its user's logins (withCredentials): they come first, the daemon's own after.
    const asked = new AsyncLocalStorage<CredentialLookup>();
    const credentials: CredentialLookup = (host) => asked.getStore()?.(host) ?? own(host);
    const registry = new RegistryClient({
      hosts: config.hosts,
      ...(config.dockerHubUrl ? { dockerHubUrl: config.dockerHubUrl } : {}),
      warn: opts.warn,
      ...opts.registry,
      credentials,
    });
    const leases = await Leases.open(join(opts.stateDir, "images", "leases"));
    const storeLock = new FileLock(join(opts.stateDir, "images", "store.lock"), "the image store");
    const users = new FileLock(join(opts.stateDir, "images", "users.lock"), "the image store's users");
    try {
      // Exclusive first, then shared: converting a held shared lock is not atomic in flock(2).
      if (opts.cleanLeftovers) {
        if (await users.lock("exclusive", { wait: false })) {
          const ingests = await content.cleanIngest(0);
          await snapshotter.cleanup();
          const tmp = await emptyDir(join(opts.stateDir, "tmp"));
          await leases.held(); // drops the leases of dead processes
          opts.cleanLeftovers({ cleaned: true, ingests, tmp });
        } else {
          opts.cleanLeftovers({ cleaned: false, reason: "another process (a CLI image command) has the image store open; cleaned at the next start" });
        }
      }
      await users.lock("shared");
    } catch (err) {
      await users.close();
      throw err;
    }
    const service = new ImageService({
      stateDir: opts.stateDir,
      content,
      snapshotter,
      store,
      registry,
      config,
      maxConcurrentDownloads: opts.maxConcurrentDownloads ?? config.maxConcurrentDownloads,
      leases,
      storeLock,
      users,
      asked,
    });
    // The CLI's image commands use this service directly, not through the engine: the same readable full-disk errors.
    return withEngineErrors(service, opts.stateDir);
  }

  async close(): Promise<void> {
    await this.#storeLock.close();
    await this.#users.close();
    await this.registry.close();
  }

  /**
   * Runs fn (a pull or a push) with a client's registry logins, as docker's
   * X-Registry-Auth: the daemon serves users whose config.json is not its own.
   */
  withCredentials<T>(lookup: CredentialLookup, fn: () => Promise<T>): Promise<T> {
    return this.#asked.run(lookup, fn);
  }

  // ---- pull

  /** Pulls with docker's semantics; two pulls of one reference in this process run one after the other. */
  async pullDetailed(ref: string, opts: PullOptions = {}): Promise<PullResult> {
    const key = `${refKey(ref)}\n${opts.platform ?? ""}`;
    return this.#pulls.run(key, () => pullImage(this.#ctx, ref, opts));
  }

  async pull(ref: string, opts: PullOptions = {}): Promise<ImageInfo> {
    const result = await this.pullDetailed(ref, opts);
    return this.#info(result.record);
  }

  // ---- local images

  async #entry(record: ImageRecord): Promise<ImageEntry> {
    const entry = (await this.store.entries()).find((e) => e.record.id === record.id);
    return entry ?? { record, tags: [], digests: [] };
  }

  async #info(record: ImageRecord): Promise<ImageInfo> {
    return toImageInfo(await this.#entry(record));
  }

  /** The record of an image named by reference, ID or ID prefix. */
  async get(ref: string): Promise<ImageRecord | undefined> {
    const found = await this.store.lookup(ref);
    return found ? this.store.get(found.id) : undefined;
  }

  async resolveLocal(ref: string): Promise<{ info: ImageInfo; chainIds: ChainId[] } | undefined> {
    const found = await this.store.lookup(ref);
    const record = found ? await this.store.get(found.id) : undefined;
    if (!found || !record) return undefined;
    const pulledAt = (found.ref !== undefined ? await this.store.refPulledAt(found.ref) : undefined) ?? record.addedAt;
    return { info: { ...(await this.#info(record)), pulledAt }, chainIds: record.layers.map((l) => l.chainId) };
  }

  /**
   * The image and its layers, leased until `release` is called: what a
   * container is created from, kept from any process's garbage collection
   * until the container's snapshot (which the snapshotter protects) exists.
   */
  async leaseLocal(ref: string): Promise<{ info: ImageInfo; chainIds: ChainId[]; release: () => Promise<void> } | undefined> {
    const found = await this.#storeLock.run(async () => {
      const record = await this.get(ref);
      return record ? { record, release: await this.#ctx.leases.acquire([record.id, ...record.layers.map((l) => l.chainId)]) } : undefined;
    });
    if (!found) return undefined;
    try {
      return { info: await this.#info(found.record), chainIds: found.record.layers.map((l) => l.chainId), release: found.release };
    } catch (err) {
      await found.release();
      throw err;
    }
  }

  async inspect(ref: string): Promise<ImageInspect | undefined> {
    const record = await this.get(ref);
    if (!record) return undefined;
    const config = parseImageConfig(await this.content.readBytes(record.config.digest), ref);
    return inspectImage(await this.#entry(record), config, this.snapshotter);
  }

  /** Images with their references, newest first. */
  async entries(): Promise<ImageEntry[]> {
    const all = await this.store.entries();
    return all.sort((a, b) => (b.record.created ?? "").localeCompare(a.record.created ?? "") || a.record.id.localeCompare(b.record.id));
  }

  async list(): Promise<ImageInfo[]> {
    return (await this.entries()).map(toImageInfo);
  }

  /** docker tag: points `target` at the image `source` names. */
  async tag(source: string, target: string): Promise<void> {
    const record = await this.get(source);
    if (!record) throw new EngineError("not-found", `No such image: ${source}`);
    const ref = parseReference(target);
    if (ref.digest !== undefined) throw new EngineError("invalid", `refusing to create a tag with a digest reference: ${target}`);
    await this.store.setRef(ref, record.id);
  }

  /**
   * Whether a container snapshot is built on exactly this image's layers: the
   * in-process stand-in for "a container uses it" while no daemon tracks
   * containers for the CLI. (Images with identical layers count together.)
   */
  async usedBySnapshots(imageId: string): Promise<boolean> {
    const record = await this.store.get(imageId as Digest);
    if (!record) return false;
    const chains = record.layers.map((l) => l.chainId).join(" ");
    return (await this.snapshotter.list()).some((s) => s.layers.join(" ") === chains);
  }

  remove(ref: string, opts: RemoveOptions): Promise<string[]> {
    return removeImage(this.#ctx, ref, opts);
  }

  prune(opts: { all?: boolean; inUse: (imageId: string) => Promise<boolean> }): Promise<PruneResult> {
    return pruneImages(this.#ctx, opts);
  }

  // ---- archives, push, import

  /** docker save: the images `refs` name, as one tar written to `out`. */
  async save(refs: string[], out: Writable): Promise<void> {
    await saveArchive(this.#ctx, refs, out);
  }

  /** docker load: a docker save tar or an OCI layout tar. */
  async load(input: Readable, opts: { onProgress?: (p: PullProgress) => void } = {}): Promise<LoadResult> {
    return loadArchive(this.#ctx, input, { tmpDir: this.#tmp, ...opts });
  }

  async push(ref: string, opts: { onProgress?: (p: PullProgress) => void } = {}): Promise<PushResult> {
    return pushImage(this.#ctx, ref, { ...opts, maxConcurrentUploads: this.config.maxConcurrentUploads });
  }

  /**
   * docker commit's image half: the changes in a container's upper dir as a
   * new layer over its image (`parent`), with its settings (`overrides`), the
   * -c changes and a history entry. Returns the new image's ID.
   */
  async commit(req: Omit<CommitRequest, "layers" | "tags" | "verb"> & { upperDir: string; ref?: string; mountPoints?: readonly string[]; onWarning?: (message: string) => void }): Promise<Digest> {
    const tag = req.ref !== undefined ? refKey(req.ref) : undefined;
    if (tag?.includes("@")) throw new EngineError("invalid", `refusing to create a tag with a digest reference: ${req.ref}`);
    // A bad -c fails before any layer is written.
    applyChanges({}, req.changes ?? [], "commit");
    // Uncompressed, as docker keeps a commit's layer in its local store: no gzip pass now, no gunzip to unpack it.
    const layer = await storeDiffLayer(this.content, req.upperDir, this.#tmp, { ...(req.onWarning ? { onWarning: req.onWarning } : {}), ...(req.mountPoints ? { mountPoints: req.mountPoints } : {}), compress: false });
    let ok = false;
    try {
      const { record } = await commitImage(this.#ctx, { ...req, layers: [layer], tags: tag ? [tag] : [], verb: "commit" });
      ok = true;
      return record.id;
    } finally {
      if (!ok) await this.#ctx.collect({ chains: [], blobs: [layer.blob.digest] }).catch(() => undefined);
    }
  }

  /**
   * A build step's upper dir (unmounted) as an uncompressed layer blob and as
   * the snapshotter's layer over `parent`'s (the directory is moved there);
   * undefined when it holds no change (BuildKit then records the step as an
   * empty_layer history entry).
   */
  async storeBuildLayer(upperDir: string, opts: { parent?: string; mountPoints?: readonly string[]; onWarning?: (message: string) => void } = {}): Promise<StoredLayer | undefined> {
    const { parent, ...diffOpts } = opts;
    const layer = await storeDiffLayer(this.content, upperDir, this.#tmp, { ...diffOpts, compress: false });
    if (layer.entries === 0) {
      await this.#ctx.collect({ chains: [], blobs: [layer.blob.digest] }).catch(() => undefined);
      return undefined;
    }
    // The upper dir is the layer's files already: it becomes the snapshotter's layer (a rename), so
    // registering the step's image finds the layer there and unpacks nothing.
    const below = parent === undefined ? undefined : (await this.get(parent))?.layers.at(-1)?.chainId;
    if (parent === undefined || below !== undefined) await this.snapshotter.adoptLayer({ ...(below ? { parent: below } : {}), diffId: layer.diffId, size: layer.blob.size, dir: upperDir });
    return layer;
  }

  /** The layer a build step's image added (its last), to be put over another parent (COPY --link); undefined when the image is gone. */
  async stepLayer(id: string): Promise<StoredLayer | undefined> {
    const record = await this.get(id);
    const parent = record?.parent === undefined ? undefined : await this.get(record.parent);
    // A step that changed no file added no layer: its image's last layer is another step's.
    if (!record || (record.parent !== undefined && (!parent || parent.layers.length >= record.layers.length))) return undefined;
    const last = record.layers.at(-1);
    return last && { blob: { digest: last.blob.digest, size: last.blob.size }, diffId: last.diffId, warnings: [], entries: 1 };
  }

  /** A build step's image (commit.ts commitBuildStep); a failure takes the step's blob back. Returns the image ID. */
  async commitBuildStep(req: Omit<BuildStepCommit, "tags"> & { tags?: string[] }): Promise<Digest> {
    let ok = false;
    try {
      const { record } = await commitBuildStep(this.#ctx, { ...req, tags: (req.tags ?? []).map((t) => refKey(t)) });
      ok = true;
      return record.id;
    } finally {
      if (!ok && req.layer) await this.#ctx.collect({ chains: [], blobs: [req.layer.blob.digest] }).catch(() => undefined);
    }
  }

  /** The container config (Docker form: Env, Cmd ...) of a local image, as its config blob has it. */
  async containerConfig(id: string): Promise<Record<string, unknown> | undefined> {
    const record = await this.get(id);
    if (!record) return undefined;
    return parseImageConfig(await this.content.readBytes(record.config.digest), id).config ?? {};
  }

  /** docker login's check, against the registry as this daemon's config reaches it (mirrors, insecure registries). */
  checkLogin(server: string | undefined, creds: RegistryCredentials): Promise<void> {
    return checkLogin(server, creds, { hosts: this.config.hosts, ...(this.config.dockerHubUrl ? { dockerHubUrl: this.config.dockerHubUrl } : {}) });
  }

  /** docker import: a root filesystem tar as a one-layer image. */
  async import(input: Readable, opts: ImportOptions = {}): Promise<Digest> {
    return importRootfs(this.#ctx, input, { tmpDir: this.#tmp, ...opts });
  }
}

/** Removes everything in dir; returns how many entries there were. */
async function emptyDir(dir: string): Promise<number> {
  const names = await readdir(dir);
  for (const name of names) await rm(join(dir, name), { recursive: true, force: true });
  return names.length;
}
