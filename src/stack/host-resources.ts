// `up`'s check of the resource keys against the host the embedded engine runs
// on: a limit whose cgroup file the kernel lacks, CPUs the host does not have,
// a block device that is not there, a ulimit above what the daemon may grant,
// a runtime the daemon's configuration does not name.
// Each fails located at its key before anything is touched, where runc would
// fail half way through `up` or the limit would silently not apply. Where
// dockerd only warns and drops the setting (swappiness, OOM killer on cgroup
// v2), so do we: the warning is printed by `up`.
import type { ServiceSpec, StackSpec } from "../../model/stack.js";
import type { CgroupSupport } from "../../engine/cgroups/support.js";
import type { Fail } from "./normalize.js";
import type { PathSegment } from "./parse.js";
import { parseCpuList } from "./resources.js";

export interface HostResources {
  cgroups: CgroupSupport;
  /** The daemon's hard limits by compose name (nofile, nproc ...); Infinity = unlimited. */
  rlimitHard(name: string): number | undefined;
  /** Whether the daemon may raise hard limits (CAP_SYS_RESOURCE): dockerd as root grants any ulimit then. */
  canRaiseRlimits: boolean;
  /** fs.nr_open: no process may have more open files, whatever its capabilities. */
  nrOpen: number;
  /** "block" for a block device, "missing", or "other". */
  deviceKind(path: string): "block" | "missing" | "other";
  /** The runtimes the daemon's configuration names besides runc (daemon.json `runtimes`). */
  runtimes: readonly string[];
}

// The error's location already names the key (services.NAME.KEY: ...).
const unsupported = (why: string) => `not supported by the embedded engine: ${why}`;

export function checkHostResources(stack: StackSpec, host: HostResources, fail: Fail, warn: (message: string) => void): void {
  for (const svc of Object.values(stack.services)) checkService(svc, host, fail, warn);
}

function checkService(s: ServiceSpec, host: HostResources, fail: Fail, warn: (message: string) => void): void {
  const at = (...rest: PathSegment[]): PathSegment[] => ["services", s.name, ...rest];
  // dockerd's wording for a runtime it was not configured with.
  if (s.runtime !== undefined && s.runtime !== "runc" && !host.runtimes.includes(s.runtime)) fail(at("runtime"), `unknown or invalid runtime name: ${s.runtime}`);
  const cg = host.cgroups;
  const v = `cgroup v${cg.version}`;
  if (s.oomKillDisable) {
    if (!cg.oomKillDisable) warn(`services.${s.name}.oom_kill_disable: ignored: this kernel does not support OomKillDisable (${v} has no memory.oom_control), as docker`);
    else if (s.memLimit === undefined) warn(`services.${s.name}: OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.`);
  }
  if (s.memSwappiness !== undefined && s.memSwappiness !== -1 && !cg.memorySwappiness) {
    warn(`services.${s.name}.mem_swappiness: ignored: this kernel does not support memory swappiness (${v}), as docker`);
  }
  if (s.memReservation !== undefined && !cg.memoryReservation) {
    fail(at("mem_reservation"), unsupported(`${v} has no memory soft limit here`));
  }
  if (s.memswapLimit !== undefined && s.memswapLimit !== 0 && !cg.memorySwap) {
    fail(at("memswap_limit"), unsupported("the kernel has no swap accounting (boot with swapaccount=1)"));
  }
  for (const [key, value] of [["cpu_period", s.cpuPeriod], ["cpu_quota", s.cpuQuota]] as const) {
    if (value !== undefined && value !== 0 && !cg.cpuCfs) fail(at(key), unsupported(`${v} has no CPU CFS bandwidth control`));
  }
  for (const [key, value] of [["cpu_rt_period", s.cpuRtPeriod], ["cpu_rt_runtime", s.cpuRtRuntime]] as const) {
    if (value === undefined || value === 0 || cg.cpuRealtime) continue;
    const why = cg.version === 2 ? "cgroup v2 has no real-time group scheduling" : "the kernel has no real-time group scheduling (CONFIG_RT_GROUP_SCHED)";
    fail(at(key), unsupported(why));
  }
  if (s.cpuset !== undefined) {
    if (!cg.cpuset) fail(at("cpuset"), unsupported(`${v} has no cpuset controller here`));
    const available = new Set(parseCpuList(cg.cpus));
    if (parseCpuList(s.cpuset).some((c) => !available.has(c))) fail(at("cpuset"), `Requested CPUs are not available - requested ${s.cpuset}, available: ${cg.cpus}`);
  }
  const b = s.blkioConfig;
  if (b) {
    if ((b.weight ?? 0) > 0 && !cg.blkioWeight) fail(at("blkio_config", "weight"), unsupported(`${v} has no proportional block IO weight here (no BFQ or CFQ scheduler)`));
    if (b.weightDevice.length > 0 && !cg.blkioWeight) fail(at("blkio_config", "weight_device"), unsupported(`${v} has no proportional block IO weight here (no BFQ or CFQ scheduler)`));
    const throttles = [
      ["device_read_bps", b.deviceReadBps],
      ["device_write_bps", b.deviceWriteBps],
      ["device_read_iops", b.deviceReadIops],
      ["device_write_iops", b.deviceWriteIops],
    ] as const;
    for (const [key, list] of throttles) {
      if (list.length > 0 && !cg.blkioThrottle) fail(at("blkio_config", key), unsupported(`${v} has no block IO throttling here`));
    }
    const devices: [PathSegment[], string][] = [
      ...b.weightDevice.map((d, i): [PathSegment[], string] => [at("blkio_config", "weight_device", i, "path"), d.path]),
      ...throttles.flatMap(([key, list]) => list.map((d, i): [PathSegment[], string] => [at("blkio_config", key, i, "path"), d.path])),
    ];
    for (const [path, device] of devices) {
      const kind = host.deviceKind(device);
      if (kind === "missing") fail(path, `no such device: ${device}`);
      if (kind === "other") fail(path, `${device} is not a block device`);
    }
  }
  for (const [name, l] of Object.entries(s.ulimits)) {
    const path = at("ulimits", name);
    const value = (n: number) => (n < 0 ? Infinity : n);
    const soft = value(l.soft);
    const hard = value(l.hard);
    if (soft > hard) fail(path, `ulimit ${name}: soft limit ${l.soft} must be less than or equal to hard limit ${l.hard}`);
    const limit = host.rlimitHard(name);
    if (limit !== undefined && hard > limit && !host.canRaiseRlimits) {
      fail(path, `ulimit ${name}: ${hard === Infinity ? "unlimited" : hard} is above the daemon's hard limit ${limit === Infinity ? "unlimited" : limit}, which it may not raise (no CAP_SYS_RESOURCE)`);
    }
    if (name === "nofile" && hard > host.nrOpen) fail(path, `ulimit nofile: ${hard === Infinity ? "unlimited" : hard} is above the kernel's fs.nr_open (${host.nrOpen})`);
  }
}
