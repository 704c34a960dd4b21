// The Docker engine: the Engine interface (engine/types.ts) over one dockerd,
// through dockerode. dockerd does what the embedded engine does itself
// (images, containers, networks, volumes, logs); this class maps the verbs,
// translates errors once (errors.ts), and keeps in memory the two things
// dockerd has no word for: a container shown as restarting while the daemon's
// supervisor waits out its backoff, and "stopped on request".
//
// Events: dockerd's event stream is read from the moment the engine opens.
// Each verb returns only once dockerd's event for it has come through the
// stream (or 5 s passed), so a caller that acts and then looks at the events
// sees them, as with the embedded engine, which emits them itself.
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import tar from "tar-stream";
import { posix } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable, Writable } from "node:stream";
import type Docker from "dockerode";
import { EngineError } from "../errors.js";
import { buildContextTar, buildQuery, checkBuildRequest, LegacyBuildTranslator, type BuildMessage } from "./build.js";
import type {
  BuildRequest,
  BuildResult,
  AttachSpec,
  Attachment,
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
  EngineCapabilities,
  EngineDiskUsage,
  EngineEvent,
  ExecSpec,
  ImageInfo,
  ImportOptions,
  LogEntry,
  LogOptions,
  NetworkInfo,
  NetworkSpec,
  PullOptions,
  PullProgress,
  PushOptions,
  RegistryLogin,
  RemoveContainerOptions,
  VolumeInfo,
} from "../types.js";
import { packCopies, cleanAbsolute, renameTop, unpackTo } from "./archive.js";
import { compareApiVersions, connectDocker } from "./connection.js";
import type { DockerConnectionOptions } from "./connection.js";
import { createRequest } from "./create-body.js";
import { docker, dockerIdempotent, dockerOrUndefined, dockerStatus, translateDockerError } from "./errors.js";
import { FrameParser, LogDecoder } from "./stream.js";
import { containerInfo, containerStats, diskUsageFigures, engineEvent, imageInfo, networkInfo, normalizeRef, volumeInfo } from "./translate.js";
import type { ContainerOverlay, DockerContainerInspect, DockerEvent, DockerImageInspect, DockerNetworkInspect, DockerStats, DockerSystemDf, DockerVolumeInspect } from "./translate.js";
import { parseReference, repositoryName } from "../content/reference.js";
import { applyChanges } from "../image/changes.js";

const EVENT_WAIT_MS = 5000;

interface DialOptions {
  path: string;
  method: "GET" | "POST" | "PUT" | "DELETE" | "HEAD";
  query?: Record<string, unknown>;
  body?: unknown;
  file?: NodeJS.ReadableStream;
  isStream?: boolean;
  signal?: AbortSignal;
  /** Sent as X-Registry-Auth (push, as the docker CLI sends its user's login). */
  authconfig?: Record<string, string>;
}

// docker-modem turns every status not listed here into an error carrying it (errors.ts translates).
const OK_STATUSES = { 200: true, 201: true, 204: true } as const;

function labelFilters(labels: Record<string, string | undefined> | undefined): string[] {
  return Object.entries(labels ?? {}).map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Lines of newline-delimited JSON from a stream. */
async function* jsonLines<T>(stream: NodeJS.ReadableStream): AsyncGenerator<T> {
  let buf = "";
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    buf += chunk.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line !== "") yield JSON.parse(line) as T;
    }
  }
  if (buf.trim() !== "") yield JSON.parse(buf) as T;
}

/** Writes a chunk and resolves once the writer took it: a slow reader holds the source back. */
function write(w: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    (w as Writable).write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

type HijackedStream = NodeJS.ReadWriteStream & { destroy(): void; end(): void };

/** A hijacked stream's output to the caller's writers: whole with a tty, else demultiplexed into stdout and stderr, each chunk taken before the next is read. */
async function copyOutput(socket: HijackedStream, tty: boolean, stdout: NodeJS.WritableStream | undefined, stderr: NodeJS.WritableStream | undefined): Promise<void> {
  const parser = new FrameParser();
  for await (const chunk of socket as AsyncIterable<Buffer>) {
    if (tty) {
      if (stdout) await write(stdout, chunk);
      continue;
    }
    for (const f of parser.push(chunk)) {
      const target = f.stream === "stdout" ? stdout : stderr;
      if (target) await write(target, f.payload);
    }
  }
}

/** A pull's (push's, load's) error kind: dockerd says these in words inside a 200 stream. */
function pullError(ref: string, message: string, what = `pull ${ref}`): EngineError {
  const kind = /not found|manifest unknown|does not exist|repository .* not found/i.test(message)
    ? "not-found"
    : /unauthorized|authentication required|denied/i.test(message)
      ? "unauthorized"
      : /no matching manifest|platform/i.test(message)
        ? "invalid"
        : "unavailable";
  return new EngineError(kind, `${what}: ${message}`);
}

/** A reference the user gave a verb, parsed; a malformed one is "invalid" naming the verb. */
function parsedRef(ref: string, verb: string): ReturnType<typeof parseReference> {
  try {
    return parseReference(ref);
  } catch (e) {
    throw new EngineError("invalid", `${verb} ${ref}: ${(e as Error).message}`, { cause: e });
  }
}

/** The registry as dockerd's /auth and X-Registry-Auth name it: Docker Hub by its v1 index URL, as the docker CLI sends it. */
function registryAddress(domain: string): string {
  return domain === "docker.io" ? "https://index.docker.io/v1/" : domain;
}

/**
 * X-Registry-Auth for a pull or push: the client's login for the registry, as
 * the docker CLI sends it. Always sent: dockerd 20.10 refuses a push without
 * the header (it reads an old-style body instead); an empty one is anonymous.
 */
function registryAuth(domain: string, credentials: RegistryLogin | undefined): { authconfig: Record<string, string> } {
  const login = credentials?.(domain);
  return { authconfig: login ? { username: login.username, password: login.password, serveraddress: registryAddress(domain) } : {} };
}

interface ProgressMessage {
  id?: string;
  status?: string;
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  progressDetail?: { current?: number; total?: number };
}

/** A progress message with a status, as the engine's onProgress takes it (pull, push). */
function forwardProgress(msg: ProgressMessage, onProgress: ((p: PullProgress) => void) | undefined): void {
  if (msg.status === undefined) return;
  const p = msg.progressDetail;
  onProgress?.({ id: msg.id ?? "", status: msg.status, ...(p?.current !== undefined ? { current: p.current } : {}), ...(p?.total !== undefined ? { total: p.total } : {}) });
}

/** dockerd's JSON progress stream (pull, push, load, import): its error inside the 200 stream becomes an EngineError of the words' kind. */
async function* progressMessages(stream: Readable, what: string): AsyncGenerator<ProgressMessage> {
  try {
    for await (const msg of jsonLines<ProgressMessage>(stream)) {
      if (msg.error !== undefined) throw pullError(what, msg.errorDetail?.message ?? msg.error, what);
      yield msg;
    }
  } catch (e) {
    throw translateDockerError(e, what);
  }
}

export class DockerEngine implements Engine {
  readonly kind = "docker" as const;
  readonly capabilities: EngineCapabilities = { addressesAtCreate: false, labelledAnonymousVolumes: false, imageBuilds: true };

  private readonly listeners = new Set<(e: EngineEvent) => void>();
  private readonly overlay = new Map<string, ContainerOverlay>();
  /** "<id> <action>" -> how many such events came through the stream. */
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Set<{ key: string; count: number; resolve: () => void }>();
  private events: Readable | undefined;
  private emitting: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly client: Docker,
    readonly apiVersion: string,
  ) {}

  static async open(opts: DockerConnectionOptions = {}): Promise<DockerEngine> {
    const { client, apiVersion } = await connectDocker(opts);
    const engine = new DockerEngine(client, apiVersion);
    await engine.followEvents(Math.floor(Date.now() / 1000) - 1);
    return engine;
  }

  // ---- plumbing

  private dial<T>(o: DialOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.client.modem.dial(
        {
          path: `${o.path}?`,
          method: o.method,
          // An empty body is sent as none: dockerd refuses a body on start and friends.
          options: { _query: o.query ?? {}, _body: o.body ?? {} },
          ...(o.file ? { file: o.file } : {}),
          isStream: o.isStream ?? false,
          ...(o.authconfig ? { authconfig: o.authconfig } : {}),
          abortSignal: o.signal,
          statusCodes: { ...OK_STATUSES },
        },
        (err: Error | null, data: unknown) => (err ? reject(err) : resolve(data as T)),
      );
    });
  }

  /** A hijacked connection (exec start, attach): the process's multiplexed output to read, its stdin to write. */
  private hijack(path: string, options: Record<string, unknown>, openStdin: boolean, signal: AbortSignal | undefined): Promise<HijackedStream> {
    return new Promise<HijackedStream>((resolve, reject) => {
      this.client.modem.dial(
        { path: `${path}?`, method: "POST", options, hijack: true, openStdin, isStream: true, abortSignal: signal, statusCodes: { 101: true, 200: true } },
        (err: Error | null, data: unknown) => (err ? reject(err) : resolve(data as HijackedStream)),
      );
    });
  }

  private async followEvents(since: number): Promise<void> {
    const stream = await docker(() => this.dial<Readable>({ path: "/events", method: "GET", query: { since }, isStream: true }), "events");
    this.events = stream;
    let last = since;
    void (async () => {
      try {
        for await (const e of jsonLines<DockerEvent>(stream)) {
          last = e.time;
          this.emitting = this.emitting.then(() => this.deliver(e)).catch(() => undefined);
        }
      } catch {
        // the stream broke: reopened below
      }
      if (this.closed) return;
      // dockerd went away or restarted: pick up where the stream ended, once it answers again.
      for (;;) {
        await new Promise((r) => setTimeout(r, 1000));
        if (this.closed) return;
        try {
          await this.followEvents(last);
          return;
        } catch {
          // not back yet
        }
      }
    })();
  }

  private async deliver(raw: DockerEvent): Promise<void> {
    let e = engineEvent(raw);
    if (e === undefined) return;
    if (e.type === "image" && !e.id.startsWith("sha256:")) {
      // dockerd names the reference in a pull's event; the image ID is what our events carry.
      const img = await dockerOrUndefined(() => this.client.getImage(raw.Actor.ID).inspect());
      e = { ...e, id: img?.Id ?? e.id };
    }
    this.publish(e);
  }

  private publish(e: EngineEvent): void {
    const key = `${e.type === "volume" ? e.name : e.id} ${e.action}`;
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
    if (e.type === "container" && e.action === "destroy") {
      // Its destroy stays counted: the remove that caused it may ask only after the event came.
      for (const k of this.seen.keys()) if (k.startsWith(`${e.id} `) && k !== key) this.seen.delete(k);
      this.overlay.delete(e.id);
    }
    // A long-lived daemon sees many objects come and go: the oldest counts are long past any verb that waits for them.
    for (const k of this.seen.keys()) {
      if (this.seen.size <= 10_000) break;
      this.seen.delete(k);
    }
    for (const w of this.waiters) {
      if (w.key === key && (this.seen.get(key) ?? 0) >= w.count) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
    for (const l of [...this.listeners]) l(e);
  }

  /** The count an event must reach after a verb: how many came so far, plus one. */
  private mark(id: string, action: string): number {
    return (this.seen.get(`${id} ${action}`) ?? 0) + 1;
  }

  /** Resolves when the event stream brought the count-th `action` of `id`, or after EVENT_WAIT_MS. */
  private async eventCame(id: string, action: string, count = 1): Promise<void> {
    const key = `${id} ${action}`;
    if ((this.seen.get(key) ?? 0) >= count) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        resolve();
      }, EVENT_WAIT_MS);
      const w = {
        key,
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.add(w);
    });
  }

  private async inspectRaw(id: string): Promise<DockerContainerInspect> {
    return docker(() => this.dial<DockerContainerInspect>({ path: `/containers/${encodeURIComponent(id)}/json`, method: "GET" }), `container ${id}`);
  }

  // ---- images

  async pullImage(ref: string, opts: PullOptions = {}): Promise<ImageInfo> {
    let parsed;
    try {
      parsed = parseReference(ref);
    } catch (e) {
      throw new EngineError("invalid", `pull ${ref}: ${(e as Error).message}`, { cause: e });
    }
    // No tag asks dockerd for every tag of the repository: the default tag is meant.
    const fromImage = `${parsed.domain}/${parsed.path}`;
    const tag = parsed.digest ?? parsed.tag ?? "latest";
    const stream = await docker(
      () => this.dial<Readable>({ path: "/images/create", method: "POST", query: { fromImage, tag, ...(opts.platform ? { platform: opts.platform } : {}) }, isStream: true, signal: opts.signal, ...registryAuth(parsed.domain, opts.credentials) }),
      `pull ${ref}`,
    );
    try {
      for await (const msg of progressMessages(stream, `pull ${ref}`)) forwardProgress(msg, opts.onProgress);
    } catch (e) {
      if (opts.signal?.aborted) throw new EngineError("conflict", `pull ${ref}: cancelled`, { cause: e });
      throw e;
    }
    const name = parsed.digest !== undefined ? `${fromImage}@${parsed.digest}` : `${fromImage}:${tag}`;
    const info = await this.inspectImage(name);
    if (!info) throw new EngineError("internal", `pull ${ref}: dockerd pulled it but does not know ${name}`);
    await this.eventCame(info.id, "pull");
    return info;
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    const raw = await dockerOrUndefined(() => this.dial<DockerImageInspect>({ path: `/images/${encodeURIComponent(ref)}/json`, method: "GET" }));
    return raw && imageInfo(raw);
  }

  async listImages(opts: { all?: boolean } = {}): Promise<ImageInfo[]> {
    // all: a build's intermediate images too, which dockerd hides otherwise (docker images -a).
    const list = await docker(() => this.dial<{ Id: string }[]>({ path: "/images/json", method: "GET", query: { all: opts.all ?? false } }), "images");
    const out: ImageInfo[] = [];
    for (const s of list) {
      const info = await this.inspectImage(s.Id);
      if (info) out.push(info);
    }
    return out;
  }

  async removeImage(ref: string, opts: { force?: boolean } = {}): Promise<string[]> {
    const res = await docker(() => this.dial<{ Untagged?: string; Deleted?: string }[]>({ path: `/images/${encodeURIComponent(ref)}`, method: "DELETE", query: { force: opts.force ?? false } }), `remove image ${ref}`);
    return res.map((r) => (r.Untagged !== undefined ? `Untagged: ${normalizeRef(r.Untagged, true)}` : `Deleted: ${r.Deleted ?? ""}`));
  }

  async tagImage(source: string, target: string): Promise<void> {
    const ref = parsedRef(target, "tag");
    if (ref.digest !== undefined) throw new EngineError("invalid", `refusing to create a tag with a digest reference: ${target}`);
    const image = await this.inspectImage(source);
    if (!image) throw new EngineError("not-found", `No such image: ${source}`);
    const count = this.mark(image.id, "tag");
    await docker(() => this.dial({ path: `/images/${encodeURIComponent(image.id)}/tag`, method: "POST", query: { repo: repositoryName(ref), tag: ref.tag ?? "latest" } }), `tag ${source}`);
    await this.eventCame(image.id, "tag", count);
  }

  async inspectImageDetails(ref: string): Promise<Record<string, unknown> | undefined> {
    return dockerOrUndefined(() => this.dial<Record<string, unknown>>({ path: `/images/${encodeURIComponent(ref)}/json`, method: "GET" }));
  }

  async saveImages(refs: string[], out: NodeJS.WritableStream): Promise<void> {
    const stream = await docker(() => this.dial<Readable>({ path: "/images/get", method: "GET", query: { names: refs }, isStream: true }), `save ${refs.join(" ")}`);
    await pipeline(stream, out);
  }

  async loadImages(input: NodeJS.ReadableStream): Promise<string[]> {
    const stream = await docker(() => this.dial<Readable>({ path: "/images/load", method: "POST", query: { quiet: true }, file: input, isStream: true }), "load");
    const lines: string[] = [];
    for await (const msg of progressMessages(stream, "load")) {
      if (msg.stream !== undefined) lines.push(...msg.stream.split("\n").filter((l) => l.trim() !== ""));
    }
    return lines;
  }

  async pushImage(ref: string, opts: PushOptions = {}): Promise<void> {
    const parsed = parsedRef(ref, "push");
    const stream = await docker(
      () => this.dial<Readable>({ path: `/images/${encodeURIComponent(`${parsed.domain}/${parsed.path}`)}/push`, method: "POST", query: { tag: parsed.tag ?? "latest" }, isStream: true, ...registryAuth(parsed.domain, opts.credentials) }),
      `push ${ref}`,
    );
    for await (const msg of progressMessages(stream, `push ${ref}`)) forwardProgress(msg, opts.onProgress);
  }

  async importImage(input: NodeJS.ReadableStream, opts: ImportOptions = {}): Promise<string> {
    // The changes are checked here first, with the embedded engine's rules and words; dockerd applies them.
    applyChanges({}, opts.changes ?? [], "import");
    const query: Record<string, unknown> = { fromSrc: "-" };
    if (opts.ref !== undefined) {
      const ref = parsedRef(opts.ref, "import");
      if (ref.digest !== undefined) throw new EngineError("invalid", `import: ${opts.ref}: an import is tagged, not named by digest`);
      query.repo = repositoryName(ref);
      query.tag = ref.tag ?? "latest";
    }
    if (opts.message !== undefined) query.message = opts.message;
    if (opts.platform !== undefined) query.platform = opts.platform;
    if (opts.changes !== undefined && opts.changes.length > 0) query.changes = opts.changes;
    const stream = await docker(() => this.dial<Readable>({ path: "/images/create", method: "POST", query, file: input, isStream: true }), "import");
    let id: string | undefined;
    for await (const msg of progressMessages(stream, "import")) {
      if (msg.status !== undefined && /^sha256:[0-9a-f]{64}$/.test(msg.status.trim())) id = msg.status.trim();
    }
    if (id === undefined) throw new EngineError("internal", "import: dockerd finished without naming the image it made");
    return id;
  }

  async checkRegistryLogin(server: string | undefined, credentials: { username: string; password: string }): Promise<void> {
    const domain = server === undefined ? "docker.io" : parsedRef(`${server.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").split("/")[0] ?? ""}/x`, "login").domain;
    await docker(() => this.dial({ path: "/auth", method: "POST", body: { ...credentials, serveraddress: registryAddress(domain) } }), `login to ${domain}`);
  }

  async pruneImages(opts: { all?: boolean } = {}): Promise<{ report: string[]; reclaimed: number }> {
    const res = await docker(
      () => this.dial<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }>({ path: "/images/prune", method: "POST", query: { filters: JSON.stringify({ dangling: [opts.all ? "false" : "true"] }) } }),
      "prune images",
    );
    const report = (res.ImagesDeleted ?? []).map((r) => (r.Untagged !== undefined ? `untagged: ${r.Untagged}` : `deleted: ${r.Deleted ?? ""}`));
    return { report, reclaimed: res.SpaceReclaimed };
  }

  // ---- containers

  async createContainer(spec: ContainerSpec): Promise<ContainerInfo> {
    const req = createRequest(spec, this.apiVersion);
    // dockerd 20.10 creates a container on a network that does not exist (and fails its start): refused here, before anything is made.
    for (const network of Object.keys(spec.networks)) {
      if (!(await this.inspectNetwork(network))) throw new EngineError("not-found", `create ${spec.name}: network ${network} not found`);
    }
    const created = await docker(
      () => this.dial<{ Id: string }>({ path: "/containers/create", method: "POST", query: { ...(req.name !== "" ? { name: req.name } : {}), ...(req.platform ? { platform: req.platform } : {}) }, body: req.body }),
      `create ${spec.name}`,
    );
    try {
      for (const { network, attachment } of req.connectAfter) await this.connectNetwork(network, created.Id, {
          aliases: attachment.aliases,
          ...(attachment.ipv4Address !== undefined ? { ipv4Address: attachment.ipv4Address } : {}),
          ...(attachment.ipv6Address !== undefined ? { ipv6Address: attachment.ipv6Address } : {}),
        });
      if (spec.files && spec.files.length > 0) await this.writeFiles(created.Id, spec.files);
    } catch (e) {
      await this.dial({ path: `/containers/${created.Id}`, method: "DELETE", query: { force: true, v: true } }).catch(() => undefined);
      throw translateDockerError(e, `create ${spec.name}`);
    }
    await this.eventCame(created.Id, "create");
    return containerInfo(await this.inspectRaw(created.Id));
  }

  /** Secrets and configs: dockerd has no such files for a plain container, so they are copied in before it starts (not a read-only mount). */
  private async writeFiles(id: string, files: NonNullable<ContainerSpec["files"]>): Promise<void> {
    const pack = tar.pack();
    const put = this.dial({ path: `/containers/${id}/archive`, method: "PUT", query: { path: "/" }, file: pack as unknown as NodeJS.ReadableStream });
    for (const f of files) {
      const content = f.content !== undefined ? Buffer.from(f.content) : await readFile(f.source as string);
      pack.entry({ name: cleanAbsolute(f.target).slice(1), mode: f.mode, uid: f.uid, gid: f.gid, type: "file" }, content);
    }
    pack.finalize();
    await put;
  }

  async startContainer(id: string): Promise<void> {
    const info = await this.inspectRaw(id);
    if (info.State.Status === "paused") throw new EngineError("conflict", `container ${id} is paused: unpause it`);
    if (info.State.Status === "running") return;
    const n = this.mark(info.Id, "start");
    await dockerIdempotent(() => this.dial({ path: `/containers/${info.Id}/start`, method: "POST" }), `start ${id}`);
    this.overlay.delete(info.Id);
    await this.eventCame(info.Id, "start", n);
  }

  async stopContainer(id: string, opts: { timeoutMs?: number; signal?: string } = {}): Promise<void> {
    const info = await this.inspectRaw(id);
    const o = this.overlay.get(info.Id) ?? {};
    this.overlay.set(info.Id, { ...o, restarting: false, stopRequested: true });
    if (o.restarting && info.State.Status === "exited") {
      // Only the supervisor's wait ends: dockerd knows nothing of it, so the event is ours.
      this.publish({ type: "container", action: "stop", id: info.Id, name: info.Name.replace(/^\//, ""), labels: info.Config.Labels ?? {}, time: Date.now() });
      return;
    }
    if (info.State.Status !== "running" && info.State.Status !== "paused" && info.State.Status !== "restarting") return;
    const n = this.mark(info.Id, "stop");
    const t = opts.timeoutMs === undefined ? undefined : Math.ceil(opts.timeoutMs / 1000);
    const query: Record<string, unknown> = t === undefined ? {} : { t };
    if (opts.signal !== undefined) {
      if (compareApiVersions(this.apiVersion, "1.42") < 0) throw new EngineError("invalid", `stop with signal ${opts.signal} needs API 1.42, dockerd speaks ${this.apiVersion}`);
      query.signal = opts.signal;
    }
    await dockerIdempotent(() => this.dial({ path: `/containers/${info.Id}/stop`, method: "POST", query }), `stop ${id}`);
    await this.eventCame(info.Id, "stop", n);
  }

  async killContainer(id: string, signal = "SIGKILL"): Promise<void> {
    const info = await this.inspectRaw(id);
    const n = this.mark(info.Id, "kill");
    await docker(() => this.dial({ path: `/containers/${info.Id}/kill`, method: "POST", query: { signal } }), `kill ${id}`);
    await this.eventCame(info.Id, "kill", n);
    if (/^(SIG)?KILL$|^9$/i.test(signal)) {
      // Gone, not just signalled: dockerd's answer can come before its record of the exit.
      await docker(() => this.dial({ path: `/containers/${info.Id}/wait`, method: "POST", query: { condition: "not-running" } }), `kill ${id}`);
    }
  }

  async pauseContainer(id: string): Promise<void> {
    const info = await this.inspectRaw(id);
    const n = this.mark(info.Id, "pause");
    await docker(() => this.dial({ path: `/containers/${info.Id}/pause`, method: "POST" }), `pause ${id}`);
    await this.eventCame(info.Id, "pause", n);
  }

  async unpauseContainer(id: string): Promise<void> {
    const info = await this.inspectRaw(id);
    const n = this.mark(info.Id, "unpause");
    await docker(() => this.dial({ path: `/containers/${info.Id}/unpause`, method: "POST" }), `unpause ${id}`);
    await this.eventCame(info.Id, "unpause", n);
  }

  async removeContainer(id: string, opts: RemoveContainerOptions = {}): Promise<void> {
    const info = await this.inspectRaw(id);
    // A hand-over keeps the anonymous volumes for the replacement (which mounts them by name): dockerd cannot label them for it.
    const v = opts.volumes === true && opts.handOver === undefined;
    await docker(() => this.dial({ path: `/containers/${info.Id}`, method: "DELETE", query: { force: opts.force ?? false, v } }), `remove ${id}`);
    await this.eventCame(info.Id, "destroy");
    this.overlay.delete(info.Id);
    if (v) {
      // One carried over from a replaced container is mounted by name, so dockerd's -v leaves it: it is this container's all the same.
      for (const a of containerInfo(info).anonymousVolumes ?? []) {
        await this.removeVolume(a.name).catch((e: unknown) => {
          if (!(e instanceof EngineError && (e.kind === "not-found" || e.kind === "conflict"))) throw e;
        });
      }
    }
  }

  async inspectContainer(idOrName: string): Promise<ContainerInfo | undefined> {
    if (idOrName === "") return undefined;
    const raw = await dockerOrUndefined(() => this.dial<DockerContainerInspect>({ path: `/containers/${encodeURIComponent(idOrName)}/json`, method: "GET" }));
    return raw && containerInfo(raw, this.overlay.get(raw.Id));
  }

  async listContainers(filter: ContainerFilter = {}): Promise<ContainerInfo[]> {
    const filters: Record<string, string[]> = {};
    const labels = labelFilters(filter.labels);
    if (labels.length > 0) filters.label = labels;
    if (filter.name !== undefined) filters.name = [`^/${escapeRegExp(filter.name)}$`];
    const list = await docker(() => this.dial<{ Id: string }[]>({ path: "/containers/json", method: "GET", query: { all: filter.all ?? false, filters: JSON.stringify(filters) } }), "list containers");
    const out: ContainerInfo[] = [];
    for (const c of list) {
      const info = await this.inspectContainer(c.Id);
      if (info) out.push(info);
    }
    return out;
  }

  async markRestarting(id: string): Promise<void> {
    const info = await this.inspectRaw(id);
    if (info.State.Status !== "exited") throw new EngineError("conflict", `container ${id} is ${info.State.Status}, not exited`);
    const o = this.overlay.get(info.Id) ?? {};
    this.overlay.set(info.Id, { ...o, restarting: true, stopRequested: false, restartCount: (o.restartCount ?? 0) + 1 });
    this.publish({ type: "container", action: "restart", id: info.Id, name: info.Name.replace(/^\//, ""), labels: info.Config.Labels ?? {}, time: Date.now() });
  }

  async waitContainer(id: string, opts: { signal?: AbortSignal } = {}): Promise<{ exitCode: number; oomKilled: boolean }> {
    const res = await docker(
      () => this.dial<{ StatusCode: number }>({ path: `/containers/${encodeURIComponent(id)}/wait`, method: "POST", query: { condition: "not-running" }, signal: opts.signal }),
      `wait ${id}`,
    );
    const info = await dockerOrUndefined(() => this.inspectRaw(id));
    return { exitCode: res.StatusCode, oomKilled: info?.State.OOMKilled ?? false };
  }

  async *logs(id: string, opts: LogOptions = {}): AsyncIterable<LogEntry> {
    const info = await this.inspectRaw(id);
    const query: Record<string, unknown> = {
      follow: opts.follow ?? false,
      stdout: opts.stdout ?? true,
      stderr: opts.stderr ?? true,
      timestamps: true,
      tail: opts.tail === undefined ? "all" : String(opts.tail),
    };
    if (opts.sinceMs !== undefined) query.since = (opts.sinceMs / 1000).toFixed(9);
    if (opts.untilMs !== undefined) query.until = (opts.untilMs / 1000).toFixed(9);
    const stream = await docker(() => this.dial<Readable>({ path: `/containers/${info.Id}/logs`, method: "GET", query, isStream: true, signal: opts.signal }), `logs ${id}`);
    const decoder = new LogDecoder(info.Config.Tty === true);
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) yield* decoder.push(chunk);
    } catch (e) {
      if (opts.signal?.aborted) return;
      throw translateDockerError(e, `logs ${id}`);
    } finally {
      stream.destroy();
    }
    yield* decoder.end();
  }

  async exec(id: string, spec: ExecSpec): Promise<{ exitCode: number }> {
    const info = await this.inspectRaw(id);
    const tty = spec.tty ?? false;
    const created = await docker(
      () =>
        this.dial<{ Id: string }>({
          path: `/containers/${info.Id}/exec`,
          method: "POST",
          body: {
            Cmd: spec.cmd,
            Env: spec.env,
            User: spec.user,
            WorkingDir: spec.workingDir,
            Privileged: spec.privileged ?? false,
            Tty: tty,
            AttachStdin: spec.stdin !== undefined,
            AttachStdout: true,
            AttachStderr: true,
          },
        }),
      `exec in ${id}`,
    );
    const socket = await docker(
      () => this.hijack(`/exec/${created.Id}/start`, { _body: { Detach: false, Tty: tty } }, spec.stdin !== undefined, spec.signal),
      `exec in ${id}`,
    );
    if (spec.stdin) {
      spec.stdin.pipe(socket);
    } else socket.end?.();
    try {
      // Every byte is handed over (and taken by the writer) before the exit code is asked for: the stream's end is the process's.
      await copyOutput(socket, tty, spec.stdout, spec.stderr);
    } catch (e) {
      if (spec.signal?.aborted) throw new EngineError("conflict", `exec in ${id}: cancelled`, { cause: e });
      throw translateDockerError(e, `exec in ${id}`);
    }
    for (let i = 0; ; i++) {
      const st = await docker(() => this.dial<{ Running: boolean; ExitCode: number | null }>({ path: `/exec/${created.Id}/json`, method: "GET" }), `exec in ${id}`);
      if (!st.Running && st.ExitCode !== null) return { exitCode: st.ExitCode };
      if (i > 100) throw new EngineError("timeout", `exec in ${id}: its output ended but dockerd still says it runs`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async attachContainer(id: string, spec: AttachSpec): Promise<Attachment> {
    const info = await this.inspectRaw(id);
    // dockerd would attach to a stopped container and wait for its start; docker attach refuses, with these words.
    if (info.State.Status === "paused") throw new EngineError("conflict", "You cannot attach to a paused container, unpause it first");
    if (info.State.Status !== "running") throw new EngineError("conflict", "You cannot attach to a stopped container, start it first");
    const tty = info.Config.Tty === true;
    const stdin = spec.stdin !== undefined && info.Config.OpenStdin === true;
    const socket = await docker(
      // stream=1 and no logs: output from now on, as docker attach shows it.
      () => this.hijack(`/containers/${info.Id}/attach`, { _query: { stream: true, stdin, stdout: true, stderr: true } }, stdin, undefined),
      `attach to ${id}`,
    );
    if (stdin) spec.stdin?.pipe(socket);
    const detach = (): void => socket.destroy();
    spec.signal?.addEventListener("abort", detach, { once: true });
    const ended = (async () => {
      try {
        await copyOutput(socket, tty, spec.stdout, spec.stderr);
      } catch (e) {
        if (!spec.signal?.aborted) throw translateDockerError(e, `attach to ${id}`);
      } finally {
        spec.signal?.removeEventListener("abort", detach);
      }
    })();
    ended.catch(() => undefined); // the caller awaits it; no unhandled rejection meanwhile
    return {
      ended,
      resize: async (rows, cols) => {
        if (!tty) return;
        await docker(() => this.dial({ path: `/containers/${info.Id}/resize`, method: "POST", query: { h: rows, w: cols } }), `resize ${id}`);
      },
    };
  }

  async buildImage(req: BuildRequest): Promise<BuildResult> {
    checkBuildRequest(req);
    const context = await buildContextTar(req);
    const emit = req.onProgress ?? (() => undefined);
    const translator = new LegacyBuildTranslator(emit, context.dockerfileText, req.dockerfileInline !== undefined ? "Dockerfile" : (req.dockerfile ?? "Dockerfile"));
    const stream = await docker(
      () => this.dial<Readable>({ path: "/build", method: "POST", query: buildQuery(req, context.dockerfileName), file: context.stream as unknown as NodeJS.ReadableStream, isStream: true, signal: req.signal }),
      "build",
    ).catch(async (e: unknown) => {
      context.stream.destroy();
      await context.done.catch(() => undefined);
      throw e;
    });
    try {
      await context.done;
      for await (const msg of jsonLines<BuildMessage>(stream)) translator.feed(msg);
      translator.finish();
    } catch (e) {
      if (req.signal?.aborted) throw new EngineError("conflict", "build: cancelled", { cause: e });
      throw translateDockerError(e, "build");
    }
    if (translator.imageId === undefined) throw new EngineError("internal", "build: dockerd finished without naming the image it built");
    return { imageId: translator.imageId, warnings: [] };
  }

  async commitContainer(idOrName: string, opts: CommitOptions = {}): Promise<string> {
    const info = await this.inspectRaw(idOrName);
    // The changes are checked here first, with the embedded engine's rules and words; dockerd applies them.
    applyChanges({}, opts.changes ?? [], "commit");
    const query: Record<string, unknown> = { container: info.Id, pause: opts.pause !== false };
    if (opts.ref !== undefined) {
      const ref = parseReference(opts.ref);
      if (ref.digest !== undefined) throw new EngineError("invalid", `commit ${idOrName}: ${opts.ref}: a commit is tagged, not named by digest`);
      query.repo = repositoryName(ref);
      query.tag = ref.tag ?? "latest";
    }
    if (opts.author !== undefined) query.author = opts.author;
    if (opts.message !== undefined) query.comment = opts.message;
    if (opts.changes !== undefined && opts.changes.length > 0) query.changes = opts.changes;
    const res = await docker(() => this.dial<{ Id: string }>({ path: "/commit", method: "POST", query }), `commit ${idOrName}`);
    return res.Id;
  }

  async stats(id: string): Promise<ContainerStats> {
    const s = await docker(() => this.dial<DockerStats>({ path: `/containers/${encodeURIComponent(id)}/stats`, method: "GET", query: { stream: false } }), `stats ${id}`);
    return containerStats(s);
  }

  // ---- files

  private async pathStat(id: string, path: string): Promise<{ name: string; mode: number; linkTarget: string } | undefined> {
    const res = await dockerOrUndefined(() => this.dial<Readable & { headers: Record<string, string | undefined> }>({ path: `/containers/${encodeURIComponent(id)}/archive`, method: "HEAD", query: { path }, isStream: true }));
    if (!res) {
      await this.inspectRaw(id); // a missing container is not-found, a missing path undefined
      return undefined;
    }
    res.resume();
    const header = res.headers["x-docker-container-path-stat"];
    if (!header) throw new EngineError("internal", `stat ${path} in ${id}: dockerd sent no stat header`);
    return JSON.parse(Buffer.from(header, "base64").toString("utf8")) as { name: string; mode: number; linkTarget: string };
  }

  async statContainerPath(id: string, path: string, opts: { followLink?: boolean } = {}): Promise<ContainerPathKind | undefined> {
    const clean = cleanAbsolute(path);
    let st = await this.pathStat(id, clean);
    if (st && opts.followLink && st.linkTarget !== "" && st.linkTarget !== clean) st = await this.pathStat(id, st.linkTarget);
    if (!st) return undefined;
    // Go's os.FileMode bits, as dockerd sends them.
    const mode = st.mode >>> 0;
    if (mode & 0x80000000) return "directory";
    if (mode & 0x08000000) return "symlink";
    if ((mode & 0x8f280000) === 0) return "file";
    return "other";
  }

  async copyToContainer(id: string, req: CopyToContainerRequest): Promise<CopyToContainerResult> {
    const info = await this.inspectRaw(id);
    let removed = 0;
    if (req.removals.length > 0) {
      const present: string[] = [];
      for (const p of req.removals) if ((await this.statContainerPath(info.Id, p)) !== undefined) present.push(cleanAbsolute(p));
      if (present.length > 0) {
        // dockerd's API has no delete: rm runs in the container, so it needs a running one with an rm.
        if (info.State.Status !== "running") throw new EngineError("conflict", `removing files in ${id} needs it running on the docker engine`);
        const res = await this.exec(info.Id, { cmd: ["rm", "-rf", "--", ...present] });
        if (res.exitCode !== 0) throw new EngineError("internal", `rm -rf in ${id} exited ${res.exitCode}`);
        removed = present.length;
      }
    }
    if (req.copies.length === 0) return { copied: 0, removed };
    const owner = req.owner === undefined || req.owner === "source" ? undefined : req.owner;
    const { stream, done } = packCopies(req.copies, { exclude: req.exclude, owner });
    // copyUIDGID: dockerd gives the files to the container's user (compose's sync); otherwise the headers' owner stands.
    const put = docker(() => this.dial({ path: `/containers/${info.Id}/archive`, method: "PUT", query: { path: "/", copyUIDGID: req.owner === undefined }, file: stream as unknown as NodeJS.ReadableStream }), `copy to ${id}`);
    const [copied] = await Promise.all([done, put]);
    return { copied, removed };
  }

  private async archive(id: string, path: string, followLink: boolean): Promise<Readable> {
    let source = cleanAbsolute(path);
    let rename: string | undefined;
    if (followLink) {
      const st = await this.pathStat(id, source);
      if (st && st.linkTarget !== "" && st.linkTarget !== source) {
        rename = posix.basename(source);
        source = st.linkTarget;
      }
    }
    const stream = await docker(() => this.dial<Readable>({ path: `/containers/${encodeURIComponent(id)}/archive`, method: "GET", query: { path: source }, isStream: true }), `copy from ${id}:${path}`);
    return rename === undefined ? stream : (renameTop(stream, rename) as unknown as Readable);
  }

  async copyFromContainer(id: string, req: CopyFromContainerRequest): Promise<CopyToContainerResult> {
    const stream = await this.archive(id, req.containerPath, req.followLink ?? false);
    const copied = await unpackTo(stream, req.hostPath, { archive: req.archive });
    return { copied, removed: 0 };
  }

  async exportContainer(id: string, hostPath: string, opts: { path?: string; followLink?: boolean } = {}): Promise<void> {
    const stream =
      opts.path === undefined
        ? await docker(() => this.dial<Readable>({ path: `/containers/${encodeURIComponent(id)}/export`, method: "GET", isStream: true }), `export ${id}`)
        : await this.archive(id, opts.path, opts.followLink ?? false);
    await pipeline(stream, createWriteStream(hostPath));
  }

  async top(id: string): Promise<{ titles: string[]; processes: string[][] }> {
    const res = await docker(() => this.dial<{ Titles: string[]; Processes: string[][] | null }>({ path: `/containers/${encodeURIComponent(id)}/top`, method: "GET" }), `top ${id}`);
    return { titles: res.Titles, processes: res.Processes ?? [] };
  }

  async containerSizes(): Promise<Record<string, number>> {
    const list = await docker(() => this.dial<{ Id: string; SizeRw?: number }[]>({ path: "/containers/json", method: "GET", query: { all: true, size: true } }), "container sizes");
    return Object.fromEntries(list.map((c) => [c.Id, c.SizeRw ?? 0]));
  }

  async diskUsage(): Promise<EngineDiskUsage> {
    return diskUsageFigures(await docker(() => this.dial<DockerSystemDf>({ path: "/system/df", method: "GET" }), "system df"));
  }

  // ---- networks

  async createNetwork(spec: NetworkSpec): Promise<NetworkInfo> {
    const ipam: Record<string, unknown> = {};
    if (spec.subnet !== undefined) ipam.Subnet = spec.subnet;
    if (spec.gateway !== undefined) ipam.Gateway = spec.gateway;
    if (spec.ipRange !== undefined) ipam.IPRange = spec.ipRange;
    if (spec.auxAddresses !== undefined) ipam.AuxiliaryAddresses = spec.auxAddresses;
    if (Object.keys(ipam).length > 0 && spec.subnet === undefined) throw new EngineError("invalid", `network ${spec.name}: a gateway, ip_range or aux address needs a subnet on the docker engine`);
    const configs = Object.keys(ipam).length > 0 ? [ipam] : [];
    if (spec.subnet6 !== undefined) configs.push({ Subnet: spec.subnet6, ...(spec.gateway6 !== undefined ? { Gateway: spec.gateway6 } : {}) });
    const res = await docker(
      () =>
        this.dial<{ Id: string }>({
          path: "/networks/create",
          method: "POST",
          body: { Name: spec.name, CheckDuplicate: true, Driver: spec.driver, Internal: spec.internal, Labels: spec.labels, Options: spec.options ?? {}, EnableIPv6: spec.enableIpv6 === true, IPAM: { Driver: "default", Config: configs } },
        }),
      `create network ${spec.name}`,
    );
    await this.eventCame(res.Id, "create");
    const info = await this.inspectNetwork(res.Id);
    if (!info) throw new EngineError("internal", `network ${spec.name} was created but is gone`);
    return info;
  }

  async removeNetwork(name: string): Promise<void> {
    const net = await this.inspectNetwork(name);
    if (!net) throw new EngineError("not-found", `network ${name} not found`);
    try {
      await this.dial({ path: `/networks/${net.id}`, method: "DELETE" });
    } catch (e) {
      // dockerd answers 403 for a network that still has containers: in use, as for a volume.
      if (dockerStatus(e) === 403) throw new EngineError("conflict", `remove network ${name}: it is in use`, { cause: e });
      throw translateDockerError(e, `remove network ${name}`);
    }
    await this.eventCame(net.id, "destroy");
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    const raw = await dockerOrUndefined(() => this.dial<DockerNetworkInspect>({ path: `/networks/${encodeURIComponent(name)}`, method: "GET" }));
    // dockerd matches an id prefix as well: only the name or the full id is this network.
    if (!raw || (raw.Name !== name && raw.Id !== name && !raw.Id.startsWith(name))) return undefined;
    return networkInfo(raw);
  }

  async connectNetwork(network: string, container: string, opts: { aliases?: string[]; ipv4Address?: string; ipv6Address?: string }): Promise<void> {
    const ipam = { ...(opts.ipv4Address ? { IPv4Address: opts.ipv4Address } : {}), ...(opts.ipv6Address ? { IPv6Address: opts.ipv6Address } : {}) };
    await docker(
      () =>
        this.dial({
          path: `/networks/${encodeURIComponent(network)}/connect`,
          method: "POST",
          body: { Container: container, EndpointConfig: { Aliases: opts.aliases ?? [], ...(Object.keys(ipam).length > 0 ? { IPAMConfig: ipam } : {}) } },
        }),
      `connect ${container} to ${network}`,
    );
  }

  async disconnectNetwork(network: string, container: string): Promise<void> {
    await docker(() => this.dial({ path: `/networks/${encodeURIComponent(network)}/disconnect`, method: "POST", body: { Container: container, Force: false } }), `disconnect ${container} from ${network}`);
  }

  async listNetworks(filter: { labels?: Record<string, string | undefined> } = {}): Promise<NetworkInfo[]> {
    const labels = labelFilters(filter.labels);
    const list = await docker(() => this.dial<DockerNetworkInspect[]>({ path: "/networks", method: "GET", query: { filters: JSON.stringify(labels.length > 0 ? { label: labels } : {}) } }), "list networks");
    // docker's own none and host networks are not networks a stack can have.
    return list.filter((n) => n.Driver !== "null" && n.Driver !== "host").map(networkInfo);
  }

  // ---- volumes

  async createVolume(spec: { name: string; labels: Record<string, string>; driver?: string; driverOpts?: Record<string, string> }): Promise<VolumeInfo> {
    const n = this.mark(spec.name, "create");
    const v = await docker(
      () => this.dial<DockerVolumeInspect>({ path: "/volumes/create", method: "POST", body: { Name: spec.name, Driver: spec.driver ?? "local", DriverOpts: spec.driverOpts ?? {}, Labels: spec.labels } }),
      `create volume ${spec.name}`,
    );
    await this.eventCame(spec.name, "create", n);
    return volumeInfo(v);
  }

  async removeVolume(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await docker(() => this.dial({ path: `/volumes/${encodeURIComponent(name)}`, method: "DELETE", query: { force: opts.force ?? false } }), `remove volume ${name}`);
    await this.eventCame(name, "destroy");
  }

  async inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    const raw = await dockerOrUndefined(() => this.dial<DockerVolumeInspect>({ path: `/volumes/${encodeURIComponent(name)}`, method: "GET" }));
    return raw && volumeInfo(raw);
  }

  async listVolumes(filter: { labels?: Record<string, string | undefined> } = {}): Promise<VolumeInfo[]> {
    const labels = labelFilters(filter.labels);
    const res = await docker(() => this.dial<{ Volumes: DockerVolumeInspect[] | null }>({ path: "/volumes", method: "GET", query: { filters: JSON.stringify(labels.length > 0 ? { label: labels } : {}) } }), "list volumes");
    return (res.Volumes ?? []).map(volumeInfo);
  }

  // ---- events

  onEvent(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  close(): Promise<void> {
    this.closed = true;
    this.events?.destroy();
    for (const w of this.waiters) w.resolve();
    this.waiters.clear();
    return Promise.resolve();
  }
}
