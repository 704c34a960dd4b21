// ContainerRuntime: the embedded engine's containers, like containerd+CRI-O
// built from runc (the low-level runtime), conmon (one monitor per container)
// and JSON records on disk.
//
// Lifecycle, as Docker's: create() writes the bundle (config.json, /etc
// files) and the record, nothing runs yet; start() launches conmon, which
// runs `runc create`, then `runc start`; the container ends by itself or via
// stop()/kill() and conmon records its exit code, which we pick up from the
// exit directory (exits.ts) and turn into "exited" plus a die event; start()
// again reuses the same bundle and log; remove() deletes runc's state, the
// cgroup and the directory. The rootfs belongs to the caller (the
// snapshotter): it is mounted before create and removed after remove().
//
// State directory layout:
//   runc/                    runc --root
//   exits/<id>               conmon's exit files
//   sockets/                 conmon's attach-socket symlinks
//   containers/<id>/         bundle: record.json, config.json, ctr.log,
//                            hosts, hostname, resolv.conf, persist/{exit,oom},
//                            shm/ (the tmpfs of an ipc: shareable /dev/shm, shm.ts)
import { EventEmitter } from "node:events";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join, posix } from "node:path";
import { hostCgroups } from "../cgroups/detect.js";
import { DEFAULT_RUNTIME, type RuntimeEntry } from "../config.js";
import type { CgroupManager } from "../cgroups/types.js";
import type { AttachSpec, Attachment, ContainerFilter, ContainerInfo, ContainerSpec, ContainerStats, EngineEvent, ExecSpec, ImageConfig, LogEntry, LogOptions } from "../types.js";
import { EngineError } from "../types.js";
import { prepareBundle } from "./bundle.js";
import { donorShm, joinPaths } from "./namespaces.js";
import { hostShmPath } from "./shm.js";
import type { HostsEntry } from "./etcfiles.js";
import { runExec } from "./exec.js";
import { attachMain } from "./attach.js";
import { ExitWatcher, readExitFile } from "./exits.js";
import { Lifecycle } from "./lifecycle.js";
import { LogRotator } from "./logrotate.js";
import { readLogs } from "./logs.js";
import type { ResolvedMount } from "./mounts.js";
import type { OciSpec, RootfsMount } from "./oci.js";
import { Runc } from "./runc.js";
import { normalizeSignal } from "./signals.js";
import { containerEnv, resolveCommand } from "./spec.js";
import { collectStats, parsePs } from "./stats.js";
import { RECORD_ANNOTATION, RecordStore, toInfo } from "./store.js";
import type { ContainerRecord, UnreadableRecord } from "./store.js";
import type { ResolvedUser } from "./user.js";

export interface RuntimeOptions {
  stateDir: string;
  /** Parent of every container's cgroup (cgroupsPath = <parent>/<id>). */
  cgroupParent?: string;
  runcBinary?: string;
  /** daemon.json `runtimes`: the runc-compatible binaries a container's spec.runtime may name. */
  runtimes?: Record<string, RuntimeEntry>;
  conmonBinary?: string;
  cgroups?: CgroupManager;
  /** Runs before each start, e.g. to (re)mount the rootfs after a reboot. */
  beforeStart?: (info: ContainerInfo, rootfs: string) => Promise<void>;
  /** Fallback poll for exits (inotify does the fast path). */
  pollMs?: number;
  /** The engine's log: what load() found unreadable, by path. */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface CreateOptions {
  /** The ID to use (64 hex), when the caller already keyed the snapshot and netns by it; default: a new one. */
  id?: string;
  /** The root filesystem: a mounted directory, or the empty one runc mounts `rootfsMount` on. */
  rootfs: string;
  /**
   * A filesystem runc mounts on the rootfs in the container's own mount
   * namespace (an overlay of the image's layers), so that nothing is mounted
   * on the host: it goes away with the container's last process, and no
   * mount(8)/umount(8) launches are needed around each container.
   */
  rootfsMount?: RootfsMount;
  /** The user, already resolved (the rootfs is not readable yet when runc mounts it); default: read from the rootfs. */
  user?: ResolvedUser;
  imageConfig: ImageConfig;
  imageId?: string;
  netnsPath?: string;
  /** See BundleInput.resolvConf. */
  resolvConf?: { content: string } | { path: string };
  ipAddress?: string;
  hostsEntries?: HostsEntry[];
  /** The network layer's whole /etc/hosts (spec.extraHosts are appended); replaces the generated one. */
  hostsContent?: string;
  /** Mounts with volumes resolved to host paths; default: spec.mounts (binds only). */
  mounts?: ResolvedMount[];
  networks?: ContainerInfo["networks"];
  ports?: ContainerInfo["ports"];
}

export interface RuntimePaths {
  runcRoot: string;
  exitDir: string;
  socketDir: string;
  containers: string;
}

export class ContainerRuntime {
  readonly events = new EventEmitter();
  readonly paths: RuntimePaths;
  readonly runc: Runc;
  readonly cgroups: CgroupManager;
  private readonly store: RecordStore;
  private readonly records = new Map<string, ContainerRecord>();
  private readonly unreadableRecords = new Map<string, UnreadableRecord>();
  private readonly watcher: ExitWatcher;
  private readonly life: Lifecycle;
  private readonly rotator: LogRotator;
  private readonly configured = new Map<string, Runc>();

  private constructor(readonly opts: RuntimeOptions) {
    const d = opts.stateDir;
    this.paths = { runcRoot: join(d, "runc"), exitDir: join(d, "exits"), socketDir: join(d, "sockets"), containers: join(d, "containers") };
    this.runc = new Runc(this.paths.runcRoot, opts.runcBinary);
    this.cgroups = opts.cgroups ?? hostCgroups();
    this.store = new RecordStore(this.paths.containers);
    this.rotator = new LogRotator();
    this.life = new Lifecycle({
      rotator: this.rotator,
      runc: this.runc,
      runcFor: (spec) => this.runcFor(spec),
      cgroups: this.cgroups,
      store: this.store,
      records: this.records,
      paths: this.paths,
      conmonBinary: opts.conmonBinary,
      beforeStart: opts.beforeStart,
      log: opts.log,
      unreadable: this.unreadableRecords,
      emit: (e) => this.events.emit("event", e),
      runningPid: (idOrName) => this.runningPid(idOrName),
      sharedShm: (idOrName) => this.sharedShm(idOrName),
    });
    this.watcher = new ExitWatcher(this.paths.exitDir, (id) => void this.life.checkExit(id), () => this.life.activeIds(), opts.pollMs);
  }

  /**
   * The runtime a container runs on: runc unless its spec names one of the
   * configured runtimes. Every verb on the container goes through it, as
   * dockerd does; they share runc's --root, so the state stays where list and
   * reconcile find it.
   */
  runcFor(spec: Pick<ContainerSpec, "runtime">): Runc {
    const name = spec.runtime;
    if (name === undefined || name === DEFAULT_RUNTIME) return this.runc;
    const entry = this.opts.runtimes?.[name];
    // dockerd's wording; `up` checks this first, located at the key (src/stack/host-resources.ts).
    if (!entry) throw new EngineError("invalid", `unknown or invalid runtime name: ${name}`);
    let runc = this.configured.get(name);
    if (!runc || runc.binary !== entry.path || runc.runtimeArgs.join("\0") !== entry.runtimeArgs.join("\0")) {
      runc = new Runc(this.paths.runcRoot, entry.path, entry.runtimeArgs);
      this.configured.set(name, runc);
    }
    return runc;
  }

  /** Opens (creating if needed) a state directory and reconciles its records with runc and conmon. */
  static async open(opts: RuntimeOptions): Promise<ContainerRuntime> {
    const rt = new ContainerRuntime(opts);
    for (const dir of [rt.paths.runcRoot, rt.paths.exitDir, rt.paths.socketDir, rt.paths.containers]) await mkdir(dir, { recursive: true, mode: 0o700 });
    await rt.life.load();
    rt.watcher.start();
    return rt;
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.events.on("event", listener);
    return () => this.events.off("event", listener);
  }

  async create(spec: ContainerSpec, opts: CreateOptions): Promise<ContainerInfo> {
    const name = spec.name.replace(/^\//, "");
    if (name !== "" && [...this.records.values()].some((r) => r.name === name)) {
      throw new EngineError("conflict", `the container name "${name}" is already in use`);
    }
    if (opts.id !== undefined && !/^[0-9a-f]{64}$/.test(opts.id)) throw new EngineError("invalid", `invalid container id "${opts.id}": 64 hex digits expected`);
    if (opts.id !== undefined && this.records.has(opts.id)) throw new EngineError("conflict", `container id ${opts.id} is already in use`);
    const id = opts.id ?? this.life.newId();
    const dir = this.store.containerDir(id);
    try {
      // Inside the try: on a full disk the container's dir can be made and its persist/ not.
      await mkdir(join(dir, "persist"), { recursive: true, mode: 0o700 });
      // cgroup_parent: the container's cgroup under that one, as dockerd's cgroupfs driver (an absolute path).
      const cgroupsPath = `${posix.join("/", spec.cgroupParent ?? this.opts.cgroupParent ?? "/tscompose")}/${id}`;
      const rec: ContainerRecord = {
        id,
        name: name || id.slice(0, 12),
        image: spec.image,
        imageId: opts.imageId ?? "",
        labels: { ...spec.labels },
        spec,
        imageConfig: opts.imageConfig,
        rootfs: opts.rootfs,
        ...(opts.rootfsMount ? { rootfsMount: opts.rootfsMount } : {}),
        cgroupsPath,
        command: resolveCommand(spec, opts.imageConfig),
        stopSignal: normalizeSignal(spec.stopSignal ?? opts.imageConfig.stopSignal ?? "SIGTERM"),
        state: "created",
        pid: undefined,
        exitCode: undefined,
        oomKilled: false,
        error: undefined,
        createdAt: new Date().toISOString(),
        startedAt: undefined,
        finishedAt: undefined,
        restartCount: 0,
        monitorPid: undefined,
        ports: opts.ports ?? [],
        networks: opts.networks ?? {},
      };
      // The bundle keeps the record as created: a corrupt record.json can be rebuilt from it (store.ts).
      await prepareBundle({
        ...opts,
        id,
        dir,
        spec,
        image: opts.imageConfig,
        cgroupsPath,
        joinPaths: joinPaths(spec, (x) => this.runningPid(x), (x) => this.sharedShm(x)),
        annotations: { [RECORD_ANNOTATION]: JSON.stringify(rec) },
      });
      await this.store.save(rec);
      this.records.set(id, rec);
      this.life.event(rec, "create");
      return toInfo(rec);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** The record of a container by ID, unique ID prefix, or name; throws not-found. */
  get(idOrName: string): ContainerRecord {
    const r = this.find(idOrName);
    if (!r) throw new EngineError("not-found", `no such container: ${idOrName}`);
    return r;
  }

  /** The pid of a running container, for joining its namespaces. */
  private runningPid(idOrName: string): number | undefined {
    const r = this.find(idOrName);
    return r?.state === "running" ? r.pid : undefined;
  }

  /** The host path of a container's /dev/shm, for those joining its IPC namespace (namespaces.ts donorShm). */
  private sharedShm(idOrName: string): string | undefined {
    const r = this.find(idOrName);
    return r ? donorShm(r.spec.ipcMode, hostShmPath(this.store.containerDir(r.id))) : undefined;
  }

  private find(idOrName: string): ContainerRecord | undefined {
    const exact = this.records.get(idOrName);
    if (exact) return exact;
    const all = [...this.records.values()];
    const byName = all.find((r) => r.name === idOrName.replace(/^\//, ""));
    if (byName) return byName;
    const byPrefix = idOrName.length > 0 ? all.filter((r) => r.id.startsWith(idOrName)) : [];
    if (byPrefix.length > 1) throw new EngineError("invalid", `multiple containers match ${idOrName}`);
    return byPrefix[0];
  }

  start(id: string): Promise<void> {
    return this.life.start(this.get(id).id);
  }

  /** Stop signal (spec's, else the image's, else SIGTERM), up to timeoutMs, then SIGKILL. Stopped already: fine. */
  stop(id: string, opts: { timeoutMs?: number; signal?: string } = {}): Promise<void> {
    return this.life.stop(this.get(id).id, opts);
  }

  kill(id: string, signal = "SIGKILL"): Promise<void> {
    return this.life.kill(this.get(id).id, normalizeSignal(signal));
  }

  pause(id: string): Promise<void> {
    return this.life.pause(this.get(id).id);
  }

  unpause(id: string): Promise<void> {
    return this.life.unpause(this.get(id).id);
  }

  /**
   * Removes the container (force: kills it first). The rootfs is left alone:
   * the caller unmounts and removes its snapshot afterwards.
   */
  remove(id: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.life.remove(this.get(id).id, opts);
  }

  /** For the daemon's supervisor: exited -> restarting, counting the restart. */
  markRestarting(id: string): Promise<ContainerInfo> {
    return this.life.markRestarting(this.get(id).id);
  }

  /** Containers whose record could be neither read nor rebuilt: left alone on disk and in runc, never deleted. */
  unreadable(): UnreadableRecord[] {
    return [...this.unreadableRecords.values()].map((u) => ({ ...u }));
  }

  inspect(idOrName: string): Promise<ContainerInfo | undefined> {
    const r = this.find(idOrName);
    return Promise.resolve(r ? toInfo(r) : undefined);
  }

  /** Running, paused and restarting containers, or all with filter.all; labels must all match; name is exact. */
  list(filter: ContainerFilter = {}): Promise<ContainerInfo[]> {
    const out = [...this.records.values()].filter((r) => {
      if (!filter.all && !["running", "paused", "restarting"].includes(r.state)) return false;
      if (filter.name !== undefined && r.name !== filter.name.replace(/^\//, "")) return false;
      for (const [k, v] of Object.entries(filter.labels ?? {})) {
        if (!(k in r.labels) || (v !== undefined && r.labels[k] !== v)) return false;
      }
      return true;
    });
    return Promise.resolve(out.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map(toInfo));
  }

  /** Resolves when the container is not running (at once if it is not). */
  wait(id: string, opts: { signal?: AbortSignal } = {}): Promise<{ exitCode: number; oomKilled: boolean }> {
    return this.life.wait(this.get(id).id, opts.signal);
  }

  logs(id: string, opts: LogOptions = {}): AsyncIterable<LogEntry> {
    const rec = this.get(id);
    if (rec.spec.log.driver === "none") return noLogs();
    const isDone = () => {
      const r = this.records.get(rec.id);
      return !r || !["running", "paused", "restarting"].includes(r.state);
    };
    return readLogs(join(this.store.containerDir(rec.id), "ctr.log"), opts, { isDone });
  }

  async exec(id: string, spec: ExecSpec): Promise<{ exitCode: number }> {
    const rec = this.get(id);
    if (rec.state === "paused") throw new EngineError("conflict", `container ${rec.name} is paused, unpause it first`);
    if (rec.state !== "running") throw new EngineError("conflict", `container ${rec.name} is not running`);
    const dir = this.store.containerDir(rec.id);
    const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as OciSpec;
    // The user is looked up in the running container's own view of its files (its passwd as it is
    // now; and a rootfs runc mounted exists only in the container's mount namespace).
    const root = rec.pid !== undefined ? `/proc/${rec.pid}/root` : rec.rootfs;
    // The HOSTNAME the container was given (empty with the host's network), whatever the service's env overrides.
    const hostname = config.process.env.find((e) => e.startsWith("HOSTNAME="))?.slice("HOSTNAME=".length) ?? "";
    const env = (tty: boolean): string[] => containerEnv({ env: rec.spec.env, tty }, rec.imageConfig, hostname);
    return runExec({ runc: this.runcFor(rec.spec), id: rec.id, containerDir: dir, config, rootfs: root, defaultUser: rec.spec.user ?? rec.imageConfig.user, env, groupAdd: rec.spec.groupAdd }, spec);
  }

  /** docker attach: the main process's stdio, through conmon's attach socket (attach.ts). */
  async attach(id: string, spec: AttachSpec): Promise<Attachment> {
    const rec = this.get(id);
    if (rec.state === "paused") throw new EngineError("conflict", "You cannot attach to a paused container, unpause it first");
    if (rec.state !== "running") throw new EngineError("conflict", "You cannot attach to a stopped container, start it first");
    return attachMain({ bundle: this.store.containerDir(rec.id), name: rec.name, openStdin: rec.spec.openStdin }, spec);
  }

  async stats(id: string): Promise<ContainerStats> {
    const rec = this.get(id);
    return collectStats(this.cgroups, rec.cgroupsPath, rec.state === "running" || rec.state === "paused" ? rec.pid : undefined);
  }

  async top(id: string): Promise<{ titles: string[]; processes: string[][] }> {
    const rec = this.get(id);
    if (rec.state !== "running" && rec.state !== "paused") throw new EngineError("conflict", `container ${rec.name} is not running`);
    return parsePs(await this.runcFor(rec.spec).ps(rec.id, ["-ef"]));
  }

  /** The container's directory (bundle, log, /etc files). */
  containerDir(id: string): string {
    return this.store.containerDir(this.get(id).id);
  }

  /** Stops watching; containers keep running (their monitors are independent of us). */
  close(): Promise<void> {
    this.watcher.close();
    this.rotator.close();
    this.life.close();
    return Promise.resolve();
  }

  /** Re-checks exits now (tests, and the daemon after a suspend). */
  async refresh(): Promise<void> {
    await Promise.all(this.life.activeIds().map((id) => this.life.checkExit(id)));
  }

  /** The exit status conmon recorded for a container's last run, if any. */
  lastExit(id: string) {
    return readExitFile(this.paths.exitDir, this.get(id).id);
  }
}

/** What `logs` of a container without a log says, as docker's daemon says it. */
function noLogs(): AsyncIterable<LogEntry> {
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new EngineError("invalid", "configured logging driver does not support reading")) }) };
}
