// The embedded engine: the Engine interface over our own parts, composed the
// way Docker composes containerd, runc and libnetwork:
//   images (content store + registry client + image records)
//   -> snapshotter (a container's rootfs = overlay of the image's layers)
//   -> network manager (netns, veths on bridges, DNS, published ports)
//   -> runtime (OCI bundle run by runc under conmon)
// Creating a container prepares all four in that order; removing it undoes
// them in reverse. A failure half way undoes what was done, so a failed
// create leaves no mount, netns or volume behind.
import { checkTimeoutMs } from "./timeout.js";
import { randomBytes } from "node:crypto";
import { mkdir, stat } from "node:fs/promises";
import { posix } from "node:path";
import type { Readable, Writable } from "node:stream";
import { cleanContainerPath, copyIntoRoot, lstatOrUndefined } from "./copy.js";
import { copyOutOfRoot } from "./copy-from-chroot.js";
import { exportRoot } from "./export.js";
import { copyIntoRunningRoot } from "./copy-chroot.js";
import type { Endpoint, NetworkManager, SandboxInfo } from "./network/types.js";
import type { ResolvedMount } from "./runtime/mounts.js";
import type { ContainerRuntime } from "./runtime/runtime.js";
import type { ContainerRecord } from "./runtime/store.js";
import { ETC_FILES, resolveHostGateway } from "./runtime/etcfiles.js";
import { resolveInRoot, resolveUser } from "./runtime/user.js";
import type { ResolvedUser } from "./runtime/user.js";
import type { ChainId, Mount, Snapshotter } from "./snapshot/types.js";
import { mergeEnv } from "./runtime/spec.js";
import type {
  BuildRequest,
  BuildResult,
  CommitOptions,
  ContainerFilter,
  ContainerInfo,
  ContainerSpec,
  ContainerStats,
  ContainerPathKind,
  CopyFromContainerRequest,
  CopyToContainerRequest,
  CopyToContainerResult,
  Engine,
  EngineCapabilities,
  EngineEvent,
  ExecSpec,
  AttachSpec,
  Attachment,
  ImageInfo,
  ImportOptions,
  LogEntry,
  LogOptions,
  MountSpec,
  NetworkInfo,
  NetworkSpec,
  PullOptions,
  PullProgress,
  PushOptions,
  RegistryLogin,
  RemoveContainerOptions,
  VolumeInfo,
} from "./types.js";
import { checkName } from "./names.js";
import { formatPlatform, normalizePlatform, parsePlatform, platformMatches } from "./content/platform.js";
import { BUILD_LABEL, VOLUME_LABEL } from "../model/labels.js";
import { cleanBuildStaging, executeBuild, type BuildImages } from "./build/executor.js";
import { contextFileHashes } from "./build/file-hash-cache.js";
import { join } from "node:path";
import { DEFAULT_BRIDGE_NETWORK, EngineError } from "./types.js";
import type { VolumeStore } from "./volumes.js";

/** What the engine needs from the image service. */
export interface ImageBackend {
  pull(ref: string, opts?: PullOptions): Promise<ImageInfo>;
  /** The image and the chain IDs of its layers, bottom first. */
  resolveLocal(ref: string): Promise<{ info: ImageInfo; chainIds: ChainId[] } | undefined>;
  /** resolveLocal, with the layers kept from garbage collection (in any process) until release. */
  leaseLocal(ref: string): Promise<{ info: ImageInfo; chainIds: ChainId[]; release: () => Promise<void> } | undefined>;
  list(): Promise<ImageInfo[]>;
  /** docker commit's image half (image/service.ts): `upperDir`'s changes as a layer over `parent`; returns the image ID. */
  commit(req: {
    upperDir: string;
    parent: `sha256:${string}`;
    overrides: Record<string, unknown>;
    changes?: readonly string[];
    author?: string;
    comment?: string;
    createdBy?: string;
    ref?: string;
    /** Layer paths of mount points the engine made (etc/hosts ...), left out when empty. */
    mountPoints?: readonly string[];
    onWarning?: (message: string) => void;
  }): Promise<string>;
  remove(ref: string, opts: { force?: boolean; inUse: (imageId: string) => Promise<boolean> }): Promise<string[]>;
  /** The engine's state dir (the builder keeps its cache under <stateDir>/build). */
  readonly stateDir: string;
  /** The builder's primitives (image/service.ts): a step's layer, a step's image, an image's config, a tag. */
  storeBuildLayer: BuildImages["storeBuildLayer"];
  commitBuildStep: BuildImages["commitBuildStep"];
  stepLayer: BuildImages["stepLayer"];
  containerConfig: BuildImages["containerConfig"];
  tag: BuildImages["tag"];
  prune(opts: { all?: boolean; inUse: (imageId: string) => Promise<boolean> }): Promise<{ report: string[]; reclaimed: number }>;
  /** The docker CLI's image verbs the Engine passes on (image/service.ts). */
  inspect(ref: string): Promise<object | undefined>;
  save(refs: string[], out: Writable): Promise<void>;
  load(input: Readable): Promise<{ messages: string[] }>;
  push(ref: string, opts?: { onProgress?: (p: PullProgress) => void }): Promise<unknown>;
  import(input: Readable, opts?: ImportOptions): Promise<string>;
  checkLogin(server: string | undefined, creds: { username: string; password: string }): Promise<void>;
  /** Runs fn (a pull or push) with a client's logins first. */
  withCredentials<T>(lookup: RegistryLogin, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface EmbeddedParts {
  images: ImageBackend;
  snapshotter: Snapshotter;
  network: NetworkManager;
  runtime: ContainerRuntime;
  volumes: VolumeStore;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Called last by close(): lets go of what createEngine took (the command launcher). */
  release?: () => void;
}

const ANONYMOUS_LABEL = VOLUME_LABEL.anonymous;
const CARRIED_FROM_LABEL = VOLUME_LABEL.carriedFrom;
const HANDOVER_LABELS = [VOLUME_LABEL.handover, VOLUME_LABEL.handoverTarget];

export class EmbeddedEngine implements Engine {
  readonly kind = "embedded" as const;
  readonly capabilities: EngineCapabilities = { addressesAtCreate: true, labelledAnonymousVolumes: true, imageBuilds: true };
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly users = new Map<string, ResolvedUser>();

  constructor(private readonly parts: EmbeddedParts) {
    parts.runtime.onEvent((e) => this.emit(e));
  }

  private emit(e: EngineEvent): void {
    for (const l of this.listeners) l(e);
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- images

  async pullImage(ref: string, opts: PullOptions = {}): Promise<ImageInfo> {
    const { credentials, ...rest } = opts;
    const pull = (): Promise<ImageInfo> => this.parts.images.pull(ref, rest);
    const info = await (credentials ? this.parts.images.withCredentials(credentials, pull) : pull());
    this.emit({ type: "image", action: "pull", id: info.id, ref, time: Date.now() });
    return info;
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    return (await this.parts.images.resolveLocal(ref))?.info;
  }

  listImages(): Promise<ImageInfo[]> {
    return this.parts.images.list();
  }

  pruneImages(opts: { all?: boolean } = {}): Promise<{ report: string[]; reclaimed: number }> {
    return this.parts.images.prune({ all: opts.all, inUse: async (imageId) => (await this.parts.runtime.list({ all: true })).some((c) => c.imageId === imageId) });
  }

  async tagImage(source: string, target: string): Promise<void> {
    await this.parts.images.tag(source, target);
    const id = (await this.parts.images.resolveLocal(target))?.info.id ?? source;
    this.emit({ type: "image", action: "tag", id, ref: target, time: Date.now() });
  }

  async inspectImageDetails(ref: string): Promise<Record<string, unknown> | undefined> {
    return (await this.parts.images.inspect(ref)) as Record<string, unknown> | undefined;
  }

  saveImages(refs: string[], out: NodeJS.WritableStream): Promise<void> {
    return this.parts.images.save(refs, out as Writable);
  }

  async loadImages(input: NodeJS.ReadableStream): Promise<string[]> {
    return (await this.parts.images.load(input as Readable)).messages;
  }

  async pushImage(ref: string, opts: PushOptions = {}): Promise<void> {
    const push = (): Promise<unknown> => this.parts.images.push(ref, opts.onProgress ? { onProgress: opts.onProgress } : {});
    await (opts.credentials ? this.parts.images.withCredentials(opts.credentials, push) : push());
  }

  importImage(input: NodeJS.ReadableStream, opts: ImportOptions = {}): Promise<string> {
    return this.parts.images.import(input as Readable, opts);
  }

  checkRegistryLogin(server: string | undefined, credentials: { username: string; password: string }): Promise<void> {
    return this.parts.images.checkLogin(server, credentials);
  }

  async removeImage(ref: string, opts: { force?: boolean } = {}): Promise<string[]> {
    const removed = await this.parts.images.remove(ref, {
      force: opts.force,
      inUse: async (imageId) => (await this.parts.runtime.list({ all: true })).some((c) => c.imageId === imageId),
    });
    this.emit({ type: "image", action: "delete", id: ref, ref, time: Date.now() });
    return removed;
  }

  // ---- containers

  async createContainer(spec: ContainerSpec): Promise<ContainerInfo> {
    const { runtime, snapshotter, network } = this.parts;
    if (spec.name !== "") checkName("container", spec.name);
    // An unknown runtime name fails before anything is made (dockerd checks it at create too).
    runtime.runcFor(spec);
    if (await runtime.inspect(spec.name)) throw new EngineError("conflict", `the container name "${spec.name}" is already in use`);
    const image = await this.parts.images.leaseLocal(spec.image);
    if (!image) throw new EngineError("not-found", `no such image: ${spec.image}`);
    if (spec.platform !== undefined) checkImagePlatform(spec, image.info);
    const id = randomBytes(32).toString("hex");
    const undo: (() => Promise<unknown>)[] = [];
    try {
      let overlay: Mount;
      try {
        overlay = await snapshotter.prepare(id, image.chainIds);
      } finally {
        // From here the container's snapshot keeps its layers (an image rmi'd meanwhile leaves them to it).
        await image.release();
      }
      undo.push(() => snapshotter.remove(id));
      // runc mounts the overlay in the container's mount namespace when its options stand alone
      // (absolute paths); only an image of very many layers, whose options are relative to the
      // snapshotter's root, is mounted here, from there.
      const rootfsMount = overlay.cwd === undefined ? { type: overlay.type, source: overlay.source, options: overlay.options } : undefined;
      const rootfs = rootfsMount ? snapshotter.mountpoint(id) : await snapshotter.mount(id);
      // What a new container sees before it writes: the image's layers (its own upper is empty).
      const imageFiles = <T>(fn: (dir: string) => Promise<T>): Promise<T> => (rootfsMount ? snapshotter.withLayersView(image.chainIds, fn) : fn(rootfs));
      const userSpec = spec.user ?? image.info.config.user;
      const user = rootfsMount ? await this.imageUser(image.chainIds, userSpec, spec.groupAdd ?? [], imageFiles) : undefined;

      let sandbox: SandboxInfo | undefined;
      let netnsPath: string | undefined;
      if (spec.networkMode === "bridge") {
        if (DEFAULT_BRIDGE_NETWORK in spec.networks) await this.ensureDefaultBridge();
        sandbox = await network.createSandbox({
          containerId: id,
          name: spec.name,
          hostname: spec.hostname,
          networks: Object.entries(spec.networks).map(([name, a]) => ({
            network: name,
            aliases: a.aliases,
            ipv4Address: a.ipv4Address,
            ...(a.ipv6Address !== undefined ? { ipv6Address: a.ipv6Address } : {}),
            macAddress: a.macAddress,
            gwPriority: a.gwPriority,
          })),
          dns: spec.dns,
          dnsSearch: spec.dnsSearch,
          links: spec.links,
        });
        undo.push(() => network.removeSandbox(id));
        if (spec.ports.length > 0) {
          sandbox = { ...sandbox, ports: await network.publishPorts(id, spec.ports) };
          undo.push(() => network.unpublishPorts(id));
        }
        netnsPath = sandbox.netnsPath;
      } else if (spec.networkMode.startsWith("container:")) {
        const other = spec.networkMode.slice("container:".length);
        const target = await runtime.inspect(other);
        const otherSandbox = target ? await network.inspectSandbox(target.id) : undefined;
        if (!otherSandbox) throw new EngineError("invalid", `cannot join the network namespace of ${other}: no such running container`);
        netnsPath = otherSandbox.netnsPath;
      }

      // The image's VOLUMEs become anonymous volumes where the spec mounts nothing, as dockerd does:
      // without them a database's data would live in the writable layer and die with the container.
      const recorded = withImageVolumes(this.withVolumesFrom(spec), image.info.config.volumes);
      // The host as the container reaches it: its default route's gateway; with the host's network, loopback.
      const gateway = spec.networkMode === "host" ? "127.0.0.1" : (sandbox?.endpoints.find((e) => e.defaultRoute) ?? sandbox?.endpoints[0])?.gateway;
      recorded.extraHosts = resolveHostGateway(spec.extraHosts, gateway);
      const mounts = await this.resolveMounts(id, recorded, imageFiles, undo);
      const networks = endpointsAsNetworks(sandbox?.endpoints ?? []);
      // The record keeps the mounts with every anonymous volume named: a recreate carries them over by it.
      const created = await runtime.create(recorded, {
        rootfs,
        ...(rootfsMount ? { rootfsMount } : {}),
        ...(user ? { user } : {}),
        imageConfig: image.info.config,
        imageId: image.info.id,
        netnsPath,
        resolvConf: sandbox ? { content: sandbox.resolvConf } : undefined,
        // /etc/hosts as dockerd writes it: defaults, extra_hosts, then the first address under hostname.domainname and hostname.
        ...(sandbox?.endpoints[0] ? { ipAddress: sandbox.endpoints[0].ipAddress } : {}),
        mounts,
        networks,
        ports: (sandbox?.ports ?? []).map((p) => ({ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp, hostPort: String(p.hostPort) })),
        id,
      });
      await this.endHandovers(recorded.mounts);
      return created;
    } catch (err) {
      for (const step of undo.reverse()) await step().catch(() => undefined);
      throw err;
    }
  }

  /** docker's default network, created on first use; a concurrent create of it is as good as ours. */
  private async ensureDefaultBridge(): Promise<void> {
    const { network } = this.parts;
    if (await network.inspectNetwork(DEFAULT_BRIDGE_NETWORK)) return;
    await network.createNetwork({ name: DEFAULT_BRIDGE_NETWORK, labels: {}, driver: "bridge", internal: false, subnet: undefined, gateway: undefined }).catch((err: unknown) => {
      if (!(err instanceof EngineError && err.kind === "conflict")) throw err;
    });
  }

  /**
   * The user in an image's files, remembered per image and user: the lookup reads passwd and
   * group from the image's layers, which never change, and with more than one layer that takes
   * a mount and an unmount. A failed lookup is not remembered.
   */
  private async imageUser(
    layers: ChainId[],
    userSpec: string | undefined,
    groupAdd: readonly string[],
    imageFiles: <T>(fn: (dir: string) => Promise<T>) => Promise<T>,
  ): Promise<ResolvedUser> {
    const key = `${layers.join(",")}\0${userSpec ?? ""}\0${groupAdd.join(",")}`;
    const known = this.users.get(key);
    if (known) return known;
    const user = await imageFiles((dir) => resolveUser(dir, userSpec, groupAdd));
    if (this.users.size >= 256) this.users.clear();
    this.users.set(key, user);
    return user;
  }

  /**
   * volumes_from: the other containers' volumes and binds, as recorded (their
   * anonymous volumes by name, mounted here as they are: they stay the other
   * container's, so its `rm -v` is what removes them).
   */
  private withVolumesFrom(spec: ContainerSpec): ContainerSpec {
    if (!spec.volumesFrom || spec.volumesFrom.length === 0) return spec;
    const taken = new Set(spec.mounts.map((m) => posix.normalize(m.target)));
    const mounts = [...spec.mounts];
    for (const from of spec.volumesFrom) {
      const other = this.parts.runtime.get(from.container);
      for (const m of other.spec.mounts) {
        if (m.type === "tmpfs" || taken.has(posix.normalize(m.target))) continue;
        taken.add(posix.normalize(m.target));
        const { anonymous: _a, createHostPath: _c, noCopy: _n, ...shared } = m;
        mounts.push({ ...shared, noCopy: true, readOnly: from.mode === undefined ? m.readOnly : from.mode === "ro" });
      }
    }
    return { ...spec, mounts };
  }

  /**
   * Volumes become binds of their directories; anonymous ones are created
   * here, labelled with the container's id so rm -v finds them, and named in
   * `spec.mounts` (which the caller records). A carried-over anonymous volume
   * changes owner to this container; a failed create gives it back.
   */
  private async resolveMounts(
    id: string,
    spec: ContainerSpec,
    imageFiles: <T>(fn: (dir: string) => Promise<T>) => Promise<T>,
    undo: (() => Promise<unknown>)[],
  ): Promise<ResolvedMount[]> {
    const out: ResolvedMount[] = [];
    for (const [i, m] of spec.mounts.entries()) {
      if (m.type === "tmpfs") {
        out.push({ type: "tmpfs", source: "tmpfs", target: m.target, readOnly: m.readOnly, tmpfsSize: m.tmpfsSize, tmpfsMode: m.tmpfsMode });
      } else if (m.type === "image") {
        out.push(await this.imageMount(id, i, m, undo));
      } else if (m.type === "bind") {
        if (!m.source) throw new EngineError("invalid", `bind mount of ${m.target} has no source`);
        if (m.createHostPath !== false) await mkdir(m.source, { recursive: true }).catch(() => undefined);
        else if (!(await stat(m.source).catch(() => undefined))) throw new EngineError("invalid", `invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
        out.push({ type: "bind", source: m.source, target: m.target, readOnly: m.readOnly, propagation: m.propagation });
      } else {
        const anonymous = m.source === undefined || m.anonymous === true;
        const name = m.source ?? randomBytes(32).toString("hex");
        const existing = m.source === undefined ? undefined : await this.parts.volumes.inspect(name);
        if (existing && anonymous) {
          const owner = existing.labels[ANONYMOUS_LABEL] ?? "";
          const previous = await this.parts.volumes.setLabels(name, { ...existing.labels, [ANONYMOUS_LABEL]: id, [CARRIED_FROM_LABEL]: owner });
          undo.push(() => this.parts.volumes.setLabels(name, previous));
        } else if (!existing) {
          await this.parts.volumes.create({ name, labels: anonymous ? { [ANONYMOUS_LABEL]: id } : {} });
          undo.push(() => this.parts.volumes.remove(name));
        }
        if (anonymous) spec.mounts[i] = { ...m, source: name, anonymous: true };
        // A subpath mounts part of the volume: the image's content is not copied into it (nor into its root).
        if (m.subpath === undefined && (await this.parts.volumes.needsInitializing(name))) {
          // Only a copy reads the image's files (and may need a view of them mounted).
          if (m.noCopy === true) await this.parts.volumes.initializeFrom(name, undefined);
          else await imageFiles((dir) => this.parts.volumes.initializeFrom(name, { root: dir, target: m.target }));
        }
        const root = await this.parts.volumes.source(name);
        out.push({ type: "bind", source: m.subpath === undefined ? root : await volumeSubpath(root, m.subpath, name), target: m.target, readOnly: m.readOnly });
      }
    }
    for (const t of spec.tmpfs) {
      const [target, options] = t.split(":", 2) as [string, string | undefined];
      out.push({ type: "tmpfs", source: "tmpfs", target, readOnly: false, tmpfsOptions: options ? options.split(",") : undefined });
    }
    return out;
  }

  // The verbs below are async although they only delegate: a missing container
  // (runtime.get) must reject, never throw at the call, since callers write
  // engine.stopContainer(id).catch(...) (the conformance suite checks it).
  async startContainer(id: string): Promise<void> {
    return this.parts.runtime.start(id);
  }

  async stopContainer(id: string, opts?: { timeoutMs?: number; signal?: string }): Promise<void> {
    checkTimeoutMs(opts?.timeoutMs, "stop timeout");
    return this.parts.runtime.stop(id, opts);
  }

  async killContainer(id: string, signal?: string): Promise<void> {
    return this.parts.runtime.kill(id, signal);
  }

  async pauseContainer(id: string): Promise<void> {
    return this.parts.runtime.pause(id);
  }

  async unpauseContainer(id: string): Promise<void> {
    return this.parts.runtime.unpause(id);
  }

  async removeContainer(idOrName: string, opts: RemoveContainerOptions = {}): Promise<void> {
    const info = await this.parts.runtime.inspect(idOrName);
    if (!info) throw new EngineError("not-found", `no such container: ${idOrName}`);
    if (opts.handOver !== undefined) {
      // Labelled before the container goes: a crash before its removal leaves it (and a recreate
      // carries its volumes as usual), one after leaves the labels for the next create.
      for (const v of info.anonymousVolumes ?? []) {
        const vol = await this.parts.volumes.inspect(v.name);
        if (vol) await this.parts.volumes.setLabels(v.name, { ...vol.labels, [VOLUME_LABEL.handover]: opts.handOver, [VOLUME_LABEL.handoverTarget]: v.target });
      }
    }
    // Read from the record before it goes: the snapshots that keep its image volumes' layers.
    const imageKeys = this.parts.runtime.get(info.id).spec.mounts.flatMap((m, i) => (m.type === "image" ? [imageMountKey(info.id, i)] : []));
    await this.parts.runtime.remove(info.id, { force: opts.force });
    await this.parts.network.unpublishPorts(info.id).catch(() => undefined);
    await this.parts.network.removeSandbox(info.id).catch(() => undefined);
    await this.parts.snapshotter.remove(info.id);
    for (const key of imageKeys) await this.parts.snapshotter.remove(key);
    if (opts.volumes && opts.handOver === undefined) {
      for (const v of await this.parts.volumes.list({ labels: { [ANONYMOUS_LABEL]: info.id } })) await this.parts.volumes.remove(v.name);
    }
  }

  /**
   * An image volume: the image's layers, read-only, mounted by runc in the container's namespace
   * (nothing on the host to clean up or to lose at a reboot). A snapshot of its own, keyed by the
   * container's id (imageMountKey), keeps the layers while the container exists, as its rootfs does.
   */
  private async imageMount(id: string, index: number, m: MountSpec, undo: (() => Promise<unknown>)[]): Promise<ResolvedMount> {
    const { images, snapshotter } = this.parts;
    const image = m.source === undefined ? undefined : await images.leaseLocal(m.source);
    if (!image) throw new EngineError("not-found", `image volume ${m.target}: no such image: ${m.source ?? "(none)"}`);
    const key = imageMountKey(id, index);
    try {
      await snapshotter.prepare(key, image.chainIds);
    } finally {
      await image.release();
    }
    undo.push(() => snapshotter.remove(key));
    let view;
    try {
      view = await snapshotter.readOnlyMount(image.chainIds, m.subpath);
    } catch (err) {
      throw new EngineError("invalid", `image volume ${m.target} (${m.source ?? ""}): ${(err as Error).message}`, { cause: err });
    }
    return view.type === "bind"
      ? { type: "bind", source: view.source, target: m.target, readOnly: true }
      : { type: "overlay", source: "overlay", target: m.target, readOnly: true, overlayOptions: view.options };
  }

  /** A created container took over its predecessor's volumes: their hand-over labels have served. */
  private async endHandovers(mounts: ContainerSpec["mounts"]): Promise<void> {
    for (const m of mounts) {
      if (m.type !== "volume" || m.anonymous !== true || m.source === undefined) continue;
      const vol = await this.parts.volumes.inspect(m.source);
      if (!vol || !HANDOVER_LABELS.some((k) => k in vol.labels)) continue;
      const labels = { ...vol.labels };
      for (const k of HANDOVER_LABELS) delete labels[k];
      await this.parts.volumes.setLabels(m.source, labels);
    }
  }

  async containerSizes(): Promise<Record<string, number>> {
    const usage = await this.parts.snapshotter.usage();
    return Object.fromEntries(Object.entries(usage.containers).map(([id, u]) => [id, u.size]));
  }

  async markRestarting(id: string): Promise<void> {
    await this.parts.runtime.markRestarting(id);
  }

  /**
   * Removes what a create cut short by a crash (kill -9 of the daemon) left
   * behind: a container snapshot no container record owns, and with it, keyed
   * by the same id, its netns, published ports and anonymous volumes. create
   * prepares the snapshot first and saves the record last, so an unowned
   * snapshot marks every such leftover. A build killed with the daemon left
   * its RUN container (BUILD_LABEL) or its COPY step's snapshot (a random
   * key no container owns): both go too. Call at start, before any create.
   */
  async removeLeftovers(): Promise<string[]> {
    const { runtime, snapshotter, network, volumes } = this.parts;
    const removed: string[] = [];
    // A build's staging dirs (sources of a COPY being written) and RUN containers: nothing else uses them.
    await cleanBuildStaging(join(this.parts.images.stateDir, "build"));
    for (const c of await runtime.list({ all: true, labels: { [BUILD_LABEL]: undefined } })) {
      await this.removeContainer(c.id, { force: true, volumes: true }).catch(() => undefined);
      removed.push(c.id);
    }
    // A container whose record is unreadable is still someone's: its rootfs, netns and volumes stay.
    const owned = new Set([...(await runtime.list({ all: true })).map((c) => c.id), ...runtime.unreadable().map((u) => u.id)]);
    for (const snap of await snapshotter.list()) {
      const owner = imageMountOwner(snap.key);
      if (owned.has(owner ?? snap.key)) continue;
      if (owner !== undefined) {
        // An image volume's snapshot: what else its container left is keyed by the container's own.
        await snapshotter.remove(snap.key);
        continue;
      }
      await network.unpublishPorts(snap.key).catch(() => undefined);
      await network.removeSandbox(snap.key).catch(() => undefined);
      for (const v of await volumes.list({ labels: { [ANONYMOUS_LABEL]: snap.key } })) {
        const from = v.labels[CARRIED_FROM_LABEL];
        if (from !== undefined) await volumes.setLabels(v.name, { ...v.labels, [ANONYMOUS_LABEL]: from }).catch(() => undefined);
        else await volumes.remove(v.name).catch(() => undefined);
      }
      await snapshotter.remove(snap.key);
      removed.push(snap.key);
    }
    return removed;
  }

  async inspectContainer(idOrName: string): Promise<ContainerInfo | undefined> {
    const info = await this.parts.runtime.inspect(idOrName);
    return info ? this.withLiveNetworks(info) : undefined;
  }

  async listContainers(filter?: ContainerFilter): Promise<ContainerInfo[]> {
    return Promise.all((await this.parts.runtime.list(filter)).map((c) => this.withLiveNetworks(c)));
  }

  /**
   * A container's networks as its sandbox has them now: `network connect` and
   * `disconnect` change them after create, and inspect must show that (the
   * runtime's record keeps what create attached). A container without a
   * sandbox of its own (host, none, another's namespace) keeps its record's.
   */
  private async withLiveNetworks(c: ContainerInfo): Promise<ContainerInfo> {
    const sb = await this.parts.network.inspectSandbox(c.id);
    if (!sb) return c;
    return { ...c, networks: endpointsAsNetworks(sb.endpoints) };
  }

  async waitContainer(id: string, opts?: { signal?: AbortSignal }): Promise<{ exitCode: number; oomKilled: boolean }> {
    return this.parts.runtime.wait(id, opts);
  }

  logs(id: string, opts?: LogOptions): AsyncIterable<LogEntry> {
    return this.parts.runtime.logs(id, opts);
  }

  async exec(id: string, spec: ExecSpec): Promise<{ exitCode: number }> {
    return this.parts.runtime.exec(id, spec);
  }

  async attachContainer(id: string, spec: AttachSpec): Promise<Attachment> {
    return this.parts.runtime.attach(id, spec);
  }

  async stats(id: string): Promise<ContainerStats> {
    return this.parts.runtime.stats(id);
  }

  async top(id: string): Promise<{ titles: string[]; processes: string[][] }> {
    return this.parts.runtime.top(id);
  }

  /**
   * Runs fn on the container's root as the host sees it: /proc/<pid>/root
   * while it runs (its mounts included, as docker cp), else its rootfs.
   */
  private async withRoot<T>(idOrName: string, fn: (root: string, live: boolean, rec: ContainerRecord) => Promise<T>): Promise<T> {
    const rec = this.parts.runtime.get(idOrName);
    const live = (rec.state === "running" || rec.state === "paused") && rec.pid !== undefined;
    const root = live ? `/proc/${rec.pid}/root` : await this.parts.snapshotter.mount(rec.id);
    try {
      return await fn(root, live, rec);
    } finally {
      // A rootfs runc mounts at start must not stay mounted here too (two overlays on one upperdir).
      if (!live && rec.rootfsMount) await this.parts.snapshotter.unmount(rec.id);
    }
  }

  /** See copy.ts and copy-chroot.ts. */
  async copyToContainer(idOrName: string, req: CopyToContainerRequest): Promise<CopyToContainerResult> {
    return this.withRoot(idOrName, async (root, live, rec) => {
      // As compose's sync (tar run by exec as the container's user): new files belong to that user, unless the request says.
      const owner = req.owner ?? (await resolveUser(root, rec.spec.user ?? rec.imageConfig.user).then((u) => ({ uid: u.uid, gid: u.gid })).catch(() => ({ uid: 0, gid: 0 })));
      // While it runs, a process in it could race a check-then-write: the writes are made from inside a chroot.
      return live ? await copyIntoRunningRoot(root, req, owner === "source" ? undefined : owner) : await copyIntoRoot(root, req, owner);
    });
  }

  /** Read by a helper chrooted into the container's root, running or not: see copy-from-chroot.ts. */
  copyFromContainer(idOrName: string, req: CopyFromContainerRequest): Promise<CopyToContainerResult> {
    return this.withRoot(idOrName, (root) => copyOutOfRoot(root, req.containerPath, req.hostPath, req));
  }

  /** See export.ts. */
  exportContainer(idOrName: string, hostPath: string, opts?: { path?: string; followLink?: boolean }): Promise<void> {
    return this.withRoot(idOrName, (root) => exportRoot(root, hostPath, opts));
  }

  /** The Dockerfile on our own parts: engine/build/executor.ts. */
  async buildImage(req: BuildRequest): Promise<BuildResult> {
    const { images, snapshotter } = this.parts;
    const result = await executeBuild({ stateDir: join(images.stateDir, "build"), images, snapshotter, containers: this, hashCache: contextFileHashes }, req);
    for (const ref of req.tags) this.emit({ type: "image", action: "tag", id: result.imageId, ref, time: Date.now() });
    return result;
  }

  /**
   * docker commit: the container's upper dir is its changes over the image.
   * A running container is frozen while they are read (unless pause is
   * false), so the layer is one moment's state; it is thawed after, also on
   * failure. The config is the container's own (command, env, user, working
   * dir as it ran), then the -c changes.
   */

  async commitContainer(idOrName: string, opts: CommitOptions = {}): Promise<string> {
    const rec = this.parts.runtime.get(idOrName);
    const snapshot = await this.parts.snapshotter.get(rec.id);
    if (!snapshot) throw new EngineError("not-found", `container ${rec.name} has no file system to commit`);
    const freeze = opts.pause !== false && rec.state === "running";
    if (freeze) await this.parts.runtime.pause(rec.id);
    try {
      const { spec, imageConfig } = rec;
      const entrypoint = spec.entrypoint ?? imageConfig.entrypoint;
      const cmd = spec.entrypoint !== undefined ? (spec.cmd ?? []) : spec.cmd !== undefined && spec.cmd.length > 0 ? spec.cmd : imageConfig.cmd;
      const overrides: Record<string, unknown> = {
        Env: mergeEnv(imageConfig.env, spec.env),
        ...(cmd !== undefined ? { Cmd: cmd } : {}),
        ...(entrypoint !== undefined ? { Entrypoint: entrypoint } : {}),
        ...(spec.user !== undefined ? { User: spec.user } : {}),
        ...(spec.workingDir !== undefined ? { WorkingDir: spec.workingDir } : {}),
      };
      const id = await this.parts.images.commit({
        upperDir: snapshot.upper,
        parent: rec.imageId as `sha256:${string}`,
        overrides,
        ...(opts.changes !== undefined ? { changes: opts.changes } : {}),
        ...(opts.author !== undefined ? { author: opts.author } : {}),
        ...(opts.message !== undefined ? { comment: opts.message } : {}),
        // docker's created_by for a commit: the container's command line.
        createdBy: [...(entrypoint ?? []), ...(cmd ?? [])].join(" "),
        ...(opts.ref !== undefined ? { ref: opts.ref } : {}),
        mountPoints: ETC_FILES.map((p) => p.slice(1)),
        onWarning: (message) => this.parts.log?.("commit warning", { container: rec.name, message }),
      });
      if (opts.ref !== undefined) this.emit({ type: "image", action: "tag", id, ref: opts.ref, time: Date.now() });
      return id;
    } finally {
      if (freeze) await this.parts.runtime.unpause(rec.id);
    }
  }

  /**
   * Resolved in the root (resolveInRoot: links stay inside it). Only informs a
   * decision (copy into or as); the copy itself is made from the chroot.
   */
  statContainerPath(idOrName: string, path: string, opts: { followLink?: boolean } = {}): Promise<ContainerPathKind | undefined> {
    return this.withRoot(idOrName, async (root) => {
      const clean = cleanContainerPath(path);
      const host = opts.followLink === true || clean === "/" ? await resolveInRoot(root, clean) : `${await resolveInRoot(root, posix.dirname(clean))}/${posix.basename(clean)}`;
      // The root itself is /proc/<pid>/root while it runs: a magic link, to be followed.
      const st = host === root ? await stat(root) : await lstatOrUndefined(host);
      if (!st) return undefined;
      return st.isDirectory() ? "directory" : st.isFile() ? "file" : st.isSymbolicLink() ? "symlink" : "other";
    });
  }

  // ---- networks

  async createNetwork(spec: NetworkSpec): Promise<NetworkInfo> {
    checkName("network", spec.name);
    const info = await this.parts.network.createNetwork(spec);
    this.emit({ type: "network", action: "create", id: info.id, name: info.name, time: Date.now() });
    return info;
  }

  async removeNetwork(name: string): Promise<void> {
    await this.parts.network.removeNetwork(name);
    this.emit({ type: "network", action: "destroy", id: name, name, time: Date.now() });
  }

  inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    return this.parts.network.inspectNetwork(name);
  }

  // The container's netns outlives a stop (it goes with the container), so a stopped container
  // is connected the same way and finds the interface when it starts. Its /etc/hosts is left
  // as it is, as dockerd leaves it.
  async connectNetwork(network: string, container: string, opts: { aliases?: string[]; ipv4Address?: string }): Promise<void> {
    const id = await this.sandboxOwner(container);
    await this.parts.network.attach(id, [{ network, aliases: opts.aliases ?? [], ...(opts.ipv4Address !== undefined ? { ipv4Address: opts.ipv4Address } : {}) }]);
  }

  async disconnectNetwork(network: string, container: string): Promise<void> {
    await this.parts.network.detach(await this.sandboxOwner(container), network);
  }

  /** The id of a container with a network namespace of its own (not host, none or another's). */
  private async sandboxOwner(container: string): Promise<string> {
    const c = await this.parts.runtime.inspect(container);
    if (!c) throw new EngineError("not-found", `no such container: ${container}`);
    if (!(await this.parts.network.inspectSandbox(c.id))) throw new EngineError("invalid", `container ${c.name} has no network namespace of its own (network_mode host, none or another container's)`);
    return c.id;
  }

  listNetworks(filter?: { labels?: Record<string, string | undefined> }): Promise<NetworkInfo[]> {
    return this.parts.network.listNetworks(filter);
  }

  // ---- volumes

  async createVolume(spec: { name: string; labels: Record<string, string>; driver?: string; driverOpts?: Record<string, string> }): Promise<VolumeInfo> {
    const info = await this.parts.volumes.create(spec);
    this.emit({ type: "volume", action: "create", name: info.name, time: Date.now() });
    return info;
  }

  async removeVolume(name: string, _opts?: { force?: boolean }): Promise<void> {
    const volume = await this.parts.volumes.inspect(name);
    const users = (await this.parts.runtime.list({ all: true })).filter((c) => c.volumes?.includes(name) === true || volume?.labels[ANONYMOUS_LABEL] === c.id);
    // Docker's words, which scripts match on.
    if (users.length > 0) throw new EngineError("conflict", `remove ${name}: volume is in use - [${users.map((c) => c.id).join(", ")}]`);
    await this.parts.volumes.remove(name);
    this.emit({ type: "volume", action: "destroy", name, time: Date.now() });
  }

  inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    return this.parts.volumes.inspect(name);
  }

  listVolumes(filter?: { labels?: Record<string, string | undefined> }): Promise<VolumeInfo[]> {
    return this.parts.volumes.list(filter);
  }

  async close(): Promise<void> {
    await this.parts.runtime.close();
    await this.parts.network.close();
    await this.parts.images.close();
    this.parts.release?.();
  }
}

/**
 * The spec's mounts plus an anonymous volume for each of the image's VOLUMEs
 * that nothing in the spec mounts over (same target, as dockerd compares
 * them), with the volumes a recreate carries over (spec.inheritVolumes) put
 * where compose puts them: at an anonymous mount of the spec or an image
 * VOLUME with the same target. One the new spec mounts otherwise is not used.
 * A copy: the caller's spec is left as it is.
 */
export function withImageVolumes(spec: ContainerSpec, imageVolumes: string[]): ContainerSpec {
  const lexical = (p: string): string => posix.normalize(p).replace(/(.)\/+$/, "$1");
  const inherited = new Map((spec.inheritVolumes ?? []).map((v) => [lexical(v.target), v.name]));
  const covered = new Set(spec.tmpfs.map((t) => lexical(t.split(":", 1)[0] ?? "")));
  const mounts = spec.mounts.map((m) => {
    covered.add(lexical(m.target));
    const carried = m.type === "volume" && m.source === undefined ? inherited.get(lexical(m.target)) : undefined;
    return carried === undefined ? { ...m } : { ...m, source: carried, anonymous: true };
  });
  for (const target of imageVolumes) {
    // The image is input like any other: a VOLUME must name a directory below the root.
    const clean = cleanContainerPath(target);
    if (clean === "/") throw new EngineError("invalid", `the image declares VOLUME ${JSON.stringify(target)}: the root cannot be a volume`);
    if (covered.has(clean)) continue;
    covered.add(clean);
    mounts.push({ type: "volume", source: inherited.get(clean), target: clean, readOnly: false, anonymous: true });
  }
  return { ...spec, mounts, inheritVolumes: undefined };
}

/**
 * docker's volume subpath: a directory or file that must already exist in the
 * volume ("subpath does not exist"), resolved as inside the volume's root, so
 * a link in the volume cannot lead the mount to a host path.
 */
async function volumeSubpath(root: string, subpath: string, volume: string): Promise<string> {
  const path = await resolveInRoot(root, subpath);
  if (!(await lstatOrUndefined(path))) throw new EngineError("invalid", `cannot mount volume ${volume}: subpath "${subpath}" does not exist in the volume`);
  return path;
}

/** The snapshot that keeps an image volume's layers: the container's id, then the mount's index. */
const imageMountKey = (id: string, index: number): string => `${id}.image${index}`;
const imageMountOwner = (key: string): string | undefined => /^([0-9a-f]{64})\.image\d+$/.exec(key)?.[1];

/** `platform:` must name the image's platform, as dockerd's create checks it (after a pull of that platform). */
function checkImagePlatform(spec: ContainerSpec, image: ImageInfo): void {
  let want;
  try {
    want = parsePlatform(spec.platform ?? "");
  } catch (err) {
    throw new EngineError("invalid", (err as Error).message);
  }
  const have = { os: image.os, architecture: image.architecture, ...(image.variant ? { variant: image.variant } : {}) };
  if (!platformMatches(want, have)) {
    throw new EngineError("invalid", `image with reference ${spec.image} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(normalizePlatform(have))}`);
  }
}

function endpointsAsNetworks(endpoints: readonly Endpoint[]): ContainerInfo["networks"] {
  const networks: ContainerInfo["networks"] = {};
  for (const ep of endpoints) {
    networks[ep.networkName] = { ipAddress: ep.ipAddress, aliases: [...ep.aliases], macAddress: ep.macAddress, ...(ep.ipv6Address !== undefined ? { ipv6Address: ep.ipv6Address } : {}) };
  }
  return networks;
}
