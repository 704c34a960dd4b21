// The desired state: a stack file after loading, fully normalized.
//
// src/stack produces a StackSpec; the reconciler plans from it. It lives in
// model/, outside both, so neither owns the other's vocabulary (lint keeps
// this folder free of imports from any layer); nothing here
// has optional shapes ("string or list", "short or long form"): every service
// field has one form, with compose-spec defaults applied. Durations are in
// nanoseconds-free milliseconds, sizes in bytes, so that consumers never parse.

export interface StackSpec {
  /** Project name, normalized as compose does: lowercase, [a-z0-9_-], starting with a letter or digit. */
  name: string;
  /** Directory relative paths are resolved against (compose's --project-directory). */
  workingDir: string;
  /** Absolute paths of the stack files, in merge order. */
  configFiles: string[];
  services: Record<string, ServiceSpec>;
  networks: Record<string, NetworkSpec>;
  volumes: Record<string, VolumeSpec>;
  secrets: Record<string, FileObjectSpec>;
  configs: Record<string, FileObjectSpec>;
  /** Top-level x-* keys, kept as written. */
  extensions: Record<string, unknown>;
  /** Keys outside services that tscompose does not implement (src/stack/support.ts), as written; paths from the file's root. */
  unsupported: UnsupportedKey[];
}

/**
 * A compose-spec key the model has no field for yet, carried as written so that
 * `config` prints it, the config hash covers it, and `up` refuses it where it
 * would be dropped.
 */
export interface UnsupportedKey {
  /** Key path relative to its service (or to the file's root for StackSpec.unsupported). */
  path: (string | number)[];
  /** The value as written (interpolated). */
  value: unknown;
  /** Why the embedded engine cannot honour it. */
  reason: string;
  /** true: commands that create containers refuse the stack; false: printed and ignored, as docker compose ignores it. */
  refused: boolean;
  /** Where it was written, for the error; undefined when the source is not known. */
  location: { file: string; line: number; column: number } | undefined;
}

export type RestartPolicy = "no" | "always" | "on-failure" | "unless-stopped";
export type DependsOnCondition = "service_started" | "service_healthy" | "service_completed_successfully";
/** every_<duration>: pull again when the local copy was pulled longer ago than that (as daily and weekly). */
export type PullPolicy = "always" | "never" | "missing" | "build" | "if_not_present" | "refresh" | "daily" | "weekly" | `every_${string}`;

export interface ServiceSpec {
  name: string;
  image: string | undefined;
  build: BuildSpec | undefined;
  containerName: string | undefined;
  hostname: string | undefined;
  domainname: string | undefined;
  /** undefined: use the image's ENTRYPOINT / CMD. [] for entrypoint means "reset". */
  entrypoint: string[] | undefined;
  command: string[] | undefined;
  workingDir: string | undefined;
  user: string | undefined;
  /** Resolved environment: env_file contents first, then `environment`. null: named without a value and unset on the host. */
  environment: Record<string, string | null>;
  envFiles: EnvFileRef[];
  /** `labels`, over the contents of the `label_file`s (later files win, `labels` wins over all). */
  labels: Record<string, string>;
  /** label_file paths, absolute, as written (for `config`). */
  labelFiles: string[];
  /** OCI annotations of the container's config.json. */
  annotations: Record<string, string>;
  /** false: `up` in the foreground does not show this service's output (its log is still kept). */
  attach: boolean;
  /** Execs run in each container after it started; a failure fails the service's start (the container keeps running). */
  postStart: ServiceHook[];
  /** Execs run in a running container before a stop, down or recreate stops it (not when it exits by itself). */
  preStop: ServiceHook[];
  ports: PortSpec[];
  expose: string[];
  volumes: ServiceVolumeSpec[];
  tmpfs: string[];
  /** `service`, `service:ro`, `container:NAME[:ro]`: the mounts of that container, as written. */
  volumesFrom: string[];
  networks: Record<string, ServiceNetworkSpec>;
  networkMode: string | undefined;
  dependsOn: Record<string, DependsOnSpec>;
  healthcheck: HealthcheckSpec | undefined;
  restart: RestartPolicy;
  /** Max restarts for on-failure[:max]; undefined = unlimited. */
  restartMaxRetries: number | undefined;
  deploy: DeploySpec;
  /** Number of containers wanted (deploy.replicas, or scale, default 1). */
  replicas: number;
  profiles: string[];
  pullPolicy: PullPolicy;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  /** security_opt as written, a seccomp profile's path made absolute (for `config`). */
  securityOpt: string[];
  /** From security_opt: undefined for Docker's default profile, "unconfined", or the JSON text of the profile file. */
  seccompProfile: string | undefined;
  /** From security_opt: no-new-privileges. */
  noNewPrivileges: boolean;
  readOnly: boolean;
  init: boolean;
  tty: boolean;
  stdinOpen: boolean;
  /** undefined: the image's STOPSIGNAL, else SIGTERM. */
  stopSignal: string | undefined;
  stopGracePeriodMs: number;
  shmSize: number | undefined;
  sysctls: Record<string, string>;
  ulimits: Record<string, { soft: number; hard: number }>;
  extraHosts: string[];
  /** Addresses of the container's own resolvers (the network's DNS server forwards to them). */
  dns: string[];
  dnsSearch: string[];
  /** resolv.conf options (dns_opt), as written. */
  dnsOpt: string[];
  /** links as written: "service" or "service:alias" (each also an implicit depends_on). */
  links: string[];
  /** external_links as written: "container" or "container:alias". */
  externalLinks: string[];
  /** The MAC of the container's first network (a network's own mac_address wins there). */
  macAddress: string | undefined;
  memLimit: number | undefined;
  cpus: number | undefined;
  cpuShares: number | undefined;
  cpuset: string | undefined;
  pidsLimit: number | undefined;
  /** mem_reservation, else deploy.resources.reservations.memory: a soft limit (memory.low / soft_limit_in_bytes). */
  memReservation: number | undefined;
  /** memswap_limit: memory plus swap, bytes; -1 = unlimited swap. */
  memswapLimit: number | undefined;
  memSwappiness: number | undefined;
  oomKillDisable: boolean;
  oomScoreAdj: number | undefined;
  /** CFS period and quota, microseconds. */
  cpuPeriod: number | undefined;
  cpuQuota: number | undefined;
  /** Real-time scheduling period and runtime, microseconds. */
  cpuRtPeriod: number | undefined;
  cpuRtRuntime: number | undefined;
  blkioConfig: BlkioSpec | undefined;
  platform: string | undefined;
  /** pid: undefined (its own), "host", "service:NAME" or "container:NAME". */
  pid: string | undefined;
  /** ipc: undefined (docker's default, private), "none", "private", "shareable", "host", "service:NAME", "container:NAME". */
  ipc: string | undefined;
  /** uts: undefined (its own) or "host". */
  uts: string | undefined;
  /** userns_mode: undefined or "host" (the only ones the embedded engine runs: it never remaps). */
  usernsMode: string | undefined;
  /** cgroup namespace: undefined (the engine's default, private), "host" or "private". */
  cgroup: "host" | "private" | undefined;
  cgroupParent: string | undefined;
  /** Supplementary groups, by name (looked up in the image's /etc/group) or number. */
  groupAdd: string[];
  devices: DeviceSpec[];
  /** Device cgroup rules, "TYPE MAJOR:MINOR ACCESS" (c 1:3 rwm). */
  deviceCgroupRules: string[];
  /** A runtime named in the daemon's configuration; undefined: its default (runc). */
  runtime: string | undefined;
  secrets: ServiceFileRef[];
  configs: ServiceFileRef[];
  logging: { driver: string | undefined; options: Record<string, string> } | undefined;
  /** Our own extensions (`x-tscompose`), kept as written for `config`. */
  xTscompose: Record<string, unknown>;
  /** `x-tscompose`, parsed: what the daemon does beyond compose. Not in the config hash. */
  supervision: SupervisionSpec;
  /** compose-spec `develop` (watch rules). Not in the config hash. */
  develop: DevelopSpec | undefined;
  /** Other service-level x-* keys. */
  extensions: Record<string, unknown>;
  /** Keys without a field here that tscompose does not implement yet (src/stack/support.ts), as written. */
  unsupported: UnsupportedKey[];
  /** Stable hash of everything that requires a new container when it changes. */
  configHash: string;
}

/** blkio_config; devices by host path, rates in bytes (or IOs) per second. */
export interface BlkioSpec {
  weight: number | undefined;
  weightDevice: { path: string; weight: number }[];
  deviceReadBps: BlkioRate[];
  deviceWriteBps: BlkioRate[];
  deviceReadIops: BlkioRate[];
  deviceWriteIops: BlkioRate[];
}

export interface BlkioRate {
  path: string;
  rate: number;
}

/** A host device made available in the container (docker's --device). */
export interface DeviceSpec {
  source: string;
  target: string;
  /** Some of r, w, m. */
  permissions: string;
}

/** A service's `build:` as the builder takes it (the keys the engine refuses stay in ServiceSpec.unsupported). */
export interface BuildSpec {
  /** An absolute directory, or a remote context (git, http) as written, which `up` refuses. */
  context: string;
  dockerfile: string | undefined;
  dockerfileInline?: string;
  /** A value-less arg took the environment's value; undefined when the environment has none (it is then sent unset, as compose does). */
  args: Record<string, string | undefined>;
  target: string | undefined;
  /** More names to tag the image with, besides the service's image. */
  tags?: string[];
  labels?: Record<string, string>;
  noCache?: boolean;
  pull?: boolean;
  network?: string;
  shmSize?: number;
  /** `name:ip` lines. */
  extraHosts?: string[];
  /** Names of top-level secrets, usable by RUN --mount=type=secret,id=NAME. */
  secrets?: string[];
  /** name -> a directory (absolute) or `docker-image://REF`, as written. */
  additionalContexts?: Record<string, string>;
  platforms?: string[];
}

export interface EnvFileRef {
  path: string;
  required: boolean;
  /** "raw": every line is KEY=VALUE taken literally (no quotes, escapes, comments or interpolation). */
  format: "raw" | undefined;
}

/** A compose lifecycle hook (post_start, pre_stop, develop.watch exec): an exec in the service's container. */
export interface ServiceHook {
  command: string[];
  user: string | undefined;
  privileged: boolean;
  workingDir: string | undefined;
  environment: Record<string, string | null>;
}

export interface PortSpec {
  /** Container port. */
  target: number;
  /** Host port or range ("8080" or "8080-8081"); undefined = ephemeral. */
  published: string | undefined;
  hostIp: string | undefined;
  protocol: "tcp" | "udp" | "sctp";
  mode: "ingress" | "host";
  name: string | undefined;
  /** A hint for tools (http, grpc ...); no effect on the container. */
  appProtocol: string | undefined;
}

export interface ServiceVolumeSpec {
  type: "bind" | "volume" | "tmpfs" | "image" | "npipe" | "cluster";
  /** Named volume, absolute host path for binds, an image reference for image; undefined for anonymous volumes and tmpfs. */
  source: string | undefined;
  target: string;
  readOnly: boolean;
  bind: { propagation: string | undefined; createHostPath: boolean; selinux: string | undefined } | undefined;
  volume: { nocopy: boolean; subpath: string | undefined } | undefined;
  tmpfs: { size: number | undefined; mode: number | undefined } | undefined;
  /** type image: mount this directory of the image instead of its root. */
  image: { subpath: string | undefined } | undefined;
  consistency: string | undefined;
}

export interface ServiceNetworkSpec {
  aliases: string[];
  ipv4Address: string | undefined;
  ipv6Address: string | undefined;
  /** Order of attachment: the highest first (eth0). */
  priority: number;
  macAddress: string | undefined;
  /** Which network's gateway is the default route: the highest among non-internal networks (compose 2.33+). */
  gwPriority: number;
}

export interface DependsOnSpec {
  condition: DependsOnCondition;
  /** Restart this service when the dependency is recreated or restarted. */
  restart: boolean;
  /** When false, a missing/failed dependency only warns. */
  required: boolean;
}

export interface SupervisionSpec {
  /** Restart a container whose health turns unhealthy, with the restart backoff. */
  restartOnUnhealthy: boolean;
  /** A daemon-side probe whose success makes the container healthy. */
  readiness: ReadinessSpec | undefined;
  /** Run as a one-off container on a cron schedule instead of keeping it up. */
  schedule: ScheduleSpec | undefined;
}

export type ReadinessProbe =
  | { kind: "tcp"; port: number }
  | { kind: "http"; port: number; path: string }
  | { kind: "log"; pattern: string };

export interface ReadinessSpec {
  probe: ReadinessProbe;
  intervalMs: number;
  timeoutMs: number;
}

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

export interface DevelopSpec {
  watch: DevelopWatchRule[];
}

export interface DevelopWatchRule {
  /** Absolute path on the host. */
  path: string;
  action: "sync" | "rebuild" | "restart" | "sync+restart" | "sync+exec";
  /** Path in the container (sync actions). */
  target: string | undefined;
  /** sync+exec: what runs in each container after a sync. */
  exec: ServiceHook | undefined;
  /** Sync the whole path once when watching starts (sync actions). */
  initialSync: boolean;
  /** Patterns relative to path, as compose reads them (gitignore-like). */
  ignore: string[];
}

export interface HealthcheckSpec {
  /** ["NONE"] disables the image's check; otherwise ["CMD", ...] or ["CMD-SHELL", "..."]. undefined = inherit the image's test. */
  test: string[] | undefined;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
  disable: boolean;
}

export interface DeploySpec {
  /** The job modes run to completion; the embedded engine runs them as replicated, Swarm as jobs. */
  mode: "replicated" | "global" | "replicated-job" | "global-job";
  replicas: number | undefined;
  resources: {
    limits: ResourceSpec | undefined;
    reservations: ResourceSpec | undefined;
  };
  restartPolicy:
    | {
        condition: "none" | "on-failure" | "any";
        delayMs: number | undefined;
        maxAttempts: number | undefined;
        windowMs: number | undefined;
      }
    | undefined;
  labels: Record<string, string>;
}

export interface ResourceSpec {
  cpus: number | undefined;
  memory: number | undefined;
  pids: number | undefined;
}

export interface ServiceFileRef {
  source: string;
  /** Absolute: a relative target is under /run/secrets (secrets) or / (configs), as in compose. */
  target: string;
  /** Numeric, as compose requires. */
  uid: string | undefined;
  gid: string | undefined;
  mode: number | undefined;
}

export interface NetworkSpec {
  /** Name on the host: `<project>_<key>` unless `name:` or external says otherwise. */
  name: string;
  driver: string;
  driverOpts: Record<string, string>;
  external: boolean;
  internal: boolean;
  attachable: boolean;
  enableIpv6: boolean;
  ipam: {
    driver: string | undefined;
    config: { subnet: string | undefined; gateway: string | undefined; ipRange: string | undefined; auxAddresses: Record<string, string> }[];
    /** Accepted and passed on as docker's default IPAM does: it reads none of them. */
    options: Record<string, string>;
  };
  labels: Record<string, string>;
}

export interface VolumeSpec {
  name: string;
  driver: string;
  driverOpts: Record<string, string>;
  external: boolean;
  labels: Record<string, string>;
}

export interface FileObjectSpec {
  name: string;
  /** Absolute path of the file backing it; undefined for external or environment-backed ones. */
  file: string | undefined;
  environment: string | undefined;
  /** The value of `environment`'s variable, read at load; undefined when it is not set. */
  environmentValue: string | undefined;
  content: string | undefined;
  external: boolean;
}
