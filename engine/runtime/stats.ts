// `docker stats` and `docker top` for one container: cgroup counters (via
// engine/cgroups), the host's CPU time for the percentage, and the network
// counters of the container's namespace from /proc/<pid>/net/dev.
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { hostCpuUsageNs, hostMemoryTotal } from "../cgroups/detect.js";
import type { CgroupManager } from "../cgroups/types.js";
import type { ContainerStats } from "../types.js";

/** Sums the counters of every interface but loopback (as docker stats shows them). */
export function parseNetDev(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const iface = line.slice(0, colon).trim();
    if (iface === "lo") continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    rx += f[0] || 0;
    tx += f[8] || 0;
  }
  return { rx, tx };
}

/** Stats of a container; all zero (limit = host memory) when it has no processes. */
export async function collectStats(cgroups: CgroupManager, cgroupsPath: string, pid: number | undefined): Promise<ContainerStats> {
  const memTotal = hostMemoryTotal();
  const out: ContainerStats = {
    time: Date.now(),
    cpuUsageNs: 0,
    systemUsageNs: hostCpuUsageNs(),
    onlineCpus: availableParallelism(),
    memoryUsage: 0,
    memoryLimit: memTotal,
    pids: 0,
    blockRead: 0,
    blockWrite: 0,
    netRx: 0,
    netTx: 0,
  };
  if (pid === undefined) return out;
  try {
    const s = await cgroups.stats(cgroupsPath);
    Object.assign(out, {
      cpuUsageNs: s.cpuUsageNs,
      memoryUsage: s.memoryUsage,
      memoryLimit: s.memoryLimit !== undefined && s.memoryLimit < memTotal ? s.memoryLimit : memTotal,
      pids: s.pids,
      blockRead: s.blockRead,
      blockWrite: s.blockWrite,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    return out; // it ended between our look and the read
  }
  const net = await readFile(`/proc/${pid}/net/dev`, "utf8").catch(() => undefined);
  if (net !== undefined) {
    const { rx, tx } = parseNetDev(net);
    out.netRx = rx;
    out.netTx = tx;
  }
  return out;
}

/** `ps -ef` output into titles and rows; the last column (CMD) keeps its spaces. */
export function parsePs(text: string): { titles: string[]; processes: string[][] } {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const titles = (lines[0] ?? "").trim().split(/\s+/);
  const processes = lines.slice(1).map((line) => {
    const fields: string[] = [];
    let rest = line.trim();
    for (let i = 0; i < titles.length - 1; i++) {
      const m = /^(\S+)\s+/.exec(rest);
      if (!m) break;
      fields.push(m[1] ?? "");
      rest = rest.slice(m[0].length);
    }
    fields.push(rest);
    return fields;
  });
  return { titles, processes };
}
