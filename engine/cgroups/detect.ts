// Picks the CgroupManager for this host at run time (like runc's
// cgroups.IsCgroup2UnifiedMode): only a host whose /sys/fs/cgroup is itself
// the cgroup2 mount is v2; hybrid hosts keep their controllers on v1.
import { existsSync, readFileSync } from "node:fs";
import type { CgroupManager } from "./types.js";
import { CgroupV1 } from "./v1.js";
import { CgroupV2 } from "./v2.js";

export function detectCgroupVersion(root = "/sys/fs/cgroup"): 1 | 2 {
  return existsSync(`${root}/cgroup.controllers`) ? 2 : 1;
}

let host: CgroupManager | undefined;

/** The manager for this machine's cgroups, detected once. */
export function hostCgroups(): CgroupManager {
  host ??= detectCgroupVersion() === 2 ? new CgroupV2() : new CgroupV1();
  return host;
}

/** Total memory of the host, bytes: what `docker stats` shows as the limit of an unlimited container. */
export function hostMemoryTotal(meminfo = readFileSync("/proc/meminfo", "utf8")): number {
  const m = /^MemTotal:\s+(\d+) kB/m.exec(meminfo);
  return m?.[1] ? Number(m[1]) * 1024 : 0;
}

/**
 * Cumulative CPU time of the whole host in ns, from /proc/stat's first line,
 * as Docker computes system_cpu_usage (USER_HZ is 100 on Linux).
 */
export function hostCpuUsageNs(procStat = readFileSync("/proc/stat", "utf8")): number {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return 0;
  const ticks = line
    .trim()
    .split(/\s+/)
    .slice(1, 8) // user nice system idle iowait irq softirq (guest is already in user)
    .reduce((sum, v) => sum + (Number(v) || 0), 0);
  return ticks * (1e9 / 100);
}
