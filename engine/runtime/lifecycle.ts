// The verbs that change a container's state (start, stop, kill, pause,
// unpause, remove, restart bookkeeping), exit handling, and reconciling
// records with runc and conmon when the engine starts. Verbs on one container
// are serialized; kill is not (it must be able to interrupt a slow stop).
// Every state change goes through state.ts's transition table.
import { MAX_TIMEOUT_MS } from "../timeout.js";
import { randomBytes } from "node:crypto";
import { access, readFile, rm } from "node:fs/promises";
import { join, posix } from "node:path";
import { KeyedMutex } from "../sys/keyed-mutex.js";
import { isRunning } from "../sys/proc.js";
import { reserveRealtime } from "../cgroups/realtime.js";
import type { CgroupManager } from "../cgroups/types.js";
import { hostV1Mounts } from "../cgroups/v1.js";
import type { ContainerInfo, EngineEvent } from "../types.js";
import { EngineError } from "../types.js";
import { updateJoinPaths } from "./bundle.js";
import { startViaExecFifo } from "./execfifo.js";
import { joinPaths, namespaceJoins } from "./namespaces.js";
import { readExitFile } from "./exits.js";
import { mountHostShm, unmountHostShm } from "./shm.js";
import { rotationPolicy } from "./logrotate.js";
import type { LogRotator } from "./logrotate.js";
import { launchMonitor } from "./monitor.js";
import { isNotExist, isNotRunning } from "./runc.js";
import type { Runc } from "./runc.js";
import type { RuntimePaths } from "./runtime.js";
import { normalizeSignal } from "./signals.js";
import { isActive, transition } from "./state.js";
import { reconcile, toInfo } from "./store.js";
import type { ContainerRecord, RecordStore, UnreadableRecord } from "./store.js";
import { isNoSpace } from "../no-space.js";

export interface LifecycleDeps {
  /** runc, for what is not one container's: list, and state left by a container without a record. */
  runc: Runc;
  /** The runtime of one container (its spec.runtime), for the verbs on it. */
  runcFor: (spec: ContainerRecord["spec"]) => Runc;
  cgroups: CgroupManager;
  store: RecordStore;
  records: Map<string, ContainerRecord>;
  paths: RuntimePaths;
  conmonBinary?: string | undefined;
  /** Rotates the logs of running containers (max-size, max-file). */
  rotator: LogRotator;
  beforeStart?: ((info: ContainerInfo, rootfs: string) => Promise<void>) | undefined;
  emit: (e: EngineEvent) => void;
  /** The engine's log (the daemon's): unreadable records are reported there by path. */
  log?: ((msg: string, fields?: Record<string, unknown>) => void) | undefined;
  /** Containers whose record could not be read nor rebuilt: left alone (never deleted), reported. */
  unreadable: Map<string, UnreadableRecord>;
  /** A running container's pid (by id or name), for the namespaces another container joins. */
  runningPid?: ((idOrName: string) => number | undefined) | undefined;
  /** The host path of a container's /dev/shm (by id or name), for a container joining its IPC namespace. */
  sharedShm?: ((idOrName: string) => string | undefined) | undefined;
}

type ContainerAction = Exclude<Extract<EngineEvent, { type: "container" }>["action"], "health_status">;

/** Docker's exit codes for a start that failed before the process ran. */
export function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied/i.test(message)) return 126;
  return 128;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** `ipc: shareable`: its /dev/shm is a tmpfs on the host (shm.ts). */
const isShareable = (rec: ContainerRecord): boolean => rec.spec.ipcMode === "shareable";

/** Whether a process exists and is not a zombie (an exited conmon waits for its reaper, init, for a while). */
export const alive = isRunning;

export class Lifecycle {
  private readonly locks = new KeyedMutex();
  private readonly starting = new Set<string>();
  private readonly finalizing = new Map<string, Promise<void>>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly d: LifecycleDeps) {}

  newId(): string {
    for (;;) {
      const id = randomBytes(32).toString("hex");
      if (!this.d.records.has(id)) return id;
    }
  }

  activeIds(): string[] {
    return [...this.d.records.values()].filter((r) => isActive(r.state)).map((r) => r.id);
  }

  event(rec: ContainerRecord, action: ContainerAction, extra: { exitCode?: number } = {}): void {
    this.d.emit({ type: "container", action, id: rec.id, name: rec.name, labels: { ...rec.labels }, time: Date.now(), ...extra });
  }

  private rec(id: string): ContainerRecord {
    const r = this.d.records.get(id);
    if (!r) throw new EngineError("not-found", `no such container: ${id}`);
    return r;
  }

  private serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(id, fn);
  }

  private async update(rec: ContainerRecord, patch: Partial<ContainerRecord>): Promise<void> {
    Object.assign(rec, patch);
    await this.d.store.save(rec);
  }

  /**
   * A record write that a restart can do without: load() learns a stop or an
   * exit again from conmon's exit file and runc's state. A full state dir
   * must not keep a container from stopping or being removed, which is how
   * an operator gets the space back; the record in memory is right either way.
   */
  private async updateUnlessFull(rec: ContainerRecord, patch: Partial<ContainerRecord>): Promise<void> {
    try {
      await this.update(rec, patch);
    } catch (e) {
      if (!isNoSpace(e)) throw e;
    }
  }

  private dir(id: string): string {
    return this.d.store.containerDir(id);
  }

  /** cpu_rt_runtime: the parent cgroup must hold the real-time budget before runc writes the container's (realtime.ts). */
  private async reserveRealtime(rec: ContainerRecord): Promise<void> {
    const runtime = rec.spec.resources.cpuRtRuntime;
    if (runtime === undefined || runtime <= 0 || this.d.cgroups.version !== 1) return;
    const cpuRoot = hostV1Mounts().cpu;
    if (cpuRoot) await reserveRealtime(cpuRoot, posix.dirname(rec.cgroupsPath), runtime, rec.spec.resources.cpuRtPeriod ?? 1_000_000);
  }

  start(id: string): Promise<void> {
    return this.serialize(id, async () => {
      const rec = this.rec(id);
      if (rec.state === "running") return; // Docker: 304, not an error
      if (rec.state === "paused") throw new EngineError("conflict", `container ${rec.name} is paused, unpause it instead`);
      transition(rec.state, "running", `container ${rec.name}`);
      const dir = this.dir(id);
      // The rootfs, and the previous run's leftovers gone: its exit status, OOM marks, runc state.
      await Promise.all([
        // A rootfs runc mounts needs nothing from us.
        rec.rootfsMount ? undefined : this.d.beforeStart?.(toInfo(rec), rec.rootfs),
        ...[join(this.d.paths.exitDir, id), join(dir, "persist", "exit"), join(dir, "persist", "oom"), join(dir, "oom")].map((f) => rm(f, { force: true })),
        isShareable(rec) ? mountHostShm(dir, rec.spec.shmSize) : undefined,
      ]);
      // The containers whose pid or ipc namespace this one joins may have restarted since: their pids now.
      if (Object.keys(namespaceJoins(rec.spec)).length > 0) {
        await updateJoinPaths(dir, joinPaths(rec.spec, (x) => this.d.runningPid?.(x), (x) => this.d.sharedShm?.(x)));
      }
      // Normally deleted when the last run ended; runc is only asked when its state dir is still there.
      // Before anything else: a runtime removed from daemon.json since the create fails here, with docker's words.
      const runc = this.d.runcFor(rec.spec);
      if (await exists(join(this.d.paths.runcRoot, id))) await runc.delete(id, { force: true });
      await this.reserveRealtime(rec);
      this.starting.add(id);
      try {
        let pid: number;
        try {
          ({ pid } = await launchMonitor({
            id,
            name: rec.name,
            bundle: dir,
            logPath: join(dir, "ctr.log"),
            logDriver: rec.spec.log.driver === "none" ? "none" : "k8s-file",
            exitDir: this.d.paths.exitDir,
            persistDir: join(dir, "persist"),
            socketDir: this.d.paths.socketDir,
            pidFile: join(dir, "init.pid"),
            conmonPidFile: join(dir, "conmon.pid"),
            runcRoot: this.d.paths.runcRoot,
            runcBinary: runc.binary,
            runtimeArgs: runc.runtimeArgs,
            conmonBinary: this.d.conmonBinary,
            terminal: rec.spec.tty,
            stdin: rec.spec.openStdin,
            stdinOnce: rec.spec.stdinOnce === true,
          }));
          // Without `runc start` when we can (see execfifo.ts): one process launch less.
          if (!(await startViaExecFifo(this.d.paths.runcRoot, id, () => alive(pid)))) await runc.start(id);
        } catch (e) {
          await runc.delete(id, { force: true }).catch(() => undefined);
          const msg = e instanceof Error ? e.message : String(e);
          const code = startFailureCode(msg);
          await this.update(rec, { error: msg, exitCode: code });
          throw new EngineError(code === 128 ? "internal" : "invalid", `starting container ${rec.name}: ${msg}`, { cause: e });
        }
        const monitorPid = Number.parseInt(await readFile(join(dir, "conmon.pid"), "utf8").catch(() => ""), 10);
        await this.update(rec, {
          state: transition(rec.state, "running", `container ${rec.name}`),
          pid,
          monitorPid: Number.isNaN(monitorPid) ? undefined : monitorPid,
          startedAt: new Date().toISOString(),
          exitCode: undefined,
          oomKilled: false,
          error: undefined,
          stopRequested: undefined,
        });
        this.event(rec, "start");
        void this.trackLog(rec, false);
      } finally {
        this.starting.delete(id);
      }
      // It may have ended already, before we called it running.
      void this.checkExit(id);
    });
  }

  /** Sends a signal; a paused container is resumed afterwards when `thaw` so the signal is acted on. */
  private async signal(rec: ContainerRecord, sig: string, thaw: boolean): Promise<void> {
    try {
      const direct = await this.d.runc.signalInit(rec.id, sig as NodeJS.Signals);
      if (direct === "gone") return;
      if (direct === "unknown") await this.d.runcFor(rec.spec).kill(rec.id, sig);
    } catch (e) {
      // Not running, or its runc state already deleted by the exit handling
      // (checkExit) that has not updated the record yet: on its way out.
      if (!isNotRunning(e) && !isNotExist(e)) throw e;
      return;
    }
    this.event(rec, "kill");
    if (thaw && rec.state === "paused") await this.d.runcFor(rec.spec).resume(rec.id).catch(() => undefined);
  }

  /** true once the container is no longer active; false after timeoutMs (negative = no limit). */
  private waitExit(id: string, timeoutMs: number): Promise<boolean> {
    const rec = this.d.records.get(id);
    if (!rec || !isActive(rec.state)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set);
      const done = (v: boolean) => {
        clearTimeout(timer);
        set.delete(onExit);
        resolve(v);
      };
      const onExit = () => done(true);
      set.add(onExit);
      // Clamped: a timer beyond 2^31-1 ms fires after 1 ms (a stop_grace_period of 1000h would be an instant SIGKILL).
      const timer = timeoutMs >= 0 ? setTimeout(() => done(false), Math.min(timeoutMs, MAX_TIMEOUT_MS)) : undefined;
      void this.checkExit(id);
    });
  }

  stop(id: string, opts: { timeoutMs?: number; signal?: string }): Promise<void> {
    return this.serialize(id, async () => {
      const rec = this.rec(id);
      if (rec.state === "restarting") {
        // Only the supervisor's backoff is running: nothing to signal.
        await this.updateUnlessFull(rec, { state: transition(rec.state, "exited"), stopRequested: true });
        this.event(rec, "stop");
        return;
      }
      if (!isActive(rec.state)) return;
      // On disk before the signal: a daemon killed after it must still know this exit was asked for.
      await this.updateUnlessFull(rec, { stopRequested: true });
      const sig = opts.signal ? normalizeSignal(opts.signal) : rec.stopSignal;
      await this.signal(rec, sig, true);
      if (!(await this.waitExit(id, opts.timeoutMs ?? rec.spec.stopTimeoutMs))) {
        await this.signal(rec, "SIGKILL", true);
        if (!(await this.waitExit(id, 30_000))) throw new EngineError("internal", `container ${rec.name} did not exit after SIGKILL`);
      }
      this.event(rec, "stop");
    });
  }

  async kill(id: string, sig: string): Promise<void> {
    const rec = this.rec(id);
    if (!isActive(rec.state)) throw new EngineError("conflict", `container ${rec.name} is not running`);
    await this.signal(rec, sig, sig === "SIGKILL");
    // Like Docker, a SIGKILL returns once the container is gone.
    if (sig === "SIGKILL") await this.waitExit(id, 10_000);
  }

  pause(id: string): Promise<void> {
    return this.serialize(id, async () => {
      const rec = this.rec(id);
      if (rec.state === "paused") throw new EngineError("conflict", `container ${rec.name} is already paused`);
      if (rec.state !== "running") throw new EngineError("conflict", `container ${rec.name} is not running`);
      await this.d.runcFor(rec.spec).pause(id);
      await this.update(rec, { state: transition(rec.state, "paused") });
      this.event(rec, "pause");
    });
  }

  unpause(id: string): Promise<void> {
    return this.serialize(id, async () => {
      const rec = this.rec(id);
      if (rec.state !== "paused") throw new EngineError("conflict", `container ${rec.name} is not paused`);
      await this.d.runcFor(rec.spec).resume(id);
      await this.update(rec, { state: transition(rec.state, "running") });
      this.event(rec, "unpause");
    });
  }

  remove(id: string, opts: { force?: boolean }): Promise<void> {
    return this.serialize(id, async () => {
      const rec = this.rec(id);
      if (isActive(rec.state)) {
        if (!opts.force) throw new EngineError("conflict", `cannot remove ${rec.state} container ${rec.name}: stop it first or force the removal`);
        await this.signal(rec, "SIGKILL", true);
        if (!(await this.waitExit(id, 30_000))) throw new EngineError("internal", `container ${rec.name} did not exit after SIGKILL`);
      }
      this.d.rotator.untrack(id);
      await this.updateUnlessFull(rec, { state: transition(rec.state, "removing") });
      try {
        await Promise.all([
          (async () => {
            // Usually deleted already when the run ended (finalize); runc is only asked when its state is still there.
            if (await exists(join(this.d.paths.runcRoot, id))) await this.d.runc.delete(id, { force: true });
            await this.d.cgroups.remove(rec.cgroupsPath);
          })(),
          rm(join(this.d.paths.exitDir, id), { force: true }),
          // conmon unlinks its attach-socket symlink when it exits; not when it was killed.
          rm(join(this.d.paths.socketDir, id), { force: true }),
          isShareable(rec) ? unmountHostShm(this.dir(id)) : undefined,
        ]);
        await this.d.store.remove(id);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        await this.update(rec, { state: transition(rec.state, "dead"), error: `removal failed: ${msg}` }).catch(() => undefined);
        throw new EngineError("internal", `removing container ${rec.name}: ${msg}`, { cause: e });
      }
      this.d.records.delete(id);
      this.event(rec, "destroy");
    });
  }

  markRestarting(id: string): Promise<ContainerInfo> {
    return this.serialize(id, async () => {
      const rec = this.rec(id);
      await this.update(rec, { state: transition(rec.state, "restarting", `container ${rec.name}`), restartCount: rec.restartCount + 1 });
      // Watchers (the TUI, `events`) learn of the state without reading the container again.
      this.event(rec, "restart");
      return toInfo(rec);
    });
  }

  async wait(id: string, signal?: AbortSignal): Promise<{ exitCode: number; oomKilled: boolean }> {
    const rec = this.rec(id);
    if (isActive(rec.state)) {
      await new Promise<void>((resolve, reject) => {
        const set = this.waiters.get(id) ?? new Set();
        this.waiters.set(id, set);
        const onAbort = () => {
          set.delete(onExit);
          reject(new EngineError("unavailable", `waiting for container ${rec.name} was aborted`));
        };
        const onExit = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
        set.add(onExit);
        void this.checkExit(id);
      });
    }
    return { exitCode: rec.exitCode ?? 0, oomKilled: rec.oomKilled };
  }

  /** Finalizes the container if conmon recorded its exit (or its monitor died without doing so). */
  checkExit(id: string): Promise<void> {
    if (this.starting.has(id)) return Promise.resolve();
    const rec = this.d.records.get(id);
    if (!rec || !isActive(rec.state)) return Promise.resolve();
    const pending = this.finalizing.get(id);
    if (pending) return pending;
    const p = this.finalize(rec)
      .catch(() => undefined) // retried on the next event or poll
      .finally(() => this.finalizing.delete(id));
    this.finalizing.set(id, p);
    return p;
  }

  private async oomHappened(rec: ContainerRecord): Promise<boolean> {
    const [mark, kills] = await Promise.all([exists(join(this.dir(rec.id), "persist", "oom")), this.d.cgroups.oomKillCount(rec.cgroupsPath).catch(() => 0)]);
    return mark || kills > 0;
  }

  private async finalize(rec: ContainerRecord): Promise<void> {
    let exit = await readExitFile(this.d.paths.exitDir, rec.id);
    let error: string | undefined;
    if (!exit) {
      if (rec.monitorPid === undefined || alive(rec.monitorPid)) return;
      // conmon writes the file, then exits: when it died between our read and the liveness check
      // (the usual case in a stop of many containers at once), the file is there now, and no runc
      // launch is needed to learn that.
      exit = await readExitFile(this.d.paths.exitDir, rec.id);
    }
    if (!exit) {
      const st = await this.d.runc.state(rec.id);
      if (st?.status === "running" || st?.status === "paused") return; // orphaned but alive; polled again
      exit = await readExitFile(this.d.paths.exitDir, rec.id);
      if (!exit) error = "the container's monitor (conmon) died without recording an exit status";
    }
    // Read before the cgroup (and its OOM counter) goes.
    const oomKilled = await this.oomHappened(rec);
    // Like containerd deleting a task once it exited: frees runc's state and the cgroup.
    if (exit) await this.deleteExited(rec);
    else await this.d.runc.delete(rec.id, { force: true });
    // As dockerd's cleanup after an exit: the next start mounts an empty one. Joiners still running keep theirs.
    if (isShareable(rec)) {
      await unmountHostShm(this.dir(rec.id)).catch((e: unknown) => this.d.log?.("cannot unmount a stopped container's /dev/shm", { id: rec.id, error: (e as Error).message }));
    }
    if (!isActive(rec.state)) return;
    this.d.rotator.untrack(rec.id);
    const exitCode = exit?.code ?? 255;
    await this.updateUnlessFull(rec, {
      state: transition(rec.state, "exited", `container ${rec.name}`),
      exitCode,
      oomKilled,
      finishedAt: exit?.at ?? new Date().toISOString(),
      pid: undefined,
      monitorPid: undefined,
      error,
    });
    if (oomKilled) this.event(rec, "oom");
    this.event(rec, "die", { exitCode });
    for (const w of this.waiters.get(rec.id) ?? []) w();
    this.waiters.delete(rec.id);
  }

  /** Starts rotating a running container's log when its spec asks for it. */
  private trackLog(rec: ContainerRecord, recover: boolean): Promise<void> {
    const policy = rotationPolicy(rec.spec.log);
    if (!policy) return Promise.resolve();
    const dir = this.dir(rec.id);
    return this.d.rotator.track(rec.id, { logPath: join(dir, "ctr.log"), ctlPath: join(dir, "ctl"), policy }, recover);
  }

  /**
   * What `runc delete` does for a stopped container, without launching it:
   * conmon wrote the exit file after reaping the container's init, and with
   * its own PID namespace (always, see spec.ts) the kernel killed and reaped
   * every other process of the container before that; so its cgroup is
   * empty and runc's state directory is all that is left (no hooks are
   * configured). Anything unexpected (a cgroup still busy) goes to runc.
   */
  private async deleteExited(rec: ContainerRecord): Promise<void> {
    try {
      await this.d.cgroups.remove(rec.cgroupsPath);
      await rm(join(this.d.paths.runcRoot, rec.id), { recursive: true, force: true });
    } catch {
      await this.d.runc.delete(rec.id, { force: true });
    }
  }

  /** Loads every record and brings it in line with runc and conmon (see store.ts reconcile). */
  async load(): Promise<void> {
    const { records, missing, unreadable } = await this.d.store.loadAll();
    const runcStates = new Map((await this.d.runc.list()).map((s) => [s.id, s]));
    const now = new Date().toISOString();
    const rebuilt = new Set<string>();
    // A directory without a record that runc knows is a container whose record was lost, not a half-made create.
    for (const id of missing) if (runcStates.has(id)) unreadable.push({ id, file: this.d.store.recordFile(id), reason: "record.json is missing" });
    for (const u of unreadable) {
      const r = await this.rebuild(u, runcStates.has(u.id));
      if (r) {
        records.push(r);
        rebuilt.add(r.id);
      } else {
        // Left as it is: its processes, runc state, directory, snapshot and volumes (the engine
        // treats it as owned). Only a human can tell what it was.
        this.d.unreadable.set(u.id, u);
        runcStates.delete(u.id);
        this.d.log?.("container record unreadable and not rebuildable: container left alone, nothing deleted", { id: u.id, file: u.file, reason: u.reason });
      }
    }
    for (const r of records) {
      const active = isActive(r.state);
      const exit = active ? await readExitFile(this.d.paths.exitDir, r.id) : undefined;
      const oom = active && exit ? await this.oomHappened(r) : false;
      const { record, deleteRunc } = reconcile(r, { runc: runcStates.get(r.id), exit, oom }, now);
      if (deleteRunc) await this.d.runc.delete(r.id, { force: true });
      // A shareable container that ended while no engine ran (its daemon killed): its host /dev/shm goes, as at an exit.
      if (isShareable(record) && !isActive(record.state)) await unmountHostShm(this.dir(record.id));
      if (rebuilt.has(r.id) || JSON.stringify(record) !== JSON.stringify(r)) await this.d.store.save(record);
      this.d.records.set(record.id, record);
      runcStates.delete(r.id);
      // Rotation goes on where the last engine left it (and finishes one it cut short).
      if (record.state === "running" || record.state === "paused") await this.trackLog(record, true);
    }
    // runc state nobody has a record of (a create that crashed before saving) and half-made directories.
    for (const id of runcStates.keys()) await this.d.runc.delete(id, { force: true });
    for (const id of missing) {
      if (rebuilt.has(id) || this.d.unreadable.has(id)) continue;
      // A removal cut short after its record went: a shareable container's /dev/shm may still be mounted in it.
      await unmountHostShm(this.dir(id));
      await this.d.store.remove(id);
    }
  }

  /**
   * A container whose record.json is corrupt or lost: the bad file is set
   * aside (record.json.corrupt-<time>), and the record rebuilt from what the
   * bundle keeps of it as created (store.ts RECORD_ANNOTATION) plus what runc
   * and conmon say now (reconcile() in load() settles running/exited).
   * undefined when the bundle cannot tell (an older bundle, or unreadable).
   */
  private async rebuild(u: UnreadableRecord, runcKnows: boolean): Promise<ContainerRecord | undefined> {
    const aside = await this.d.store.setAside(u.id).catch((e: unknown) => {
      this.d.log?.("cannot set an unreadable container record aside", { id: u.id, file: u.file, error: (e as Error).message });
      return undefined;
    });
    if (aside) u.file = aside;
    const created = await this.d.store.fromBundle(u.id);
    if (!created) return undefined;
    const exit = await readExitFile(this.d.paths.exitDir, u.id);
    const monitorPid = Number.parseInt(await readFile(join(this.dir(u.id), "conmon.pid"), "utf8").catch(() => ""), 10);
    // Started at some point if runc or conmon know it: "running" lets reconcile() find out what it is now.
    const started = runcKnows || exit !== undefined;
    this.d.log?.("container record unreadable: rebuilt from its bundle and runc's state, container kept", { id: u.id, name: created.name, file: u.file, reason: u.reason });
    return {
      ...created,
      state: started ? "running" : "created",
      monitorPid: started && !Number.isNaN(monitorPid) ? monitorPid : undefined,
      error: `record rebuilt from the bundle after ${u.reason}${aside ? ` (the bad file is kept as ${aside})` : ""}; restart count and start time were lost`,
    };
  }

  close(): void {
    this.waiters.clear();
  }
}
