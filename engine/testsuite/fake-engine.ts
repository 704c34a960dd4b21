// An in-memory Engine for tests of what sits above the engine (apply, the
// daemon's supervision): containers with Docker's states and transitions,
// exit codes, logs, exec, wait, events, networks, volumes, images from a
// catalogue that stands in for a registry, and a file system per container
// for copy (fake-files.ts). Processes are run by fake-shell.ts, so a
// ContainerSpec means the same here as on a real engine. The conformance suite
// (engine.ts) holds it to the embedded engine's behaviour.
//
// A test changes what a method does with intercept() (fail a create, count
// calls in flight) instead of casting a partial stub to Engine.
import { createHash } from "node:crypto";
import { buffer } from "node:stream/consumers";
import { normalizeSignal } from "../runtime/signals.js";
import { mergeEnv, resolveCommand } from "../runtime/spec.js";
import { applyChanges } from "../image/changes.js";
import { fromImageConfig, toImageConfig } from "../image/config.js";
import { baseImage } from "../runtime/testing.js";
import { VOLUME_LABEL } from "../../model/labels.js";
import { normalizedName, parseReference } from "../content/reference.js";
import { checkName } from "../names.js";
import { checkTimeoutMs } from "../timeout.js";
import { EngineError } from "../types.js";
import type {
  BuildRequest,
  BuildResult,
  CommitOptions,
  AttachSpec,
  Attachment,
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
  ImageConfig,
  ImageInfo,
  ImportOptions,
  LogEntry,
  LogOptions,
  NetworkInfo,
  NetworkSpec,
  PullOptions,
  PushOptions,
  RemoveContainerOptions,
  VolumeInfo,
} from "../types.js";
import { FakeFiles } from "./fake-files.js";
import { applyStages, dockerfileOf, planOf } from "./fake-build.js";
import { kindOf } from "../errors.js";
import { runShell } from "./fake-shell.js";
import type { ShellProcess } from "./fake-shell.js";

interface FakeContainer {
  info: ContainerInfo;
  spec: ContainerSpec;
  stopSignal: string;
  process: ShellProcess | undefined;
  log: LogEntry[];
  /** Called on every new log entry and on exit: followers of logs and waiters. */
  watchers: Set<() => void>;
  files: FakeFiles;
  /** The main process's stdin while it runs, when created with openStdin. */
  stdin: LineQueue | undefined;
}

/** A process's stdin: lines as writers send them; it ends only with stdinOnce, when the attached client's stdin does. */
class LineQueue {
  private partial = "";
  private ended = false;
  private readonly lines: string[] = [];
  private readonly readers: ((line: string | undefined) => void)[] = [];

  write(text: string): void {
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop() ?? "";
    for (const line of parts) {
      const reader = this.readers.shift();
      if (reader) reader(line);
      else this.lines.push(line);
    }
  }

  readLine(): Promise<string | undefined> {
    const line = this.lines.shift();
    if (line !== undefined || this.ended) return Promise.resolve(line);
    return new Promise((resolve) => this.readers.push(resolve));
  }

  /** stdinOnce: the attached client's end is the process's. */
  end(): void {
    this.ended = true;
    for (const reader of this.readers.splice(0)) reader(undefined);
  }
}

const ANONYMOUS_LABEL = VOLUME_LABEL.anonymous;
const ACTIVE = new Set(["running", "paused"]);

/** The images a fake can pull, by reference as written ("busybox"); busybox alone unless told. */
export type FakeCatalogue = Record<string, Partial<ImageConfig>>;

export interface FakeEngineOptions {
  catalogue?: FakeCatalogue;
}

type ContainerAction = Exclude<Extract<EngineEvent, { type: "container" }>["action"], "health_status">;

type Interceptor = (args: unknown[], next: () => Promise<unknown>) => Promise<unknown>;

function hex(n: number): string {
  let s = "";
  while (s.length < n) s += Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0");
  return s.slice(0, n);
}

function matches(labels: Record<string, string>, want: Record<string, string | undefined> | undefined): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => k in labels && (v === undefined || labels[k] === v));
}

function normalized(ref: string): string {
  try {
    return normalizedName(parseReference(ref));
  } catch {
    throw new EngineError("invalid", `invalid reference format: ${ref}`);
  }
}

/** The catalogue's image config: the runtime tests' base, with the fixture busybox image's PATH. */
function imageConfig(over: Partial<ImageConfig>): ImageConfig {
  return baseImage({ env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], ...over });
}

export class FakeEngine implements Engine {
  readonly kind = "embedded" as const;
  private readonly catalogue = new Map<string, ImageInfo>();
  private readonly images = new Map<string, ImageInfo>();
  /** The files of committed images; a container of any other image starts with FakeFiles' base tree. */
  private readonly imageFiles = new Map<string, FakeFiles>();
  private readonly containers = new Map<string, FakeContainer>();
  private readonly networks = new Map<string, NetworkInfo>();
  private readonly volumes = new Map<string, VolumeInfo>();
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly interceptors = new Map<string, Interceptor[]>();
  private subnets = 0;

  constructor(opts: FakeEngineOptions = {}) {
    for (const [ref, config] of Object.entries(opts.catalogue ?? { busybox: {} })) {
      const id = `sha256:${hex(64)}`;
      this.catalogue.set(normalized(ref), {
        id,
        repoTags: [normalized(ref)],
        repoDigests: [],
        created: new Date(0).toISOString(),
        size: 1024,
        architecture: "amd64",
        os: "linux",
        config: imageConfig(config),
      });
    }
  }

  /**
   * Wraps a method: fn gets its arguments and the real call (next), and may
   * fail, delay, count, or call through. Interceptors stack, the last added outermost.
   */
  intercept<K extends keyof Engine>(method: K, fn: Interceptor): void {
    this.interceptors.set(method, [...(this.interceptors.get(method) ?? []), fn]);
  }

  private call<T>(method: keyof Engine, args: unknown[], impl: () => Promise<T>): Promise<T> {
    // A synchronous throw of impl becomes a rejection, as a real backend's (the conformance suite checks it).
    let next: () => Promise<unknown> = () => new Promise<unknown>((resolve) => resolve(impl()));
    for (const fn of this.interceptors.get(method) ?? []) {
      const inner = next;
      next = () => fn(args, inner);
    }
    return next() as Promise<T>;
  }

  private emit(e: EngineEvent): void {
    for (const l of this.listeners) l(e);
  }

  private containerEvent(c: FakeContainer, action: ContainerAction, extra: { exitCode?: number } = {}): void {
    this.emit({ type: "container", action, id: c.info.id, name: c.info.name, labels: { ...c.info.labels }, time: Date.now(), ...extra });
  }

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- images

  pullImage(ref: string, opts?: PullOptions): Promise<ImageInfo> {
    return this.call("pullImage", [ref, opts], () => {
      const name = normalized(ref);
      const found = this.catalogue.get(name);
      if (!found) throw new EngineError("not-found", `manifest for ${name} not found`);
      opts?.onProgress?.({ id: "", status: `Pulling from ${name}` });
      const existing = this.images.get(found.id);
      const info = existing ?? structuredClone(found);
      this.images.set(info.id, info);
      this.emit({ type: "image", action: "pull", id: info.id, ref, time: Date.now() });
      return Promise.resolve(structuredClone(info));
    });
  }

  private findImage(ref: string): ImageInfo | undefined {
    if (ref.startsWith("sha256:")) return this.images.get(ref) ?? [...this.images.values()].find((i) => i.id.startsWith(ref));
    let name: string;
    try {
      name = normalized(ref);
    } catch {
      return undefined;
    }
    return [...this.images.values()].find((i) => i.repoTags.includes(name));
  }

  inspectImage(ref: string): Promise<ImageInfo | undefined> {
    return this.call("inspectImage", [ref], () => Promise.resolve(structuredClone(this.findImage(ref))));
  }

  listImages(): Promise<ImageInfo[]> {
    return this.call("listImages", [], () => Promise.resolve([...this.images.values()].map((i) => structuredClone(i))));
  }

  removeImage(ref: string, opts: { force?: boolean } = {}): Promise<string[]> {
    return this.call("removeImage", [ref, opts], () => {
      const image = this.findImage(ref);
      if (!image) throw new EngineError("not-found", `No such image: ${ref}`);
      // One of several tags: only that tag goes, as docker rmi does.
      const tag = ref.startsWith("sha256:") ? undefined : normalized(ref);
      if (tag !== undefined && image.repoTags.length > 1) {
        image.repoTags = image.repoTags.filter((t) => t !== tag);
        this.emit({ type: "image", action: "untag", id: image.id, ref: tag, time: Date.now() });
        return Promise.resolve([`untagged: ${tag}`]);
      }
      const used = [...this.containers.values()].some((c) => c.info.imageId === image.id);
      if (used && !opts.force) throw new EngineError("conflict", `conflict: unable to remove repository reference "${ref}" (must force) - a container is using its referenced image`);
      this.images.delete(image.id);
      this.emit({ type: "image", action: "delete", id: ref, ref, time: Date.now() });
      return Promise.resolve([...image.repoTags.map((t) => `untagged: ${t}`), `deleted: ${image.id}`]);
    });
  }

  tagImage(source: string, target: string): Promise<void> {
    return this.call("tagImage", [source, target], () => {
      const image = this.findImage(source);
      if (!image) throw new EngineError("not-found", `No such image: ${source}`);
      const name = normalized(target);
      for (const other of this.images.values()) other.repoTags = other.repoTags.filter((t) => t !== name);
      image.repoTags.push(name);
      this.emit({ type: "image", action: "tag", id: image.id, ref: name, time: Date.now() });
      return Promise.resolve();
    });
  }

  inspectImageDetails(ref: string): Promise<Record<string, unknown> | undefined> {
    return this.call("inspectImageDetails", [ref], () => {
      const image = this.findImage(ref);
      return Promise.resolve(image && { Id: image.id, RepoTags: [...image.repoTags], RepoDigests: [...image.repoDigests], Created: image.created, Size: image.size, Architecture: image.architecture, Os: image.os, Config: fromImageConfig(image.config) });
    });
  }

  /** The fake's archive is JSON of the images' records: what its own load reads back. */
  saveImages(refs: string[], out: NodeJS.WritableStream): Promise<void> {
    return this.call("saveImages", [refs, out], async () => {
      const images = refs.map((ref) => {
        const image = this.findImage(ref);
        if (!image) throw new EngineError("not-found", `reference does not exist: ${ref}`);
        return image;
      });
      await new Promise<void>((resolve, reject) => out.write(JSON.stringify(images), (err) => (err ? reject(err) : resolve())));
    });
  }

  loadImages(input: NodeJS.ReadableStream): Promise<string[]> {
    return this.call("loadImages", [input], async () => {
      let images: ImageInfo[];
      try {
        images = JSON.parse((await buffer(input)).toString("utf8")) as ImageInfo[];
      } catch (err) {
        throw new EngineError("invalid", `load: not an archive of the fake engine: ${(err as Error).message}`);
      }
      for (const image of images) this.images.set(image.id, structuredClone(image));
      return images.flatMap((i) => (i.repoTags.length > 0 ? i.repoTags.map((t) => `Loaded image: ${t}`) : [`Loaded image ID: ${i.id}`]));
    });
  }

  /** A push lands in the catalogue, the fake's registry: a later pull of the name finds it. */
  pushImage(ref: string, opts: PushOptions = {}): Promise<void> {
    return this.call("pushImage", [ref, opts], () => {
      const image = this.findImage(ref);
      if (!image) throw new EngineError("not-found", `An image does not exist locally with the tag: ${ref}`);
      this.catalogue.set(normalized(ref), structuredClone(image));
      return Promise.resolve();
    });
  }

  importImage(input: NodeJS.ReadableStream, opts: ImportOptions = {}): Promise<string> {
    return this.call("importImage", [input, opts], async () => {
      const bytes = await buffer(input);
      const id = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      const tags = opts.ref !== undefined ? [normalized(opts.ref)] : [];
      for (const other of this.images.values()) other.repoTags = other.repoTags.filter((t) => !tags.includes(t));
      const docker: Record<string, unknown> = {};
      applyChanges(docker, opts.changes ?? [], "import");
      const config = toImageConfig({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, config: docker });
      this.images.set(id, { id, repoTags: tags, repoDigests: [], created: new Date().toISOString(), size: bytes.length, architecture: "amd64", os: "linux", config });
      return id;
    });
  }

  /** Any login is good but an empty password (the fake has no registry to ask). */
  checkRegistryLogin(server: string | undefined, credentials: { username: string; password: string }): Promise<void> {
    return this.call("checkRegistryLogin", [server, credentials], () => {
      if (credentials.password === "") throw new EngineError("unauthorized", `login to ${server ?? "docker.io"}: unauthorized`);
      return Promise.resolve();
    });
  }

  // ---- containers

  private get(idOrName: string): FakeContainer {
    const c = this.find(idOrName);
    if (!c) throw new EngineError("not-found", `no such container: ${idOrName}`);
    return c;
  }

  private find(idOrName: string): FakeContainer | undefined {
    const exact = this.containers.get(idOrName);
    if (exact) return exact;
    const all = [...this.containers.values()];
    const byName = all.find((c) => c.info.name === idOrName.replace(/^\//, ""));
    if (byName) return byName;
    const byPrefix = idOrName.length > 0 ? all.filter((c) => c.info.id.startsWith(idOrName)) : [];
    if (byPrefix.length > 1) throw new EngineError("invalid", `multiple containers match ${idOrName}`);
    return byPrefix[0];
  }

  createContainer(spec: ContainerSpec): Promise<ContainerInfo> {
    return this.call("createContainer", [spec], () => {
      if (spec.name !== "") checkName("container", spec.name);
      const name = spec.name.replace(/^\//, "");
      if (name !== "" && this.find(name)) throw new EngineError("conflict", `the container name "${name}" is already in use`);
      const image = this.findImage(spec.image);
      if (!image) throw new EngineError("not-found", `no such image: ${spec.image}`);
      const command = resolveCommand(spec, image.config);
      const networks: ContainerInfo["networks"] = {};
      if (spec.networkMode === "bridge") {
        for (const [net, a] of Object.entries(spec.networks)) {
          const n = this.networks.get(net);
          if (!n) throw new EngineError("not-found", `network ${net} not found`);
          const used = [...this.containers.values()].filter((c) => net in c.info.networks).length;
          networks[net] = { ipAddress: a.ipv4Address ?? n.subnet.replace(/0\/\d+$/, String(used + 2)), aliases: [...a.aliases], macAddress: a.macAddress };
        }
      }
      const id = hex(64);
      // Anonymous volumes: new ones, or (a recreate) the replaced container's at the same target, which change owner.
      const inherited = new Map((spec.inheritVolumes ?? []).map((v) => [v.target, v.name]));
      const anonymousVolumes: { name: string; target: string }[] = [];
      for (const m of spec.mounts) {
        if (m.type !== "volume") continue;
        const carried = m.source === undefined ? inherited.get(m.target) : undefined;
        const vol = m.source ?? carried ?? hex(64);
        if (m.source === undefined) anonymousVolumes.push({ name: vol, target: m.target });
        const existing = this.volumes.get(vol);
        if (!existing) this.volumes.set(vol, this.volumeInfo(vol, m.source === undefined ? { [ANONYMOUS_LABEL]: id } : {}));
        else if (carried !== undefined) {
          const { [VOLUME_LABEL.handover]: _key, [VOLUME_LABEL.handoverTarget]: _target, ...labels } = existing.labels;
          existing.labels = { ...labels, [ANONYMOUS_LABEL]: id };
        }
      }
      const c: FakeContainer = {
        spec: structuredClone(spec),
        stopSignal: normalizeSignal(spec.stopSignal ?? image.config.stopSignal ?? "SIGTERM"),
        process: undefined,
        log: [],
        watchers: new Set(),
        files: this.imageFiles.get(image.id)?.clone() ?? new FakeFiles(),
        stdin: undefined,
        info: {
          id,
          name: name || id.slice(0, 12),
          image: spec.image,
          imageId: image.id,
          labels: { ...spec.labels },
          state: "created",
          pid: undefined,
          exitCode: undefined,
          oomKilled: false,
          error: undefined,
          createdAt: new Date().toISOString(),
          startedAt: undefined,
          finishedAt: undefined,
          restartCount: 0,
          stopRequested: false,
          command,
          tty: spec.tty,
          openStdin: spec.openStdin,
          ports: spec.ports.map((p, i) => ({ ...p, hostPort: p.hostPort ?? String(32768 + i) })),
          networks,
          volumes: spec.mounts.flatMap((m) => (m.type === "volume" && m.source !== undefined ? [m.source] : [])),
          ...(anonymousVolumes.length > 0 ? { anonymousVolumes } : {}),
        },
      };
      this.containers.set(id, c);
      this.containerEvent(c, "create");
      return Promise.resolve(structuredClone(c.info));
    });
  }

  private append(c: FakeContainer, stream: "stdout" | "stderr", line: string): void {
    const now = new Date();
    c.log.push({ stream, time: now.getTime(), timestamp: now.toISOString().replace("Z", "000000Z"), line });
    for (const w of [...c.watchers]) w();
  }

  startContainer(id: string): Promise<void> {
    return this.call("startContainer", [id], () => {
      const c = this.get(id);
      if (c.info.state === "running") return Promise.resolve();
      if (c.info.state === "paused") throw new EngineError("conflict", `container ${c.info.name} is paused, unpause it instead`);
      if (!["created", "exited", "restarting"].includes(c.info.state)) throw new EngineError("conflict", `container ${c.info.name}: cannot go from ${c.info.state} to running`);
      const stdin = c.spec.openStdin ? new LineQueue() : undefined;
      c.stdin = stdin;
      const proc = runShell(c.info.command, {
        stdout: (l) => this.append(c, "stdout", l),
        stderr: (l) => this.append(c, "stderr", l),
        readFile: (p) => c.files.readFile(p),
        readLine: () => (stdin ? stdin.readLine() : Promise.resolve(undefined)),
      });
      Object.assign(c.info, { state: "running", pid: 1000 + this.containers.size, startedAt: new Date().toISOString(), exitCode: undefined, error: undefined, stopRequested: false });
      c.process = proc;
      this.containerEvent(c, "start");
      void proc.done.then((code) => {
        if (c.process !== proc) return;
        c.process = undefined;
        Object.assign(c.info, { state: "exited", pid: undefined, exitCode: code, finishedAt: new Date().toISOString() });
        this.containerEvent(c, "die", { exitCode: code });
        for (const w of [...c.watchers]) w();
      });
      return Promise.resolve();
    });
  }

  /** Resolves once the container is not active, or after timeoutMs (false). */
  private exited(c: FakeContainer, timeoutMs = -1, signal?: AbortSignal): Promise<boolean> {
    if (!ACTIVE.has(c.info.state)) return Promise.resolve(true);
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        c.watchers.delete(check);
        signal?.removeEventListener("abort", onAbort);
      };
      const done = (v: boolean): void => {
        settle();
        resolve(v);
      };
      const check = (): void => {
        if (!ACTIVE.has(c.info.state)) done(true);
      };
      const onAbort = (): void => {
        settle();
        reject(new EngineError("unavailable", `waiting for container ${c.info.name} was aborted`));
      };
      const timer = timeoutMs >= 0 ? setTimeout(() => done(false), timeoutMs) : undefined;
      c.watchers.add(check);
      if (signal?.aborted) onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private signal(c: FakeContainer, sig: string): void {
    c.process?.signal(sig);
    this.containerEvent(c, "kill");
    if (c.info.state === "paused") c.info.state = "running";
  }

  stopContainer(id: string, opts: { timeoutMs?: number; signal?: string } = {}): Promise<void> {
    return this.call("stopContainer", [id, opts], async () => {
      checkTimeoutMs(opts.timeoutMs, "stop timeout");
      const c = this.get(id);
      if (c.info.state === "restarting") {
        Object.assign(c.info, { state: "exited", stopRequested: true });
        this.containerEvent(c, "stop");
        return;
      }
      if (!ACTIVE.has(c.info.state)) return;
      c.info.stopRequested = true;
      this.signal(c, opts.signal ? normalizeSignal(opts.signal) : c.stopSignal);
      if (!(await this.exited(c, opts.timeoutMs ?? c.spec.stopTimeoutMs))) {
        this.signal(c, "SIGKILL");
        await this.exited(c);
      }
      this.containerEvent(c, "stop");
    });
  }

  killContainer(id: string, signal = "SIGKILL"): Promise<void> {
    return this.call("killContainer", [id, signal], async () => {
      const c = this.get(id);
      if (!ACTIVE.has(c.info.state)) throw new EngineError("conflict", `container ${c.info.name} is not running`);
      const sig = normalizeSignal(signal);
      this.signal(c, sig);
      if (sig === "SIGKILL") await this.exited(c);
    });
  }

  pauseContainer(id: string): Promise<void> {
    return this.call("pauseContainer", [id], () => {
      const c = this.get(id);
      if (c.info.state === "paused") throw new EngineError("conflict", `container ${c.info.name} is already paused`);
      if (c.info.state !== "running") throw new EngineError("conflict", `container ${c.info.name} is not running`);
      c.info.state = "paused";
      this.containerEvent(c, "pause");
      return Promise.resolve();
    });
  }

  unpauseContainer(id: string): Promise<void> {
    return this.call("unpauseContainer", [id], () => {
      const c = this.get(id);
      if (c.info.state !== "paused") throw new EngineError("conflict", `container ${c.info.name} is not paused`);
      c.info.state = "running";
      this.containerEvent(c, "unpause");
      return Promise.resolve();
    });
  }

  removeContainer(id: string, opts: RemoveContainerOptions = {}): Promise<void> {
    return this.call("removeContainer", [id, opts], async () => {
      const c = this.get(id);
      if (ACTIVE.has(c.info.state)) {
        if (!opts.force) throw new EngineError("conflict", `cannot remove ${c.info.state} container ${c.info.name}: stop it first or force the removal`);
        this.signal(c, "SIGKILL");
        await this.exited(c);
      }
      for (const v of opts.handOver === undefined ? [] : (c.info.anonymousVolumes ?? [])) {
        const vol = this.volumes.get(v.name);
        if (vol) vol.labels = { ...vol.labels, [VOLUME_LABEL.handover]: opts.handOver as string, [VOLUME_LABEL.handoverTarget]: v.target };
      }
      this.containers.delete(c.info.id);
      if (opts.volumes && opts.handOver === undefined) for (const [name, v] of this.volumes) if (v.labels[ANONYMOUS_LABEL] === c.info.id) this.volumes.delete(name);
      this.containerEvent(c, "destroy");
    });
  }

  inspectContainer(idOrName: string): Promise<ContainerInfo | undefined> {
    return this.call("inspectContainer", [idOrName], () => Promise.resolve(structuredClone(this.find(idOrName)?.info)));
  }

  listContainers(filter: ContainerFilter = {}): Promise<ContainerInfo[]> {
    return this.call("listContainers", [filter], () =>
      Promise.resolve(
        [...this.containers.values()]
          .map((c) => c.info)
          .filter((i) => (filter.all === true || ACTIVE.has(i.state)) && matches(i.labels, filter.labels) && (filter.name === undefined || i.name.includes(filter.name.replace(/^\//, ""))))
          .map((i) => structuredClone(i)),
      ),
    );
  }

  markRestarting(id: string): Promise<void> {
    return this.call("markRestarting", [id], () => {
      const c = this.get(id);
      if (!["running", "exited"].includes(c.info.state)) throw new EngineError("conflict", `container ${c.info.name}: cannot go from ${c.info.state} to restarting`);
      Object.assign(c.info, { state: "restarting", restartCount: c.info.restartCount + 1 });
      this.containerEvent(c, "restart");
      return Promise.resolve();
    });
  }

  waitContainer(id: string, opts: { signal?: AbortSignal } = {}): Promise<{ exitCode: number; oomKilled: boolean }> {
    return this.call("waitContainer", [id, opts], async () => {
      const c = this.get(id);
      await this.exited(c, -1, opts.signal);
      return { exitCode: c.info.exitCode ?? 0, oomKilled: false };
    });
  }

  logs(id: string, opts: LogOptions = {}): AsyncIterable<LogEntry> {
    const c = this.get(id);
    const wanted = (e: LogEntry): boolean =>
      (e.stream === "stdout" ? opts.stdout !== false : opts.stderr !== false) && (opts.sinceMs === undefined || e.time >= opts.sinceMs) && (opts.untilMs === undefined || e.time <= opts.untilMs);
    return {
      async *[Symbol.asyncIterator]() {
        const past = c.log.filter(wanted);
        const shown = opts.tail === undefined || opts.tail < 0 ? past : opts.tail === 0 ? [] : past.slice(-opts.tail);
        yield* shown;
        if (!opts.follow) return;
        let seen = c.log.length;
        for (;;) {
          if (opts.signal?.aborted) return;
          if (seen < c.log.length) {
            const fresh = c.log.slice(seen).filter(wanted);
            seen = c.log.length;
            yield* fresh;
            continue;
          }
          // As the embedded engine's: a restarting container's log goes on.
          if (!ACTIVE.has(c.info.state) && c.info.state !== "restarting") return;
          // Woken by the next entry, the exit, or the caller's abort.
          await new Promise<void>((resolve) => {
            const wake = (): void => {
              c.watchers.delete(wake);
              opts.signal?.removeEventListener("abort", wake);
              resolve();
            };
            c.watchers.add(wake);
            opts.signal?.addEventListener("abort", wake, { once: true });
          });
        }
      },
    };
  }

  exec(id: string, spec: ExecSpec): Promise<{ exitCode: number }> {
    return this.call("exec", [id, spec], async () => {
      const c = this.get(id);
      if (c.info.state === "paused") throw new EngineError("conflict", `container ${c.info.name} is paused, unpause it first`);
      if (c.info.state !== "running") throw new EngineError("conflict", `container ${c.info.name} is not running`);
      if (spec.cmd.length === 0) throw new EngineError("invalid", "exec: no command given");
      // Like a real engine, the exit code comes only once the caller's streams have taken all the output.
      const written: Promise<void>[] = [];
      const write = (to: NodeJS.WritableStream | undefined, line: string): void => {
        if (to) written.push(new Promise((resolve) => to.write(`${line}\n`, () => resolve())));
      };
      const proc = runShell(spec.cmd, {
        stdout: (l) => write(spec.stdout, l),
        stderr: (l) => write(spec.stderr, l),
        readFile: (p) => c.files.readFile(p),
      });
      const kill = (): void => proc.signal("SIGKILL");
      spec.signal?.addEventListener("abort", kill, { once: true });
      try {
        const exitCode = await proc.done;
        await Promise.all(written);
        return { exitCode };
      } finally {
        spec.signal?.removeEventListener("abort", kill);
      }
    });
  }

  attachContainer(id: string, spec: AttachSpec): Promise<Attachment> {
    return this.call("attachContainer", [id, spec], () => {
      const c = this.get(id);
      if (c.info.state === "paused") throw new EngineError("conflict", "You cannot attach to a paused container, unpause it first");
      if (c.info.state !== "running") throw new EngineError("conflict", "You cannot attach to a stopped container, start it first");
      const proc = c.process;
      const stdin = c.stdin;
      // From now on only, as conmon's attach socket.
      let sent = c.log.length;
      const written: Promise<void>[] = [];
      let finished = false;
      let endedNow: () => void = () => undefined;
      const ended = new Promise<void>((resolve) => (endedNow = resolve));
      const onInput = (d: Buffer | string): void => stdin?.write(String(d));
      const onInputEnd = (): void => {
        if (c.spec.stdinOnce) stdin?.end();
      };
      const finish = (): void => {
        if (finished) return;
        finished = true;
        c.watchers.delete(forward);
        spec.signal?.removeEventListener("abort", finish);
        spec.stdin?.removeListener("data", onInput);
        spec.stdin?.removeListener("end", onInputEnd);
        void Promise.all(written).then(() => endedNow());
      };
      const forward = (): void => {
        for (; sent < c.log.length; sent++) {
          const e = c.log[sent] as LogEntry;
          const to = e.stream === "stderr" ? spec.stderr : spec.stdout;
          written.push(new Promise((resolve) => to.write(`${e.line}\n`, () => resolve())));
        }
        if (c.process !== proc) finish();
      };
      c.watchers.add(forward);
      if (spec.signal?.aborted) finish();
      spec.signal?.addEventListener("abort", finish, { once: true });
      if (stdin) spec.stdin?.on("data", onInput).on("end", onInputEnd);
      return Promise.resolve({ ended, resize: () => Promise.resolve() });
    });
  }

  stats(id: string): Promise<ContainerStats> {
    return this.call("stats", [id], () => {
      const c = this.get(id);
      const active = ACTIVE.has(c.info.state);
      return Promise.resolve({ time: Date.now(), cpuUsageNs: 0, systemUsageNs: 0, onlineCpus: 1, memoryUsage: 0, memoryLimit: c.spec.resources.memory ?? 0, pids: active ? 1 : 0, blockRead: 0, blockWrite: 0, netRx: 0, netTx: 0 });
    });
  }

  top(id: string): Promise<{ titles: string[]; processes: string[][] }> {
    return this.call("top", [id], () => {
      const c = this.get(id);
      if (!ACTIVE.has(c.info.state)) throw new EngineError("conflict", `container ${c.info.name} is not running`);
      return Promise.resolve({ titles: ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], processes: [["root", String(c.info.pid), "0", "0", "00:00", "?", "00:00:00", c.info.command.join(" ")]] });
    });
  }

  // ---- the container's files

  copyToContainer(id: string, req: CopyToContainerRequest): Promise<CopyToContainerResult> {
    return this.call("copyToContainer", [id, req], () => this.get(id).files.copyIn(req));
  }

  copyFromContainer(id: string, req: CopyFromContainerRequest): Promise<CopyToContainerResult> {
    return this.call("copyFromContainer", [id, req], () => this.get(id).files.copyOut(req));
  }

  exportContainer(id: string, hostPath: string, opts: { path?: string; followLink?: boolean } = {}): Promise<void> {
    return this.call("exportContainer", [id, hostPath, opts], () => this.get(id).files.exportTar(hostPath, opts));
  }

  /** See ./fake-build.ts: the real frontend's plan, config steps applied, RUN and COPY only reported. */
  buildImage(req: BuildRequest): Promise<BuildResult> {
    return this.call("buildImage", [req], async () => {
      const text = await dockerfileOf(req);
      const known = (ref: string): ImageInfo | undefined => [...this.images.values()].find((i) => i.repoTags.includes(normalized(ref)));
      let plan;
      try {
        plan = planOf(req, text, (ref) => known(ref)?.config.env);
        for (const ref of plan.pulls) if (req.pull || !known(ref)) await this.pullImage(ref);
        plan = planOf(req, text, (ref) => known(ref)?.config.env);
      } catch (err) {
        throw err instanceof EngineError ? err : new EngineError(kindOf(err), (err as Error).message, { cause: err });
      }
      const emit = req.onProgress ?? (() => undefined);
      const config = applyStages(plan, (ref) => fromImageConfig((known(ref) as ImageInfo).config), emit);
      if (req.labels) config.Labels = { ...config.Labels, ...req.labels };
      const id = `sha256:${hex(64)}`;
      const tags = req.tags.map(normalized);
      for (const other of this.images.values()) other.repoTags = other.repoTags.filter((t) => !tags.includes(t));
      this.images.set(id, {
        id,
        repoTags: tags,
        repoDigests: [],
        created: new Date().toISOString(),
        size: 0,
        architecture: "amd64",
        os: "linux",
        config: toImageConfig({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, config }),
      });
      for (const tag of tags) this.emit({ type: "image", action: "tag", id, ref: tag, time: Date.now() });
      return { imageId: id, warnings: plan.warnings };
    });
  }

  commitContainer(idOrName: string, opts: CommitOptions = {}): Promise<string> {
    return this.call("commitContainer", [idOrName, opts], () => {
      const c = this.get(idOrName);
      const parent = this.images.get(c.info.imageId);
      if (!parent) throw new EngineError("not-found", `the image of container ${c.info.name} is no longer there`);
      const docker: Record<string, unknown> = fromImageConfig(parent.config);
      docker.Env = mergeEnv(parent.config.env, c.spec.env);
      if (c.spec.entrypoint !== undefined) docker.Entrypoint = c.spec.entrypoint;
      if (c.spec.cmd !== undefined || c.spec.entrypoint !== undefined) docker.Cmd = c.spec.cmd ?? [];
      if (c.spec.user !== undefined) docker.User = c.spec.user;
      if (c.spec.workingDir !== undefined) docker.WorkingDir = c.spec.workingDir;
      applyChanges(docker, opts.changes ?? [], "commit");
      const tag = opts.ref !== undefined ? normalized(opts.ref) : undefined;
      if (tag !== undefined) for (const other of this.images.values()) other.repoTags = other.repoTags.filter((t) => t !== tag);
      const id = `sha256:${hex(64)}`;
      this.images.set(id, {
        ...structuredClone(parent),
        id,
        repoTags: tag !== undefined ? [tag] : [],
        repoDigests: [],
        created: new Date().toISOString(),
        config: toImageConfig({ architecture: parent.architecture, os: parent.os, rootfs: { type: "layers", diff_ids: [] }, config: docker }),
      });
      this.imageFiles.set(id, c.files.clone());
      if (tag !== undefined) this.emit({ type: "image", action: "tag", id, ref: tag, time: Date.now() });
      return Promise.resolve(id);
    });
  }

  statContainerPath(id: string, path: string, opts: { followLink?: boolean } = {}): Promise<ContainerPathKind | undefined> {
    return this.call("statContainerPath", [id, path, opts], () => Promise.resolve(this.get(id).files.stat(path, opts)));
  }

  containerSizes(): Promise<Record<string, number>> {
    return this.call("containerSizes", [], () =>
      Promise.resolve(
        Object.fromEntries([...this.containers.values()].map((c) => [c.info.id, c.files.size()])),
      ),
    );
  }

  // ---- networks

  createNetwork(spec: NetworkSpec): Promise<NetworkInfo> {
    return this.call("createNetwork", [spec], () => {
      checkName("network", spec.name);
      if (spec.driver !== "" && spec.driver !== "bridge") throw new EngineError("invalid", `network driver "${spec.driver}" is not supported (only "bridge")`);
      if (this.networks.has(spec.name)) throw new EngineError("conflict", `network with name ${spec.name} already exists`);
      const n = ++this.subnets;
      const info: NetworkInfo = {
        id: hex(64),
        name: spec.name,
        driver: "bridge",
        labels: { ...spec.labels },
        subnet: spec.subnet ?? `172.31.${n}.0/24`,
        gateway: spec.gateway ?? `172.31.${n}.1`,
        internal: spec.internal,
        bridge: `fake${n}`,
      };
      this.networks.set(spec.name, info);
      this.emit({ type: "network", action: "create", id: info.id, name: info.name, time: Date.now() });
      return Promise.resolve(structuredClone(info));
    });
  }

  removeNetwork(name: string): Promise<void> {
    return this.call("removeNetwork", [name], () => {
      const n = this.networks.get(name) ?? [...this.networks.values()].find((x) => x.id === name);
      if (!n) throw new EngineError("not-found", `network ${name} not found`);
      const users = [...this.containers.values()].filter((c) => n.name in c.info.networks);
      if (users.length > 0) throw new EngineError("conflict", `network ${n.name} has active endpoints (${users.map((c) => c.info.name).join(", ")})`);
      this.networks.delete(n.name);
      this.emit({ type: "network", action: "destroy", id: name, name, time: Date.now() });
      return Promise.resolve();
    });
  }

  connectNetwork(network: string, container: string, opts: { aliases?: string[]; ipv4Address?: string }): Promise<void> {
    return this.call("connectNetwork", [network, container, opts], () => {
      const c = this.get(container);
      const n = this.networks.get(network) ?? [...this.networks.values()].find((x) => x.id === network);
      if (!n) throw new EngineError("not-found", `network ${network} not found`);
      if (n.name in c.info.networks) throw new EngineError("conflict", `container ${c.info.name} is already attached to network ${n.name}`);
      const used = [...this.containers.values()].filter((x) => n.name in x.info.networks).length;
      c.info.networks[n.name] = { ipAddress: opts.ipv4Address ?? n.subnet.replace(/0\/\d+$/, String(used + 2)), aliases: [...(opts.aliases ?? [])], macAddress: undefined };
      return Promise.resolve();
    });
  }

  disconnectNetwork(network: string, container: string): Promise<void> {
    return this.call("disconnectNetwork", [network, container], () => {
      const c = this.get(container);
      const name = this.networks.get(network)?.name ?? [...this.networks.values()].find((x) => x.id === network)?.name ?? network;
      if (!(name in c.info.networks)) throw new EngineError("not-found", `container ${c.info.name} is not attached to network ${network}`);
      delete c.info.networks[name];
      return Promise.resolve();
    });
  }

  inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    return this.call("inspectNetwork", [name], () => Promise.resolve(structuredClone(this.networks.get(name) ?? [...this.networks.values()].find((x) => x.id === name))));
  }

  listNetworks(filter: { labels?: Record<string, string | undefined> } = {}): Promise<NetworkInfo[]> {
    return this.call("listNetworks", [filter], () => Promise.resolve([...this.networks.values()].filter((n) => matches(n.labels, filter.labels)).map((n) => structuredClone(n))));
  }

  // ---- volumes

  private volumeInfo(name: string, labels: Record<string, string>): VolumeInfo {
    checkName("volume", name);
    return { name, driver: "local", labels: { ...labels }, mountpoint: `/fake/volumes/${name}/_data`, createdAt: new Date().toISOString() };
  }

  createVolume(spec: { name: string; labels: Record<string, string>; driver?: string }): Promise<VolumeInfo> {
    return this.call("createVolume", [spec], () => {
      if (!this.volumes.has(spec.name) && spec.driver && spec.driver !== "local") throw new EngineError("invalid", `volume driver "${spec.driver}" is not supported (only "local")`);
      const info = this.volumes.get(spec.name) ?? this.volumeInfo(spec.name, spec.labels);
      this.volumes.set(spec.name, info);
      // As the embedded engine (and dockerd): every create is an event, the volume new or not.
      this.emit({ type: "volume", action: "create", name: spec.name, time: Date.now() });
      return Promise.resolve(structuredClone(info));
    });
  }

  removeVolume(name: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.call("removeVolume", [name, opts], () => {
      const v = this.volumes.get(name);
      const users = [...this.containers.values()].filter((c) => c.info.volumes?.includes(name) === true || v?.labels[ANONYMOUS_LABEL] === c.info.id);
      if (users.length > 0) throw new EngineError("conflict", `remove ${name}: volume is in use - [${users.map((c) => c.info.id).join(", ")}]`);
      if (!v) throw new EngineError("not-found", `no such volume: ${name}`);
      this.volumes.delete(name);
      this.emit({ type: "volume", action: "destroy", name, time: Date.now() });
      return Promise.resolve();
    });
  }

  inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    return this.call("inspectVolume", [name], () => Promise.resolve(structuredClone(this.volumes.get(name))));
  }

  listVolumes(filter: { labels?: Record<string, string | undefined> } = {}): Promise<VolumeInfo[]> {
    return this.call("listVolumes", [filter], () => Promise.resolve([...this.volumes.values()].filter((v) => matches(v.labels, filter.labels)).map((v) => structuredClone(v))));
  }

  /** Ends every process (as SIGKILL would), so no timer of a fake process outlives a test. */
  close(): Promise<void> {
    for (const c of this.containers.values()) c.process?.signal("SIGKILL");
    this.listeners.clear();
    return Promise.resolve();
  }
}
