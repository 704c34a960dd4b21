// Resource keys (issue 16, area "res"), checked where the kernel applies them:
// the container's own cgroup files (mounted at /sys/fs/cgroup inside it) and
// /proc/self, read from inside the container. Limits the host cannot honour
// fail at `up`, located at their key, before any container exists.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectCgroupVersion } from "../engine/cgroups/detect.js";
import { hostCgroupSupport } from "../engine/cgroups/support.js";
import { hasSysResource } from "../engine/runtime/rlimits.js";
import { runCli } from "./support/e2e.js";
import { projectCli, startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tres${process.pid}`;
const v1 = detectCgroupVersion() === 1;
const support = hostCgroupSupport();
// The container's cgroup files: one hierarchy per controller on v1, one directory on v2.
const cg = (controller: string, file: string) => (v1 ? `/sys/fs/cgroup/${controller}/${file}` : `/sys/fs/cgroup/${file}`);

const stack = `
services:
  lim:
    image: busybox
    command: ["sleep", "3600"]
    mem_limit: 64m
    memswap_limit: 96m
    mem_reservation: 32m
    mem_swappiness: 10
    oom_kill_disable: true
    oom_score_adj: 123
    cpu_period: 50000
    cpu_quota: 25000
    cpuset: "0"
    ulimits:
      nproc: {soft: 100, hard: 200}
    blkio_config:
      device_read_bps: [{path: /dev/vda, rate: 1mb}]
      device_write_iops: [{path: /dev/vda, rate: 100}]
  rt:
    image: busybox
    command: ["sleep", "3600"]
    cpu_rt_period: 1s
    cpu_rt_runtime: 10000
    deploy:
      resources:
        reservations: {memory: 16m}
        limits: {memory: 48m, cpus: "0.5", pids: 50}
`;

const { cli, sh } = projectCli(() => s, project);

beforeAll(async () => {
  s = await startStackSuite("resources");
  s.projects.push({ name: project, cwd: s.work });
}, 300_000);

afterAll(async () => {
  expect(await stopStackSuite(s, ["-t", "0"])).toEqual([]);
}, 180_000);

describe.runIf(v1 && support.cpuRealtime && support.memorySwap && support.blkioThrottle)("resource limits (cgroup v1 host)", () => {
  it("memory, swap, reservation, swappiness, OOM, CFS, cpuset, ulimits, blkio throttles and RT runtime reach the container's cgroup", async () => {
    writeFileSync(join(s.work, "compose.yaml"), stack);
    await cli(["up", "-d"]);
    const files = [
      cg("memory", "memory.limit_in_bytes"),
      cg("memory", "memory.memsw.limit_in_bytes"),
      cg("memory", "memory.soft_limit_in_bytes"),
      cg("memory", "memory.swappiness"),
      cg("cpu", "cpu.cfs_period_us"),
      cg("cpu", "cpu.cfs_quota_us"),
      cg("cpuset", "cpuset.cpus"),
      "/proc/self/oom_score_adj",
    ];
    const out = await sh("lim", `cat ${files.join(" ")}; grep oom_kill_disable ${cg("memory", "memory.oom_control")}; ulimit -u; ulimit -Hu; cat ${cg("blkio", "blkio.throttle.read_bps_device")} ${cg("blkio", "blkio.throttle.write_iops_device")}`);
    expect(out.split("\n")).toEqual([
      String(64 << 20),
      String(96 << 20),
      String(32 << 20),
      "10",
      "50000",
      "25000",
      "0",
      "123",
      "oom_kill_disable 1",
      "100",
      "200",
      "254:0 1048576",
      "254:0 100",
      "",
    ]);

    // deploy.resources: limits as mem_limit/cpus/pids_limit; reservations.memory as mem_reservation. Docker's default swap: as much again.
    const rt = await sh(
      "rt",
      `cat ${[
        cg("cpu", "cpu.rt_period_us"),
        cg("cpu", "cpu.rt_runtime_us"),
        cg("memory", "memory.limit_in_bytes"),
        cg("memory", "memory.memsw.limit_in_bytes"),
        cg("memory", "memory.soft_limit_in_bytes"),
        cg("cpu", "cpu.cfs_quota_us"),
        cg("pids", "pids.max"),
        "/proc/self/oom_score_adj",
      ].join(" ")}`,
    );
    expect(rt.split("\n")).toEqual(["1000000", "10000", String(48 << 20), String(96 << 20), String(16 << 20), "50000", "50", "0", ""]);
  }, 300_000);

  it("refuses at up, located at the key, what this host cannot do, and creates nothing", () => {
    const cases: [string, string, RegExp][] = [
      ["blkio_config:\n      weight: 300", "blkio_config.weight", /bad\.yaml:5:\d+: services\.bad\.blkio_config\.weight: not supported by the embedded engine: cgroup v1 has no proportional block IO weight/],
      ["ulimits:\n      nofile: {soft: 1024, hard: 999999}", "ulimits", /bad\.yaml:5:\d+: services\.bad\.ulimits\.nofile: ulimit nofile: 999999 is above the daemon's hard limit/],
      ["cpuset: 0-63", "cpuset", /bad\.yaml:4:\d+: services\.bad\.cpuset: Requested CPUs are not available - requested 0-63/],
      ["blkio_config:\n      device_read_bps: [{path: /dev/null, rate: 1mb}]", "blkio device", /bad\.yaml:5:\d+: services\.bad\.blkio_config\.device_read_bps\[0\]\.path: \/dev\/null is not a block device/],
    ];
    for (const [body, what, err] of cases) {
      // nofile above the daemon's limit is only an error where the daemon may not raise it (CAP_SYS_RESOURCE).
      if (what === "ulimits" && hasSysResource(readFileSync("/proc/self/status", "utf8"))) continue;
      const bad = `bad${project}`;
      writeFileSync(join(s.work, "bad.yaml"), `services:\n  bad:\n    image: busybox\n    ${body}\n`);
      const r = runCli(s.daemon, ["-p", bad, "-f", "bad.yaml", "up", "-d"], { cwd: s.work });
      expect(r.code, what).not.toBe(0);
      expect(r.stderr, what).toMatch(err);
      const ps = runCli(s.daemon, ["-p", bad, "-f", "bad.yaml", "ps", "-a", "-q"], { cwd: s.work });
      expect(ps.code, what).toBe(0);
      expect(ps.stdout, what).toBe("");
    }
  }, 300_000);
});

