// Control groups: where a container's limits are enforced and its usage is
// counted. runc creates and removes a container's cgroup from the OCI
// config's linux.cgroupsPath (we use absolute paths like `/tscompose/<id>`);
// a CgroupManager only *finds* that cgroup again and reads it.
//
// Two layouts exist and a host has exactly one of them in charge:
// - v1 (also "hybrid": v1 controllers plus an empty cgroup2 mount at
//   /sys/fs/cgroup/unified): one hierarchy per controller, mounted at
//   /sys/fs/cgroup/<controller>, so one container has a directory in each
//   (memory/tscompose/<id>, cpuacct/tscompose/<id>, ...).
// - v2 (unified): one tree at /sys/fs/cgroup with every controller's files in
//   the same directory (/sys/fs/cgroup/tscompose/<id>/memory.current ...).
// detectCgroupVersion() picks the right one at run time the way runc does:
// v2 when /sys/fs/cgroup itself is the cgroup2 mount (it has
// cgroup.controllers), v1 otherwise.
//
// Lifecycle: runc creates the cgroup at `runc create`, the container's
// processes live in it, stats() reads it while they run, oomKillCount() is
// read right after the container exits (before `runc delete` removes the
// cgroup), and remove() is only a safety net for a cgroup runc left behind.

/** A snapshot of one cgroup's counters. */
export interface CgroupStats {
  /** Cumulative CPU time of all processes, ns. */
  cpuUsageNs: number;
  /** Memory in use minus the inactive page cache, as `docker stats` shows it. */
  memoryUsage: number;
  /** The memory limit in bytes; undefined when unlimited. */
  memoryLimit: number | undefined;
  pids: number;
  pidsLimit: number | undefined;
  /** Bytes read from and written to block devices. */
  blockRead: number;
  blockWrite: number;
  /** Processes the kernel's OOM killer killed in this cgroup. */
  oomKills: number;
}

export interface CgroupManager {
  readonly version: 1 | 2;
  /** The directories holding the cgroup: one per v1 hierarchy, one on v2. */
  paths(cgroupsPath: string): string[];
  /** Whether the cgroup exists (its memory directory on v1). */
  exists(cgroupsPath: string): Promise<boolean>;
  /** Throws an Error with code "ENOENT" when the cgroup does not exist. */
  stats(cgroupsPath: string): Promise<CgroupStats>;
  /** OOM kills recorded in the cgroup; 0 when it does not exist (any more). */
  oomKillCount(cgroupsPath: string): Promise<number>;
  /** Removes the cgroup's (empty) directories, children first; missing ones are fine. */
  remove(cgroupsPath: string): Promise<void>;
}
