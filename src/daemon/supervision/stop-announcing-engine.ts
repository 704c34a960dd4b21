// The engine as the daemon's own actions (apply: down, recreate, scale) see
// it: every stop, kill or removal is announced to the supervisor before it is
// made, so the exit it causes is not taken for a crash and restarted; a start
// makes the container's exits count again. Every Engine method is written out:
// a method added to Engine does not compile here until this wrapper decides
// whether it stops or starts a container.
import type {
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
  AttachSpec,
  Attachment,
  ImageInfo,
  LogEntry,
  LogOptions,
  NetworkInfo,
  NetworkSpec,
  PullOptions,
  RemoveContainerOptions,
  VolumeInfo,
  PushOptions,
  ImportOptions,
} from "../../../engine/types.js";

/** What the wrapper tells the supervisor (supervise.ts). */
export interface StopExpectations {
  expectStop(id: string): void;
  clearExpected(id: string): void;
}

/**
 * `implements Engine` alone lets a new optional method through silently (the
 * wrapper would then hide it): this names every Engine member the class does
 * not declare, and must stay empty.
 */
type Undecided = Exclude<keyof Engine, keyof StopAnnouncingEngine>;
const _everyEngineMemberDecided: [Undecided] extends [never] ? true : Undecided = true;

export class StopAnnouncingEngine implements Engine {
  // Optional methods exist here exactly when the wrapped engine has them: callers test for their presence.
  readonly pruneImages?: Engine["pruneImages"];
  readonly markRestarting?: Engine["markRestarting"];
  readonly containerSizes?: Engine["containerSizes"];
  readonly diskUsage?: Engine["diskUsage"];

  constructor(
    private readonly inner: Engine,
    private readonly expectations: StopExpectations,
  ) {
    if (inner.pruneImages) this.pruneImages = inner.pruneImages.bind(inner);
    if (inner.markRestarting) this.markRestarting = inner.markRestarting.bind(inner);
    if (inner.containerSizes) this.containerSizes = inner.containerSizes.bind(inner);
    if (inner.diskUsage) this.diskUsage = inner.diskUsage.bind(inner);
  }

  get kind(): Engine["kind"] {
    return this.inner.kind;
  }

  get capabilities(): Engine["capabilities"] {
    return this.inner.capabilities;
  }

  startContainer(id: string): Promise<void> {
    this.expectations.clearExpected(id);
    return this.inner.startContainer(id);
  }

  stopContainer(id: string, opts?: { timeoutMs?: number; signal?: string }): Promise<void> {
    this.expectations.expectStop(id);
    return this.inner.stopContainer(id, opts);
  }

  killContainer(id: string, signal?: string): Promise<void> {
    this.expectations.expectStop(id);
    return this.inner.killContainer(id, signal);
  }

  removeContainer(id: string, opts?: RemoveContainerOptions): Promise<void> {
    this.expectations.expectStop(id);
    return this.inner.removeContainer(id, opts);
  }

  pullImage(ref: string, opts?: PullOptions): Promise<ImageInfo> {
    return this.inner.pullImage(ref, opts);
  }

  inspectImage(ref: string): Promise<ImageInfo | undefined> {
    return this.inner.inspectImage(ref);
  }

  listImages(opts?: { all?: boolean }): Promise<ImageInfo[]> {
    return this.inner.listImages(opts);
  }

  removeImage(ref: string, opts?: { force?: boolean }): Promise<string[]> {
    return this.inner.removeImage(ref, opts);
  }

  tagImage(source: string, target: string): Promise<void> {
    return this.inner.tagImage(source, target);
  }

  inspectImageDetails(ref: string): Promise<Record<string, unknown> | undefined> {
    return this.inner.inspectImageDetails(ref);
  }

  saveImages(refs: string[], out: NodeJS.WritableStream): Promise<void> {
    return this.inner.saveImages(refs, out);
  }

  loadImages(input: NodeJS.ReadableStream): Promise<string[]> {
    return this.inner.loadImages(input);
  }

  pushImage(ref: string, opts?: PushOptions): Promise<void> {
    return this.inner.pushImage(ref, opts);
  }

  importImage(input: NodeJS.ReadableStream, opts?: ImportOptions): Promise<string> {
    return this.inner.importImage(input, opts);
  }

  checkRegistryLogin(server: string | undefined, credentials: { username: string; password: string }): Promise<void> {
    return this.inner.checkRegistryLogin(server, credentials);
  }

  createContainer(spec: ContainerSpec): Promise<ContainerInfo> {
    return this.inner.createContainer(spec);
  }

  pauseContainer(id: string): Promise<void> {
    return this.inner.pauseContainer(id);
  }

  unpauseContainer(id: string): Promise<void> {
    return this.inner.unpauseContainer(id);
  }

  inspectContainer(idOrName: string): Promise<ContainerInfo | undefined> {
    return this.inner.inspectContainer(idOrName);
  }

  listContainers(filter?: ContainerFilter): Promise<ContainerInfo[]> {
    return this.inner.listContainers(filter);
  }

  waitContainer(id: string, opts?: { signal?: AbortSignal }): Promise<{ exitCode: number; oomKilled: boolean }> {
    return this.inner.waitContainer(id, opts);
  }

  logs(id: string, opts?: LogOptions): AsyncIterable<LogEntry> {
    return this.inner.logs(id, opts);
  }

  exec(id: string, spec: ExecSpec): Promise<{ exitCode: number }> {
    return this.inner.exec(id, spec);
  }

  attachContainer(id: string, spec: AttachSpec): Promise<Attachment> {
    return this.inner.attachContainer(id, spec);
  }

  stats(id: string): Promise<ContainerStats> {
    return this.inner.stats(id);
  }

  copyToContainer(id: string, req: CopyToContainerRequest): Promise<CopyToContainerResult> {
    return this.inner.copyToContainer(id, req);
  }

  copyFromContainer(id: string, req: CopyFromContainerRequest): Promise<CopyToContainerResult> {
    return this.inner.copyFromContainer(id, req);
  }

  exportContainer(id: string, hostPath: string, opts?: { path?: string; followLink?: boolean }): Promise<void> {
    return this.inner.exportContainer(id, hostPath, opts);
  }

  // A commit pauses and thaws; it never stops the container, so there is nothing to announce.
  buildImage(req: BuildRequest): Promise<BuildResult> {
    return this.inner.buildImage(req);
  }

  commitContainer(id: string, opts?: CommitOptions): Promise<string> {
    return this.inner.commitContainer(id, opts);
  }

  statContainerPath(id: string, path: string, opts?: { followLink?: boolean }): Promise<ContainerPathKind | undefined> {
    return this.inner.statContainerPath(id, path, opts);
  }

  top(id: string): Promise<{ titles: string[]; processes: string[][] }> {
    return this.inner.top(id);
  }

  createNetwork(spec: NetworkSpec): Promise<NetworkInfo> {
    return this.inner.createNetwork(spec);
  }

  removeNetwork(name: string): Promise<void> {
    return this.inner.removeNetwork(name);
  }

  inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    return this.inner.inspectNetwork(name);
  }

  connectNetwork(network: string, container: string, opts: { aliases?: string[]; ipv4Address?: string }): Promise<void> {
    return this.inner.connectNetwork(network, container, opts);
  }

  disconnectNetwork(network: string, container: string): Promise<void> {
    return this.inner.disconnectNetwork(network, container);
  }

  listNetworks(filter?: { labels?: Record<string, string | undefined> }): Promise<NetworkInfo[]> {
    return this.inner.listNetworks(filter);
  }

  createVolume(spec: { name: string; labels: Record<string, string>; driver?: string }): Promise<VolumeInfo> {
    return this.inner.createVolume(spec);
  }

  removeVolume(name: string, opts?: { force?: boolean }): Promise<void> {
    return this.inner.removeVolume(name, opts);
  }

  inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    return this.inner.inspectVolume(name);
  }

  listVolumes(filter?: { labels?: Record<string, string | undefined> }): Promise<VolumeInfo[]> {
    return this.inner.listVolumes(filter);
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    return this.inner.onEvent(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
