// Named volumes of the embedded engine, as Docker's local driver keeps them:
// a directory <stateDir>/volumes/<name>/_data plus a small JSON record with
// labels and creation time. A new volume mounted where the image has content
// is first filled with that content (Docker's copy-up), once, and only while
// it is still empty.
import { cp, lstat, mkdir, readFile, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { checkName } from "./names.js";
import { resolveInRoot } from "./runtime/user.js";
import { isMounted, mountOverlay, unmount } from "./snapshot/mount.js";
import { writeFileAtomic } from "./sys/atomic-file.js";
import { localVolumeKind } from "./volume-options.js";
import type { LocalVolumeKind } from "./volume-options.js";
import type { VolumeInfo } from "./types.js";
import { EngineError } from "./types.js";


interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string>;
  createdAt: string;
  /** Set once the image's content was copied in (or nocopy said not to). */
  initialized: boolean;
  /** The local driver's driver_opts (type, o, device); absent for a plain volume. */
  options?: Record<string, string>;
}

export class VolumeStore {
  private readonly root: string;

  constructor(stateDir: string) {
    this.root = join(stateDir, "volumes");
  }

  private dir(name: string): string {
    return join(this.root, checkName("volume", name));
  }

  mountpoint(name: string): string {
    return join(this.dir(name), "_data");
  }

  async create(spec: { name: string; labels: Record<string, string>; driver?: string; driverOpts?: Record<string, string> }): Promise<VolumeInfo> {
    const existing = await this.inspect(spec.name);
    if (existing) return existing;
    if (spec.driver && spec.driver !== "local") throw new EngineError("invalid", `volume driver "${spec.driver}" is not supported (only "local")`);
    const options = spec.driverOpts && Object.keys(spec.driverOpts).length > 0 ? spec.driverOpts : undefined;
    const kind = checkedKind(options);
    if (kind.kind === "bind") await checkDevice(kind.device);
    const dir = this.dir(spec.name);
    // The volumes dir is private (0700: volumes hold data other users must not reach);
    // _data itself is the volume's root as a container sees it: 0755 as Docker's.
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await mkdir(join(dir, "_data"), { recursive: true, mode: 0o755 });
    const record: VolumeRecord = { name: spec.name, driver: "local", labels: spec.labels, createdAt: new Date().toISOString(), initialized: false, ...(options ? { options } : {}) };
    await this.write(record);
    return this.info(record);
  }

  private async write(record: VolumeRecord): Promise<void> {
    const file = join(this.dir(record.name), "volume.json");
    await writeFileAtomic(file, JSON.stringify(record));
  }

  private async read(name: string): Promise<VolumeRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir(name), "volume.json"), "utf8")) as VolumeRecord;
    } catch {
      return undefined;
    }
  }

  private info(r: VolumeRecord): VolumeInfo {
    return { name: r.name, driver: r.driver, labels: r.labels, mountpoint: this.mountpoint(r.name), createdAt: r.createdAt };
  }

  async inspect(name: string): Promise<VolumeInfo | undefined> {
    const r = await this.read(name);
    return r ? this.info(r) : undefined;
  }

  async list(filter?: { labels?: Record<string, string | undefined> }): Promise<VolumeInfo[]> {
    let names: string[] = [];
    try {
      names = await readdir(this.root);
    } catch {
      return [];
    }
    const out: VolumeInfo[] = [];
    for (const n of names) {
      const r = await this.read(n);
      if (!r) continue;
      const labels = filter?.labels ?? {};
      if (Object.entries(labels).every(([k, v]) => (v === undefined ? k in r.labels : r.labels[k] === v))) out.push(this.info(r));
    }
    return out;
  }

  /** Replaces a volume's labels (a carried-over anonymous volume changes owner); returns the old ones. */
  async setLabels(name: string, labels: Record<string, string>): Promise<Record<string, string>> {
    const r = await this.read(name);
    if (!r) throw new EngineError("not-found", `no such volume: ${name}`);
    await this.write({ ...r, labels });
    return r.labels;
  }

  /**
   * The host directory a container's mount of the volume binds: its _data, or
   * the device of a bind volume; a tmpfs volume's tmpfs is mounted on _data
   * at its first use (and stays until the volume is removed, shared by every
   * container mounting it, as with dockerd's local driver).
   */
  async source(name: string): Promise<string> {
    const r = await this.read(name);
    if (!r) throw new EngineError("not-found", `no such volume: ${name}`);
    const kind = checkedKind(r.options);
    if (kind.kind === "bind") {
      await checkDevice(kind.device);
      return kind.device;
    }
    const data = this.mountpoint(name);
    if (kind.kind === "tmpfs" && !(await isMounted(data))) await mountOverlay({ type: "tmpfs", source: "tmpfs", options: kind.options }, data);
    return data;
  }

  async remove(name: string): Promise<void> {
    const r = await this.read(name);
    if (!r) throw new EngineError("not-found", `no such volume: ${name}`);
    if (r.options?.type === "tmpfs") await unmount(this.mountpoint(name));
    await rm(this.dir(name), { recursive: true, force: true });
  }

  /** Whether initializeFrom would still do anything: a volume is initialized once, on its first use. */
  async needsInitializing(name: string): Promise<boolean> {
    const r = await this.read(name);
    return r !== undefined && !r.initialized;
  }

  /**
   * Docker's copy-up: the first time a volume is mounted over a path where
   * the image has files, those files are copied into the empty volume.
   * `from` is the image's root filesystem on the host and the mount's target
   * in it (undefined: nocopy). The target is resolved as the container will
   * see it, its symlinks staying inside the image (an image's `app -> /root`
   * must not make a volume at /app/.ssh a copy of the HOST's /root/.ssh), and
   * links inside the copied tree are copied as links, never followed.
   */
  async initializeFrom(name: string, from: { root: string; target: string } | undefined): Promise<void> {
    const r = await this.read(name);
    if (!r || r.initialized) return;
    const data = await this.source(name);
    if (from && (await readdir(data)).length === 0) {
      const source = await resolveInRoot(from.root, from.target);
      // lstat: the resolved path has no symlink left in it; one appearing now is not followed either.
      const st = await lstat(source).catch(() => undefined);
      // cp's default (dereference: false) lstats every entry: links in the tree are recreated as they are.
      if (st?.isDirectory()) await cp(source, data, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, dereference: false });
    }
    await this.write({ ...r, initialized: true });
  }
}

function checkedKind(options: Record<string, string> | undefined): LocalVolumeKind {
  try {
    return localVolumeKind(options ?? {});
  } catch (err) {
    throw new EngineError("invalid", `local volume driver_opts: ${(err as Error).message}`);
  }
}

/** dockerd fails the mount of a bind volume whose device is missing; so does this, before the container exists. */
async function checkDevice(device: string): Promise<void> {
  const st = await stat(device).catch(() => undefined);
  if (!st?.isDirectory()) throw new EngineError("invalid", `failed to mount local volume: device ${device} is not an existing directory`);
}
