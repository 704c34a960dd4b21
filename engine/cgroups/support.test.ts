import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { reserveRealtime } from "./realtime.js";
import { probeCgroupSupport } from "./support.js";

const root = mkdtempSync(join(tmpdir(), "tscompose-test-cgsupport-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fake cgroup tree: relative path -> content. */
function tree(files: Record<string, string>): string {
  const dir = join(root, `t${n++}`);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

describe("probeCgroupSupport", () => {
  it("v1: each feature is the presence of its file in its hierarchy", () => {
    const dir = tree({
      "memory/memory.limit_in_bytes": "",
      "memory/memory.soft_limit_in_bytes": "",
      "memory/memory.swappiness": "",
      "memory/memory.oom_control": "",
      "cpu/cpu.cfs_quota_us": "",
      "cpuset/cpuset.cpus": "0-3\n",
      "blkio/blkio.throttle.read_bps_device": "",
    });
    expect(probeCgroupSupport(dir, "")).toEqual({
      version: 1,
      memory: true,
      memorySwap: false,
      memoryReservation: true,
      memorySwappiness: true,
      oomKillDisable: true,
      cpuCfs: true,
      cpuRealtime: false,
      cpuset: true,
      blkioWeight: false,
      blkioThrottle: true,
      cpus: "0-3",
    });
  });

  it("v2: controllers from cgroup.controllers, per-group files from this process's group; no v1-only knobs", () => {
    const dir = tree({
      "cgroup.controllers": "cpuset cpu io memory pids\n",
      "cpuset.cpus.effective": "0-1\n",
      "system.slice/x.service/memory.swap.max": "max\n",
      "system.slice/x.service/io.bfq.weight": "default 100\n",
    });
    expect(probeCgroupSupport(dir, "0::/system.slice/x.service\n")).toEqual({
      version: 2,
      memory: true,
      memorySwap: true,
      memoryReservation: true,
      memorySwappiness: false,
      oomKillDisable: false,
      cpuCfs: true,
      cpuRealtime: false,
      cpuset: true,
      blkioWeight: true,
      blkioThrottle: true,
      cpus: "0-1",
    });
    const bare = tree({ "cgroup.controllers": "cpu pids\n", "cpuset.cpus.effective": "0\n", "a/cgroup.procs": "" });
    expect(probeCgroupSupport(bare, "0::/a\n")).toMatchObject({ memory: false, memorySwap: false, blkioWeight: false, blkioThrottle: false, cpuset: false });
  });
});

describe("reserveRealtime", () => {
  it("grows the parent's budget to its children's share plus the new one, and leaves a sufficient budget alone", async () => {
    const cpu = tree({
      "p/cpu.rt_period_us": "1000000\n",
      "p/cpu.rt_runtime_us": "0\n",
      "p/c1/cpu.rt_period_us": "1000000\n",
      "p/c1/cpu.rt_runtime_us": "20000\n",
    });
    await reserveRealtime(cpu, "/p", 5000, 500_000);
    expect(readFileSync(join(cpu, "p/cpu.rt_runtime_us"), "utf8")).toBe("30000");
    writeFileSync(join(cpu, "p/cpu.rt_runtime_us"), "900000");
    await reserveRealtime(cpu, "/p", 5000, 500_000);
    expect(readFileSync(join(cpu, "p/cpu.rt_runtime_us"), "utf8")).toBe("900000");
  });
});
