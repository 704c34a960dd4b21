// The daemon's stack controller: load -> observe -> plan -> apply, one stack
// at a time per stack (two CLIs acting on one stack are serialized, never
// interleaved) and stacks in parallel. Level-triggered: every entry point
// (up, down, resync at start, events) observes the engine afresh and plans from
// what is, never from what it remembers happened.
import { checkName } from "../../engine/names.js";
import type { ContainerInfo, Engine, HealthcheckConfig } from "../../engine/types.js";
import { apply, conditionMet, displayNameOf, targetOf } from "../../reconciler/apply.js";
import type { ProgressEvent } from "../../reconciler/apply.js";
import { containerSpecFor } from "../../reconciler/container-spec.js";
import { HealthMonitor } from "../../reconciler/health.js";
import { readinessProbe } from "../../reconciler/readiness.js";
import { policyOf, restartOnDaemonStart } from "../../reconciler/restart-policy.js";
import { Supervisor } from "../../reconciler/supervise.js";
import { LABEL } from "../../reconciler/labels.js";
import type { StackSpec } from "../../model/stack.js";
import { observeStack } from "../../reconciler/observed.js";
import type { ObservedStack } from "../../reconciler/observed.js";
import { imageOf, planDown, planUp, selectServices, topological } from "../../reconciler/plan.js";
import type { Plan, UpOptions } from "../../reconciler/plan.js";
import { loadStack } from "../stack/load.js";
import { NO_SUCH_SERVICE } from "./api.js";
import type { ContainerView, DaemonEvent, DownRequest, JobView, StackSummary, StreamMessage, UpRequest } from "./api.js";
import { withLabelledResources } from "./labelled-resources.js";
import { StackWatcher } from "./watch.js";
import { DevelopWatcher } from "./develop-watch.js";
import type { Logger } from "./log.js";
import type { StackStore } from "./stacks.js";
import { containerView, progressMessage } from "./to-wire.js";

type Emit = (m: StreamMessage) => void;

/** Scheduled jobs (src/daemon/scheduler.ts), told of each stack's lifecycle. */
export interface StackJobs {
  /** up, reload, daemon start: follow the stack's schedules; a line per scheduled service. */
  sync(spec: StackSpec, only?: ReadonlySet<string>): string[];
  /** down: no more runs; the history is forgotten. */
  stop(project: string): void;
  view(project: string): JobView[];
}

export class StackController {
  private readonly locks = new Map<string, Promise<unknown>>();
  readonly health: HealthMonitor;
  readonly supervisor: Supervisor;
  readonly watcher: StackWatcher;
  /** develop.watch rules of watched stacks (src/daemon/develop-watch.ts), armed and disarmed with the watcher. */
  readonly develop: DevelopWatcher;
  /** The engine as apply sees it: every stop it makes is announced to the supervisor first. */
  private readonly applyEngine: Engine;
  /** Attached by the daemon's main. */
  jobs: StackJobs | undefined;

  constructor(
    readonly engine: Engine,
    readonly stacks: StackStore,
    private readonly log: Logger,
    onHealth: (id: string, name: string, status: string) => void = () => undefined,
    private readonly publish: (e: DaemonEvent) => void = () => undefined,
  ) {
    this.watcher = new StackWatcher({
      onChange: (project, files) => this.reload(project, files),
      onError: (project, message) => this.reportReloadError(project, message),
      watching: (project, on) => {
        const record = on ? this.stacks.get(project) : undefined;
        if (record) this.develop.watch(record.spec, record.options.services);
        else this.develop.unwatch(project);
      },
    });
    this.develop = new DevelopWatcher(this, log, publish);
    this.health = new HealthMonitor(engine, (id, name, status) => {
      this.log.info("health status changed", { container: name, status });
      onHealth(id, name, status);
      if (status === "unhealthy") void this.supervisor.restartUnhealthy(id);
    });
    this.supervisor = new Supervisor(engine, {
      specOf: (project) => this.stacks.get(project)?.spec,
      stoppedByUser: (project, id) => this.stacks.get(project)?.stoppedByUser.includes(id) ?? false,
      log: (msg, fields) => this.log.info(msg, fields),
    });
    this.applyEngine = this.intendingEngine();
    // Health checks start with the container, not after the whole apply: a
    // dependant waiting on service_healthy must see its dependency's checks run.
    engine.onEvent((e) => {
      if (e.type !== "container") return;
      if (e.action === "start") void this.trackOne(e.id).catch(() => undefined);
      else if (e.action === "die" || e.action === "destroy") this.health.untrack(e.id);
    });
  }

  /** Stops made by the daemon (down, recreate, a user's restart) must not look like crashes to the supervisor. */
  intendStop(id: string): void {
    this.supervisor.expectStop(id);
  }

  private intendingEngine(): Engine {
    const sup = this.supervisor;
    return new Proxy(this.engine, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== "function") return value;
        if (prop === "stopContainer" || prop === "killContainer" || prop === "removeContainer") {
          return (id: string, ...rest: unknown[]) => {
            sup.expectStop(id);
            return (value as (...a: unknown[]) => unknown).call(target, id, ...rest);
          };
        }
        if (prop === "startContainer") {
          return (id: string) => {
            sup.clearExpected(id);
            return (value as (id: string) => unknown).call(target, id);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
  }

  private async trackOne(id: string): Promise<void> {
    const c = await this.engine.inspectContainer(id);
    const project = c?.labels[LABEL.project];
    const spec = project ? this.stacks.get(project)?.spec : undefined;
    if (!c || !spec || c.state !== "running") return;
    await this.trackContainer(spec, c);
  }

  /** Starts the container's health check and readiness probe, if its service has either. */
  private async trackContainer(spec: StackSpec, c: ContainerInfo): Promise<void> {
    const svc = spec.services[c.labels[LABEL.service] ?? ""];
    if (!svc || this.health.ids().includes(c.id)) return;
    const healthcheck = await this.healthcheckOf(spec, svc.name, c);
    const r = svc.supervision.readiness;
    const readiness = r ? { probe: readinessProbe(this.engine, c, r.probe, svc.networkMode), intervalMs: r.intervalMs, timeoutMs: r.timeoutMs } : undefined;
    this.health.track(c.id, c.name, { healthcheck, readiness }, c.startedAt ? Date.parse(c.startedAt) : Date.now());
  }

  /** Runs fn with the stack's lock held: operations on one stack never interleave. */
  serialize<T>(project: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(project) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.locks.set(project, next);
    // The caller gets next's rejection; this bookkeeping branch must not leave an unhandled one (it kills the daemon).
    void next
      .finally(() => {
        if (this.locks.get(project) === next) this.locks.delete(project);
      })
      .catch(() => undefined);
    return next;
  }

  async up(req: UpRequest, emit: Emit): Promise<boolean> {
    const loaded = loadStack({ ...req.project });
    for (const w of loaded.warnings) emit({ type: "warning", message: w });
    const spec = loaded.stack;
    checkName("project", spec.name);
    for (const s of [...(req.options.services ?? []), ...(req.options.mustExist ?? [])]) {
      if (!(s in spec.services)) throw Object.assign(new Error(`no such service: ${s}`), { code: NO_SUCH_SERVICE });
    }
    if (req.options.dryRun) return this.serialize(spec.name, async () => this.preview(spec, planUp(spec, await this.observe(spec), { ...req.options, startStopped: true }), emit));
    if (req.options.noStart) return this.create(req, spec, emit);
    return this.serialize(spec.name, async () => {
      const previous = this.stacks.get(spec.name);
      // Persist the desired state first: a daemon killed mid-apply resumes from it.
      this.stacks.put({
        name: spec.name,
        project: req.project,
        spec,
        options: req.options,
        stoppedByUser: previous?.stoppedByUser.filter(() => false) ?? [],
        updatedAt: new Date().toISOString(),
      });
      const scheduled = this.jobs?.sync(spec, selection(spec, req.options)) ?? [];
      const observed = await this.observe(spec);
      const plan = planUp(spec, observed, { ...req.options, startStopped: true });
      const ok = await this.run(spec, plan, emit);
      for (const message of scheduled) emit({ type: "info", message });
      await this.trackHealth(spec);
      if (req.options.watch) {
        this.watcher.watch(spec.name, loaded.watchedFiles);
        emit({ type: "info", message: `watching ${loaded.watchedFiles.length} files of ${spec.name} for changes` });
      } else this.watcher.unwatch(spec.name);
      if (ok && req.options.wait) return this.waitReady(spec, req.options.waitTimeoutMs ?? 5 * 60_000, emit);
      return ok;
    });
  }

  /**
   * `create`: the containers made (or remade), none started. The stack's record is kept
   * as `up` keeps it, with the new containers marked stopped by the user: neither a
   * re-sync at the daemon's start nor a reload of watched files may start them; the
   * next `up` does (it clears the marks).
   */
  private create(req: UpRequest, spec: StackSpec, emit: Emit): Promise<boolean> {
    return this.serialize(spec.name, async () => {
      const previous = this.stacks.get(spec.name);
      const options = { ...req.options, noStart: undefined };
      this.stacks.put({ name: spec.name, project: req.project, spec, options, stoppedByUser: previous?.stoppedByUser ?? [], updatedAt: new Date().toISOString() });
      const plan = planUp(spec, await this.observe(spec, previous?.stoppedByUser), { ...req.options, noStart: true });
      const ok = await this.run(spec, plan, emit);
      const chosen = selection(spec, req.options);
      const idle = await this.engine.listContainers({ all: true, labels: { [LABEL.project]: spec.name, [LABEL.oneoff]: "False" } });
      for (const c of idle) {
        if (c.state === "created" && (!chosen || chosen.has(c.labels[LABEL.service] ?? ""))) this.markStopped(spec.name, c.id, true);
      }
      return ok;
    });
  }

  /** --dry-run: the actions the plan holds, reported in an order apply could run them, as if each was done. Nothing is touched. */
  private preview(spec: StackSpec, plan: Plan, emit: Emit): boolean {
    if (!this.reportProblems(spec, plan, emit)) return false;
    for (const a of topological(plan)) emit({ type: "action", id: a.id, kind: a.kind, target: targetOf(a), name: displayNameOf(a, spec), status: "done" });
    emit({ type: "result", ok: true, failed: [], project: spec.name });
    return true;
  }

  async down(req: DownRequest, emit: Emit): Promise<boolean> {
    // The files name the project unless the caller did (-p); as in compose, down works
    // without loadable files when the project is named.
    let loaded: StackSpec | undefined;
    let loadError: unknown;
    if (req.project) {
      try {
        const result = loadStack({ ...req.project });
        for (const w of result.warnings) emit({ type: "warning", message: w });
        loaded = result.stack;
      } catch (err) {
        loadError = err;
      }
    }
    const name = loaded?.name ?? req.projectName;
    if (name === undefined) throw loadError instanceof Error ? loadError : new Error("down: no project named and no stack files given");
    // The name becomes file names (stacks/<name>.json, jobs/<name>.json): "../../etc/x" must not.
    checkName("project", name);
    return this.serialize(name, async () => {
      // Without a spec (a stack the daemon never saw), labels still find everything.
      let spec = loaded ?? this.stacks.get(name)?.spec ?? emptyStack(name);
      // Without loadable files, what carries the project's labels is the project's (compose's rule).
      if (!loaded) spec = withLabelledResources(spec, await this.engine.listNetworks(), await this.engine.listVolumes());
      const downOptions = { removeVolumes: req.options.removeVolumes, removeOrphans: req.options.removeOrphans, services: req.options.services };
      if (req.options.dryRun) return this.preview(spec, planDown(spec, await this.observe(spec), downOptions), emit);
      // No job may start once down has looked at what runs; down removes the running ones.
      if (!req.options.services) this.jobs?.stop(name);
      const observed = await this.observe(spec);
      const plan = planDown(spec, observed, downOptions);
      if (req.options.timeoutMs !== undefined) for (const svc of Object.values(spec.services)) svc.stopGracePeriodMs = req.options.timeoutMs;
      for (const c of observed.containers) this.health.untrack(c.id);
      if (!req.options.services) {
        this.watcher.unwatch(name);
        // The desired state goes before anything is removed: a daemon killed half way through
        // must not re-sync the stack back up when it starts. What is left, the user's next
        // down finds by its labels.
        this.stacks.delete(name);
      }
      return this.run(spec, plan, emit);
    });
  }

  /** Watch mode: the stack's files changed. Reload; converge if they load, keep what runs if not. */
  async reload(project: string, files: string[]): Promise<void> {
    const record = this.stacks.get(project);
    if (!record) return;
    let loaded;
    try {
      loaded = loadStack({ ...record.project });
    } catch (err) {
      this.reportReloadError(project, (err as Error).message);
      return;
    }
    const spec = loaded.stack;
    const changed = Object.values(spec.services)
      .filter((s) => record.spec.services[s.name]?.configHash !== s.configHash)
      .map((s) => s.name);
    this.log.info("stack files changed", { stack: project, files, changedServices: changed });
    this.publish({ type: "stack", action: "reload", project, message: changed.length > 0 ? `changed: ${changed.join(", ")}` : "no service changed", time: Date.now() });
    await this.serialize(project, async () => {
      this.stacks.put({ ...record, spec, updatedAt: new Date().toISOString() });
      this.jobs?.sync(spec);
      const observed = await this.observe(spec, record.stoppedByUser);
      const plan = planUp(spec, observed, { ...record.options, services: undefined, forceRecreate: false, startStopped: false, removeOrphans: true });
      const ok = await this.run(spec, plan, () => undefined);
      await this.trackHealth(spec);
      this.watcher.watch(project, loaded.watchedFiles);
      this.publish({ type: "stack", action: ok ? "converged" : "error", project, message: ok ? undefined : "converge failed; see the daemon log", time: Date.now() });
    });
  }

  /** develop.watch rebuild: recreate services' containers (up --no-deps --force-recreate of them). */
  async recreate(project: string, services: string[]): Promise<boolean> {
    return this.serialize(project, async () => {
      const record = this.stacks.get(project);
      if (!record) return false;
      const observed = await this.observe(record.spec, record.stoppedByUser);
      const plan = planUp(record.spec, observed, { ...record.options, services, noDeps: true, forceRecreate: true, startStopped: true });
      const ok = await this.run(record.spec, plan, () => undefined);
      await this.trackHealth(record.spec);
      return ok;
    });
  }

  private reportReloadError(project: string, message: string): void {
    this.log.warn("stack files do not load; keeping the running stack", { stack: project, error: message });
    this.publish({ type: "stack", action: "error", project, message, time: Date.now() });
  }

  /** Converges a known stack to its last desired state (daemon start, after a crash). */
  async resync(project: string, emit: Emit = () => undefined): Promise<boolean> {
    return this.serialize(project, async () => {
      const record = this.stacks.get(project);
      if (!record) return true;
      this.jobs?.sync(record.spec, selection(record.spec, record.options));
      const observed = await this.observe(record.spec, record.stoppedByUser);
      const plan = planUp(record.spec, observed, { ...record.options, forceRecreate: false, pull: "missing", startStopped: false });
      const ok = await this.run(record.spec, plan, emit);
      // Restart policies also apply across a daemon (or machine) restart: always and unless-stopped come back.
      for (const c of observed.containers) {
        const svc = record.spec.services[c.service];
        if (!svc || c.oneoff || (c.state !== "exited" && c.state !== "restarting")) continue;
        if (!restartOnDaemonStart(svc, c.stoppedByUser)) continue;
        await this.engine.startContainer(c.id).catch((err: unknown) => this.log.warn("restart at daemon start failed", { stack: project, container: c.name, error: (err as Error).message }));
      }
      await this.trackHealth(record.spec);
      return ok;
    });
  }

  async observe(spec: StackSpec, stoppedByUser: string[] = []): Promise<ObservedStack> {
    const [containers, networks, volumes] = await Promise.all([
      this.engine.listContainers({ all: true, labels: { [LABEL.project]: spec.name } }),
      this.engine.listNetworks(),
      this.engine.listVolumes(),
    ]);
    const images: string[] = [];
    for (const svc of Object.values(spec.services)) {
      const image = imageOf(spec, svc);
      if (!images.includes(image) && (await this.engine.inspectImage(image))) images.push(image);
    }
    return observeStack(spec.name, containers, networks, volumes, images, {
      health: (id) => this.health.health(id),
      stoppedByUser: (id) => stoppedByUser.includes(id),
    });
  }

  /** The plan's warnings, and its errors with a failed result: false when it has errors. */
  private reportProblems(spec: StackSpec, plan: Plan, emit: Emit): boolean {
    for (const w of plan.warnings) emit({ type: "warning", message: w });
    if (plan.errors.length === 0) return true;
    for (const e of plan.errors) emit({ type: "error", message: e });
    emit({ type: "result", ok: false, failed: [], project: spec.name });
    return false;
  }

  private async run(spec: StackSpec, plan: Plan, emit: Emit): Promise<boolean> {
    if (!this.reportProblems(spec, plan, emit)) return false;
    this.log.info("applying plan", { stack: spec.name, actions: plan.actions.length });
    const started = new Map<string, number>();
    const result = await apply(plan, {
      engine: this.applyEngine,
      stack: spec,
      health: this.health,
      onEvent: (e: ProgressEvent) => {
        if (e.type === "action" && e.status === "started") started.set(e.id, performance.now());
        if (e.type === "action" && e.status === "done") {
          this.log.info("action done", { stack: spec.name, action: e.id, ms: Math.round(performance.now() - (started.get(e.id) ?? 0)) });
        }
        emit(progressMessage(e));
      },
    });
    for (const f of result.failed) this.log.warn("action failed", { stack: spec.name, action: f.id, error: f.error });
    emit({ type: "result", ok: result.ok, failed: result.failed, project: spec.name });
    return result.ok;
  }

  /** Starts health checks for the stack's running containers that have one. */
  async trackHealth(spec: StackSpec): Promise<void> {
    const containers = await this.engine.listContainers({ labels: { [LABEL.project]: spec.name } });
    for (const c of containers) if (c.state === "running") await this.trackContainer(spec, c);
  }

  private async healthcheckOf(spec: StackSpec, service: string, c: ContainerInfo): Promise<HealthcheckConfig | undefined> {
    const svc = spec.services[service];
    if (!svc) return undefined;
    const fromStack = containerSpecFor(spec, svc, 1).healthcheck;
    const fromImage = (await this.engine.inspectImage(c.image))?.config.healthcheck;
    if (fromStack?.test[0] === "NONE") return undefined;
    if (fromStack && svc.healthcheck?.test !== undefined) return fromStack;
    if (!fromImage) return undefined;
    return {
      test: fromImage.test,
      intervalMs: svc.healthcheck?.intervalMs ?? fromImage.intervalMs ?? 30_000,
      timeoutMs: svc.healthcheck?.timeoutMs ?? fromImage.timeoutMs ?? 30_000,
      retries: svc.healthcheck?.retries ?? fromImage.retries ?? 3,
      startPeriodMs: svc.healthcheck?.startPeriodMs ?? fromImage.startPeriodMs ?? 0,
      startIntervalMs: svc.healthcheck?.startIntervalMs ?? 5_000,
    };
  }

  /** up --wait: every service running (healthy when it has a check); a one-shot that exited 0 counts as done. */
  private async waitReady(spec: StackSpec, timeoutMs: number, emit: Emit): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const containers = await this.engine.listContainers({ all: true, labels: { [LABEL.project]: spec.name, [LABEL.oneoff]: "False" } });
      let pending: string | undefined;
      for (const svc of Object.values(spec.services)) {
        // A scheduled job runs on its own clock, and a service scaled to 0 has nothing to wait for.
        if (svc.supervision.schedule || svc.replicas === 0) continue;
        const mine = containers.filter((c) => c.labels[LABEL.service] === svc.name);
        const oneShot = mine.length > 0 && mine.every((c) => c.state === "exited" && c.exitCode === 0 && svc.restart === "no");
        if (oneShot) continue;
        // As compose's --wait: a container that exited and that no restart policy brings back has failed.
        const dead = mine.find((c) => (c.state === "exited" || c.state === "dead") && policyOf(svc).condition === "none");
        if (dead) {
          emit({ type: "error", message: `container ${dead.name} exited (${dead.exitCode ?? "?"})` });
          return false;
        }
        const hasCheck = mine.some((c) => this.health.health(c.id) !== undefined);
        const verdict = conditionMet({ service: svc.name, condition: hasCheck ? "service_healthy" : "service_started" }, mine, this.health);
        if (typeof verdict === "string") {
          emit({ type: "error", message: verdict });
          return false;
        }
        if (!verdict || mine.some((c) => c.state !== "running" && !hasCheck)) pending = svc.name;
      }
      if (!pending) return true;
      if (Date.now() > deadline) {
        emit({ type: "error", message: `timed out waiting for ${pending}` });
        return false;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Stacks whose saved record was unreadable at start: their containers name
   * the stack's files and directory (compose's labels), so the stack is loaded
   * from there and supervised (restart policies, health) as it runs now. It is
   * not re-synced: the environment the CLI loaded it with is not known, and a
   * different interpolation must not recreate anything. `up` replaces it.
   */
  async recoverUnreadableStacks(): Promise<void> {
    for (const u of this.stacks.unreadable()) {
      const mine = await this.engine.listContainers({ all: true, labels: { [LABEL.project]: u.name } });
      const labels = mine.find((c) => c.labels[LABEL.configFiles] && c.labels[LABEL.workingDir])?.labels;
      const files = labels?.[LABEL.configFiles]?.split(",").filter(Boolean) ?? [];
      const dir = labels?.[LABEL.workingDir];
      if (files.length === 0 || dir === undefined) {
        this.log.error("stack record unreadable and no container names its files: containers left as they are, not supervised until `up`", { stack: u.name, file: u.file });
        continue;
      }
      const project = { files, projectName: u.name, projectDirectory: dir, envFiles: [], profiles: [], env: {}, cwd: dir };
      try {
        const spec = loadStack({ ...project }).stack;
        this.stacks.adopt({ name: u.name, project, spec, options: {}, stoppedByUser: [], updatedAt: new Date().toISOString(), rebuilt: true });
        this.log.warn("stack record unreadable: supervising the stack as loaded from the files its containers name; run `up` to save a new record", { stack: u.name, file: u.file, files });
      } catch (err) {
        this.log.error("stack record unreadable and its files do not load: containers left as they are, not supervised until `up`", { stack: u.name, file: u.file, error: (err as Error).message });
      }
    }
  }

  async summaries(): Promise<StackSummary[]> {
    const all = await this.engine.listContainers({ all: true, labels: { [LABEL.project]: undefined } });
    const names = new Set([...this.stacks.list().map((s) => s.name), ...this.stacks.unreadable().map((u) => u.name), ...all.map((c) => c.labels[LABEL.project] as string)]);
    return [...names].sort().map((name) => {
      const mine = all.filter((c) => c.labels[LABEL.project] === name);
      const counts = new Map<string, number>();
      for (const c of mine) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
      const record = this.stacks.get(name);
      const jobs = Object.values(record?.spec.services ?? {}).filter((s) => s.supervision?.schedule).length;
      const unreadable = this.stacks.unreadable().find((u) => u.name === name);
      const status =
        ([...[...counts].map(([state, n]) => `${state}(${n})`), ...(jobs > 0 ? [`scheduled(${jobs})`] : [])].join(", ") || "empty") +
        (unreadable ? `; saved record unreadable (kept as ${unreadable.file}): run up` : "");
      return {
        name,
        status,
        configFiles: record?.spec.configFiles ?? (mine[0]?.labels[LABEL.configFiles]?.split(",") ?? []),
        running: counts.get("running") ?? 0,
        total: mine.length,
        watching: record?.options.watch === true,
        jobs,
      };
    });
  }

  async containers(project: string | undefined, all: boolean): Promise<ContainerView[]> {
    const list = await this.engine.listContainers({ all, labels: project ? { [LABEL.project]: project } : { [LABEL.project]: undefined } });
    return list.map((c) => containerView(c, this.health.health(c.id)));
  }

  markStopped(project: string, id: string, stopped: boolean): void {
    const record = this.stacks.get(project);
    if (!record) return;
    const set = new Set(record.stoppedByUser);
    if (stopped) set.add(id);
    else set.delete(id);
    this.stacks.put({ ...record, stoppedByUser: [...set] });
  }
}

function emptyStack(name: string): StackSpec {
  return { name, workingDir: "", configFiles: [], services: {}, networks: {}, volumes: {}, secrets: {}, configs: {}, extensions: {} };
}

/** The services an `up SERVICE...` touches (undefined: all of them). */
function selection(spec: StackSpec, options: UpOptions): ReadonlySet<string> | undefined {
  return options.services && options.services.length > 0 ? new Set(selectServices(spec, options.services, options.noDeps)) : undefined;
}
