// The overlay snapshotter (see types.ts for the lifecycle). On disk:
//
//   <root>/layers/<chain hex>/fs            an unpacked layer, a lowerdir
//   <root>/layers/<chain hex>/layer.json    its LayerInfo (written before the
//                                           directory becomes visible)
//   <root>/layers/.tmp-*                    unpacks in progress (or interrupted)
//   <root>/l/<short id> -> ../layers/<chain hex>/fs
//   <root>/containers/<key>/{upper,work,merged,snapshot.json}
//   <root>/empty                            the lowerdir of an image with no layers
//   <root>/views/.view-*                    read-only overlays of an image's layers,
//                                           mounted only while a create reads them
//
// Atomicity: a layer or container directory is assembled under a ".tmp-" name
// and renamed into place; rename(2) of a directory onto an existing non-empty
// one fails, so of two concurrent unpacks of one layer (two processes, or two
// snapshotters on one root) exactly one wins and the other discards its copy.
// Removal renames to ".del-" first so a half-deleted layer is never visible.
//
// Mount options are limited to one page (4096 bytes) by mount(2). With
// absolute paths each lowerdir costs ~100 bytes, so an image of ~40 layers
// would not fit. As docker's overlay2 does, every layer also gets a short
// symlink l/<24 hex>; when the absolute form is too long the mount uses
// "l/<id>:l/<id>..." relative to the root and is made from there (Mount.cwd).
// That fits the 128 layers docker allows; beyond it, prepare fails.
import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, symlink, unlink } from "node:fs/promises";
import * as path from "node:path";
import { syncDir, writeFileAtomic } from "../sys/atomic-file.js";
import { KeyedMutex } from "../sys/keyed-mutex.js";
import { chainId, digestHex, isDigest } from "./chain.js";
import { isMounted, mountOverlay, unmount } from "./mount.js";
import { isOpaqueDir } from "./xattr.js";
import { unpackLayer, type UnpackOptions } from "./unpack.js";
import { diskUsage } from "./usage.js";
import {
  SnapshotError,
  type ApplyLayerRequest,
  type ChainId,
  type ContainerSnapshot,
  type LayerInfo,
  type Mount,
  type Snapshotter,
  type SnapshotterUsage,
} from "./types.js";

/** Page size minus the NUL and a margin for options mount(8) may add. */
const MAX_MOUNT_OPTIONS = 4000;
const SHORT_ID_LENGTH = 24;
const KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface OverlaySnapshotterOptions {
  root: string;
  /** Passed to every unpack (allowDevices, onWarning ...). */
  unpack?: UnpackOptions;
}

type LayerMeta = Omit<LayerInfo, "path">;
type ContainerMeta = Pick<ContainerSnapshot, "key" | "layers" | "created">;

export class OverlaySnapshotter implements Snapshotter {
  readonly root: string;
  private readonly unpackOptions: UnpackOptions;
  private ready: Promise<void> | undefined;
  private readonly unpacking = new Map<ChainId, Promise<LayerInfo>>();
  private readonly keyLocks = new KeyedMutex();

  constructor(opts: OverlaySnapshotterOptions) {
    this.root = path.resolve(opts.root);
    // Overlay options are split on "," and ":" and "\" escapes: such a root cannot be expressed.
    if (/[,:\\\s]/.test(this.root)) throw new SnapshotError("invalid", `snapshotter root ${JSON.stringify(this.root)} may not contain ',', ':', '\\' or whitespace`);
    this.unpackOptions = opts.unpack ?? {};
  }

  private get layersDir(): string {
    return `${this.root}/layers`;
  }

  private get containersDir(): string {
    return `${this.root}/containers`;
  }

  private get viewsDir(): string {
    return `${this.root}/views`;
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      // The root is private: upper dirs hold what containers wrote (setuid binaries included).
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      for (const d of [this.layersDir, this.containersDir, this.viewsDir, `${this.root}/l`, `${this.root}/empty`]) {
        await mkdir(d, { recursive: true });
      }
    })();
    return this.ready;
  }

  // ---- layers ----

  async applyLayer(req: ApplyLayerRequest): Promise<LayerInfo> {
    await this.init();
    if (req.parent !== undefined) {
      if (!isDigest(req.parent)) throw new SnapshotError("invalid", `parent chain ID ${JSON.stringify(req.parent)} is not a sha256 digest`);
      // With parentReady the parent may still be on its way; it is checked before the commit instead.
      if (req.parentReady === undefined && (await this.getLayer(req.parent)) === undefined) {
        throw new SnapshotError("not-found", `parent layer ${req.parent} not found`);
      }
    }
    if (req.diffId === undefined) return this.unpackNew(req);
    if (!isDigest(req.diffId)) throw new SnapshotError("invalid", `diffID ${JSON.stringify(req.diffId)} is not a sha256 digest`);
    const id = chainId(req.parent, req.diffId);
    const existing = await this.getLayer(id);
    if (existing !== undefined) return existing;
    // One unpack per chain in this process; other processes are handled by the rename.
    let pending = this.unpacking.get(id);
    if (pending === undefined) {
      pending = this.unpackNew(req).finally(() => this.unpacking.delete(id));
      this.unpacking.set(id, pending);
    }
    return pending;
  }

  private async unpackNew(req: ApplyLayerRequest): Promise<LayerInfo> {
    const tmp = await mkdtemp(`${this.layersDir}/.tmp-`);
    try {
      await chmod(tmp, 0o711);
      const fsDir = `${tmp}/fs`;
      await mkdir(fsDir);
      await chmod(fsDir, 0o755);
      const result = await unpackLayer(await req.open(), fsDir, this.unpackOptions);
      if (req.diffId !== undefined && result.diffId !== req.diffId) {
        throw new SnapshotError("digest-mismatch", `layer diffID is ${result.diffId}, expected ${req.diffId}`);
      }
      const meta: LayerMeta = {
        chainId: chainId(req.parent, result.diffId),
        diffId: result.diffId,
        ...(req.parent === undefined ? {} : { parent: req.parent }),
        size: result.size,
        created: new Date().toISOString(),
      };
      // The metadata is durable before the directory gets its name (the layer's files are not
      // fsynced one by one, as containerd's and docker's unpackers do not: that would cost a
      // sync per file; a layer torn by a power loss is pulled again after `rmi`).
      await writeFileAtomic(`${tmp}/layer.json`, JSON.stringify(meta));
      if (req.parentReady !== undefined) {
        await req.parentReady;
        if (req.parent !== undefined && (await this.getLayer(req.parent)) === undefined) {
          throw new SnapshotError("not-found", `parent layer ${req.parent} not found`);
        }
      }
      const final = this.layerDir(meta.chainId);
      try {
        await rename(tmp, final);
        await syncDir(this.layersDir);
      } catch (err) {
        if (!isExists(err)) throw err;
        // Someone else committed the same layer first: theirs is as good as ours.
        await rm(tmp, { recursive: true, force: true });
      }
      await this.ensureLink(meta.chainId);
      const info = await this.getLayer(meta.chainId);
      if (info === undefined) throw new SnapshotError("not-found", `layer ${meta.chainId} vanished after unpack`);
      return info;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async adoptLayer(req: { parent?: ChainId; diffId: ChainId; size: number; dir: string }): Promise<LayerInfo> {
    await this.init();
    if (req.parent !== undefined && (await this.getLayer(req.parent)) === undefined) throw new SnapshotError("not-found", `parent layer ${req.parent} not found`);
    const id = chainId(req.parent, req.diffId);
    const existing = await this.getLayer(id);
    if (existing !== undefined) return existing;
    const tmp = await mkdtemp(`${this.layersDir}/.tmp-`);
    try {
      await chmod(tmp, 0o711);
      await rename(req.dir, `${tmp}/fs`);
      // As an unpacked layer's root (the upper dir's own mode is the snapshotter's).
      await chmod(`${tmp}/fs`, 0o755);
      const meta: LayerMeta = { chainId: id, diffId: req.diffId, ...(req.parent === undefined ? {} : { parent: req.parent }), size: req.size, created: new Date().toISOString() };
      await writeFileAtomic(`${tmp}/layer.json`, JSON.stringify(meta));
      try {
        await rename(tmp, this.layerDir(id));
        await syncDir(this.layersDir);
      } catch (err) {
        if (!isExists(err)) throw err;
        await rm(tmp, { recursive: true, force: true });
      }
      await this.ensureLink(id);
      const info = await this.getLayer(id);
      if (info === undefined) throw new SnapshotError("not-found", `layer ${id} vanished after it was adopted`);
      return info;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async getLayer(id: ChainId): Promise<LayerInfo | undefined> {
    if (!isDigest(id)) return undefined;
    const dir = this.layerDir(id);
    const meta = await readJson<LayerMeta>(`${dir}/layer.json`);
    return meta === undefined ? undefined : { ...meta, path: `${dir}/fs` };
  }

  async listLayers(): Promise<LayerInfo[]> {
    await this.init();
    const out: LayerInfo[] = [];
    for (const name of await readdir(this.layersDir)) {
      if (name.startsWith(".")) continue;
      const info = await this.getLayer(`sha256:${name}`);
      if (info !== undefined) out.push(info);
    }
    return out;
  }

  async removeLayer(id: ChainId): Promise<void> {
    await this.init();
    if ((await this.getLayer(id)) === undefined) return;
    const users = (await this.list()).filter((c) => c.layers.includes(id)).map((c) => c.key);
    if (users.length > 0) throw new SnapshotError("in-use", `layer ${id} is used by container snapshots ${users.join(", ")}`);
    const children = (await this.listLayers()).filter((l) => l.parent === id).map((l) => l.chainId);
    if (children.length > 0) throw new SnapshotError("in-use", `layer ${id} is the parent of ${children.join(", ")}`);
    await unlink(this.linkPath(id)).catch(ignoreMissing);
    await this.discard(this.layerDir(id), this.layersDir);
  }

  // ---- containers ----

  async prepare(key: string, layers: ChainId[]): Promise<Mount> {
    checkKey(key);
    await this.init();
    const infos = await this.resolveChain(layers);
    const tmp = await mkdtemp(`${this.containersDir}/.tmp-`);
    try {
      await chmod(tmp, 0o711);
      // upper is the rootfs's root directory in the merged view: 0755 like any "/".
      await mkdir(`${tmp}/upper`, { mode: 0o755 });
      await chmod(`${tmp}/upper`, 0o755);
      await mkdir(`${tmp}/work`, { mode: 0o700 });
      await mkdir(`${tmp}/merged`, { mode: 0o755 });
      const meta: ContainerMeta = { key, layers: [...layers], created: new Date().toISOString() };
      await writeFileAtomic(`${tmp}/snapshot.json`, JSON.stringify(meta));
      try {
        await rename(tmp, this.containerDir(key));
        await syncDir(this.containersDir);
      } catch (err) {
        if (isExists(err)) throw new SnapshotError("conflict", `container snapshot ${key} already exists`, { cause: err });
        throw err;
      }
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    return this.buildMount(key, infos);
  }

  async mounts(key: string): Promise<Mount> {
    const snap = await this.mustGet(key);
    return this.buildMount(key, await this.resolveChain(snap.layers));
  }

  mountpoint(key: string): string {
    checkKey(key);
    return `${this.containerDir(key)}/merged`;
  }

  async withLayersView<T>(layers: ChainId[], fn: (dir: string) => Promise<T>): Promise<T> {
    await this.init();
    const infos = await this.resolveChain(layers);
    // No overlay is needed to read one layer (or none): nothing above it hides anything.
    if (infos.length <= 1) return fn(infos[0]?.path ?? `${this.root}/empty`);
    const dir = await mkdtemp(`${this.viewsDir}/.view-`);
    try {
      // Without an upperdir, overlayfs mounts read-only: the layers cannot be written through it.
      await mountOverlay(await this.layersOnlyMount(infos), dir);
      return await fn(dir);
    } finally {
      await unmount(dir);
      await rm(dir, { recursive: true, force: true });
    }
  }

  async readOnlyMount(layers: ChainId[], subpath?: string): Promise<{ type: "bind"; source: string } | { type: "overlay"; options: string[] }> {
    await this.init();
    const infos = await this.resolveChain(layers);
    const parts = (subpath ?? "").split("/").filter((p) => p !== "" && p !== ".");
    if (parts.includes("..")) throw new SnapshotError("invalid", `subpath "${subpath ?? ""}" must stay inside the image`);
    // Top first: each layer's copy of the directory, down to the layer that hides the rest (a
    // whiteout, a file in the way, an opaque directory on the path). Walking the layers'
    // own directories follows no link, so a link in the image cannot lead outside it.
    const dirs: string[] = [];
    let found: "dir" | "other" | undefined;
    for (const layer of [...infos].reverse()) {
      let dir = layer.path;
      let hidesBelow = false;
      let here: "dir" | "other" | "missing" = "dir";
      for (const part of parts) {
        if (dir !== layer.path && (await isOpaqueDir(dir))) hidesBelow = true;
        dir = `${dir}/${part}`;
        const st = await lstat(dir).catch(() => undefined);
        if (st === undefined) {
          here = "missing";
          break;
        }
        if (!st.isDirectory()) {
          // A whiteout (0/0 character device) or a file or link: what the layers below have there is hidden.
          here = st.isCharacterDevice() && st.rdev === 0 ? "missing" : "other";
          hidesBelow = true;
          break;
        }
      }
      if (here === "dir" && parts.length > 0 && (await isOpaqueDir(dir))) hidesBelow = true;
      found ??= here === "missing" ? undefined : here;
      if (here === "dir") dirs.push(dir);
      if (hidesBelow || here === "other") break;
    }
    if (parts.length > 0 && found !== "dir") {
      throw new SnapshotError(found === "other" ? "invalid" : "not-found", `subpath "${subpath ?? ""}" ${found === "other" ? "is not a directory" : "does not exist"} in the image`);
    }
    if (dirs.length === 0) return { type: "bind", source: `${this.root}/empty` };
    if (dirs.length === 1) return { type: "bind", source: dirs[0] as string };
    // Without an upperdir, overlayfs mounts read-only.
    const options = [`lowerdir=${dirs.join(":")}`];
    if (Buffer.byteLength(options[0] as string) > MAX_MOUNT_OPTIONS) throw new SnapshotError("invalid", `${dirs.length} layers do not fit in one overlay mount`);
    return { type: "overlay", options };
  }

  async removeStaleViews(): Promise<void> {
    await this.init();
    for (const name of await readdir(this.viewsDir)) {
      await unmount(`${this.viewsDir}/${name}`);
      await rm(`${this.viewsDir}/${name}`, { recursive: true, force: true });
    }
  }

  async mount(key: string): Promise<string> {
    return this.withKey(key, async () => {
      const snap = await this.mustGet(key);
      const m = await this.buildMount(key, await this.resolveChain(snap.layers));
      if (!(await isMounted(snap.merged))) await mountOverlay(m, snap.merged);
      return snap.merged;
    });
  }

  async unmount(key: string): Promise<void> {
    checkKey(key);
    return this.withKey(key, () => unmount(`${this.containerDir(key)}/merged`));
  }

  async remove(key: string): Promise<void> {
    checkKey(key);
    await this.init();
    return this.withKey(key, async () => {
      const dir = this.containerDir(key);
      await unmount(`${dir}/merged`);
      await this.discard(dir, this.containersDir);
    });
  }

  async get(key: string): Promise<ContainerSnapshot | undefined> {
    if (!KEY.test(key)) return undefined;
    const dir = this.containerDir(key);
    const meta = await readJson<ContainerMeta>(`${dir}/snapshot.json`);
    if (meta === undefined) return undefined;
    return { ...meta, upper: `${dir}/upper`, work: `${dir}/work`, merged: `${dir}/merged` };
  }

  async list(): Promise<ContainerSnapshot[]> {
    await this.init();
    const out: ContainerSnapshot[] = [];
    for (const name of await readdir(this.containersDir)) {
      if (name.startsWith(".")) continue;
      const snap = await this.get(name);
      if (snap !== undefined) out.push(snap);
    }
    return out;
  }

  // ---- maintenance ----

  async usage(): Promise<SnapshotterUsage> {
    const result: SnapshotterUsage = { layers: {}, containers: {}, total: { size: 0, inodes: 0 } };
    const add = (u: { size: number; inodes: number }): void => {
      result.total.size += u.size;
      result.total.inodes += u.inodes;
    };
    for (const layer of await this.listLayers()) {
      const u = await diskUsage(layer.path);
      result.layers[layer.chainId] = u;
      add(u);
    }
    // A container's own usage is what it wrote: its upper directory.
    for (const c of await this.list()) {
      const u = await diskUsage(c.upper);
      result.containers[c.key] = u;
      add(u);
    }
    return result;
  }

  async cleanup(): Promise<void> {
    await this.init();
    for (const dir of [this.layersDir, this.containersDir]) {
      for (const name of await readdir(dir)) {
        if (name.startsWith(".tmp-") || name.startsWith(".del-")) await rm(`${dir}/${name}`, { recursive: true, force: true });
      }
    }
    // Links whose layer is gone (a crash between the two steps of removeLayer).
    for (const name of await readdir(`${this.root}/l`)) {
      const target = await readlink(`${this.root}/l/${name}`).catch(() => undefined);
      const hex = target?.match(/^\.\.\/layers\/([0-9a-f]{64})\/fs$/)?.[1];
      if (hex === undefined || (await this.getLayer(`sha256:${hex}`)) === undefined) await unlink(`${this.root}/l/${name}`).catch(ignoreMissing);
    }
  }

  // ---- helpers ----

  private layerDir(id: ChainId): string {
    return `${this.layersDir}/${digestHex(id)}`;
  }

  private containerDir(key: string): string {
    return `${this.containersDir}/${key}`;
  }

  private linkPath(id: ChainId): string {
    return `${this.root}/l/${shortId(id)}`;
  }

  private async ensureLink(id: ChainId): Promise<void> {
    const target = `../layers/${digestHex(id)}/fs`;
    try {
      await symlink(target, this.linkPath(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const current = await readlink(this.linkPath(id));
      if (current !== target) throw new SnapshotError("conflict", `short link ${this.linkPath(id)} points to ${current}, not ${target}`);
    }
  }

  /** Layer infos for chain IDs given base first, checking they form one chain. */
  private async resolveChain(layers: readonly ChainId[]): Promise<LayerInfo[]> {
    const infos: LayerInfo[] = [];
    for (const [i, id] of layers.entries()) {
      const info = await this.getLayer(id);
      if (info === undefined) throw new SnapshotError("not-found", `layer ${id} not found`);
      const expectedParent = i === 0 ? undefined : layers[i - 1];
      if (info.parent !== expectedParent) {
        throw new SnapshotError("invalid", `layer ${id} has parent ${info.parent ?? "none"}, not ${expectedParent ?? "none"}: pass chain IDs base first`);
      }
      infos.push(info);
    }
    return infos;
  }

  private async buildMount(key: string, layers: readonly LayerInfo[]): Promise<Mount> {
    const dir = this.containerDir(key);
    return this.overlayMount(layers, [`upperdir=${dir}/upper`, `workdir=${dir}/work`], [`upperdir=containers/${key}/upper`, `workdir=containers/${key}/work`]);
  }

  /** Two or more layers, read-only (overlayfs needs two lowerdirs when there is no upperdir). */
  private layersOnlyMount(layers: readonly LayerInfo[]): Promise<Mount> {
    return this.overlayMount(layers, [], []);
  }

  /**
   * The overlay of `layers` (base first) plus `extra` options, with absolute
   * paths when they fit in a page, else relative to the root (`extraRelative`).
   */
  private async overlayMount(layers: readonly LayerInfo[], extra: string[], extraRelative: string[]): Promise<Mount> {
    const topFirst = [...layers].reverse();
    const absolute = [`lowerdir=${topFirst.length === 0 ? `${this.root}/empty` : topFirst.map((l) => l.path).join(":")}`, ...extra];
    if (Buffer.byteLength(absolute.join(",")) <= MAX_MOUNT_OPTIONS) return { type: "overlay", source: "overlay", options: absolute };
    for (const l of layers) await this.ensureLink(l.chainId);
    const relative = [`lowerdir=${topFirst.map((l) => `l/${shortId(l.chainId)}`).join(":")}`, ...extraRelative];
    if (Buffer.byteLength(relative.join(",")) > MAX_MOUNT_OPTIONS) {
      throw new SnapshotError("invalid", `${layers.length} layers do not fit in one overlay mount`);
    }
    return { type: "overlay", source: "overlay", options: relative, cwd: this.root };
  }


  private async mustGet(key: string): Promise<ContainerSnapshot> {
    checkKey(key);
    const snap = await this.get(key);
    if (snap === undefined) throw new SnapshotError("not-found", `container snapshot ${key} not found`);
    return snap;
  }

  /** Renames `dir` out of sight, then deletes it. */
  private async discard(dir: string, parent: string): Promise<void> {
    const gone = `${parent}/.del-${randomBytes(8).toString("hex")}`;
    try {
      await rename(dir, gone);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    await rm(gone, { recursive: true, force: true });
  }

  /** Runs fn after earlier operations on the same key finished (mount/unmount/remove must not interleave). */
  private withKey<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.keyLocks.run(key, fn);
  }
}

/** The name of a layer's short link: enough of the chain ID to be unique (96 bits). */
export function shortId(id: ChainId): string {
  return digestHex(id).slice(0, SHORT_ID_LENGTH);
}

function checkKey(key: string): void {
  if (!KEY.test(key)) throw new SnapshotError("invalid", `snapshot key ${JSON.stringify(key)} must match ${KEY.source}`);
}

function isExists(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "EEXIST" || code === "ENOTEMPTY";
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw err;
  }
}
