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
import { EngineError } from "../../engine/errors.js";
import { engineKey, type EngineTarget } from "../../engine/index.js";
import { checkName } from "../../engine/names.js";
import { KeyedMutex } from "../../engine/sys/keyed-mutex.js";
import type { ImageService } from "../../engine/image/service.js";
import type { Engine, RegistryLogin } from "../../engine/types.js";
import { restartOnDaemonStart } from "../../reconciler/restart-policy.js";
import { LABEL } from "../../model/labels.js";
import type { StackSpec } from "../../model/stack.js";
import type { ObservedStack } from "../../reconciler/observed.js";
import { planBuilds, planDown, planUp, selectServices } from "../../reconciler/plan.js";
import { addBuildInputs } from "./build-inputs.js";
import type { Plan, UpOptions } from "../../reconciler/plan.js";
import { loadStack } from "../stack/load.js";
import { embeddedHostResources } from "./host-resources.js";
import type { HostResources } from "../stack/host-resources.js";
import { checkEngineSupport } from "../stack/support.js";
import { NO_SUCH_SERVICE } from "./api.js";
import type { ContainerView, DaemonEvent, DownRequest, EngineChoice, JobView, StackBuildRequest, StackSummary, SwarmUpdateAnswer, UpRequest } from "./api.js";
import type { EngineSet } from "./engines.js";
import { withLabelledResources } from "./labelled-resources.js";
import { StackWatcher } from "./watch.js";
import { DevelopWatcher } from "./develop-watch.js";
import type { Logger } from "./log.js";
import { observe } from "./observe.js";
import { previewPlan, runPlan } from "./plan-run.js";
import type { Emit, RunPlanOptions } from "./plan-run.js";
import { clientCredentials } from "./registry-login.js";
import { recoverUnreadableStacks } from "./stack-recovery.js";
import type { StackRecord, StackStore } from "./stacks.js";
import { StackSupervision } from "./stack-supervision.js";
import type { HealthMonitor } from "./supervision/health.js";
import type { Supervisor } from "./supervision/supervise.js";
import { containerViews, stackSummaries, type EngineLabel } from "./stack-views.js";
import { waitReady } from "./wait-ready.js";
import { checkSwarmSupport, type Locate } from "../../engine/swarm/support.js";
import { isSwarm, SwarmStacks, swarmScale, swarmStackError, swarmStatus, type SwarmTarget } from "./swarm-stacks.js";

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
  /** The embedded engine's image service once it is open (main.ts): up on swarm pushes what it built with it. */
  images: () => ImageService | undefined = () => undefined;
  /** Every engine's containers, each reached by id (engines.ts RoutingEngine): for the parts that work by container. */
  readonly engine: Engine;
  /** Stacks on the swarm engine: deployed, listed and removed through a manager (swarm-stacks.ts). */
  readonly swarm: SwarmStacks;

  constructor(
    /** The engines stacks run on, each opened when first needed (engines.ts). */
    readonly engines: EngineSet,
    /** A client's engine choice, resolved against the daemon's defaults (engine/index.ts resolveEngineTarget). */
    private readonly resolveTarget: (choice: EngineChoice) => EngineTarget,
    readonly stacks: StackStore,
    private readonly log: Logger,
    onHealth: (id: string, name: string, status: string) => void = () => undefined,
    private readonly publish: (e: DaemonEvent) => void = () => undefined,
  ) {
    const engine = engines.router;
    this.engine = engine;
    this.swarm = new SwarmStacks(log);
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
    if (this.stopping) return Promise.reject(new EngineError("unavailable", "the daemon is stopping"));
    return this.locks.run(project, fn);
  }

  private stopping = false;

  /**
   * The daemon's graceful stop: no new stack operation starts, and the ones
   * under way (a re-sync after start, an `up`) finish before the engines
   * close under them, within timeoutMs. False when some did not finish.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.locks.idle().then(() => true as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The engine of a project: its record's, else the one the client asked
   * for, else the daemon's default. For `up` (strict), a client that asks for
   * another engine than the record's is refused: the stack would be two
   * projects, one on each engine, as docker compose would see it.
   */
  targetOf(project: string, asked: EngineChoice | undefined, strict = false): EngineTarget {
    const record = this.stacks.get(project);
    const wanted = asked ? this.resolveTarget(asked) : undefined;
    // A new stack: the daemon's default of stacks (daemon.json's may be swarm), not of containers (engines.defaultTarget, never swarm).
    if (!record) return wanted ?? this.resolveTarget({});
    const current = record.engine ?? this.engines.defaultTarget;
    if (strict && wanted && engineKey(wanted) !== engineKey(current)) {
      throw new EngineError("conflict", `project "${project}" runs on the ${describeTarget(current)} engine; it cannot also run on the ${describeTarget(wanted)} engine: run \`down\` first, or leave --engine/-H out`);
    }
    // The same engine asked again: its newer TLS files are kept.
    return wanted && engineKey(wanted) === engineKey(current) ? wanted : current;
  }

  /** The engine a project's commands go to (see targetOf). */
  engineOf(project: string, asked?: EngineChoice): Promise<Engine> {
    const target = this.targetOf(project, asked);
    // Swarm's containers are its nodes': none is ours to create, observe, exec into or copy from.
    if (isSwarm(target)) return Promise.reject(swarmStackError(project));
    return this.engines.get(target);
  }

  /** The manager of a project on the swarm engine; undefined when it runs elsewhere. */
  swarmTargetOf(project: string, asked?: EngineChoice): SwarmTarget | undefined {
    const target = this.targetOf(project, asked);
    return isSwarm(target) ? target : undefined;
  }

  /** The manager of a project on the swarm engine; a not-found error (404) naming it when it runs elsewhere. */
  requireSwarmTarget(project: string, asked?: EngineChoice): SwarmTarget {
    const target = this.swarmTargetOf(project, asked);
    if (!target) throw new EngineError("not-found", `project "${project}" does not run on the swarm engine`);
    return target;
  }

  /** The engine of a request that names no stack (image verbs, listings): the one asked for, else the default. */
  requestEngine(asked: EngineChoice | undefined): Promise<Engine> {
    const target = asked ? this.resolveTarget(asked) : this.engines.defaultTarget;
    if (isSwarm(target)) return Promise.reject(new EngineError("invalid", "this request works on containers, images, networks or volumes of one engine: the swarm engine has none of ours (leave --engine swarm out)"));
    return this.engines.get(target);
  }

  async up(req: UpRequest, emit: Emit, asked?: EngineChoice): Promise<boolean> {
    // This machine's resources say nothing of a swarm's nodes: not checked against for a stack asked on swarm.
    const askedSwarm = isSwarm(this.resolveTarget(asked ?? {}));
    const loaded = loadStack({ ...req.project, ...(askedSwarm ? {} : { host: this.host() }) });
    for (const w of loaded.warnings) emit({ type: "warning", message: w });
    const spec = loaded.stack;
    await addBuildInputs(spec);
    checkName("project", spec.name);
    const swarmTarget = this.swarmTargetOf(spec.name, asked);
    if (swarmTarget) return this.upOnSwarm(req, spec, swarmTarget, loaded.locate, emit, asked);
    // Before anything is stored or touched: a key the engine would drop stops up, create and scale.
    checkEngineSupport(spec);
    for (const s of [...(req.options.services ?? []), ...(req.options.mustExist ?? [])]) {
      if (!(s in spec.services)) throw Object.assign(new Error(`no such service: ${s}`), { code: NO_SUCH_SERVICE });
    }
    if (req.options.dryRun) {
      return this.serialize(spec.name, async () => {
        const engine = await this.engines.get(this.targetOf(spec.name, asked, true));
        return previewPlan(spec, planUp(spec, await this.observeOn(engine, spec), { ...req.options, startStopped: true }), emit);
      });
    }
    const credentials = await clientCredentials(req.auth, (message) => emit({ type: "warning", message }));
    if (req.options.noStart) return this.create(req, spec, emit, asked, credentials);
    return this.serialize(spec.name, async () => {
      // The engine conflict (another engine than the record's) is refused before anything is built.
      const target = this.targetOf(spec.name, asked, true);
      if (!(await this.buildWhatUpNeeds(spec, req.options, emit, asked))) return false;
      const previous = this.stacks.get(spec.name);
      // Opened (dockerd reached) before the record says the stack runs there, and held open until it does.
      const { engine, release } = await this.engines.hold(target);
      // Persist the desired state first: a daemon killed mid-apply resumes from it.
      try {
        this.stacks.put({
          name: spec.name,
          project: req.project,
          spec,
          // -V, -t and --always-recreate-deps are for this up only: a later re-sync or watch reload keeps the volumes it recreates.
          options: { ...req.options, renewAnonVolumes: undefined, alwaysRecreateDeps: undefined, timeoutMs: undefined },
          stoppedByUser: previous?.stoppedByUser.filter(() => false) ?? [],
          updatedAt: new Date().toISOString(),
          engine: target,
        });
      } finally {
        release();
      }
      const pulled = await this.pullOrRollBack(spec, previous, { ...req.options, startStopped: true }, emit, asked, credentials);
      if (!pulled) return false;
      const scheduled = this.jobs?.sync(spec, selection(spec, req.options)) ?? [];
      const observed = await this.observeOn(engine, spec);
      const plan = withoutPulls(planUp(spec, observed, { ...req.options, startStopped: true }), pulled);
      const ok = await this.runOn(engine, spec, plan, emit, { ...(credentials ? { credentials } : {}), stopTimeoutMs: req.options.timeoutMs });
      for (const message of scheduled) emit({ type: "info", message });
      await this.trackHealth(spec);
      if (req.options.watch) {
        this.watcher.watch(spec.name, loaded.watchedFiles);
        emit({ type: "info", message: `watching ${loaded.watchedFiles.length} files of ${spec.name} for changes` });
      } else this.watcher.unwatch(spec.name);
      if (ok && req.options.wait) return waitReady(engine, this.health, spec, req.options.waitTimeoutMs ?? 5 * 60_000, emit, selection(spec, req.options));
      return ok;
    });
  }

  /**
   * up on swarm: the keys swarm cannot honour refused (located) and the
   * manager reached, then the record (as up on a container engine: a `down`
   * after a failed deploy still finds the stack), then SwarmDeployer.deploy.
   */
  private upOnSwarm(req: UpRequest, spec: StackSpec, target: SwarmTarget, locate: Locate, emit: Emit, asked: EngineChoice | undefined): Promise<boolean> {
    const o = req.options;
    if (o.dryRun || o.noStart) throw new EngineError("invalid", `${o.dryRun ? "--dry-run" : "create (--no-start)"} is not supported on the swarm engine: swarm starts what it schedules`);
    for (const s of [...(o.services ?? []), ...(o.mustExist ?? [])]) {
      if (!(s in spec.services)) throw Object.assign(new Error(`no such service: ${s}`), { code: NO_SUCH_SERVICE });
    }
    return this.serialize(spec.name, async () => {
      this.targetOf(spec.name, asked, true);
      const previous = this.stacks.get(spec.name);
      const scale = swarmScale(previous?.options.scale, o.services, o.scale);
      const options = { ...o, scale, services: undefined, renewAnonVolumes: undefined, watch: undefined };
      // A stack swarm cannot run, or a host that is no manager, leaves no record behind.
      checkSwarmSupport(spec, locate);
      await this.swarm.deployer(target);
      const digests = await this.buildForSwarm(spec, o, emit);
      if (!digests) return false;
      this.stacks.put({ name: spec.name, project: req.project, spec, options, stoppedByUser: [], updatedAt: new Date().toISOString(), engine: target });
      const ok = await this.swarm.up(spec, target, options, locate, emit, digests);
      emit({ type: "result", ok, failed: [], project: spec.name, detached: true });
      return ok;
    });
  }

  /**
   * A swarm stack's `build:` services (each with an `image:` naming a
   * registry: checkSwarmSupport): built on the embedded engine, as `up` builds
   * (missing images, or all with --build), then pushed to the registry their
   * `image:` names, since swarm's nodes pull. Answers each pushed image's
   * manifest digest, which deploy pins (`image@sha256:...`) so every node runs
   * exactly what was built; undefined when a build failed (its error emitted).
   */
  private async buildForSwarm(spec: StackSpec, options: UpRequest["options"], emit: Emit): Promise<Record<string, string> | undefined> {
    const images = [...new Set(Object.values(spec.services).flatMap((s) => (s.build !== undefined && s.image !== undefined ? [s.image] : [])))];
    if (images.length === 0) return {};
    const engine = await this.engines.get({ kind: "embedded" });
    if (options.build !== "never") {
      const builds = planBuilds(spec, await this.observeOn(engine, spec), { always: options.build === "always" });
      if (builds.actions.length > 0 && !(await this.runOn(engine, spec, builds, emit))) return undefined;
    }
    const store = this.images();
    if (!store) throw new EngineError("unavailable", "the embedded engine's image store is not open: nothing to push the built images from");
    const digests: Record<string, string> = {};
    for (const image of images) {
      emit({ type: "info", message: ` Image ${image}  Pushing` });
      const pushed = await store.push(image);
      digests[image] = pushed.digest;
      emit({ type: "info", message: ` Image ${image}  Pushed ${pushed.digest}` });
    }
    return digests;
  }

  /**
   * A swarm stack's service scaled (docker service scale), without waiting;
   * the replicas are kept in the stack's record as `scale` keeps them, so the
   * next `up` deploys them too.
   */
  scaleSwarmService(project: string, service: string, replicas: number, asked: EngineChoice | undefined): Promise<SwarmUpdateAnswer> {
    const target = this.requireSwarmTarget(project, asked);
    return this.serialize(project, async () => {
      const done = await this.swarm.scale(project, target, service, replicas);
      const record = this.stacks.get(project);
      if (record && service in record.spec.services) {
        this.stacks.put({ ...record, options: { ...record.options, scale: { ...(record.options.scale ?? {}), [service]: replicas } }, updatedAt: new Date().toISOString() });
      }
      return done;
    });
  }

  /**
   * `create`: the containers made (or remade), none started. The stack's record is kept
   * as `up` keeps it, with the new containers marked stopped by the user: neither a
   * re-sync at the daemon's start nor a reload of watched files may start them; the
   * next `up` does (it clears the marks).
   */
  private create(req: UpRequest, spec: StackSpec, emit: Emit, asked: EngineChoice | undefined, credentials: RegistryLogin | undefined): Promise<boolean> {
    return this.serialize(spec.name, async () => {
      // The engine conflict (another engine than the record's) is refused before anything is built.
      const target = this.targetOf(spec.name, asked, true);
      if (!(await this.buildWhatUpNeeds(spec, req.options, emit, asked))) return false;
      const previous = this.stacks.get(spec.name);
      const { engine, release } = await this.engines.hold(target);
      const options = { ...req.options, noStart: undefined, renewAnonVolumes: undefined, alwaysRecreateDeps: undefined, timeoutMs: undefined };
      try {
        this.stacks.put({ name: spec.name, project: req.project, spec, options, stoppedByUser: previous?.stoppedByUser ?? [], updatedAt: new Date().toISOString(), engine: target });
      } finally {
        release();
      }
      const pulled = await this.pullOrRollBack(spec, previous, { ...req.options, noStart: true }, emit, asked, credentials, previous?.stoppedByUser);
      if (!pulled) return false;
      const plan = withoutPulls(planUp(spec, await this.observeOn(engine, spec, previous?.stoppedByUser), { ...req.options, noStart: true }), pulled);
      const ok = await this.runOn(engine, spec, plan, emit, { ...(credentials ? { credentials } : {}), stopTimeoutMs: req.options.timeoutMs });
      const chosen = selection(spec, req.options);
      const idle = await engine.listContainers({ all: true, labels: { [LABEL.project]: spec.name, [LABEL.oneoff]: "False" } });
      for (const c of idle) {
        if (c.state === "created" && (!chosen || chosen.has(c.labels[LABEL.service] ?? ""))) this.markStopped(spec.name, c.id, true);
      }
      return ok;
    });
  }

  async down(req: DownRequest, emit: Emit, asked?: EngineChoice): Promise<boolean> {
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
      const swarmTarget = this.swarmTargetOf(name, asked);
      if (swarmTarget) {
        if (req.options.dryRun || req.options.services) throw new EngineError("invalid", `${req.options.dryRun ? "--dry-run" : "down SERVICE"} is not supported on the swarm engine: down removes the whole stack`);
        // The images are on every node the tasks ran on, out of this daemon's reach.
        if (req.options.removeImages) throw new EngineError("invalid", "--rmi is not supported on the swarm engine: the images are on the nodes that ran the tasks, out of this daemon's reach; nothing was removed (down, then docker image rm on the nodes)");
        this.stacks.delete(name);
        await this.swarm.down(name, swarmTarget, emit);
        return true;
      }
      const engine = await this.engineOf(name, asked);
      // Without a spec (a stack the daemon never saw), labels still find everything.
      let spec = loaded ?? this.stacks.get(name)?.spec ?? emptyStack(name);
      // Without loadable files, what carries the project's labels is the project's (compose's rule).
      if (!loaded) spec = withLabelledResources(spec, await engine.listNetworks(), await engine.listVolumes());
      const downOptions = { removeVolumes: req.options.removeVolumes, removeOrphans: req.options.removeOrphans, removeImages: req.options.removeImages, services: req.options.services };
      // Images are known by the services that name them: a project found only by its labels has none.
      if (req.options.removeImages && Object.keys(spec.services).length === 0) emit({ type: "warning", message: `--rmi: project "${name}" has no stack file here and the daemon has no record of its services, so no image is removed` });
      if (req.options.dryRun) return previewPlan(spec, planDown(spec, await this.observeOn(engine, spec), downOptions), emit);
      // No job may start once down has looked at what runs; down removes the running ones.
      if (!req.options.services) this.jobs?.stop(name);
      const observed = await this.observeOn(engine, spec);
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
      const ok = await this.runOn(engine, spec, plan, emit);
      if (!req.options.services) await this.engines.closeUnused();
      return ok;
    });
  }

  /**
   * Before an up or create changes anything: the images of services with build:
   * that are missing, changed (their build inputs are in the config hash) or
   * asked for (--build); none with --no-build. A failed build stops the up.
   */
  private async buildWhatUpNeeds(spec: StackSpec, options: UpRequest["options"], emit: Emit, asked?: EngineChoice): Promise<boolean> {
    if (options.build === "never") return true;
    // On the engine the stack runs on (or is about to): the image must be where its containers are made.
    const engine = await this.engineOf(spec.name, asked);
    const builds = planBuilds(spec, await this.observeOn(engine, spec), { services: options.services, withDependencies: !options.noDeps, always: options.build === "always", noRecreate: options.noRecreate });
    return builds.actions.length === 0 || this.runOn(engine, spec, builds, emit);
  }

  /**
   * Right after an up or create recorded the stack, before it makes anything:
   * the images its plan pulls, with the client's logins, as docker compose
   * pulls before it creates. The record comes first so that a daemon killed
   * mid-pull converges the stack when it starts again (test/daemon-crash);
   * a refused pull (a wrong password) puts the record back as it was (none
   * for a new stack), and no network or container was made. The images
   * pulled (undefined: a pull failed), which the plan that follows does not
   * pull again.
   */
  private async pullOrRollBack(
    spec: StackSpec,
    previous: StackRecord | undefined,
    options: UpOptions,
    emit: Emit,
    asked: EngineChoice | undefined,
    credentials: RegistryLogin | undefined,
    stoppedByUser?: string[],
  ): Promise<Set<string> | undefined> {
    const pulled = await this.pullWhatUpNeeds(spec, options, emit, asked, credentials, stoppedByUser);
    if (!pulled) {
      if (previous) this.stacks.put(previous);
      else this.stacks.delete(spec.name);
    }
    return pulled;
  }

  private async pullWhatUpNeeds(spec: StackSpec, options: UpOptions, emit: Emit, asked: EngineChoice | undefined, credentials: RegistryLogin | undefined, stoppedByUser?: string[]): Promise<Set<string> | undefined> {
    const engine = await this.engineOf(spec.name, asked);
    const plan = planUp(spec, await this.observeOn(engine, spec, stoppedByUser), options);
    const pulls = plan.actions.filter((a) => a.kind === "pull");
    if (pulls.length === 0) return new Set();
    const ok = await this.runOn(engine, spec, { actions: pulls, warnings: [], errors: [] }, emit, credentials ? { credentials } : {});
    return ok ? new Set(pulls.map((a) => a.image)) : undefined;
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
      // A swarm stack's images are built where up builds them (buildForSwarm): on the embedded engine.
      const engine = this.swarmTargetOf(spec.name) ? await this.engines.get({ kind: "embedded" }) : await this.engineOf(spec.name);
      const plan = planBuilds(spec, await this.observeOn(engine, spec), { ...(o.services && o.services.length > 0 ? { services: o.services } : {}), withDependencies: o.withDependencies ?? false, always: true });
      if (plan.actions.length === 0) {
        emit({ type: "result", ok: true, failed: [], project: spec.name });
        return true;
      }
      return this.runOn(engine, spec, plan, emit, { build: { ...(o.noCache ? { noCache: true } : {}), ...(o.pull ? { pull: true } : {}), ...(o.buildArgs ? { buildArgs: o.buildArgs } : {}) } });
    });
  }

  /** Watch mode: the stack's files changed. Reload; converge if they load, keep what runs if not. */
  async reload(project: string, files: string[]): Promise<void> {
    const record = this.stacks.get(project);
    if (!record || isSwarm(record.engine)) return;
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
      const engine = await this.engineOf(project);
      const observed = await this.observeOn(engine, spec, record.stoppedByUser);
      const plan = planUp(spec, observed, { ...record.options, services: undefined, forceRecreate: false, startStopped: false, removeOrphans: true });
      const ok = await this.runOn(engine, spec, plan, () => undefined);
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
      const engine = await this.engineOf(project);
      const builds = planBuilds(record.spec, await this.observeOn(engine, record.spec, record.stoppedByUser), { services, always: true });
      if (builds.actions.length > 0 && !(await this.runOn(engine, record.spec, builds, () => undefined))) return false;
      const observed = await this.observeOn(engine, record.spec, record.stoppedByUser);
      const plan = planUp(record.spec, observed, { ...record.options, services, noDeps: true, forceRecreate: true, startStopped: true });
      const ok = await this.runOn(engine, record.spec, plan, () => undefined);
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
      // Swarm keeps its services converged and restarts their tasks itself.
      if (isSwarm(record.engine)) return true;
      this.jobs?.sync(record.spec, selection(record.spec, record.options));
      const engine = await this.engineOf(project);
      const observed = await this.observeOn(engine, record.spec, record.stoppedByUser);
      const plan = planUp(record.spec, observed, { ...record.options, forceRecreate: false, pull: "missing", startStopped: false });
      const ok = await this.runOn(engine, record.spec, plan, emit);
      // Restart policies also apply across a daemon (or machine) restart: always and unless-stopped come back.
      for (const c of observed.containers) {
        const svc = record.spec.services[c.service];
        if (!svc || c.oneoff || (c.state !== "exited" && c.state !== "restarting")) continue;
        if (!restartOnDaemonStart(svc, c.stoppedByUser)) continue;
        await engine.startContainer(c.id).catch((err: unknown) => this.log.warn("restart at daemon start failed", { stack: project, container: c.name, error: (err as Error).message }));
      }
      await this.trackHealth(record.spec);
      return ok;
    });
  }

  /** What runs of a stack, on its engine. */
  async observe(spec: StackSpec, stoppedByUser: string[] = [], asked?: EngineChoice): Promise<ObservedStack> {
    return this.observeOn(await this.engineOf(spec.name, asked), spec, stoppedByUser);
  }

  private observeOn(engine: Engine, spec: StackSpec, stoppedByUser: string[] = []): Promise<ObservedStack> {
    return observe(engine, this.health, spec, stoppedByUser);
  }

  private runOn(engine: Engine, spec: StackSpec, plan: Plan, emit: Emit, opts: RunPlanOptions = {}): Promise<boolean> {
    return runPlan({ engine: this.supervision.applyEngine(engine), health: this.health, log: this.log }, spec, plan, emit, opts);
  }

  /** Starts health checks for the stack's running containers that have one. */
  trackHealth(spec: StackSpec): Promise<void> {
    return this.supervision.trackHealth(spec);
  }

  recoverUnreadableStacks(): Promise<void> {
    return recoverUnreadableStacks(this.engine, this.stacks, this.log);
  }

  /** Every stack on every open engine (the engines stacks' records name are open from the daemon's start). */
  async summaries(): Promise<StackSummary[]> {
    const labelled = this.engines.openEngines().map((engine) => ({ engine, label: this.labelOfEngine(engine) }));
    const all = await stackSummaries(labelled, this.stacks, (project) => {
      const record = this.stacks.get(project);
      return record ? engineLabel(record.engine ?? this.engines.defaultTarget) : undefined;
    });
    // A swarm stack's status is its tasks'; a manager that does not answer says so rather than fail the listing.
    return Promise.all(
      all.map(async (s) => {
        const target = this.stacks.get(s.name)?.engine;
        if (!isSwarm(target)) return s;
        const counts = await this.swarm.tasks(s.name, target).then(swarmStatus, (err: unknown) => ({ status: `manager unreachable: ${(err as Error).message}`, running: 0, total: 0 }));
        return { ...s, ...counts };
      }),
    );
  }

  /** A project's containers on its engine; without a project, those of the engine asked for, else of every open engine. */
  async containers(project: string | undefined, all: boolean, asked?: EngineChoice): Promise<ContainerView[]> {
    const engines = project ? [await this.engineOf(project, asked)] : asked ? [await this.engines.get(this.resolveTarget(asked))] : this.engines.openEngines();
    return containerViews(engines.map((engine) => ({ engine, label: this.labelOfEngine(engine) })), this.health, project, all);
  }

  private labelOfEngine(engine: Engine): EngineLabel {
    const key = this.engines.keyOf(engine) ?? engine.kind;
    return key.startsWith("docker ") ? { engine: "docker", engineHost: key.slice("docker ".length) } : { engine: key };
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

function engineLabel(t: EngineTarget): EngineLabel {
  return t.kind === "embedded" ? { engine: t.kind } : { engine: t.kind, engineHost: t.host };
}

function describeTarget(t: EngineTarget): string {
  return t.kind === "embedded" ? t.kind : `${t.kind} (${t.host})`;
}

function emptyStack(name: string): StackSpec {
  return { name, workingDir: "", configFiles: [], services: {}, networks: {}, volumes: {}, secrets: {}, configs: {}, extensions: {}, unsupported: [] };
}

/** The services an `up SERVICE...` touches (undefined: all of them). */
function selection(spec: StackSpec, options: UpOptions): ReadonlySet<string> | undefined {
  return options.services && options.services.length > 0 ? new Set(selectServices(spec, options.services, options.noDeps)) : undefined;
}

/** The plan without the pulls of these images (done already), nor the waits on them. */
function withoutPulls(plan: Plan, images: Set<string>): Plan {
  const gone = new Set(plan.actions.filter((a) => a.kind === "pull" && images.has(a.image)).map((a) => a.id));
  if (gone.size === 0) return plan;
  return { ...plan, actions: plan.actions.filter((a) => !gone.has(a.id)).map((a) => ({ ...a, after: a.after.filter((id) => !gone.has(id)) })) };
}
