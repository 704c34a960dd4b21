// What this host's cgroups can enforce, read once from the cgroup files the
// limits are written to (as dockerd's pkg/sysinfo does), so that a stack
// asking for a limit the kernel lacks fails at `up` naming the key, instead
// of runc failing half way through, or the limit silently not applying.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { detectCgroupVersion } from "./detect.js";

export interface CgroupSupport {
  version: 1 | 2;
  memory: boolean;
  /** memory+swap limits (v1 memory.memsw.*, needs swapaccount) / v2 memory.swap.max. */
  memorySwap: boolean;
  /** v1 memory.soft_limit_in_bytes / v2 memory.low. */
  memoryReservation: boolean;
  /** v1 memory.swappiness; v2 has none. */
  memorySwappiness: boolean;
  /** v1 memory.oom_control; v2 has none. */
  oomKillDisable: boolean;
  /** CFS bandwidth: v1 cpu.cfs_quota_us / v2 cpu.max. */
  cpuCfs: boolean;
  /** v1 cpu.rt_runtime_us (CONFIG_RT_GROUP_SCHED); v2 has none. */
  cpuRealtime: boolean;
  cpuset: boolean;
  /** Proportional IO weight: v1 blkio.weight / blkio.bfq.weight, v2 io.weight / io.bfq.weight. */
  blkioWeight: boolean;
  /** Throttling: v1 blkio.throttle.* / v2 io.max. */
  blkioThrottle: boolean;
  /** The CPUs containers may use ("0-3"). */
  cpus: string;
}

/** Reads the cgroup files under root; `self` is this process's /proc/self/cgroup (v2 files live in a non-root group). */
export function probeCgroupSupport(root = "/sys/fs/cgroup", self = readOptional("/proc/self/cgroup") ?? ""): CgroupSupport {
  const version = detectCgroupVersion(root);
  if (version === 1) {
    const has = (controller: string, file: string) => existsSync(join(root, controller, file));
    return {
      version,
      memory: has("memory", "memory.limit_in_bytes"),
      memorySwap: has("memory", "memory.memsw.limit_in_bytes"),
      memoryReservation: has("memory", "memory.soft_limit_in_bytes"),
      memorySwappiness: has("memory", "memory.swappiness"),
      oomKillDisable: has("memory", "memory.oom_control"),
      cpuCfs: has("cpu", "cpu.cfs_quota_us"),
      cpuRealtime: has("cpu", "cpu.rt_runtime_us"),
      cpuset: has("cpuset", "cpuset.cpus"),
      blkioWeight: has("blkio", "blkio.weight") || has("blkio", "blkio.bfq.weight"),
      blkioThrottle: has("blkio", "blkio.throttle.read_bps_device"),
      cpus: (readOptional(join(root, "cpuset", "cpuset.cpus")) ?? onlineCpus()).trim(),
    };
  }
  const controllers = new Set((readOptional(join(root, "cgroup.controllers")) ?? "").trim().split(/\s+/));
  // Per-group files (memory.swap.max, io.weight) are absent from the root
  // group: look in the group this process runs in, as dockerd does.
  const own = /^0::(\/.*)$/m.exec(self)?.[1] ?? "/";
  const group = own === "/" ? root : join(root, own);
  const hasFile = (file: string) => existsSync(join(group, file));
  return {
    version,
    memory: controllers.has("memory"),
    memorySwap: controllers.has("memory") && (own === "/" || hasFile("memory.swap.max")),
    memoryReservation: controllers.has("memory"),
    memorySwappiness: false,
    oomKillDisable: false,
    cpuCfs: controllers.has("cpu"),
    cpuRealtime: false,
    cpuset: controllers.has("cpuset"),
    blkioWeight: controllers.has("io") && (own === "/" || hasFile("io.weight") || hasFile("io.bfq.weight")),
    blkioThrottle: controllers.has("io"),
    cpus: (readOptional(join(root, "cpuset.cpus.effective")) ?? onlineCpus()).trim(),
  };
}

function onlineCpus(): string {
  return readOptional("/sys/devices/system/cpu/online") ?? "0";
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

let host: CgroupSupport | undefined;

/** This host's support, probed once (it does not change under a running daemon). */
export function hostCgroupSupport(): CgroupSupport {
  host ??= probeCgroupSupport();
  return host;
}
