// The Engine: what the reconciler, the daemon and the CLI may ask of a
// container backend. The embedded engine (content store + overlay snapshotter
// + runc/conmon + bridge networks + cgroups) is the first backend; a Docker
// daemon (dockerode) is the second. Backends are wired in engine/index.ts only.
//
// Vocabulary, as in Docker:
// - An image is a read-only stack of layers plus a config (entrypoint, cmd,
//   env, user, working dir, exposed ports, healthcheck, stop signal), named by
//   references (`docker.io/library/busybox:latest`) and identified by the
//   digest of its config (the image ID).
// - A container is created from an image and a ContainerSpec; its life is
//   created -> running <-> paused -> exited (or dead) -> removed, and
//   restarting while a restart is under way. The engine never restarts a
//   container by itself: restart policies belong to the daemon's supervisor,
//   so that backoff and "stopped by the user" are decided in one place.
// - Containers find their stack through labels (compose's, the constants of
//   model/labels.ts), never through names: names are for people.
// - A network is a bridge with a subnet; containers attach with aliases and
//   resolve each other by name through the engine's DNS.
// - A volume is a named directory that outlives containers.
//
// Every method is idempotent where Docker's is (stopping a stopped container
// succeeds; removing a missing one fails with EngineError "not-found").

export type ContainerState = "created" | "running" | "paused" | "restarting" | "exited" | "dead" | "removing";

export interface ImageConfig {
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  env: string[];
  workingDir: string | undefined;
  user: string | undefined;
  exposedPorts: string[];
  volumes: string[];
  labels: Record<string, string>;
  stopSignal: string | undefined;
  healthcheck: { test: string[]; intervalMs?: number; timeoutMs?: number; retries?: number; startPeriodMs?: number } | undefined;
}

export interface ImageInfo {
  /** sha256 digest of the image config: Docker's image ID. */
  id: string;
  /** References pointing at it, normalized (docker.io/library/busybox:latest). */
  repoTags: string[];
  repoDigests: string[];
  created: string | undefined;
  /** Sum of the compressed layer sizes. */
  size: number;
  /** Sum of the unpacked layer sizes: the SIZE `images` shows, as docker's. */
  unpackedSize?: number;
  /** Its layers by chain ID with their unpacked sizes: images share layers, and `system df` counts each once. */
  layers?: { chainId: string; size: number }[];
  architecture: string;
  os: string;
  variant?: string;
  config: ImageConfig;
  /** When the reference it was looked up by was last pulled, else when the image was added here (ISO time; pull_policy daily/weekly/every_). */
  pulledAt?: string;
}

/** One row of `system df`: how many, how many in use, bytes, and the bytes a prune could free. */
export interface DiskUsageFigures {
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

export interface EngineDiskUsage {
  images: DiskUsageFigures;
  containers: DiskUsageFigures;
  volumes: DiskUsageFigures;
  buildCache: DiskUsageFigures;
}

export interface MountSpec {
  /** image: an image's files, read-only (compose's `type: image`). */
  type: "bind" | "volume" | "tmpfs" | "image";
  /** Host path (bind), volume name (volume; undefined = anonymous), image reference (image, present locally), unused for tmpfs. */
  source: string | undefined;
  target: string;
  readOnly: boolean;
  /** Bind: create the host path when missing (compose's default for short syntax). */
  createHostPath?: boolean;
  /** Volume: do not copy the image's content into a new volume. */
  noCopy?: boolean;
  /** Volume, image: mount this existing directory of the volume or image (relative, inside it) instead of its root. */
  subpath?: string;
  /**
   * Volume: an anonymous volume (the engine names it when source is
   * undefined). With a source, it is one carried over from the container this
   * one replaces (compose's recreate): the new container becomes its owner,
   * so its `rm -v` removes it. The container's record keeps every anonymous
   * mount with its name, so the next recreate can carry it over again.
   */
  anonymous?: boolean;
  tmpfsSize?: number;
  tmpfsMode?: number;
  propagation?: string;
}

/**
 * A file the engine writes for one container and mounts read-only at
 * `target`: compose's secrets and configs that are not a plain bind of a host
 * file (an environment variable's value, inline content, or a file given its
 * own owner and mode).
 */
export interface ContainerFile {
  target: string;
  /** The text to write; or */
  content?: string;
  /** a host file to copy (read when the container is created). */
  source?: string;
  uid: number;
  gid: number;
  mode: number;
}

export interface PortBinding {
  containerPort: number;
  protocol: "tcp" | "udp" | "sctp";
  /** Host port or "start-end"; undefined = an ephemeral port. */
  hostPort: string | undefined;
  hostIp: string | undefined;
}

/**
 * docker's default network (compose's `network_mode: bridge`): the engine creates it on first
 * use, no stack owns it (`down` leaves it), and it has no service-name DNS.
 */
export const DEFAULT_BRIDGE_NETWORK = "bridge";

export interface NetworkAttachment {
  aliases: string[];
  ipv4Address: string | undefined;
  /** compose's ipv6_address, on a network with IPv6. */
  ipv6Address?: string | undefined;
  macAddress?: string | undefined;
  /** The non-internal network with the highest value holds the default route (compose's gw_priority). */
  gwPriority?: number | undefined;
}

export interface ContainerLink {
  /** A container name, or a name on the container's networks (a service alias). */
  target: string;
  alias: string;
  /** The target must be on one of this container's networks when it is created (compose's external_links), else create fails. */
  required?: boolean;
}

export interface HealthcheckConfig {
  /** ["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]. */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

export interface CommitOptions {
  /** REPOSITORY[:TAG] for the new image; untagged without. */
  ref?: string;
  author?: string;
  /** The history entry's comment (docker commit -m). */
  message?: string;
  /** Dockerfile instructions applied to the config (docker commit -c): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL. */
  changes?: string[];
  /** Freeze a running container while its changes are read, thawed after even on failure (default true, as docker commit -p). */
  pause?: boolean;
}

export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  /** undefined: the image's. [] entrypoint: none. */
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  /** KEY=VALUE, added to (and overriding) the image's env. */
  env: string[];
  workingDir: string | undefined;
  user: string | undefined;
  hostname: string | undefined;
  domainname: string | undefined;
  tty: boolean;
  openStdin: boolean;
  /**
   * docker's StdinOnce (`docker run -i`, compose's `run`): the end of the
   * attached client's stdin closes the process's stdin, so a `cat` sees EOF.
   * Without it the stdin stays open for the next attach.
   */
  stdinOnce?: boolean;
  mounts: MountSpec[];
  /**
   * Anonymous volumes of the container this one replaces (compose's recreate),
   * by mount target: each is mounted again where the new container has an
   * anonymous volume or an image VOLUME at that target, instead of a new one.
   */
  inheritVolumes?: { name: string; target: string }[];
  tmpfs: string[];
  /**
   * Docker's --volumes-from: every volume and bind of these containers (by id
   * or name) at the same targets, read-only with mode "ro", read-write with
   * "rw", else as there; a mount of this spec at the same target wins.
   */
  volumesFrom?: { container: string; mode?: "ro" | "rw" }[];
  /** Files made for this container (secrets and configs), each mounted read-only at its target. */
  files?: ContainerFile[];
  /** Network name -> attachment. Empty with networkMode "none". */
  networks: Record<string, NetworkAttachment>;
  /** "bridge" (default: attach to `networks`), "none", "host", "container:<id>". */
  networkMode: string;
  ports: PortBinding[];
  exposedPorts: string[];
  extraHosts: string[];
  /**
   * compose's `dns`. On a network of the engine the container's resolv.conf
   * keeps naming the network's DNS server, which forwards to these the names
   * it does not know (as dockerd's 127.0.0.11 does); with the host's network
   * (or none) they are its nameservers.
   */
  dns: string[];
  dnsSearch: string[];
  /** compose's `dns_opt`: resolv.conf's `options` (ndots:2, timeout:1, rotate ...). */
  dnsOptions: string[];
  /** compose's links and external_links: `alias` resolves, for this container only, as `target` (a container name or network alias) does. */
  links: ContainerLink[];
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  /**
   * Docker's `--security-opt seccomp=`: undefined for Docker's default profile
   * (none for a privileged container), "unconfined" for no filter, else the
   * JSON text of a profile in Docker's format.
   */
  seccompProfile?: string | undefined;
  /** Docker's `--security-opt no-new-privileges`: setuid binaries and file capabilities grant nothing. */
  noNewPrivileges?: boolean | undefined;
  readOnly: boolean;
  init: boolean;
  /** Docker's PidMode: undefined (a new namespace), "host", "container:<id or name>". */
  pidMode?: string | undefined;
  /** Docker's IpcMode: undefined or "private"/"shareable" (a new namespace), "none" (no /dev/shm), "host", "container:<id or name>". */
  ipcMode?: string | undefined;
  /** Docker's UTSMode: undefined (a new namespace) or "host". */
  utsMode?: string | undefined;
  /** Docker's CgroupnsMode: undefined (the engine's default, private) or "host". */
  cgroupnsMode?: "host" | "private" | undefined;
  /** The cgroup the container's cgroup goes under, instead of the engine's. */
  cgroupParent?: string | undefined;
  /** Supplementary groups: names from the image's /etc/group, or numbers. */
  groupAdd?: string[] | undefined;
  /** Host devices made available at a path in the container. */
  devices?: { source: string; target: string; permissions: string }[] | undefined;
  /** Device cgroup rules, "c 1:3 rwm". */
  deviceCgroupRules?: string[] | undefined;
  /** A runtime of the engine's configuration; undefined: its default. */
  runtime?: string | undefined;
  /** "os/arch[/variant]" the image must be. */
  platform?: string | undefined;
  stopSignal: string | undefined;
  stopTimeoutMs: number;
  shmSize: number | undefined;
  sysctls: Record<string, string>;
  ulimits: Record<string, { soft: number; hard: number }>;
  resources: {
    memory: number | undefined;
    cpus: number | undefined;
    cpuShares: number | undefined;
    cpuset: string | undefined;
    pids: number | undefined;
    /** Soft limit, bytes (memory.low on v2, memory.soft_limit_in_bytes on v1). */
    memoryReservation?: number | undefined;
    /** Memory plus swap, bytes; -1 = unlimited swap; undefined = twice the memory limit, as Docker. */
    memorySwap?: number | undefined;
    /** v1 only. */
    memorySwappiness?: number | undefined;
    /** v1 only (memory.oom_control). */
    oomKillDisable?: boolean | undefined;
    /** CFS period and quota, microseconds. */
    cpuPeriod?: number | undefined;
    cpuQuota?: number | undefined;
    /** Real-time period and runtime, microseconds (CONFIG_RT_GROUP_SCHED, v1 only). */
    cpuRtPeriod?: number | undefined;
    cpuRtRuntime?: number | undefined;
    /** Block IO weight and throttles; devices by host path. */
    blkio?: BlkioLimits | undefined;
  };
  /** The process's /proc/self/oom_score_adj (-1000..1000); undefined = 0. */
  oomScoreAdj?: number | undefined;
  healthcheck: HealthcheckConfig | undefined;
  /** Log rotation, json-file style; driver "none" keeps no log at all (docker's `--log-driver none`). */
  log: { maxSize: number | undefined; maxFiles: number | undefined; driver?: "json-file" | "none" };
  /** OCI annotations of the container's runtime config (compose's `annotations`). */
  annotations?: Record<string, string>;
}

export interface BlkioLimits {
  weight: number | undefined;
  weightDevice: { path: string; weight: number }[];
  readBps: { path: string; rate: number }[];
  writeBps: { path: string; rate: number }[];
  readIops: { path: string; rate: number }[];
  writeIops: { path: string; rate: number }[];
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  imageId: string;
  labels: Record<string, string>;
  state: ContainerState;
  pid: number | undefined;
  exitCode: number | undefined;
  oomKilled: boolean;
  error: string | undefined;
  createdAt: string;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  restartCount: number;
  /** The container was stopped on request (stop, or a recreate/down on its way), not ended by itself. */
  stopRequested?: boolean;
  command: string[];
  /** Its main process has a terminal (docker inspect's Config.Tty): what `attach` joins without the stack file. */
  tty: boolean;
  /** Its main process's stdin is kept open for `attach` (Config.OpenStdin). */
  openStdin: boolean;
  ports: (PortBinding & { hostPort: string })[];
  /** ipv6Address: on a network with IPv6 (embedded engine). */
  networks: Record<string, { ipAddress: string; aliases: string[]; macAddress: string | undefined; ipv6Address?: string | undefined }>;
  /** Named volumes the container mounts (its anonymous ones carry its id in their com.docker.volume.anonymous label). */
  volumes?: string[];
  /** Its anonymous volumes (the stack's and the image's VOLUMEs) by mount target: what a recreate carries over. */
  anonymousVolumes?: { name: string; target: string }[];
}

export interface ContainerFilter {
  /** Include stopped containers (docker ps -a). */
  all?: boolean;
  /** Every label must match; a value of undefined only requires the key. */
  labels?: Record<string, string | undefined>;
  name?: string;
}

export interface LogOptions {
  follow?: boolean;
  tail?: number;
  /** Only entries at or after this time (ms since epoch). */
  sinceMs?: number;
  untilMs?: number;
  stdout?: boolean;
  stderr?: boolean;
  signal?: AbortSignal;
}

export interface LogEntry {
  stream: "stdout" | "stderr";
  /** ms since epoch. */
  time: number;
  /** The full timestamp as recorded (RFC 3339 with nanoseconds). */
  timestamp: string;
  line: string;
  /** The line goes on in the next entry of the same stream: it was longer than 16 KiB (split as Docker splits them) or never ended. */
  partial?: true;
}

export interface ExecSpec {
  cmd: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  /** Every capability, as `docker exec --privileged` (compose's privileged hooks). */
  privileged?: boolean;
  tty?: boolean;
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  signal?: AbortSignal;
}

/** `docker attach`: a client joined to a running container's main process. */
export interface AttachSpec {
  /**
   * Bytes for the main process's stdin, when the container was created with
   * openStdin (otherwise not read). Its end leaves the process's stdin open
   * for another attach (compose's services), or closes it with stdinOnce.
   */
  stdin?: NodeJS.ReadableStream;
  /** The process's output from the moment of attaching on (nothing older); a tty's whole output. */
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Detaches: the container keeps running. */
  signal?: AbortSignal;
}

export interface Attachment {
  /** Resolves when the attachment is over: the container stopped (its output all written) or the caller detached. */
  readonly ended: Promise<void>;
  /** Sets the size of the container's tty (a container created with tty); ignored without one. */
  resize(rows: number, cols: number): Promise<void>;
}

export interface ContainerStats {
  time: number;
  /** Cumulative CPU time in nanoseconds; cpu % is derived from two samples. */
  cpuUsageNs: number;
  systemUsageNs: number;
  onlineCpus: number;
  memoryUsage: number;
  memoryLimit: number;
  pids: number;
  blockRead: number;
  blockWrite: number;
  netRx: number;
  netTx: number;
}

export interface NetworkSpec {
  name: string;
  labels: Record<string, string>;
  driver: string;
  internal: boolean;
  subnet: string | undefined;
  gateway: string | undefined;
  /** Dynamic addresses only from this part of the subnet. */
  ipRange?: string | undefined;
  /** name -> address: reserved, never handed out. */
  auxAddresses?: Record<string, string> | undefined;
  /** Driver options (compose's driver_opts); see engine/network/bridge-options.ts for the bridge's. */
  options?: Record<string, string> | undefined;
  /** Dual stack (compose's enable_ipv6): an IPv6 subnet beside the IPv4 one; `subnet6` is required (no default IPv6 pool). */
  enableIpv6?: boolean | undefined;
  subnet6?: string | undefined;
  gateway6?: string | undefined;
}

export interface NetworkInfo {
  id: string;
  name: string;
  driver: string;
  labels: Record<string, string>;
  subnet: string;
  gateway: string;
  internal: boolean;
  /** Host bridge device (embedded engine). */
  bridge: string | undefined;
  /** The IPv6 subnet and gateway of a dual-stack network. */
  subnet6?: string | undefined;
  gateway6?: string | undefined;
}

export interface VolumeInfo {
  name: string;
  driver: string;
  labels: Record<string, string>;
  mountpoint: string;
  createdAt: string;
}

export type EngineEvent =
  | { type: "container"; action: "create" | "start" | "die" | "stop" | "kill" | "pause" | "unpause" | "destroy" | "oom" | "restart"; id: string; name: string; labels: Record<string, string>; exitCode?: number; time: number }
  | { type: "container"; action: "health_status"; id: string; name: string; labels: Record<string, string>; status: "starting" | "healthy" | "unhealthy"; time: number }
  | { type: "image"; action: "pull" | "delete" | "tag" | "untag"; id: string; ref: string; time: number }
  | { type: "network"; action: "create" | "destroy" | "connect" | "disconnect"; id: string; name: string; container?: string; time: number }
  | { type: "volume"; action: "create" | "destroy"; name: string; time: number };

export interface PullProgress {
  /** Layer digest (short), or "" for whole-image messages. */
  id: string;
  status: string; // "Pulling fs layer", "Downloading", "Download complete", "Already exists", "Pull complete" ...
  current?: number;
  total?: number;
}

/**
 * docker build's request (`tscompose build`, compose `build:`, `image build`).
 * Paths are absolute on the engine's host (the daemon resolves them from the
 * stack file); every relative path inside the Dockerfile is the context's.
 */
export interface BuildRequest {
  /** The context directory. */
  contextDir: string;
  /** The Dockerfile: absolute, or relative to contextDir; default "Dockerfile". Ignored when `dockerfileInline` is set. */
  dockerfile?: string;
  /** compose `dockerfile_inline`: the Dockerfile's text. */
  dockerfileInline?: string;
  /** --build-arg K=V; a value of undefined takes the daemon's environment value as docker does for `--build-arg K`. */
  buildArgs?: Record<string, string | undefined>;
  /** --target: the stage to build (default the last). */
  target?: string;
  /** Normalized references to tag the result with (the first is the "main" tag). */
  tags: string[];
  /** LABELs added to the result's config. */
  labels?: Record<string, string>;
  /** --no-cache: no step comes from the cache. */
  noCache?: boolean;
  /** --pull: pull every base image again even when present. */
  pull?: boolean;
  /** RUN's network when the step says nothing (--network): "default" (a build bridge with NAT), "none", "host". */
  network?: "default" | "none" | "host";
  /** /dev/shm size of RUN steps, bytes (compose build.shm_size). */
  shmSize?: number;
  /** --add-host: `name:ip` lines added to RUN steps' /etc/hosts. */
  extraHosts?: string[];
  /** RUN --mount=type=secret sources by id: a host file's path, or a value (compose `environment:` secrets). */
  secrets?: Record<string, { file: string } | { value: string }>;
  /** --build-context / compose additional_contexts: a name usable in FROM/--from as a directory ("dir") or an image ("image"). */
  additionalContexts?: Record<string, { dir: string } | { image: string }>;
  /** --platform: only the host's platform is buildable. */
  platform?: string;
  signal?: AbortSignal;
  onProgress?: (p: BuildProgress) => void;
}

/**
 * Build progress, shaped after BuildKit's plain output: one vertex per step
 * ("[stage 2/5] RUN make"), started, cached or done with a duration, and the
 * step's output lines in between.
 */
export type BuildProgress =
  | {
      type: "step";
      /** Stable within a build: the order steps were planned in, from 1. */
      id: number;
      /** Docker's vertex name: `[build 2/5] RUN make`, `[internal] load build context`. */
      name: string;
      state: "started" | "cached" | "done" | "error";
      /** Set with "done", "cached" and "error". */
      durationMs?: number;
      error?: string;
    }
  | { type: "output"; id: number; stream: "stdout" | "stderr"; text: string }
  | { type: "warning"; message: string };

export interface BuildResult {
  /** The image ID (sha256:... of the config). */
  imageId: string;
  /** The frontend's warnings (unused build args ...). */
  warnings: string[];
}

/** A registry's login for a host ("127.0.0.1:5000", "docker.io"), as a client's config.json gives it; undefined: anonymous. */
export type RegistryLogin = (host: string) => { username: string; password: string } | undefined;

export interface PushOptions {
  onProgress?: (p: PullProgress) => void;
  /** The client's logins (docker's X-Registry-Auth): the daemon serves users whose config.json is not its own. */
  credentials?: RegistryLogin;
}

/** docker import's options. */
export interface ImportOptions {
  /** The reference to tag the image with. */
  ref?: string;
  /** The history comment (docker import -m); default "Imported from -". */
  message?: string;
  /** Dockerfile instructions applied to the config (docker import -c: see engine/image/changes.ts). */
  changes?: string[];
  platform?: string;
}

export interface PullOptions {
  platform?: string;
  /** The client's logins (docker's X-Registry-Auth), before the engine's own. */
  credentials?: RegistryLogin;
  onProgress?: (p: PullProgress) => void;
  signal?: AbortSignal;
}

/** A host path to copy into a container: a file, a symlink (copied as the link), or a directory (recursively). */
export interface CopyEntry {
  hostPath: string;
  /** Absolute path in the container; its parents are created as needed. */
  containerPath: string;
}

export interface CopyToContainerRequest {
  copies: CopyEntry[];
  /** Absolute container paths removed (recursively) before the copies; missing ones are fine. */
  removals: string[];
  /** Host paths inside copied directories to leave out (ignore rules). */
  exclude?: (hostPath: string) => boolean;
  /**
   * Who owns what is written: by default the container's user (compose's
   * sync); `docker cp` gives root (0:0), or with -a the source's uid/gid ("source").
   */
  owner?: { uid: number; gid: number } | "source";
}

/** `docker cp CONTAINER:SRC DST`: a container path copied to a host path (the final name, not a directory to copy into). */
export interface CopyFromContainerRequest {
  containerPath: string;
  hostPath: string;
  /** -L: SRC's last component, when a symlink, is copied as what it points to (inside the container). */
  followLink?: boolean;
  /** -a: the container's uid/gid are kept; otherwise the files belong to the daemon's user. */
  archive?: boolean;
}

/** What a container path is, resolved inside the container (undefined: not there). */
export type ContainerPathKind = "directory" | "file" | "symlink" | "other";

export interface CopyToContainerResult {
  /** Files and links written. */
  copied: number;
  removed: number;
}

export interface RemoveContainerOptions {
  force?: boolean;
  /** Also remove its anonymous volumes (rm -v). */
  volumes?: boolean;
  handOver?: string;
}

/**
 * What a backend can do where backends differ; a suite or a caller asks here
 * rather than by kind. Missing (the embedded engine, the fake): all true.
 */
export interface EngineCapabilities {
  /** A container has its address on a network from its create on (the embedded engine); dockerd gives it at start. */
  addressesAtCreate: boolean;
  /** Anonymous volumes carry VOLUME_LABEL.anonymous and are labelled on a hand-over (removeContainer's handOver); dockerd 20.10's volume labels are fixed at create. */
  labelledAnonymousVolumes: boolean;
  /** buildImage runs Dockerfiles (absent: not yet; the conformance suite's build test runs only where true). */
  imageBuilds?: boolean;
}

export interface Engine {
  readonly kind: "embedded" | "docker";
  readonly capabilities?: EngineCapabilities;

  pullImage(ref: string, opts?: PullOptions): Promise<ImageInfo>;
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  /** all: intermediate images too (docker images -a), where the engine keeps them apart; the embedded engine's rows come from its store instead. */
  listImages(opts?: { all?: boolean }): Promise<ImageInfo[]>;
  removeImage(ref: string, opts?: { force?: boolean }): Promise<string[]>;
  /**
   * docker build: runs the Dockerfile of `req.contextDir` and tags the result.
   * A failing step is an EngineError of kind "invalid" whose message names
   * `Dockerfile:LINE` and the step, in BuildKit's words.
   */
  buildImage(req: BuildRequest): Promise<BuildResult>;
  /** docker tag: `target` names the image `source` names. */
  tagImage(source: string, target: string): Promise<void>;
  /** docker image inspect: the image in docker's inspect shape (Id, RepoTags, Config ...); undefined when there is none. */
  inspectImageDetails(ref: string): Promise<Record<string, unknown> | undefined>;
  /** docker save: the images `refs` name, as one tar in docker save's format, written to `out`. */
  saveImages(refs: string[], out: NodeJS.WritableStream): Promise<void>;
  /** docker load: a docker save tar (the embedded engine also takes an OCI layout tar); returns docker's "Loaded image: ..." lines. */
  loadImages(input: NodeJS.ReadableStream): Promise<string[]>;
  /** docker push. */
  pushImage(ref: string, opts?: PushOptions): Promise<void>;
  /** docker import: a root filesystem tar as a one-layer image; returns its ID. */
  importImage(input: NodeJS.ReadableStream, opts?: ImportOptions): Promise<string>;
  /** docker login's check: the registry (docker.io when undefined) takes these credentials, as this engine reaches it; unauthorized when not. */
  checkRegistryLogin(server: string | undefined, credentials: { username: string; password: string }): Promise<void>;
  /** Removes dangling images (all: every image no container uses); the report is docker's "untagged:"/"deleted:" lines. Optional. */
  pruneImages?(opts?: { all?: boolean }): Promise<{ report: string[]; reclaimed: number }>;

  createContainer(spec: ContainerSpec): Promise<ContainerInfo>;
  startContainer(id: string): Promise<void>;
  /** Sends the stop signal, waits up to timeoutMs, then SIGKILL. */
  stopContainer(id: string, opts?: { timeoutMs?: number; signal?: string }): Promise<void>;
  killContainer(id: string, signal?: string): Promise<void>;
  pauseContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
  /**
   * `handOver` (a recreate): the container's anonymous volumes are kept and
   * labelled for its replacement (VOLUME_LABEL.handover = the key,
   * handoverTarget = the mount target) before the container goes; the next
   * create of that key inherits them even if the daemon dies in between.
   */
  removeContainer(id: string, opts?: RemoveContainerOptions): Promise<void>;
  inspectContainer(idOrName: string): Promise<ContainerInfo | undefined>;
  listContainers(filter?: ContainerFilter): Promise<ContainerInfo[]>;
  /**
   * Shows an exited container as restarting and counts the restart, while the
   * daemon's supervisor waits out its backoff. Optional: a backend that
   * restarts containers by itself does not need it.
   */
  markRestarting?(id: string): Promise<void>;
  /** Resolves when the container is not running any more. */
  waitContainer(id: string, opts?: { signal?: AbortSignal }): Promise<{ exitCode: number; oomKilled: boolean }>;
  logs(id: string, opts?: LogOptions): AsyncIterable<LogEntry>;
  exec(id: string, spec: ExecSpec): Promise<{ exitCode: number }>;
  /**
   * Attaches to a running container's main process; resolves once attached
   * (output written after that reaches spec.stdout/stderr). A container that
   * is not running is a conflict, with docker's words.
   */
  attachContainer(id: string, spec: AttachSpec): Promise<Attachment>;
  stats(id: string): Promise<ContainerStats>;
  /**
   * Copies host files into the container's filesystem (`docker cp`, compose's
   * develop.watch sync), owned by the container's user as compose's sync
   * leaves them, modes and mtimes kept. Container paths resolve inside the
   * container: none of its symlinks leads a write outside it.
   */
  copyToContainer(id: string, req: CopyToContainerRequest): Promise<CopyToContainerResult>;
  /** Copies a container path out to the host, read inside the container (its links never lead to the host's files); running or not. */
  copyFromContainer(id: string, req: CopyFromContainerRequest): Promise<CopyToContainerResult>;
  /**
   * `docker export`: the container's own file system (not its volumes or other
   * mounts) as a tar written to hostPath; with a path, that path's tree as
   * `docker cp CONTAINER:PATH -` streams it (mounts included).
   */
  exportContainer(id: string, hostPath: string, opts?: { path?: string; followLink?: boolean }): Promise<void>;
  /**
   * `docker commit`: the container's changes to its image's file system as a
   * new image (its settings and `changes` in the config, a history entry).
   * Returns the new image's ID (sha256:...).
   */
  commitContainer(id: string, opts?: CommitOptions): Promise<string>;
  /** Stats a container path inside the container (the last component followed when followLink). */
  statContainerPath(id: string, path: string, opts?: { followLink?: boolean }): Promise<ContainerPathKind | undefined>;
  top(id: string): Promise<{ titles: string[]; processes: string[][] }>;
  /** Bytes each container wrote to its own filesystem layer, by container id (`system df`). Optional: not every backend can tell. */
  containerSizes?(): Promise<Record<string, number>>;
  /** `system df` as the engine counts it itself (dockerd's /system/df), so the figures are its own CLI's; without it the daemon counts from the listings. */
  diskUsage?(): Promise<EngineDiskUsage>;

  createNetwork(spec: NetworkSpec): Promise<NetworkInfo>;
  removeNetwork(name: string): Promise<void>;
  inspectNetwork(name: string): Promise<NetworkInfo | undefined>;
  /** docker network connect: a container (running or stopped) joins a network, answering there to its names and `aliases`. */
  connectNetwork(network: string, container: string, opts: { aliases?: string[]; ipv4Address?: string }): Promise<void>;
  /** docker network disconnect: the container's endpoint on the network goes (address, names, interface). */
  disconnectNetwork(network: string, container: string): Promise<void>;
  listNetworks(filter?: { labels?: Record<string, string | undefined> }): Promise<NetworkInfo[]>;

  createVolume(spec: { name: string; labels: Record<string, string>; driver?: string; driverOpts?: Record<string, string> }): Promise<VolumeInfo>;
  removeVolume(name: string, opts?: { force?: boolean }): Promise<void>;
  inspectVolume(name: string): Promise<VolumeInfo | undefined>;
  listVolumes(filter?: { labels?: Record<string, string | undefined> }): Promise<VolumeInfo[]>;

  /** Subscribes to engine events; returns the unsubscribe function. */
  onEvent(listener: (e: EngineEvent) => void): () => void;
  close(): Promise<void>;
}

// The error vocabulary lives in errors.ts, which every layer may import.
export { EngineError } from "./errors.js";
export type { ErrorKind } from "./errors.js";
