// cgroup v2 (unified): one tree, every controller's files in the container's
// one directory.
import { access } from "node:fs/promises";
import { join } from "node:path";
import type { CgroupManager, CgroupStats } from "./types.js";
import { parseFlatKeyed, parseNumberOrMax, readOptional } from "./parse.js";
import { removeTree } from "./v1.js";

export class CgroupV2 implements CgroupManager {
  readonly version = 2 as const;
  constructor(private readonly root = "/sys/fs/cgroup") {}

  paths(cgroupsPath: string): string[] {
    return [join(this.root, cgroupsPath)];
  }

  async exists(cgroupsPath: string): Promise<boolean> {
    return access(join(this.root, cgroupsPath, "cgroup.procs")).then(
      () => true,
      () => false,
    );
  }

  async stats(cgroupsPath: string): Promise<CgroupStats> {
    if (!(await this.exists(cgroupsPath))) {
      throw Object.assign(new Error(`cgroup ${cgroupsPath} does not exist`), { code: "ENOENT" });
    }
    const dir = join(this.root, cgroupsPath);
    const f = (name: string) => readOptional(join(dir, name));
    const [cpuStat, current, memStat, max, pids, pidsMax, io, events] = await Promise.all([
      f("cpu.stat"),
      f("memory.current"),
      f("memory.stat"),
      f("memory.max"),
      f("pids.current"),
      f("pids.max"),
      f("io.stat"),
      f("memory.events"),
    ]);
    const used = parseNumberOrMax(current) ?? 0;
    const inactive = parseFlatKeyed(memStat).get("inactive_file") ?? 0;
    const blk = parseIoStat(io);
    return {
      cpuUsageNs: (parseFlatKeyed(cpuStat).get("usage_usec") ?? 0) * 1000,
      memoryUsage: inactive < used ? used - inactive : used,
      memoryLimit: parseNumberOrMax(max),
      pids: parseNumberOrMax(pids) ?? 0,
      pidsLimit: parseNumberOrMax(pidsMax),
      blockRead: blk.read,
      blockWrite: blk.write,
      oomKills: parseFlatKeyed(events).get("oom_kill") ?? 0,
    };
  }

  async oomKillCount(cgroupsPath: string): Promise<number> {
    return parseFlatKeyed(await readOptional(join(this.root, cgroupsPath, "memory.events"))).get("oom_kill") ?? 0;
  }

  async remove(cgroupsPath: string): Promise<void> {
    await removeTree(join(this.root, cgroupsPath));
  }
}

/** `259:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0`, one line per device. */
export function parseIoStat(text: string | undefined): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of (text ?? "").split("\n")) {
    for (const field of line.trim().split(/\s+/).slice(1)) {
      const [k, v] = field.split("=");
      if (k === "rbytes") read += Number(v) || 0;
      else if (k === "wbytes") write += Number(v) || 0;
    }
  }
  return { read, write };
}
