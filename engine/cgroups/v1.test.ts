// cgroup v1 against a real container on this (v1/hybrid) host, plus the
// parsers with recorded file contents.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testEnv } from "../runtime/testing.js";
import type { TestEnv } from "../runtime/testing.js";
import { baseImage } from "../runtime/testing.js";
import { detectCgroupVersion, hostCpuUsageNs, hostMemoryTotal } from "./detect.js";
import { CgroupV1, parseV1Blkio, parseV1Mounts } from "./v1.js";
import { eventually } from "../../test/support/wait.js";

describe("cgroup v1 parsing", () => {
  it("finds hierarchies in mountinfo, co-mounted controllers included", () => {
    const mountinfo = [
      "30 23 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:4 - tmpfs tmpfs ro,mode=755",
      "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:7 - cgroup cgroup rw,cpu,cpuacct",
      "34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,memory",
      "35 30 0:31 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,name=systemd",
      "36 30 0:32 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw",
    ].join("\n");
    const m = parseV1Mounts(mountinfo);
    expect(m.cpu).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(m.cpuacct).toBe("/sys/fs/cgroup/cpu,cpuacct");
    expect(m.memory).toBe("/sys/fs/cgroup/memory");
    expect(m["name=systemd"]).toBe("/sys/fs/cgroup/systemd");
    expect(m.unified).toBe("/sys/fs/cgroup/unified");
    expect(new CgroupV1(m).paths("/tscompose/x").sort()).toEqual([
      "/sys/fs/cgroup/cpu,cpuacct/tscompose/x",
      "/sys/fs/cgroup/memory/tscompose/x",
      "/sys/fs/cgroup/systemd/tscompose/x",
      "/sys/fs/cgroup/unified/tscompose/x",
    ]);
  });

  it("sums blkio bytes per device, ignoring the Total line", () => {
    expect(parseV1Blkio("8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:16 Read 1\n8:0 Total 4608\nTotal 4609\n")).toEqual({ read: 4097, write: 512 });
  });

  it("host totals", () => {
    expect(hostMemoryTotal("MemTotal:       24684228 kB\nMemFree: 1 kB\n")).toBe(24684228 * 1024);
    expect(hostCpuUsageNs("cpu  100 0 50 1000 10 0 5 7 0 0\ncpu0 1 2 3\n")).toBe(1165 * 1e7);
  });
});

describe.runIf(detectCgroupVersion() === 1)("cgroup v1 on a real container", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await testEnv();
  });
  afterAll(async () => {
    await env.cleanup();
    await eventually(() => env.leaks(), (leaks) => leaks.length === 0, 5000, "nothing left behind", 100);
  });

  it("reads the limits and usage runc set up", async () => {
    const rt = env.runtime;
    const c = await rt.create(
      env.spec({
        cmd: ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=1M count=200; sleep 1000"],
        resources: { memory: 32 * 1024 * 1024, cpus: 0.5, cpuShares: undefined, cpuset: undefined, pids: 50 },
      }),
      { rootfs: env.rootfs, imageConfig: baseImage() },
    );
    await rt.start(c.id);
    const cg = new CgroupV1();
    const path = `${env.cgroupParent}/${c.id}`;
    expect(await cg.exists(path)).toBe(true);
    const s = await eventually(() => cg.stats(path), (st) => st.pids >= 1, 5000, "the container's process in its cgroup", 10);
    expect(s.memoryLimit).toBe(32 * 1024 * 1024);
    expect(s.pidsLimit).toBe(50);
    expect(s.pids).toBeGreaterThanOrEqual(1);
    expect(s.memoryUsage).toBeGreaterThan(0);
    expect(s.cpuUsageNs).toBeGreaterThan(0);
    expect(s.oomKills).toBe(0);
    // cpus: 0.5 became a CFS quota of half the period.
    expect((await readFile(`/sys/fs/cgroup/cpu/${path}/cpu.cfs_quota_us`, "utf8")).trim()).toBe("50000");
    await rt.remove(c.id, { force: true });
    expect(await cg.exists(path)).toBe(false);
    expect(await cg.oomKillCount(path)).toBe(0);
  });
});
