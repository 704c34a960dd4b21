// The OCI runtime config (config.json) of a container, built the way Docker
// builds it (moby daemon/oci_linux.go + oci/defaults.go) from the
// ContainerSpec, the image's config and what the caller resolved: the rootfs,
// the user (from the rootfs's passwd), mounts, the /etc files, the network
// namespace. Pure: every input that needs I/O is resolved by the caller, so
// the whole Docker-compatibility surface is unit-testable.
import { EngineError } from "../types.js";
import type { ContainerSpec, ImageConfig } from "../types.js";
import { capabilitySet, processCapabilities } from "./caps.js";
import { assembleMounts, defaultMounts, parseTmpfs } from "./mounts.js";
import type { ResolvedMount } from "./mounts.js";
import type { OciDevice, OciDeviceRule, OciMount, OciNamespace, OciResources, OciSpec, RootfsMount } from "./oci.js";
import { containerRlimits } from "./rlimits.js";
import { containerSeccomp } from "./seccomp.js";
import type { OciSeccomp } from "./seccomp.js";
import type { HostRlimits } from "./rlimits.js";
import type { ResolvedUser } from "./user.js";

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
  cgroupsPath: string;
  /** Host path of docker-init/tini, required when spec.init. */
  initBinary: string | undefined;
  /** Host devices to expose to a privileged container. */
  hostDevices?: OciDevice[];
  /** Masked paths that depend on the host (per-CPU thermal_throttle), added to MASKED_PATHS. */
  hostMaskedPaths?: readonly string[];
  /** The engine's own bounding capabilities: all a privileged container can get. */
  hostCapabilities?: readonly string[];
}

export function buildSpec(input: SpecInput): OciSpec {
  const { spec, image, user } = input;
  const hostNetwork = spec.networkMode === "host";
  if (spec.networkMode.startsWith("container:") && input.netnsPath === undefined) {
    throw new EngineError("invalid", `network mode ${spec.networkMode} needs the other container's network namespace path`);
  }
  const hostname = hostNetwork ? undefined : containerHostname(spec, input.id);

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

  const namespaces: OciNamespace[] = [{ type: "pid" }, { type: "ipc" }, { type: "mount" }, { type: "cgroup" }];
  // Host networking shares the host's UTS namespace too, as Docker does.
  if (!hostNetwork) {
    namespaces.push({ type: "uts" });
    namespaces.push(input.netnsPath ? { type: "network", path: input.netnsPath } : { type: "network" });
  }

  const seccomp = containerSeccompFor(spec, caps);

  const sysctl = { ...spec.sysctls };
  if (spec.domainname && !hostNetwork) sysctl["kernel.domainname"] = spec.domainname;

  const oci: OciSpec = {
    ociVersion: "1.0.2",
    process: {
      terminal: spec.tty,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args,
      env: containerEnv(spec, image, hostname ?? ""),
      cwd: spec.workingDir || image.workingDir || "/",
      capabilities: processCapabilities(caps, user.uid),
      rlimits: containerRlimits(spec.ulimits, input.hostRlimits),
      // Docker leaves no_new_privs off unless asked (security_opt).
      noNewPrivileges: spec.noNewPrivileges === true,
      oomScoreAdj: 0,
    },
    root: { path: input.rootfs, readonly: spec.readOnly },
    ...(spec.annotations && Object.keys(spec.annotations).length > 0 ? { annotations: { ...spec.annotations } } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
    mounts: [
      // First: every other mount lands inside it. runc mounts it on root.path in the container's
      // mount namespace, before pivot_root; a read-only root is remounted read-only after.
      ...(input.rootfsMount ? [{ destination: "/", ...input.rootfsMount }] : []),
      ...assembleMounts(defaultMounts({ shmSize: spec.shmSize, privileged: spec.privileged }), etcMounts, userMounts),
    ],
    linux: {
      namespaces,
      resources: resources(spec),
      cgroupsPath: input.cgroupsPath,
      ...(Object.keys(sysctl).length ? { sysctl } : {}),
      ...(spec.privileged
        ? { devices: input.hostDevices ?? [] }
        : { maskedPaths: [...MASKED_PATHS, ...(input.hostMaskedPaths ?? [])], readonlyPaths: [...READONLY_PATHS] }),
      ...(seccomp ? { seccomp } : {}),
    },
  };
  if (hostNetwork) oci.process.env = oci.process.env.filter((e) => !e.startsWith("HOSTNAME="));
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

function resources(spec: ContainerSpec): OciResources {
  const r = spec.resources;
  const out: OciResources = {
    devices: spec.privileged ? [{ allow: true, access: "rwm" }] : DEFAULT_DEVICE_RULES.map((d) => ({ ...d })),
  };
  if (r.memory !== undefined && r.memory > 0) {
    // swap == limit: memory+swap capped at the memory limit, i.e. no swap on
    // top (on v1 this is memory.memsw.limit_in_bytes).
    out.memory = { limit: r.memory, swap: r.memory };
  }
  const cpu: NonNullable<OciResources["cpu"]> = {};
  if (r.cpus !== undefined && r.cpus > 0) {
    cpu.period = 100_000;
    cpu.quota = Math.round(r.cpus * 100_000);
  }
  if (r.cpuShares !== undefined && r.cpuShares > 0) cpu.shares = r.cpuShares;
  if (r.cpuset) cpu.cpus = r.cpuset;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.pids !== undefined && r.pids !== 0) out.pids = { limit: r.pids };
  return out;
}

const RLIM_INFINITY_MARK = "\u0000rlim-infinity\u0000";

/** JSON for config.json; RLIM_INFINITY as the exact uint64 runc expects (a JS number cannot hold it). */
export function serializeSpec(spec: OciSpec): string {
  const json = JSON.stringify(spec, (_k, v: unknown) => (v === Infinity ? RLIM_INFINITY_MARK : v), 2);
  return json.replaceAll(JSON.stringify(RLIM_INFINITY_MARK), "18446744073709551615");
}
