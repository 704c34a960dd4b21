// The engines one daemon runs stacks on at once: the embedded engine and any
// number of dockerd (issue 19), each opened when a stack or a request first
// needs it and closed when no stack runs on it any more. A stack's record
// names its engine (EngineTarget), so every later command on the stack, the
// supervision of its containers and the re-sync after a daemon restart reach
// the same engine.
//
// RoutingEngine is the Engine the parts that work by container id (the
// container routes, exec and attach, health checks, the restart supervisor,
// scheduled jobs) see: each id goes to the engine that has it, a project's
// listing to the project's engine, other listings to every open engine.
import { EngineError } from "../../engine/errors.js";
import { engineKey, type EngineTarget } from "../../engine/index.js";
import type {
  AttachSpec,
  Attachment,
  BuildRequest,
  BuildResult,
  CommitOptions,
  ContainerFilter,
  ContainerInfo,
  ContainerPathKind,
  ContainerSpec,
  ContainerStats,
  CopyFromContainerRequest,
  CopyToContainerRequest,
  CopyToContainerResult,
  Engine,
  EngineEvent,
  ExecSpec,
  ImageInfo,
  LogEntry,
  LogOptions,
  NetworkInfo,
  NetworkSpec,
  PullOptions,
  PushOptions,
  ImportOptions,
  RemoveContainerOptions,
  VolumeInfo,
} from "../../engine/types.js";
import { LABEL } from "../../model/labels.js";
import type { Logger } from "./log.js";

export interface EngineSetOptions {
  open(target: EngineTarget): Promise<Engine>;
  /** The engine of a request that names none, and of a stack whose record names none (records older than per-stack engines). */
  defaultTarget: EngineTarget;
  /** The engine a project's record names; undefined: the project has no record. */
  targetOf(project: string): EngineTarget | undefined;
  /** The engines some stack's record names: these stay open. */
  targetsInUse(): EngineTarget[];
  log: Logger;
}

export class EngineSet {
  private readonly opening = new Map<string, Promise<Engine>>();
  private readonly opened = new Map<string, Engine>();
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly unsubscribe = new Map<string, () => void>();
  /** Engines an operation holds between opening and naming them in a stack's record (an `up` under way): not closed meanwhile. */
  private readonly held = new Map<string, number>();
  /** The Engine that routes by container id and project (see the header). */
  readonly router: RoutingEngine;

  constructor(private readonly opts: EngineSetOptions) {
    this.router = new RoutingEngine(this);
  }

  get defaultTarget(): EngineTarget {
    return this.opts.defaultTarget;
  }

  /** The engine of a target, opened on first use; a failed open is tried again next time. */
  get(target: EngineTarget): Promise<Engine> {
    // After closeAll (the daemon stopping), an operation still under way must not open an engine again:
    // its launcher and lock helpers would keep the stopped daemon's process alive.
    if (this.closed) return Promise.reject(new EngineError("unavailable", "the daemon is stopping"));
    const key = engineKey(target);
    const known = this.opening.get(key);
    if (known) return known;
    const p = this.opts.open(target).then(
      (engine) => {
        this.opened.set(key, engine);
        this.unsubscribe.set(key, engine.onEvent((e) => this.emit(e)));
        this.opts.log.info("engine open", { engine: key });
        return engine;
      },
      (err: unknown) => {
        this.opening.delete(key);
        throw err;
      },
    );
    this.opening.set(key, p);
    return p;
  }

  /** The engine of a target, kept open until release() even if no record names it yet. */
  async hold(target: EngineTarget): Promise<{ engine: Engine; release: () => void }> {
    const key = engineKey(target);
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const n = (this.held.get(key) ?? 1) - 1;
      if (n > 0) this.held.set(key, n);
      else this.held.delete(key);
    };
    try {
      return { engine: await this.get(target), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** The engine a project runs on: its record's, else the default. */
  targetOfProject(project: string): EngineTarget {
    return this.opts.targetOf(project) ?? this.opts.defaultTarget;
  }

  forProject(project: string): Promise<Engine> {
    return this.get(this.targetOfProject(project));
  }

  /** The engines open now, the default's first. */
  openEngines(): Engine[] {
    const first = this.opened.get(engineKey(this.opts.defaultTarget));
    return [...(first ? [first] : []), ...[...this.opened.values()].filter((e) => e !== first)];
  }

  keyOf(engine: Engine): string | undefined {
    for (const [key, e] of this.opened) if (e === engine) return key;
    return undefined;
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: EngineEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Closes every engine that is not the default and that no stack's record names (after a down). */
  async closeUnused(): Promise<void> {
    const keep = new Set([engineKey(this.opts.defaultTarget), ...this.opts.targetsInUse().map(engineKey), ...this.held.keys()]);
    for (const key of [...this.opened.keys()]) if (!keep.has(key)) await this.close(key);
  }

  private async close(key: string): Promise<void> {
    const engine = this.opened.get(key);
    this.opened.delete(key);
    this.opening.delete(key);
    this.unsubscribe.get(key)?.();
    this.unsubscribe.delete(key);
    if (!engine) return;
    this.router.forget(engine);
    await engine.close().catch((err: unknown) => this.opts.log.warn("engine close failed", { engine: key, error: (err as Error).message }));
    this.opts.log.info("engine closed: no stack runs on it", { engine: key });
  }

  private closed = false;

  async closeAll(): Promise<void> {
    this.closed = true;
    for (const key of [...this.opened.keys()]) await this.close(key);
  }
}

/** A full container id: safe to remember (a name or prefix may mean another container later). */
const FULL_ID = /^[0-9a-f]{64}$/;

export class RoutingEngine implements Engine {
  /** Full container id -> the engine that has it. */
  private readonly owners = new Map<string, Engine>();

  constructor(private readonly set: EngineSet) {
    set.onEvent((e) => {
      if (e.type === "container" && e.action === "destroy") this.owners.delete(e.id);
    });
  }

  get kind(): Engine["kind"] {
    return this.set.defaultTarget.kind === "docker" ? "docker" : "embedded";
  }

  /** An engine was closed: its ids are no longer routed to it. */
  forget(engine: Engine): void {
    for (const [id, e] of this.owners) if (e === engine) this.owners.delete(id);
  }

  private home(): Promise<Engine> {
    return this.set.get(this.set.defaultTarget);
  }

  private remember(engine: Engine, c: ContainerInfo): ContainerInfo {
    this.owners.set(c.id, engine);
    return c;
  }

  /** The engine that has the container, with what it knows of it; the default engine (and its own not-found) when none has it. */
  private async locate(idOrName: string): Promise<{ engine: Engine; info: ContainerInfo | undefined }> {
    const known = FULL_ID.test(idOrName) ? this.owners.get(idOrName) : undefined;
    if (known) return { engine: known, info: undefined };
    if (this.set.openEngines().length === 0) await this.home();
    for (const engine of this.set.openEngines()) {
      const info = await engine.inspectContainer(idOrName).catch(() => undefined);
      if (info) return { engine: engine, info: this.remember(engine, info) };
    }
    return { engine: await this.home(), info: undefined };
  }

  private async owner(id: string): Promise<Engine> {
    return (await this.locate(id)).engine;
  }

  private byProject(labels: Record<string, string | undefined> | undefined): Promise<Engine> {
    const project = labels?.[LABEL.project];
    return project ? this.set.forProject(project) : this.home();
  }

  /** Each open engine's answer, one after the other; an engine that fails (a dockerd gone) is logged and left out. */
  private async fromAll<T>(fn: (e: Engine) => Promise<T[]>): Promise<T[]> {
    if (this.set.openEngines().length === 0) await this.home();
    const settled = await Promise.allSettled(this.set.openEngines().map(fn));
    return settled.flatMap((s) => (s.status === "fulfilled" ? s.value : []));
  }

  // ---- images: the default engine (a stack's own pulls go through its engine directly)
  async pullImage(ref: string, opts?: PullOptions): Promise<ImageInfo> {
    return (await this.home()).pullImage(ref, opts);
  }
  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    return (await this.home()).inspectImage(ref);
  }
  async listImages(opts?: { all?: boolean }): Promise<ImageInfo[]> {
    return (await this.home()).listImages(opts);
  }
  async removeImage(ref: string, opts?: { force?: boolean }): Promise<string[]> {
    return (await this.home()).removeImage(ref, opts);
  }
  async buildImage(req: BuildRequest): Promise<BuildResult> {
    return (await this.home()).buildImage(req);
  }
  async tagImage(source: string, target: string): Promise<void> {
    return (await this.home()).tagImage(source, target);
  }
  async inspectImageDetails(ref: string): Promise<Record<string, unknown> | undefined> {
    return (await this.home()).inspectImageDetails(ref);
  }
  async saveImages(refs: string[], out: NodeJS.WritableStream): Promise<void> {
    return (await this.home()).saveImages(refs, out);
  }
  async loadImages(input: NodeJS.ReadableStream): Promise<string[]> {
    return (await this.home()).loadImages(input);
  }
  async pushImage(ref: string, opts?: PushOptions): Promise<void> {
    return (await this.home()).pushImage(ref, opts);
  }
  async importImage(input: NodeJS.ReadableStream, opts?: ImportOptions): Promise<string> {
    return (await this.home()).importImage(input, opts);
  }
  async checkRegistryLogin(server: string | undefined, credentials: { username: string; password: string }): Promise<void> {
    return (await this.home()).checkRegistryLogin(server, credentials);
  }
  async pruneImages(opts?: { all?: boolean }): Promise<{ report: string[]; reclaimed: number }> {
    const engine = await this.home();
    if (!engine.pruneImages) throw new EngineError("invalid", `the ${engine.kind} engine cannot prune images`);
    return engine.pruneImages(opts);
  }

  // ---- containers: by id, or by the project label
  async createContainer(spec: ContainerSpec): Promise<ContainerInfo> {
    const engine = await this.byProject(spec.labels);
    return this.remember(engine, await engine.createContainer(spec));
  }
  async startContainer(id: string): Promise<void> {
    return (await this.owner(id)).startContainer(id);
  }
  async stopContainer(id: string, opts?: { timeoutMs?: number; signal?: string }): Promise<void> {
    return (await this.owner(id)).stopContainer(id, opts);
  }
  async killContainer(id: string, signal?: string): Promise<void> {
    return (await this.owner(id)).killContainer(id, signal);
  }
  async pauseContainer(id: string): Promise<void> {
    return (await this.owner(id)).pauseContainer(id);
  }
  async unpauseContainer(id: string): Promise<void> {
    return (await this.owner(id)).unpauseContainer(id);
  }
  async removeContainer(id: string, opts?: RemoveContainerOptions): Promise<void> {
    return (await this.owner(id)).removeContainer(id, opts);
  }
  async inspectContainer(idOrName: string): Promise<ContainerInfo | undefined> {
    const { engine, info } = await this.locate(idOrName);
    return info ?? (await engine.inspectContainer(idOrName));
  }
  async listContainers(filter?: ContainerFilter): Promise<ContainerInfo[]> {
    const project = filter?.labels?.[LABEL.project];
    if (project) {
      const engine = await this.set.forProject(project);
      return (await engine.listContainers(filter)).map((c) => this.remember(engine, c));
    }
    return this.fromAll(async (engine) => (await engine.listContainers(filter)).map((c) => this.remember(engine, c)));
  }
  async markRestarting(id: string): Promise<void> {
    const engine = await this.owner(id);
    await engine.markRestarting?.(id);
  }
  async waitContainer(id: string, opts?: { signal?: AbortSignal }): Promise<{ exitCode: number; oomKilled: boolean }> {
    return (await this.owner(id)).waitContainer(id, opts);
  }
  async *logs(id: string, opts?: LogOptions): AsyncIterable<LogEntry> {
    yield* (await this.owner(id)).logs(id, opts);
  }
  async exec(id: string, spec: ExecSpec): Promise<{ exitCode: number }> {
    return (await this.owner(id)).exec(id, spec);
  }
  async attachContainer(id: string, spec: AttachSpec): Promise<Attachment> {
    return (await this.owner(id)).attachContainer(id, spec);
  }
  async stats(id: string): Promise<ContainerStats> {
    return (await this.owner(id)).stats(id);
  }
  async copyToContainer(id: string, req: CopyToContainerRequest): Promise<CopyToContainerResult> {
    return (await this.owner(id)).copyToContainer(id, req);
  }
  async copyFromContainer(id: string, req: CopyFromContainerRequest): Promise<CopyToContainerResult> {
    return (await this.owner(id)).copyFromContainer(id, req);
  }
  async exportContainer(id: string, hostPath: string, opts?: { path?: string; followLink?: boolean }): Promise<void> {
    return (await this.owner(id)).exportContainer(id, hostPath, opts);
  }
  async commitContainer(id: string, opts?: CommitOptions): Promise<string> {
    return (await this.owner(id)).commitContainer(id, opts);
  }
  async statContainerPath(id: string, path: string, opts?: { followLink?: boolean }): Promise<ContainerPathKind | undefined> {
    return (await this.owner(id)).statContainerPath(id, path, opts);
  }
  async top(id: string): Promise<{ titles: string[]; processes: string[][] }> {
    return (await this.owner(id)).top(id);
  }
  async containerSizes(): Promise<Record<string, number>> {
    const all = await this.fromAll(async (e) => [(await e.containerSizes?.()) ?? {}]);
    return Object.assign({}, ...all) as Record<string, number>;
  }

  // ---- networks and volumes: by the project label, else the default engine
  async createNetwork(spec: NetworkSpec): Promise<NetworkInfo> {
    return (await this.byProject(spec.labels)).createNetwork(spec);
  }
  async removeNetwork(name: string): Promise<void> {
    return (await this.home()).removeNetwork(name);
  }
  async inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    return (await this.home()).inspectNetwork(name);
  }
  async connectNetwork(network: string, container: string, opts: { aliases?: string[]; ipv4Address?: string }): Promise<void> {
    return (await this.owner(container)).connectNetwork(network, container, opts);
  }
  async disconnectNetwork(network: string, container: string): Promise<void> {
    return (await this.owner(container)).disconnectNetwork(network, container);
  }
  async listNetworks(filter?: { labels?: Record<string, string | undefined> }): Promise<NetworkInfo[]> {
    return (await this.byProject(filter?.labels)).listNetworks(filter);
  }
  async createVolume(spec: { name: string; labels: Record<string, string>; driver?: string; driverOpts?: Record<string, string> }): Promise<VolumeInfo> {
    return (await this.byProject(spec.labels)).createVolume(spec);
  }
  async removeVolume(name: string, opts?: { force?: boolean }): Promise<void> {
    return (await this.home()).removeVolume(name, opts);
  }
  async inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    return (await this.home()).inspectVolume(name);
  }
  async listVolumes(filter?: { labels?: Record<string, string | undefined> }): Promise<VolumeInfo[]> {
    return (await this.byProject(filter?.labels)).listVolumes(filter);
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    return this.set.onEvent(listener);
  }

  close(): Promise<void> {
    return this.set.closeAll();
  }
}
