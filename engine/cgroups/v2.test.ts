// cgroup v2 parsing against files written the way a v2 kernel lays them out
// (this host is v1/hybrid, so the directory is recorded, not real).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectCgroupVersion } from "./detect.js";
import { CgroupV2, parseIoStat } from "./v2.js";

let root: string;
const path = "/tscompose/abc";

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tsc-cgv2-"));
  const dir = join(root, path);
  await mkdir(join(dir, "child"), { recursive: true });
  await writeFile(join(root, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n");
  const files: Record<string, string> = {
    "cgroup.procs": "4242\n4250\n",
    "cpu.stat": "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n",
    "memory.current": "26214400\n",
    "memory.max": "33554432\n",
    "memory.stat":
      "anon 18874368\nfile 6291456\nkernel 1048576\nkernel_stack 32768\npagetables 131072\nsec_pagetables 0\npercpu 0\nsock 0\nvmalloc 0\nshmem 0\nfile_mapped 2097152\nfile_dirty 0\nfile_writeback 0\nswapcached 0\nanon_thp 0\ninactive_anon 18874368\nactive_anon 0\ninactive_file 4194304\nactive_file 2097152\nunevictable 0\n",
    "memory.events": "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n",
    "pids.current": "2\n",
    "pids.max": "max\n",
    "io.stat": "259:0 rbytes=1048576 wbytes=4096 rios=12 wios=1 dbytes=0 dios=0\n8:0 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
  };
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("cgroup v2", () => {
  it("is detected by cgroup.controllers at the root", () => {
    expect(detectCgroupVersion(root)).toBe(2);
    expect(detectCgroupVersion(join(root, "nonexistent"))).toBe(1);
  });

  it("reads cpu, memory (minus inactive file), limits, pids, io, OOM kills", async () => {
    const cg = new CgroupV2(root);
    expect(await cg.exists(path)).toBe(true);
    expect(await cg.stats(path)).toEqual({
      cpuUsageNs: 1234567000,
      memoryUsage: 26214400 - 4194304,
      memoryLimit: 33554432,
      pids: 2,
      pidsLimit: undefined,
      blockRead: 1048576 + 512,
      blockWrite: 4096,
      oomKills: 2,
    });
    expect(await cg.oomKillCount(path)).toBe(2);
    expect(cg.paths(path)).toEqual([join(root, path)]);
  });

  it("treats memory.max 'max' as unlimited and a missing cgroup as ENOENT", async () => {
    await writeFile(join(root, path, "memory.max"), "max\n");
    expect((await new CgroupV2(root).stats(path)).memoryLimit).toBeUndefined();
    await expect(new CgroupV2(root).stats("/tscompose/none")).rejects.toMatchObject({ code: "ENOENT" });
    expect(await new CgroupV2(root).oomKillCount("/tscompose/none")).toBe(0);
  });

  it("io.stat lines without rbytes/wbytes are fine", () => {
    expect(parseIoStat("254:0 rios=1\n\n")).toEqual({ read: 0, write: 0 });
  });
});
