// The daemon's HTTP API over its unix socket: paths and message shapes,
// shared by the daemon, the CLI and the TUI. Streams are NDJSON: one JSON
// object per line, so a client can act on each as it comes.
//
// This file is the wire format, and only this file: it imports nothing from
// engine/, reconciler/ or model/. The shapes below that mirror engine or
// planner values (a container, its stats, an event, a progress message) are
// deliberate copies; the daemon fills them in explicit mappers
// (src/daemon/to-wire.ts), so a change in an internal type is a compile error
// there, never a silent change of what clients receive.

/**
 * The API's version: every path starts with /<API_VERSION>, and every answer
 * carries it in the API_VERSION_HEADER. The client refuses an answer from a
 * daemon of another version (an old daemon still running after an upgrade),
 * rather than misread it. Bump it with any incompatible change of a shape here.
 */
export const API_VERSION = "v1";

/** The response header that carries API_VERSION, as docker's API-Version. */
export const API_VERSION_HEADER = "api-version";

/** GET /ping: who answers. */
export interface PingResponse {
  /** The daemon's package version. */
  version: string;
  pid: number;
  /** The engine it runs on ("embedded", "docker" ...). */
  engine: string;
}

/**
 * The engine a client asks for (--engine, -H and the TLS flags, or their
 * environment), sent with every request as JSON in this header when the user
 * said anything; absent: the daemon's default. A stack's own engine (its
 * record's, since its first `up`) wins for every command on the stack; an
 * `up` that asks for another one is a conflict.
 */
export const ENGINE_HEADER = "x-tscompose-engine";

export interface EngineChoice {
  /** "embedded", "docker" or "swarm". */
  kind?: string;
  /** DOCKER_HOST's syntax: unix:///path, tcp://host:port. */
  host?: string;
  /** TLS to a tcp:// host: absolute paths of the CA, client certificate and key (read by the daemon). */
  tls?: { ca: string; cert: string; key: string };
}

/** The `code` of a stream error for a service the request names that the stack does not have. */
export const NO_SUCH_SERVICE = "no-such-service";

/** The `code` of the error a container command gets for a stack on the swarm engine (swarm schedules its containers; there is none of ours to reach). */
export const SWARM_STACK = "swarm-stack";

/** One task of a stack on the swarm engine (GET /stacks/:name/tasks), as `docker stack ps` shows it. */
export interface TaskView {
  id: string;
  /** `<stack>_<service>.<slot>`. */
  name: string;
  service: string;
  image: string;
  node: string;
  desiredState: string;
  /** The task's state: new, pending, ..., running, complete, failed, shutdown. */
  state: string;
  error: string;
  /** When the current state began (RFC 3339). */
  since: string;
  /** A replicated service's slot (global tasks have none: they are one per node). */
  slot?: number | undefined;
}

/**
 * GET /stacks/:name/swarm: a stack on the swarm engine as the TUI shows it,
 * its services with their tasks, and the swarm's nodes, in one answer.
 */
export interface SwarmStackView {
  /** The manager that answered (DOCKER_HOST's syntax). */
  manager: string;
  services: SwarmServiceView[];
  nodes: SwarmNodeView[];
}

/** One service of a swarm stack, as `docker stack services` shows it, with its tasks (docker service ps: the newest first per slot). */
export interface SwarmServiceView {
  id: string;
  /** `<stack>_<service>`. */
  name: string;
  /** The key in the stack file. */
  service: string;
  mode: "replicated" | "global" | "replicated-job" | "global-job";
  running: number;
  /** Replicas (a job's completions); for global modes, the nodes eligible. */
  desired: number;
  image: string;
  /** The service's version (swarm's, bumped by every update). */
  version: number;
  /** UpdateStatus.State: updating, paused, completed, rollback_started, rollback_paused, rollback_completed; "" when never updated. */
  updateState: string;
  tasks: TaskView[];
}

/** One node of the swarm, as `docker node ls` shows it, with the tasks of the stack on it. */
export interface SwarmNodeView {
  id: string;
  hostname: string;
  role: "manager" | "worker";
  /** active, pause, drain. */
  availability: string;
  /** ready, down, disconnected, unknown. */
  status: string;
  /** Leader, Reachable, Unreachable; "" for a worker. */
  managerStatus: string;
  /** Tasks of the stack on the node that should run (desired state running), by name. */
  tasks: string[];
}

/** POST /stacks/:name/services/:service/scale: docker service scale (swarm stacks). */
export interface SwarmScaleRequest {
  replicas: number;
}

/**
 * What POST /stacks/:name/services/:service/{scale,update,rollback} did on a
 * swarm stack: update is `docker service update --force`, rollback `docker
 * service rollback`. The update was sent with the service's version; one made
 * meanwhile by someone else is read again and the change sent once more.
 */
export interface SwarmUpdateAnswer {
  service: string;
  /** The service's version the change was made from. */
  version: number;
  warnings: string[];
}

/** Everything the daemon needs to load a stack the way the CLI did. */
export interface ProjectRef {
  files: string[];
  projectName?: string | undefined;
  projectDirectory?: string | undefined;
  envFiles: string[];
  profiles: string[];
  env: Record<string, string | undefined>;
  cwd: string;
}

export interface UpRequest {
  project: ProjectRef;
  options: UpRequestOptions;
  /** The client's docker config.json: the images up pulls are pulled with its logins (as docker compose up uses the docker CLI's). */
  auth?: DockerConfigLocation;
}

/** What an `up` asks for: the planner's options (to-wire.ts checks they stay the same), then the daemon's own. */
export interface UpRequestOptions {
  /** Only these services (and, unless noDeps, what they depend on). */
  services?: string[];
  noDeps?: boolean;
  forceRecreate?: boolean;
  noRecreate?: boolean;
  /** up --always-recreate-deps: the dependencies of the services named are recreated too (for this up only). */
  alwaysRecreateDeps?: boolean;
  /** Replicas per service, overriding the stack (up --scale). */
  scale?: Record<string, number>;
  removeOrphans?: boolean;
  /** Pull policy for every service; default: each service's pull_policy. */
  pull?: "always" | "missing" | "never";
  /** up -t: the stop timeout of the containers this up stops (recreates, scale-downs), instead of each service's stop_grace_period. */
  timeoutMs?: number;
  /** Start containers that are created or exited (`tscompose up`); the daemon's resync leaves them to the restart policy. */
  startStopped?: boolean;
  /** Create what is missing or changed, start nothing (tscompose create); a later `up` starts them. */
  noStart?: boolean;
  /** up -V: recreated containers get new anonymous volumes instead of their predecessors'. */
  renewAnonVolumes?: boolean;
  /** up --build ("always") and --no-build ("never"); default: build what is missing or changed. */
  build?: "always" | "never";
  /** Wait until services are running/healthy (up --wait). */
  wait?: boolean;
  waitTimeoutMs?: number;
  /** Keep watching the stack files in the daemon (up --watch -d). */
  watch?: boolean;
  /** Services the caller will refer to (up --exit-code-from): an unknown one fails the request before anything changes. */
  mustExist?: string[] | undefined;
  /** Plan and report the actions without applying any (--dry-run): nothing is touched, not even the stack's record. */
  dryRun?: boolean;
}

export interface DownRequest {
  /**
   * The project to take down: by name (-p; a stack the daemon knows, or found by labels),
   * or by files (the daemon loads them and takes the name from them). With both, files
   * that do not load are ignored, as compose does when -p names the project.
   */
  projectName?: string | undefined;
  project?: ProjectRef | undefined;
  /** dryRun: plan and report the actions without applying any (--dry-run). */
  /** removeImages: down --rmi, "local" (images built under the default `<project>-<service>` name) or "all" (every service's image). */
  options: { removeVolumes?: boolean; removeOrphans?: boolean; removeImages?: "local" | "all"; timeoutMs?: number; services?: string[]; dryRun?: boolean };
}

/** What a plan's action does: the planner's action kinds. */
export type ActionKind =
  | "pull"
  | "build"
  | "create-network"
  | "create-volume"
  | "create"
  | "start"
  | "restart"
  | "stop"
  | "remove"
  | "wait"
  | "remove-network"
  | "remove-volume"
  | "remove-image";

/** One action of an up/down/run, as it starts and ends. */
export interface ActionMessage {
  type: "action";
  id: string;
  kind: ActionKind;
  target: string;
  /** The object's name as users see it (container, network or volume name; image; service), so a client can print progress without loading the stack. */
  name: string;
  status: "started" | "done" | "failed" | "skipped";
  message?: string;
}

/** A pull's progress, as docker's: one layer (or "" for the whole image) at a time. */
export interface PullProgress {
  /** Layer digest (short), or "" for whole-image messages. */
  id: string;
  /** "Pulling fs layer", "Downloading", "Download complete", "Already exists", "Pull complete" ... */
  status: string;
  current?: number;
  total?: number;
}

export interface PullMessage {
  type: "pull";
  image: string;
  progress: PullProgress;
}

/** A build's progress, in BuildKit's vertex shape (a copy of engine/types.ts BuildProgress). */
export type BuildProgress =
  | { type: "step"; id: number; name: string; state: "started" | "cached" | "done" | "error"; durationMs?: number; error?: string }
  | { type: "output"; id: number; stream: "stdout" | "stderr"; text: string }
  | { type: "warning"; message: string };

/** One service's build progress (tscompose build, up building what it needs). */
export interface BuildMessage {
  type: "build";
  service: string;
  progress: BuildProgress;
}

/** POST /stacks/build: `tscompose build [SERVICE...]`, streamed like up. */
export interface StackBuildRequest {
  project: ProjectRef;
  options: StackBuildOptions;
}

export interface StackBuildOptions {
  /** Only these services (default: every service with build:). */
  services?: string[];
  /** --with-dependencies: also what the named services depend on. */
  withDependencies?: boolean;
  noCache?: boolean;
  pull?: boolean;
  /** --build-arg K=V (a value-less K took the CLI's environment). */
  buildArgs?: Record<string, string>;
}

/** POST /images/build: `tscompose image build` (docker build), streamed like up; the build's messages have service "". */
export interface ImageBuildRequest {
  /** Absolute (the CLI resolves it). */
  contextDir: string;
  /** -f: absolute (docker resolves it from the current directory). */
  dockerfile?: string;
  tags: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  pull?: boolean;
  labels?: Record<string, string>;
}

export type StreamMessage =
  | ActionMessage
  | PullMessage
  | BuildMessage
  | { type: "warning"; message: string }
  | { type: "info"; message: string }
  | {
      type: "result";
      ok: boolean;
      failed: { id: string; target: string; error: string; /** an ErrorKind (model/errors.ts) */ kind?: string }[];
      project: string;
      /** Services with `attach: false`: an attached `up` does not show their output. */
      notAttached?: string[];
      /** The stack runs on swarm: there are no containers of ours to attach to (up is detached there, as docker stack deploy). */
      detached?: boolean;
    }
  | { type: "error"; message: string; code?: string; /** an ErrorKind (model/errors.ts) */ kind?: string };

export interface StackSummary {
  name: string;
  status: string;
  configFiles: string[];
  running: number;
  total: number;
  watching: boolean;
  /** Scheduled services (x-tscompose schedule) of the stack. */
  jobs?: number;
  /** The engine it runs on: "embedded", "docker" or "swarm". */
  engine: string;
  /** The docker engine's dockerd, the swarm engine's manager (DOCKER_HOST's syntax). */
  engineHost?: string | undefined;
}

export type ContainerState = "created" | "running" | "paused" | "restarting" | "exited" | "dead" | "removing";

export type HealthStatus = "starting" | "healthy" | "unhealthy";

/** A published port: hostPort is the port (or "start-end" range) actually bound. */
export interface PublishedPort {
  containerPort: number;
  protocol: "tcp" | "udp" | "sctp";
  hostPort: string;
  hostIp: string | undefined;
}

/** A container as the engine reports it: the fields every container answer shares. */
export interface ContainerFields {
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
  /** Its main process has a terminal (docker inspect's Config.Tty). */
  tty: boolean;
  /** Its main process's stdin is kept open for attach (Config.OpenStdin). */
  openStdin: boolean;
  ports: PublishedPort[];
  networks: Record<string, { ipAddress: string; aliases: string[]; macAddress: string | undefined }>;
  /** Named volumes the container mounts. */
  volumes?: string[];
}

/** GET /containers: a container with what its compose labels say, and its health. */
export interface ContainerView extends ContainerFields {
  project: string | undefined;
  service: string | undefined;
  number: number | undefined;
  health: HealthStatus | undefined;
  /** The engine it runs on: "embedded" or "docker". */
  engine?: string | undefined;
}

/** One health check run, as docker inspect's State.Health.Log. */
export interface HealthLogEntry {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

/** GET /containers/:id: a container with its health and the last health checks' results. */
export interface ContainerInspect extends ContainerFields {
  health: HealthStatus | undefined;
  healthLog: HealthLogEntry[];
}

/** GET /containers/:id/top: `ps` inside the container. */
export interface ContainerTop {
  titles: string[];
  processes: string[][];
}

export type ContainerAction = "create" | "start" | "die" | "stop" | "kill" | "pause" | "unpause" | "destroy" | "oom" | "restart";

export type EngineEvent =
  | { type: "container"; action: ContainerAction; id: string; name: string; labels: Record<string, string>; exitCode?: number; time: number }
  | { type: "container"; action: "health_status"; id: string; name: string; labels: Record<string, string>; status: HealthStatus; time: number }
  | { type: "image"; action: "pull" | "delete" | "tag" | "untag"; id: string; ref: string; time: number }
  | { type: "network"; action: "create" | "destroy" | "connect" | "disconnect"; id: string; name: string; container?: string; time: number }
  | { type: "volume"; action: "create" | "destroy"; name: string; time: number };

/** GET /events: what the engine did, and what the daemon did with stacks and jobs. */
export type DaemonEvent =
  | EngineEvent
  | { type: "stack"; action: "up" | "down" | "converged" | "reload" | "error" | "develop"; project: string; message?: string; time: number }
  | JobEvent;

/**
 * A scheduled job's run started, finished (with its exit code), or was
 * skipped by the overlap policy (or queued behind the running one). The
 * run comes without its log: GET /stacks/:name/jobs has it.
 */
export interface JobEvent {
  type: "job";
  action: "start" | "finish" | "skip" | "queue";
  project: string;
  service: string;
  run: JobRun;
  time: number;
}

/** One run of a scheduled service (x-tscompose schedule), as kept in its history. */
export interface JobRun {
  /** The cron slot in UTC, compact (`20250101T030000Z`): unique per service, and part of the container's name. */
  id: string;
  /** The cron slot this run is for (ISO 8601). */
  tick: string;
  /** interrupted: the daemon stopped before the container was started, so that slot did not run (and will not). */
  status: "running" | "succeeded" | "failed" | "skipped" | "interrupted";
  container: string | undefined;
  containerId: string | undefined;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  exitCode: number | undefined;
  /** Why it was skipped or interrupted, or why its container could not start. */
  reason: string | undefined;
  /** The last lines of its output, stdout and stderr interleaved, kept after its container is removed. */
  log: string[] | undefined;
}

/** GET /stacks/:name/jobs: one entry per scheduled service. */
export interface JobView {
  project: string;
  service: string;
  schedule: ScheduleSpec;
  /** ISO; undefined when the schedule is not active (stack down, daemon starting). */
  nextRun: string | undefined;
  running: JobRun[];
  /** The slot of a run waiting for the running one (overlap: queue). */
  queued: string | undefined;
  /** Finished and skipped runs, newest first: at most schedule.history of each. */
  history: JobRun[];
}

/** A scheduled service's schedule (x-tscompose schedule). */
export interface ScheduleSpec {
  /** Cron expression (5 or 6 fields, node-cron syntax). */
  cron: string;
  /** IANA time zone; undefined = the daemon's. */
  timezone: string | undefined;
  /** What a run due while the previous one still runs does. */
  overlap: "skip" | "queue" | "allow";
  /** How many finished runs to keep, with their exit codes and logs. */
  history: number;
}

/** GET /stacks/:name/detail: what the daemon wants of a stack it knows (src/daemon/stack-inspect.ts). */
export interface StackDetail {
  name: string;
  /** How to load it again: enough for a client to bring it up after a down. */
  project: ProjectRef;
  options: UpRequest["options"];
  services: ServiceDetail[];
}

export interface ServiceDetail {
  name: string;
  /** Containers wanted: replicas, or up --scale; 0 for a scheduled service. */
  desired: number;
  scheduled: boolean;
  image: string | undefined;
  configHash: string;
  /** The normalized service as `config` prints it. */
  config: Record<string, unknown>;
}

/** GET /stacks/:name/pending: the stack files as they are now, and what converging to them would do. */
export interface PendingChange {
  /** The files do not load, or the plan is impossible. */
  error: string | undefined;
  services: { name: string; configHash: string; config: Record<string, unknown> }[];
  /** The plan's actions, one line each; empty when the stack is converged. */
  actions: string[];
}

/** GET /containers/:id/stats: one sample of a container's counters. */
export interface ContainerStats {
  /** ms since epoch. */
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

/** GET /stats: one sample per running container, so a client needs one request per refresh. */
export interface StatsSample {
  id: string;
  stats: ContainerStats;
}

/** GET /containers/:id/logs: one line of a container's output. */
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

/**
 * POST /containers/:id/exec, as an Upgrade to the attach protocol
 * (src/daemon/attach.ts). The body is JSON, sent before the upgrade completes.
 */
export interface ExecRequest {
  cmd: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  tty?: boolean;
  /** exec -d: start it and end the session at once with exit code 0. */
  detach?: boolean;
  /** exec --privileged: the process gets every capability the engine has (docker exec --privileged). */
  privileged?: boolean;
  /** The client's terminal size, given to the exec's pty. */
  rows?: number;
  cols?: number;
}

/**
 * POST /containers/:id/attach (upgraded to the attach protocol): the main
 * process's output from now on, and its stdin when the container has one.
 * The session ends with the container's exit code, or when the client leaves
 * (the container keeps running).
 */
export interface AttachRequest {
  /** Send the client's stdin frames to the process (false: attach --no-stdin). */
  stdin?: boolean;
  /** Forward the client's signal frames to the container (attach --sig-proxy, the default). */
  sigProxy?: boolean;
  /** The client's terminal size, for a container with a tty. */
  rows?: number;
  cols?: number;
}

/** A port to publish (run -p): hostPort undefined is an ephemeral port. */
export interface PortBinding {
  containerPort: number;
  protocol: "tcp" | "udp" | "sctp";
  /** Host port or "start-end"; undefined = an ephemeral port. */
  hostPort: string | undefined;
  hostIp: string | undefined;
}

/**
 * POST /stacks/run, as an Upgrade to the attach protocol: a one-off container
 * of a service (`tscompose run`). Dependencies are started by the CLI first,
 * through /stacks/up, as compose's run does through its up path.
 */
export interface RunRequest {
  project: ProjectRef;
  service: string;
  /** Replaces the service's command; undefined keeps it. */
  command?: string[];
  /** Replaces the entrypoint ([] clears it); undefined keeps it. */
  entrypoint?: string[];
  /** KEY=VALUE entries added to the service's environment. */
  env?: string[];
  user?: string;
  workingDir?: string;
  name?: string;
  tty?: boolean;
  /**
   * run -i (compose's default): the container's stdin is open and the
   * session's stdin frames go to it; their end closes it (docker's StdinOnce).
   */
  interactive?: boolean;
  /** Remove the container (and its anonymous volumes) when it exits. */
  rm?: boolean;
  /** Start it and end the session once it runs, with its name in a "container" message. */
  detach?: boolean;
  /** Published ports (run -p); with servicePorts also the service's own. */
  ports?: PortBinding[];
  servicePorts?: boolean;
  /** Give it the service's network aliases too (run --use-aliases). */
  useAliases?: boolean;
  labels?: Record<string, string>;
  pull?: "always" | "missing" | "never";
  /** run --build: build the service's image (it has build:) even when it exists; without it, only a missing one is built. */
  build?: boolean;
  /** The client's docker config.json: the service's image is pulled with its logins. */
  auth?: DockerConfigLocation;
  /** run -v: short volume specs (bind sources absolute) added to the service's; one at the same target replaces the service's. */
  volumes?: string[];
  /** run --cap-add / --cap-drop: added to the service's cap_add / cap_drop. */
  capAdd?: string[];
  capDrop?: string[];
  /** run --remove-orphans: remove the containers of services the stack file no longer has. */
  removeOrphans?: boolean;
}

/**
 * POST /containers/:id/copy: `tscompose cp`, one way or the other. The paths
 * are as the user wrote them (a trailing "/" or "/." matters: docker cp's
 * rules, cp-target.ts); the host path is absolute (the CLI resolves it).
 */
export interface CopyRequest {
  direction: "toContainer" | "fromContainer";
  hostPath: string;
  containerPath: string;
  /** -L: SRC's last component, when a symlink, is copied as what it points to. */
  followLink?: boolean;
  /** -a: keep the source's uid/gid (else root in the container; the daemon's user on the host). */
  archive?: boolean;
}

export interface CopyResponse {
  /** Files and links written. */
  copied: number;
  /** The path SRC was copied as. */
  target: string;
}

/** POST /containers/:id/export: `tscompose export -o FILE`; the daemon writes the tar to hostPath (absolute). */
export interface ExportRequest {
  hostPath: string;
}

/** POST /containers/:id/commit (a container name or ID, as docker's POST /commit): `tscompose commit`. */
export interface CommitRequest {
  /** REPOSITORY[:TAG] of the new image. */
  ref?: string;
  author?: string;
  message?: string;
  /** Dockerfile instructions (-c): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL. */
  changes?: string[];
  /** Pause a running container during the commit (default true). */
  pause?: boolean;
}

/** The answer to POST /containers/:id/commit: the new image's ID (sha256:...). */
export interface CommitResult {
  id: string;
}

/** POST /containers/:id/wait, as Docker's: the exit code of a container that is not running (any more). */
export interface ContainerWaitResponse {
  StatusCode: number;
}

// ---- volumes and networks (docker volume/network commands, the stack's `volumes`)

/** GET /volumes, /volumes/:name: a volume and the containers using it (ids). */
export interface VolumeView {
  name: string;
  driver: string;
  labels: Record<string, string>;
  mountpoint: string;
  createdAt: string;
  scope: "local";
  usedBy: string[];
}

/** POST /volumes: `volume create`; no name makes a random one, as docker's. */
export interface VolumeCreateRequest {
  name?: string;
  driver?: string;
  labels?: Record<string, string>;
}

/** GET /networks, /networks/:name: a network and the containers attached to it. */
export interface NetworkView {
  id: string;
  name: string;
  driver: string;
  labels: Record<string, string>;
  subnet: string;
  gateway: string;
  internal: boolean;
  scope: "local";
  /** A dual-stack network's IPv6 subnet and gateway (enable_ipv6). */
  subnet6?: string;
  gateway6?: string;
  containers: Record<string, { name: string; ipv4Address: string; macAddress: string | undefined; ipv6Address?: string }>;
}

/** POST /networks: `network create`. */
export interface NetworkCreateRequest {
  name: string;
  driver?: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  labels?: Record<string, string>;
}

/** POST /networks/:name/connect (docker network connect). */
export interface NetworkConnectRequest {
  container: string;
  aliases?: string[];
  ipv4Address?: string;
}

/** POST /networks/:name/disconnect (docker network disconnect). */
export interface NetworkDisconnectRequest {
  container: string;
  /** docker's -f: a container that is gone or not attached is no error. */
  force?: boolean;
}

/** POST /volumes/prune, /networks/prune: what went, and the bytes freed (volumes). */
export interface PruneResult {
  deleted: string[];
  reclaimedBytes: number;
}

/** GET /system/df: docker system df's rows, sizes in bytes. */
export interface DiskUsageRow {
  type: "Images" | "Containers" | "Local Volumes" | "Build Cache";
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** POST /system/prune: what each step removed, and the bytes freed. */
export interface SystemPruneResult {
  containers: string[];
  networks: string[];
  volumes: string[];
  /** docker's lines: "untagged: REF", "deleted: sha256:...". */
  images: string[];
  reclaimedBytes: number;
}

// --- images
// pull, push, images, image inspect, tag, rmi, image prune, save, load, import,
// login and logout: the docker CLI's image verbs, served by the daemon that
// owns the image store. Plain wire shapes, built from the engine's image types
// in one place (src/daemon/image-views.ts); nothing here comes from engine/.

/**
 * Where the client's docker config.json is ($DOCKER_CONFIG, else $HOME/.docker),
 * from the client's environment: a pull or push uses the credentials the user
 * logged in with, and login and logout write that file, as the docker CLI does.
 */
export interface DockerConfigLocation {
  dockerConfig?: string;
  home?: string;
}

/** POST /images/pull: an NDJSON stream of ImageProgressMessage. */
export interface ImagePullRequest {
  ref: string;
  platform?: string;
  auth?: DockerConfigLocation;
}

/** POST /images/push: an NDJSON stream of ImageProgressMessage. */
export interface ImagePushRequest {
  ref: string;
  auth?: DockerConfigLocation;
}

/**
 * One line of a pull's or push's progress, as docker's jsonmessage has them
 * (id: a short layer digest, or "" for whole-image lines); then "done" with the
 * name the docker CLI prints last, or "error".
 */
export type ImageProgressMessage =
  | { type: "progress"; id: string; status: string; current?: number; total?: number }
  | { type: "done"; name: string }
  | { type: "error"; message: string; code?: string; /** an ErrorKind (model/errors.ts) */ kind?: string };

/** GET /images/rows?filter=REF[&all=1]: one row per repository:tag of each image (docker images), newest image first; intermediate images (a build step's, untagged, some image's parent) only with all. */
export interface ImageRow {
  /** "sha256:<hex>", the image ID. */
  id: string;
  /** Familiar repository ("busybox", "example.com/team/app"), or "<none>". */
  repository: string;
  tag: string;
  /** The repository's digest ("sha256:..."), or "<none>". */
  digest: string;
  /** ISO 8601, or undefined when the image does not say. */
  created: string | undefined;
  /** Unpacked bytes: the SIZE docker shows. */
  size: number;
}

/** GET /images/inspect?ref=REF: docker image inspect's object for one image, as docker prints it (404: no such image). */
export type ImageInspectView = Record<string, unknown>;

/** POST /images/tag: docker tag SOURCE TARGET. */
export interface ImageTagRequest {
  source: string;
  target: string;
}

/** POST /images/remove: docker rmi of one image. */
export interface ImageRemoveRequest {
  ref: string;
  force?: boolean;
}

/** docker's lines: "Untagged: REF", "Deleted: sha256:...". */
export interface ImageRemoveResult {
  report: string[];
}

/** POST /images/prune?all=1: docker's "untagged:"/"deleted:" lines and the bytes freed. */
export interface ImagePruneResult {
  report: string[];
  reclaimedBytes: number;
}

/** POST /images/load (the body is the tar): "Loaded image: busybox:latest" lines. */
export interface ImageLoadResult {
  messages: string[];
}

/** POST /images/import?ref=&message=&platform=&change= (the body is the tar): the new image's ID. */
export interface ImageImportResult {
  id: string;
}

/** POST /auth/login: the credentials are checked against the registry, then stored in the user's config.json. */
export interface LoginRequest {
  server?: string;
  username: string;
  password: string;
  auth?: DockerConfigLocation;
}

export interface LoginResult {
  /** The config.json written (the CLI warns that the password is stored there unencrypted). */
  file: string;
}

/** POST /auth/logout. */
export interface LogoutRequest {
  server?: string;
  auth?: DockerConfigLocation;
}

export interface LogoutResult {
  /** Whether there were credentials to remove. */
  removed: boolean;
  /** The registry as docker names it in its answer ("localhost:5000", or Docker Hub's key). */
  name: string;
}

/** GET /stacks/:name/images: the stack's `images` (docker compose images), one row per container. */
export interface StackImageRow {
  ContainerName: string;
  Repository: string;
  Tag: string;
  /** The image ID ("sha256:..."). */
  ID: string;
  /** Unpacked bytes, 0 when the image is gone. */
  Size: number;
}
