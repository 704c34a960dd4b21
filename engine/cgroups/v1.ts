// cgroup v1 (and hybrid hosts): one hierarchy per controller. runc puts a
// container with an absolute cgroupsPath at <mountpoint><cgroupsPath> in every
// hierarchy it knows (libcontainer/cgroups/fs subsysPath), including the named
// "name=systemd" one, so paths() lists all of them for cleanup.
import { readFileSync } from "node:fs";
import { access, rmdir, readdir } from "node:fs/promises";
import type { Dirent } from "node:fs";
import { join } from "node:path";
import type { CgroupManager, CgroupStats } from "./types.js";
import { parseFlatKeyed, parseNumberOrMax, readOptional } from "./parse.js";

/** Controller (or "name=..." hierarchy, or "unified" for a hybrid host's cgroup2 tree) -> mountpoint. */
export type V1Mounts = Record<string, string>;

/** Reads the v1 hierarchies from mountinfo: `... - cgroup cgroup rw,memory`. */
export function parseV1Mounts(mountinfo: string): V1Mounts {
  const mounts: V1Mounts = {};
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(" ");
    const post = line.slice(sep + 3).split(" ");
    const mountpoint = pre[4];
    if (!mountpoint) continue;
    // Hybrid hosts: runc also makes the container's cgroup in the (controller-less) v2 tree.
    if (post[0] === "cgroup2") mounts.unified ??= mountpoint;
    if (post[0] !== "cgroup") continue;
    for (const opt of (post[2] ?? "").split(",")) {
      if (opt === "rw" || opt === "ro" || opt === "") continue;
      // First mount wins: a hierarchy bind-mounted again elsewhere is the same cgroup tree.
      mounts[opt] ??= mountpoint.replace(/\\040/g, " ");
    }
  }
  return mounts;
}

export function hostV1Mounts(): V1Mounts {
  return parseV1Mounts(readFileSync("/proc/self/mountinfo", "utf8"));
}

// cgroup v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 on x86-64).
const V1_UNLIMITED = 2 ** 62;

export class CgroupV1 implements CgroupManager {
  readonly version = 1 as const;
  constructor(private readonly mounts: V1Mounts = hostV1Mounts()) {}

  private dir(controller: string, cgroupsPath: string): string | undefined {
    const mnt = this.mounts[controller];
    return mnt === undefined ? undefined : join(mnt, cgroupsPath);
  }

  paths(cgroupsPath: string): string[] {
    return [...new Set(Object.values(this.mounts))].map((m) => join(m, cgroupsPath));
  }

  async exists(cgroupsPath: string): Promise<boolean> {
    const dir = this.dir("memory", cgroupsPath) ?? this.paths(cgroupsPath)[0];
    if (dir === undefined) return false;
    return access(dir).then(
      () => true,
      () => false,
    );
  }

  private async read(controller: string, cgroupsPath: string, file: string): Promise<string | undefined> {
    const dir = this.dir(controller, cgroupsPath);
    return dir === undefined ? undefined : readOptional(join(dir, file));
  }

  async stats(cgroupsPath: string): Promise<CgroupStats> {
    if (!(await this.exists(cgroupsPath))) {
      throw Object.assign(new Error(`cgroup ${cgroupsPath} does not exist`), { code: "ENOENT" });
    }
    const [cpu, usage, memStat, limit, pids, pidsMax, blkio, oom] = await Promise.all([
      this.read("cpuacct", cgroupsPath, "cpuacct.usage"),
      this.read("memory", cgroupsPath, "memory.usage_in_bytes"),
      this.read("memory", cgroupsPath, "memory.stat"),
      this.read("memory", cgroupsPath, "memory.limit_in_bytes"),
      this.read("pids", cgroupsPath, "pids.current"),
      this.read("pids", cgroupsPath, "pids.max"),
      this.readBlkio(cgroupsPath),
      this.read("memory", cgroupsPath, "memory.oom_control"),
    ]);
    const stat = parseFlatKeyed(memStat);
    const used = parseNumberOrMax(usage) ?? 0;
    // docker stats subtracts the inactive page cache (total_ on hierarchical
    // v1, which counts the children too); never below zero.
    const inactive = stat.get("total_inactive_file") ?? stat.get("inactive_file") ?? 0;
    const lim = parseNumberOrMax(limit);
    const io = parseV1Blkio(blkio);
    return {
      cpuUsageNs: parseNumberOrMax(cpu) ?? 0,
      memoryUsage: inactive < used ? used - inactive : used,
      memoryLimit: lim === undefined || lim >= V1_UNLIMITED ? undefined : lim,
      pids: parseNumberOrMax(pids) ?? 0,
      pidsLimit: parseNumberOrMax(pidsMax),
      blockRead: io.read,
      blockWrite: io.write,
      oomKills: parseFlatKeyed(oom).get("oom_kill") ?? 0,
    };
  }

  private async readBlkio(cgroupsPath: string): Promise<string | undefined> {
    // The _recursive file includes child cgroups, like Docker reads it; older
    // kernels only have the plain one.
    return (
      (await this.read("blkio", cgroupsPath, "blkio.throttle.io_service_bytes_recursive")) ??
      (await this.read("blkio", cgroupsPath, "blkio.throttle.io_service_bytes"))
    );
  }

  async oomKillCount(cgroupsPath: string): Promise<number> {
    return parseFlatKeyed(await this.read("memory", cgroupsPath, "memory.oom_control")).get("oom_kill") ?? 0;
  }

  async remove(cgroupsPath: string): Promise<void> {
    await Promise.all(this.paths(cgroupsPath).map((p) => removeTree(p)));
  }
}

/** `8:0 Read 4096` lines per device, plus a trailing `Total N`. */
export function parseV1Blkio(text: string | undefined): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of (text ?? "").split("\n")) {
    const [dev, op, value] = line.trim().split(/\s+/);
    if (!dev || !dev.includes(":") || value === undefined) continue;
    if (op === "Read") read += Number(value) || 0;
    else if (op === "Write") write += Number(value) || 0;
  }
  return { read, write };
}

/** rmdir a cgroup and its child cgroups (cgroup dirs cannot be removed recursively by rm). */
export async function removeTree(dir: string): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name));
  try {
    await rmdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
