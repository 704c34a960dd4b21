// The OCI runtime config (config.json) of a container, built the way Docker
// builds it (moby daemon/oci_linux.go + oci/defaults.go) from the
// ContainerSpec, the image's config and what the caller resolved: the rootfs,
// the user (from the rootfs's passwd), mounts, the /etc files, the network
// namespace. Pure: every input that needs I/O is resolved by the caller, so
// the whole Docker-compatibility surface is unit-testable.
import { EngineError } from "../types.js";
import type { BlkioLimits, ContainerSpec, ImageConfig } from "../types.js";
import { capabilitySet, processCapabilities } from "./caps.js";
import { assembleMounts, defaultMounts, parseTmpfs } from "./mounts.js";
import type { ResolvedMount } from "./mounts.js";
import { parseDeviceRule } from "./devices.js";
import { ociNamespaces, sharesHostUts, shmMount } from "./namespaces.js";
import type { JoinPaths } from "./namespaces.js";
import type { OciBlockIO, OciDevice, OciDeviceRule, OciMount, OciResources, OciSpec, RootfsMount } from "./oci.js";
import { containerRlimits } from "./rlimits.js";
import { containerSeccomp } from "./seccomp.js";
import type { OciSeccomp } from "./seccomp.js";
import type { HostRlimits } from "./rlimits.js";
import { ociUser, type ResolvedUser } from "./user.js";

export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Where Docker mounts its init (tini) inside the container. */
export const INIT_PATH = "/sbin/docker-init";

/**
 * Docker's masked paths (moby daemon/pkg/oci/defaults.go): files become
 * /dev/null, directories an empty read-only tmpfs; runc skips those the host
 * lacks. /proc/interrupts and the per-CPU thermal_throttle directories
 * (hostMaskedPaths) since GHSA-6fw5-f8r9-fgfm, powercap since GHSA-jq35-85cj-fj4p:
 * they leak host activity (side channels) or let a container throttle the host.
 */
export const MASKED_PATHS = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/interrupts",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/sys/devices/virtual/powercap",
  "/sys/firmware",
];

export const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/**
 * Docker's device cgroup: deny everything, then allow the devices every
 * container gets (null, zero, full, random, urandom, tty, console, ptmx,
 * pts) plus mknod of any char/block device (creating is not opening).
 */
const DEFAULT_DEVICE_RULES: OciDeviceRule[] = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" },
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" },
  { allow: true, type: "c", major: 5, minor: 1, access: "rwm" },
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" },
  { allow: true, type: "c", major: 136, access: "rwm" },
  { allow: true, type: "c", access: "m" },
  { allow: true, type: "b", access: "m" },
];

/**
 * Docker's entrypoint/cmd rules (moby daemon/commit.go merge +
 * getEntrypointAndArgs):
 * - no entrypoint in the spec: the image's entrypoint, and the spec's cmd if
 *   non-empty, else the image's cmd;
 * - an entrypoint in the spec replaces the image's AND drops the image's cmd
 *   (only the spec's cmd follows it); [] or [""] means no entrypoint at all
 *   (`docker run --entrypoint ""`), leaving the spec's cmd alone.
 */
export function resolveCommand(spec: Pick<ContainerSpec, "entrypoint" | "cmd">, image: Pick<ImageConfig, "entrypoint" | "cmd">): string[] {
  let entrypoint: string[];
  let cmd: string[];
  if (spec.entrypoint !== undefined) {
    entrypoint = spec.entrypoint.length === 1 && spec.entrypoint[0] === "" ? [] : spec.entrypoint;
    cmd = spec.cmd ?? [];
  } else {
    entrypoint = image.entrypoint ?? [];
    cmd = spec.cmd !== undefined && spec.cmd.length > 0 ? spec.cmd : (image.cmd ?? []);
  }
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw new EngineError("invalid", "no command specified (neither the image nor the service has an entrypoint or command)");
  return args;
}

/** Replaces KEY=... in place or appends; a bare KEY (no "=") unsets it, as Docker's ReplaceOrAppendEnvValues. */
export function mergeEnv(base: string[], overrides: string[]): string[] {
  const out = [...base];
  const keyOf = (e: string) => (e.includes("=") ? e.slice(0, e.indexOf("=")) : e);
  for (const e of overrides) {
    const i = out.findIndex((x) => keyOf(x) === keyOf(e));
    if (!e.includes("=")) {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) {
      out[i] = e;
    } else {
      out.push(e);
    }
  }
  return out;
}

/** PATH (unless the image sets one), HOSTNAME, TERM for a tty, then the image's env, then the spec's. */
export function containerEnv(spec: Pick<ContainerSpec, "env" | "tty">, image: Pick<ImageConfig, "env">, hostname: string): string[] {
  const base = [DEFAULT_PATH, `HOSTNAME=${hostname}`];
  if (spec.tty) base.push("TERM=xterm");
  return mergeEnv(mergeEnv(base, image.env), spec.env);
}

/** Docker's default hostname: the first 12 characters of the ID. */
export function containerHostname(spec: Pick<ContainerSpec, "hostname">, id: string): string {
  return spec.hostname ?? id.slice(0, 12);
}

export interface SpecInput {
  id: string;
  spec: ContainerSpec;
  image: ImageConfig;
  /** Absolute host path of the container's root filesystem. */
  rootfs: string;
  /** Mounted by runc on the rootfs before anything else (see CreateOptions.rootfsMount). */
  rootfsMount?: RootfsMount | undefined;
  /** spec.user ?? image.user, resolved in the rootfs. */
  user: ResolvedUser;
  /** Binds, volumes and tmpfs with host paths resolved (spec.tmpfs entries not among them are added here). */
  mounts: ResolvedMount[];
  /** Host paths of the files to bind on /etc/hosts, /etc/hostname, /etc/resolv.conf. */
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  /** A network namespace to join; undefined = a new one (or the host's with networkMode "host"). */
  netnsPath: string | undefined;
  hostRlimits: HostRlimits;
  /** The engine holds CAP_SYS_RESOURCE: ulimits above hostRlimits are granted, not refused. */
  mayRaiseRlimits?: boolean;
  cgroupsPath: string;
  /** Host path of docker-init/tini, required when spec.init. */
  initBinary: string | undefined;
  /** Host devices to expose to a privileged container. */
  hostDevices?: OciDevice[];
  /** spec.devices with the host devices' numbers, at their paths in the container. */
  devices?: OciDevice[];
  /** The namespaces of other containers that spec.pidMode/ipcMode join (namespaces.ts joinPaths). */
  joinPaths?: JoinPaths;
  /** The host tmpfs an `ipc: shareable` container's /dev/shm is (shm.ts hostShmPath); required then. */
  hostShm?: string;
  /** Masked paths that depend on the host (per-CPU thermal_throttle), added to MASKED_PATHS. */
  hostMaskedPaths?: readonly string[];
  /** The engine's own bounding capabilities: all a privileged container can get. */
  hostCapabilities?: readonly string[];
  /** The host's cgroup version (v1 when not given): v1-only limits are left out on v2. */
  cgroupVersion?: 1 | 2;
  /** The block devices spec.resources.blkio names (blkioDevicePaths), resolved. */
  blockDevices?: BlockDevices;
}

export function buildSpec(input: SpecInput): OciSpec {
  const { spec, image, user } = input;
  if (spec.networkMode.startsWith("container:") && input.netnsPath === undefined) {
    throw new EngineError("invalid", `network mode ${spec.networkMode} needs the other container's network namespace path`);
  }
  const hostname = sharesHostUts(spec) ? undefined : containerHostname(spec, input.id);

  let args = resolveCommand(spec, image);
  const initMounts: OciMount[] = [];
  if (spec.init) {
    if (!input.initBinary) throw new EngineError("invalid", "init: true needs docker-init or tini on the host (none found)");
    args = [INIT_PATH, "--", ...args];
    initMounts.push({ destination: INIT_PATH, type: "bind", source: input.initBinary, options: ["rbind", "ro", "rprivate"] });
  }

  const caps = capabilitySet(spec.capAdd, spec.capDrop, spec.privileged, input.hostCapabilities);
  const etcRo = spec.readOnly ? ["ro"] : [];
  const etcMounts: OciMount[] = [
    { destination: "/etc/resolv.conf", type: "bind", source: input.etcFiles.resolvConf, options: ["rbind", "rprivate", ...etcRo] },
    { destination: "/etc/hostname", type: "bind", source: input.etcFiles.hostname, options: ["rbind", "rprivate", ...etcRo] },
    { destination: "/etc/hosts", type: "bind", source: input.etcFiles.hosts, options: ["rbind", "rprivate", ...etcRo] },
    ...initMounts,
  ];
  // spec.tmpfs may already be among the caller's resolved mounts; theirs win.
  const resolvedTargets = new Set(input.mounts.map((m) => m.target));
  const userMounts = [...input.mounts, ...spec.tmpfs.map(parseTmpfs).filter((m) => !resolvedTargets.has(m.target))];

  const joined = input.joinPaths ?? {};
  const namespaces = ociNamespaces(spec, input.netnsPath, joined);
  const shm = shmMount(spec.ipcMode, input.hostShm, joined.shm);
  const defaults = defaultMounts({ shmSize: spec.shmSize, privileged: spec.privileged }).flatMap((m) => (m.destination !== "/dev/shm" || shm === undefined ? [m] : shm ? [shm] : []));

  const seccomp = containerSeccompFor(spec, caps);

  const sysctl = { ...spec.sysctls };
  if (spec.domainname && hostname !== undefined) sysctl["kernel.domainname"] = spec.domainname;

  const oci: OciSpec = {
    ociVersion: "1.0.2",
    process: {
      terminal: spec.tty,
      user: ociUser(user),
      args,
      env: containerEnv(spec, image, hostname ?? ""),
      cwd: spec.workingDir || image.workingDir || "/",
      capabilities: processCapabilities(caps, user.uid),
      rlimits: containerRlimits(spec.ulimits, input.hostRlimits, input.mayRaiseRlimits),
      // Docker leaves no_new_privs off unless asked (security_opt).
      noNewPrivileges: spec.noNewPrivileges === true,
      oomScoreAdj: spec.oomScoreAdj ?? 0,
    },
    root: { path: input.rootfs, readonly: spec.readOnly },
    ...(spec.annotations && Object.keys(spec.annotations).length > 0 ? { annotations: { ...spec.annotations } } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
    mounts: [
      // First: every other mount lands inside it. runc mounts it on root.path in the container's
      // mount namespace, before pivot_root; a read-only root is remounted read-only after.
      ...(input.rootfsMount ? [{ destination: "/", ...input.rootfsMount }] : []),
      ...assembleMounts(defaults, etcMounts, userMounts),
    ],
    linux: {
      namespaces,
      resources: resources(spec, input.devices ?? [], input.blockDevices ?? {}, input.cgroupVersion ?? 1),
      cgroupsPath: input.cgroupsPath,
      ...(Object.keys(sysctl).length ? { sysctl } : {}),
      ...(spec.privileged || input.devices?.length ? { devices: withDevices(spec.privileged ? (input.hostDevices ?? []) : [], input.devices ?? []) } : {}),
      ...(spec.privileged ? {} : { maskedPaths: [...MASKED_PATHS, ...(input.hostMaskedPaths ?? [])], readonlyPaths: [...READONLY_PATHS] }),
      ...(seccomp ? { seccomp } : {}),
    },
  };
  if (hostname === undefined) oci.process.env = oci.process.env.filter((e) => !e.startsWith("HOSTNAME="));
  return oci;
}

/**
 * As dockerd (daemon/seccomp_linux.go): "unconfined" means no filter; a
 * privileged container runs without one too unless it names a profile;
 * everyone else gets the named profile or Docker's default, each shaped by the
 * container's capabilities (CAP_SYS_ADMIN adds mount, unshare, setns ...).
 */
function containerSeccompFor(spec: Pick<ContainerSpec, "seccompProfile" | "privileged">, caps: readonly string[]): OciSeccomp | undefined {
  if (spec.seccompProfile === "unconfined") return undefined;
  if (spec.privileged && spec.seccompProfile === undefined) return undefined;
  return containerSeccomp(spec.seccompProfile, caps);
}

/** The privileged container's host devices, then the service's devices (which win at the same path). */
function withDevices(host: OciDevice[], own: OciDevice[]): OciDevice[] {
  const paths = new Set(own.map((d) => d.path));
  return [...host.filter((d) => !paths.has(d.path)), ...own];
}

/**
 * The device cgroup: a privileged container may use every device; others get
 * Docker's default list, then an allow rule per `devices` entry (its
 * permissions) and per `device_cgroup_rules` entry.
 */
export function deviceRules(spec: Pick<ContainerSpec, "privileged" | "devices" | "deviceCgroupRules">, devices: readonly OciDevice[]): OciDeviceRule[] {
  if (spec.privileged) return [{ allow: true, access: "rwm" }];
  const out = DEFAULT_DEVICE_RULES.map((d) => ({ ...d }));
  const access = new Map((spec.devices ?? []).map((d) => [d.target, d.permissions]));
  for (const d of devices) {
    if (d.type !== "c" && d.type !== "b") continue;
    out.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access: access.get(d.path) ?? "rwm" });
  }
  for (const rule of spec.deviceCgroupRules ?? []) out.push(parseDeviceRule(rule));
  return out;
}

function resources(spec: ContainerSpec, devices: readonly OciDevice[], blockDevices: BlockDevices, cgroupVersion: 1 | 2): OciResources {
  const r = spec.resources;
  const out: OciResources = { devices: deviceRules(spec, devices) };
  const memory: NonNullable<OciResources["memory"]> = {};
  if (r.memory !== undefined && r.memory > 0) {
    memory.limit = r.memory;
    // Docker's default: as much swap as memory (memory+swap = twice the limit;
    // memory.memsw.limit_in_bytes on v1, memory.swap.max = swap on v2).
    memory.swap = r.memorySwap !== undefined && r.memorySwap !== 0 ? r.memorySwap : r.memory * 2;
  }
  if (r.memoryReservation !== undefined && r.memoryReservation > 0) memory.reservation = r.memoryReservation;
  // cgroup v2 has neither knob: dockerd drops both (with a warning, which `up` prints).
  if (r.memorySwappiness !== undefined && r.memorySwappiness >= 0 && cgroupVersion === 1) memory.swappiness = r.memorySwappiness;
  if (r.oomKillDisable && cgroupVersion === 1) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) out.memory = memory;
  const cpu: NonNullable<OciResources["cpu"]> = {};
  if (r.cpus !== undefined && r.cpus > 0) {
    cpu.period = 100_000;
    cpu.quota = Math.round(r.cpus * 100_000);
  }
  if (r.cpuPeriod !== undefined && r.cpuPeriod > 0) cpu.period = r.cpuPeriod;
  if (r.cpuQuota !== undefined && r.cpuQuota !== 0) cpu.quota = r.cpuQuota;
  if (r.cpuRtPeriod !== undefined && r.cpuRtPeriod > 0) cpu.realtimePeriod = r.cpuRtPeriod;
  if (r.cpuRtRuntime !== undefined && r.cpuRtRuntime !== 0) cpu.realtimeRuntime = r.cpuRtRuntime;
  if (r.cpuShares !== undefined && r.cpuShares > 0) cpu.shares = r.cpuShares;
  if (r.cpuset) cpu.cpus = r.cpuset;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.pids !== undefined && r.pids !== 0) out.pids = { limit: r.pids };
  if (r.blkio) {
    const blockIO = blockIOFor(r.blkio, blockDevices);
    if (Object.keys(blockIO).length) out.blockIO = blockIO;
  }
  return out;
}

/** Host block devices by path, resolved by the caller (stat's rdev). */
export type BlockDevices = Record<string, { major: number; minor: number }>;

function blockIOFor(b: BlkioLimits, devices: BlockDevices): OciBlockIO {
  const dev = (path: string): { major: number; minor: number } => {
    const d = devices[path];
    if (!d) throw new EngineError("invalid", `blkio_config: ${path} is not a block device on this host`);
    return d;
  };
  const rates = (list: { path: string; rate: number }[]) => list.map((x) => ({ ...dev(x.path), rate: x.rate }));
  const out: OciBlockIO = {};
  if (b.weight !== undefined && b.weight > 0) out.weight = b.weight;
  if (b.weightDevice.length) out.weightDevice = b.weightDevice.map((x) => ({ ...dev(x.path), weight: x.weight }));
  if (b.readBps.length) out.throttleReadBpsDevice = rates(b.readBps);
  if (b.writeBps.length) out.throttleWriteBpsDevice = rates(b.writeBps);
  if (b.readIops.length) out.throttleReadIOPSDevice = rates(b.readIops);
  if (b.writeIops.length) out.throttleWriteIOPSDevice = rates(b.writeIops);
  return out;
}

/** Every device path blkio limits name: what the caller resolves into BlockDevices. */
export function blkioDevicePaths(b: BlkioLimits | undefined): string[] {
  if (!b) return [];
  return [...new Set([...b.weightDevice, ...b.readBps, ...b.writeBps, ...b.readIops, ...b.writeIops].map((x) => x.path))];
}

const RLIM_INFINITY_MARK = "\u0000rlim-infinity\u0000";

/** JSON for config.json; RLIM_INFINITY as the exact uint64 runc expects (a JS number cannot hold it). */
export function serializeSpec(spec: OciSpec): string {
  const json = JSON.stringify(spec, (_k, v: unknown) => (v === Infinity ? RLIM_INFINITY_MARK : v), 2);
  return json.replaceAll(JSON.stringify(RLIM_INFINITY_MARK), "18446744073709551615");
}
