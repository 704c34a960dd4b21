// The daemon's stack controller: load -> observe -> plan -> apply, one stack
// at a time per stack (two CLIs acting on one stack are serialized, never
// interleaved) and stacks in parallel. Level-triggered: every entry point
// (up, down, resync at start, events) observes the engine afresh and plans from
// what is, never from what it remembers happened.
//
// The controller coordinates; the parts are beside it: observe.ts (what runs),
// plan-run.ts (apply with progress, --dry-run), stack-supervision.ts (health
// checks, restart policies, the engine apply sees), wait-ready.ts (up --wait),
// stack-views.ts (ls and ps), stack-recovery.ts (unreadable records at start).
import { checkName } from "../../engine/names.js";
import { KeyedMutex } from "../../engine/sys/keyed-mutex.js";
import type { Engine } from "../../engine/types.js";
import { restartOnDaemonStart } from "../../reconciler/restart-policy.js";
import { LABEL } from "../../model/labels.js";
import type { StackSpec } from "../../model/stack.js";
import type { ObservedStack } from "../../reconciler/observed.js";
import { planBuilds, planDown, planUp, selectServices } from "../../reconciler/plan.js";
import type { BuildFlags } from "../../reconciler/build-request.js";
import { addBuildInputs } from "./build-inputs.js";
import type { Plan, UpOptions } from "../../reconciler/plan.js";
import { loadStack } from "../stack/load.js";
import { embeddedHostResources } from "./host-resources.js";
import type { HostResources } from "../stack/host-resources.js";
import { checkEngineSupport } from "../stack/support.js";
import { NO_SUCH_SERVICE } from "./api.js";
import type { ContainerView, DaemonEvent, DownRequest, JobView, StackBuildRequest, StackSummary, UpRequest } from "./api.js";
import { withLabelledResources } from "./labelled-resources.js";
import { StackWatcher } from "./watch.js";
import { DevelopWatcher } from "./develop-watch.js";
import type { Logger } from "./log.js";
import { observe } from "./observe.js";
import { previewPlan, runPlan } from "./plan-run.js";
import type { Emit } from "./plan-run.js";
import { recoverUnreadableStacks } from "./stack-recovery.js";
import type { StackStore } from "./stacks.js";
import { StackSupervision } from "./stack-supervision.js";
import type { HealthMonitor } from "./supervision/health.js";
import type { Supervisor } from "./supervision/supervise.js";
import { containerViews, stackSummaries } from "./stack-views.js";
import { waitReady } from "./wait-ready.js";

/** Scheduled jobs (src/daemon/scheduler.ts), told of each stack's lifecycle. */
export interface StackJobs {
  /** up, reload, daemon start: follow the stack's schedules; a line per scheduled service. */
  sync(spec: StackSpec, only?: ReadonlySet<string>): string[];
  /** down: no more runs; the history is forgotten. */
  stop(project: string): void;
  view(project: string): JobView[];
}

export class StackController {
  private readonly locks = new KeyedMutex();
  readonly health: HealthMonitor;
  readonly supervisor: Supervisor;
  readonly watcher: StackWatcher;
  /** develop.watch rules of watched stacks (src/daemon/develop-watch.ts), armed and disarmed with the watcher. */
  readonly develop: DevelopWatcher;
  /** Health checks, restart policies and the engine apply sees (./stack-supervision.ts). */
  private readonly supervision: StackSupervision;
  /** Attached by the daemon's main. */
  jobs: StackJobs | undefined;
  /** The runtimes daemon.json names (besides runc), which a service's `runtime:` may choose. */
  runtimes: readonly string[] = [];

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
    this.supervision = new StackSupervision(
      engine,
      {
        specOf: (project) => this.stacks.get(project)?.spec,
        stoppedByUser: (project, id) => this.stacks.get(project)?.stoppedByUser.includes(id) ?? false,
        onHealth,
      },
      log,
    );
    this.health = this.supervision.health;
    this.supervisor = this.supervision.supervisor;
  }

  /** The host a stack is checked against at up (src/stack/host-resources.ts). */
  host(): HostResources {
    return embeddedHostResources(this.runtimes);
  }

  /** Stops made by the daemon (down, recreate, a user's restart) must not look like crashes to the supervisor. */
  intendStop(id: string): void {
    this.supervisor.expectStop(id);
  }

  /** Runs fn with the stack's lock held: operations on one stack never interleave. */
  serialize<T>(project: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(project, fn);
  }

  async up(req: UpRequest, emit: Emit): Promise<boolean> {
    const loaded = loadStack({ ...req.project, host: this.host() });
    for (const w of loaded.warnings) emit({ type: "warning", message: w });
    const spec = loaded.stack;
    await addBuildInputs(spec);
    checkName("project", spec.name);
    // Before anything is stored or touched: a key the engine would drop stops up, create and scale.
    checkEngineSupport(spec);
    for (const s of [...(req.options.services ?? []), ...(req.options.mustExist ?? [])]) {
      if (!(s in spec.services)) throw Object.assign(new Error(`no such service: ${s}`), { code: NO_SUCH_SERVICE });
    }
    if (req.options.dryRun) return this.serialize(spec.name, async () => previewPlan(spec, planUp(spec, await this.observe(spec), { ...req.options, startStopped: true }), emit));
    if (req.options.noStart) return this.create(req, spec, emit);
    return this.serialize(spec.name, async () => {
      if (!(await this.buildWhatUpNeeds(spec, req.options, emit))) return false;
      const previous = this.stacks.get(spec.name);
      // Persist the desired state first: a daemon killed mid-apply resumes from it.
      this.stacks.put({
        name: spec.name,
        project: req.project,
        spec,
        // -V is for this up only: a later re-sync or watch reload keeps the volumes it recreates.
        options: { ...req.options, renewAnonVolumes: undefined },
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
      if (ok && req.options.wait) return waitReady(this.engine, this.health, spec, req.options.waitTimeoutMs ?? 5 * 60_000, emit, selection(spec, req.options));
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
      if (!(await this.buildWhatUpNeeds(spec, req.options, emit))) return false;
      const previous = this.stacks.get(spec.name);
      const options = { ...req.options, noStart: undefined, renewAnonVolumes: undefined };
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
      if (req.options.dryRun) return previewPlan(spec, planDown(spec, await this.observe(spec), downOptions), emit);
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

  /**
   * Before an up or create changes anything: the images of services with build:
   * that are missing, changed (their build inputs are in the config hash) or
   * asked for (--build); none with --no-build. A failed build stops the up.
   */
  private async buildWhatUpNeeds(spec: StackSpec, options: UpRequest["options"], emit: Emit): Promise<boolean> {
    if (options.build === "never") return true;
    const builds = planBuilds(spec, await this.observe(spec), { services: options.services, withDependencies: !options.noDeps, always: options.build === "always", noRecreate: options.noRecreate });
    return builds.actions.length === 0 || this.run(spec, builds, emit);
  }

  /** `tscompose build [SERVICE...]`: builds, nothing else; the stack's record is not touched. */
  async build(req: StackBuildRequest, emit: Emit): Promise<boolean> {
    const loaded = loadStack({ ...req.project, host: this.host() });
    for (const w of loaded.warnings) emit({ type: "warning", message: w });
    const spec = loaded.stack;
    checkName("project", spec.name);
    checkEngineSupport(spec);
    const o = req.options;
    for (const s of o.services ?? []) {
      if (!(s in spec.services)) throw Object.assign(new Error(`no such service: ${s}`), { code: NO_SUCH_SERVICE });
    }
    return this.serialize(spec.name, async () => {
      const plan = planBuilds(spec, await this.observe(spec), { ...(o.services && o.services.length > 0 ? { services: o.services } : {}), withDependencies: o.withDependencies ?? false, always: true });
      if (plan.actions.length === 0) {
        emit({ type: "result", ok: true, failed: [], project: spec.name });
        return true;
      }
      return this.run(spec, plan, emit, { ...(o.noCache ? { noCache: true } : {}), ...(o.pull ? { pull: true } : {}), ...(o.buildArgs ? { buildArgs: o.buildArgs } : {}) });
    });
  }

  /** Watch mode: the stack's files changed. Reload; converge if they load, keep what runs if not. */
  async reload(project: string, files: string[]): Promise<void> {
    const record = this.stacks.get(project);
    if (!record) return;
    let loaded;
    try {
      loaded = loadStack({ ...record.project, host: this.host() });
      checkEngineSupport(loaded.stack);
      await addBuildInputs(loaded.stack);
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
      if (!(await this.buildWhatUpNeeds(spec, { ...record.options, services: undefined }, () => undefined))) {
        this.reportReloadError(project, "a build failed; see the daemon log");
        return;
      }
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

  /** develop.watch rebuild: build the services' images again (those with build:), then recreate their containers (up --no-deps --force-recreate of them). */
  async recreate(project: string, services: string[]): Promise<boolean> {
    return this.serialize(project, async () => {
      const record = this.stacks.get(project);
      if (!record) return false;
      const builds = planBuilds(record.spec, await this.observe(record.spec, record.stoppedByUser), { services, always: true });
      if (builds.actions.length > 0 && !(await this.run(record.spec, builds, () => undefined))) return false;
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

  observe(spec: StackSpec, stoppedByUser: string[] = []): Promise<ObservedStack> {
    return observe(this.engine, this.health, spec, stoppedByUser);
  }

  private run(spec: StackSpec, plan: Plan, emit: Emit, build?: BuildFlags): Promise<boolean> {
    return runPlan({ engine: this.supervision.applyEngine, health: this.health, log: this.log }, spec, plan, emit, build);
  }

  /** Starts health checks for the stack's running containers that have one. */
  trackHealth(spec: StackSpec): Promise<void> {
    return this.supervision.trackHealth(spec);
  }

  recoverUnreadableStacks(): Promise<void> {
    return recoverUnreadableStacks(this.engine, this.stacks, this.log);
  }

  summaries(): Promise<StackSummary[]> {
    return stackSummaries(this.engine, this.stacks);
  }

  containers(project: string | undefined, all: boolean): Promise<ContainerView[]> {
    return containerViews(this.engine, this.health, project, all);
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
  return { name, workingDir: "", configFiles: [], services: {}, networks: {}, volumes: {}, secrets: {}, configs: {}, extensions: {}, unsupported: [] };
}

/** The services an `up SERVICE...` touches (undefined: all of them). */
function selection(spec: StackSpec, options: UpOptions): ReadonlySet<string> | undefined {
  return options.services && options.services.length > 0 ? new Set(selectServices(spec, options.services, options.noDeps)) : undefined;
}
