import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CgroupSupport } from "../../engine/cgroups/support.js";
import type { StackError } from "./errors.js";
import { stackErrorOf } from "./testing.js";
import type { HostResources } from "./host-resources.js";
import { loadStack } from "./load.js";
import { renderService } from "./render.js";
import { parseCpuList } from "./resources.js";

const root = mkdtempSync(join(tmpdir(), "tscompose-test-resources-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function write(yaml: string): string {
  const dir = join(root, `p${counter++}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "compose.yaml"), yaml);
  return dir;
}

function load(yaml: string, host?: HostResources) {
  const dir = write(yaml);
  return { dir, ...loadStack({ files: [], envFiles: [], profiles: [], env: {}, cwd: dir, host }) };
}

function loadError(yaml: string, host?: HostResources): { err: StackError; dir: string } {
  const dir = write(yaml);
  return { err: stackErrorOf(() => loadStack({ files: [], envFiles: [], profiles: [], env: {}, cwd: dir, host })), dir };
}

const svc = (body: string) => `services:\n  app:\n    image: busybox\n${body}`;

describe("resource keys: model and config output", () => {
  it("reads every key into the model and prints compose's canonical form", () => {
    const { stack } = load(
      svc(
        [
          "    mem_limit: 64m",
          "    mem_reservation: 32m",
          "    memswap_limit: 128m",
          "    mem_swappiness: 10",
          "    oom_kill_disable: true",
          "    oom_score_adj: -500",
          "    cpu_period: 50000",
          "    cpu_quota: 25000",
          "    cpu_rt_period: 400ms",
          "    cpu_rt_runtime: 1000",
          "    cpuset: 0-1",
          "    blkio_config:",
          "      weight: 300",
          "      weight_device: [{path: /dev/vda, weight: 200}]",
          "      device_read_bps: [{path: /dev/vda, rate: 1mb}]",
          "      device_write_iops: [{path: /dev/vda, rate: 100}]",
          "",
        ].join("\n"),
      ),
    );
    const s = stack.services.app;
    if (!s) throw new Error("no service");
    expect(s.memReservation).toBe(32 << 20);
    expect(s.cpuRtPeriod).toBe(400_000);
    expect(renderService(s)).toMatchObject({
      mem_limit: 64 << 20,
      mem_reservation: 32 << 20,
      memswap_limit: 128 << 20,
      mem_swappiness: 10,
      oom_kill_disable: true,
      oom_score_adj: -500,
      cpu_period: 50000,
      cpu_quota: 25000,
      cpu_rt_period: 400000,
      cpu_rt_runtime: 1000,
      cpuset: "0-1",
      blkio_config: {
        weight: 300,
        weight_device: [{ path: "/dev/vda", weight: 200 }],
        device_read_bps: [{ path: "/dev/vda", rate: 1 << 20 }],
        device_write_iops: [{ path: "/dev/vda", rate: 100 }],
      },
    });
  });

  it("deploy.resources.reservations.memory is a memory reservation; memswap_limit -1 is unlimited swap", () => {
    const { stack } = load(svc("    mem_limit: 64m\n    memswap_limit: -1\n    deploy:\n      resources:\n        reservations: {cpus: '0.5', memory: 16m}\n"));
    expect(stack.services.app?.memReservation).toBe(16 << 20);
    expect(stack.services.app?.memswapLimit).toBe(-1);
  });

  it("a changed limit changes the config hash (the container is recreated)", () => {
    const a = load(svc("    oom_score_adj: 100\n")).stack.services.app?.configHash;
    const b = load(svc("    oom_score_adj: 200\n")).stack.services.app?.configHash;
    expect(a).not.toBe(b);
  });
});

describe("resource values dockerd refuses fail at their key", () => {
  const cases: { name: string; body: string; err: string; line: number }[] = [
    { name: "cpus with cpu_quota", body: "    cpus: 0.5\n    cpu_quota: 50000\n", err: "Conflicting options: Nano CPUs and CPU Quota cannot both be set", line: 5 },
    { name: "cpus with cpu_period", body: "    cpus: 0.5\n    cpu_period: 50000\n", err: "Conflicting options: Nano CPUs and CPU Period cannot both be set", line: 5 },
    { name: "cpu_period out of range", body: "    cpu_period: 500\n", err: "CPU cfs period can not be less than 1ms", line: 4 },
    { name: "cpu_quota too small", body: "    cpu_quota: 500\n", err: "CPU cfs quota can not be less than 1ms", line: 4 },
    { name: "rt runtime above period", body: "    cpu_rt_period: 1000\n    cpu_rt_runtime: 2000\n", err: "cpu-rt-runtime cannot be higher than cpu-rt-period", line: 5 },
    { name: "memswap without memory", body: "    memswap_limit: 1g\n", err: "You should always set the Memory limit when using Memoryswap limit", line: 4 },
    { name: "memswap below memory", body: "    mem_limit: 1g\n    memswap_limit: 512m\n", err: "Minimum memoryswap limit should be larger than memory limit", line: 5 },
    { name: "reservation above the limit", body: "    mem_limit: 64m\n    mem_reservation: 128m\n", err: "Minimum memory limit can not be less than memory reservation limit", line: 5 },
    { name: "reservation too small", body: "    mem_reservation: 1m\n", err: "Minimum memory reservation allowed is 6MB", line: 4 },
    { name: "swappiness out of range", body: "    mem_swappiness: 101\n", err: "Invalid value: 101, valid memory swappiness range is 0-100", line: 4 },
    { name: "bad cpuset", body: "    cpuset: 1-x\n", err: "Invalid value 1-x for cpuset cpus", line: 4 },
    { name: "blkio weight out of range", body: "    blkio_config:\n      weight: 5\n", err: "Range of blkio weight is from 10 to 1000", line: 5 },
    { name: "blkio device weight out of range", body: "    blkio_config:\n      weight_device: [{path: /dev/vda, weight: 2000}]\n", err: "Range of blkio weight is from 10 to 1000", line: 5 },
    { name: "oom_score_adj out of range (schema)", body: "    oom_score_adj: 1001\n", err: "oom_score_adj", line: 4 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { err, dir } = loadError(svc(c.body));
      expect(err.message).toContain(c.err);
      expect(err.message).toContain(`${join(dir, "compose.yaml")}:${c.line}:`);
    });
  }
});

const v1: CgroupSupport = {
  version: 1,
  memory: true,
  memorySwap: true,
  memoryReservation: true,
  memorySwappiness: true,
  oomKillDisable: true,
  cpuCfs: true,
  cpuRealtime: true,
  cpuset: true,
  blkioWeight: false,
  blkioThrottle: true,
  cpus: "0-1",
};
const v2: CgroupSupport = { ...v1, version: 2, memorySwappiness: false, oomKillDisable: false, cpuRealtime: false, blkioWeight: true };

function fakeHost(cgroups: CgroupSupport, over: Partial<HostResources> = {}): HostResources {
  return {
    cgroups,
    rlimitHard: (name) => ({ nofile: 20000, nproc: 1000 })[name],
    canRaiseRlimits: false,
    nrOpen: 1 << 20,
    deviceKind: (path) => (path === "/dev/vda" ? "block" : path === "/dev/null" ? "other" : "missing"),
    runtimes: ["traced"],
    ...over,
  };
}

describe("at up, resource keys are checked against the host", () => {
  const cases: { name: string; host: HostResources; body: string; err: string; line: number }[] = [
    { name: "rt runtime on cgroup v2", host: fakeHost(v2), body: "    cpu_rt_runtime: 1000\n", err: "services.app.cpu_rt_runtime: not supported by the embedded engine: cgroup v2 has no real-time group scheduling", line: 4 },
    { name: "rt period without RT_GROUP_SCHED", host: fakeHost({ ...v1, cpuRealtime: false }), body: "    cpu_rt_period: 1000\n", err: "CONFIG_RT_GROUP_SCHED", line: 4 },
    { name: "CPUs the host lacks", host: fakeHost(v1), body: "    cpuset: 1-3\n", err: "Requested CPUs are not available - requested 1-3, available: 0-1", line: 4 },
    { name: "blkio weight without a weight controller", host: fakeHost(v1), body: "    blkio_config:\n      weight: 300\n", err: "services.app.blkio_config.weight: not supported by the embedded engine", line: 5 },
    { name: "a missing block device", host: fakeHost(v1), body: "    blkio_config:\n      device_read_bps: [{path: /dev/nope, rate: 1mb}]\n", err: "no such device: /dev/nope", line: 5 },
    { name: "not a block device", host: fakeHost(v1), body: "    blkio_config:\n      device_read_iops:\n        - {path: /dev/null, rate: 10}\n", err: "/dev/null is not a block device", line: 6 },
    { name: "swap limit without swap accounting", host: fakeHost({ ...v1, memorySwap: false }), body: "    mem_limit: 64m\n    memswap_limit: 128m\n", err: "services.app.memswap_limit: not supported by the embedded engine", line: 5 },
    {
      name: "a ulimit above the daemon's hard limit",
      host: fakeHost(v1),
      body: "    ulimits:\n      nofile: {soft: 1024, hard: 40000}\n",
      err: "ulimit nofile: 40000 is above the daemon's hard limit 20000, which it may not raise (no CAP_SYS_RESOURCE)",
      line: 5,
    },
    { name: "nofile above nr_open even for root", host: fakeHost(v1, { canRaiseRlimits: true }), body: "    ulimits:\n      nofile: 2000000\n", err: "is above the kernel's fs.nr_open", line: 5 },
    { name: "a runtime daemon.json does not name", host: fakeHost(v1), body: "    runtime: nvidia\n", err: "services.app.runtime: unknown or invalid runtime name: nvidia", line: 4 },
    { name: "soft above hard", host: fakeHost(v1), body: "    ulimits:\n      nproc: {soft: 100, hard: 10}\n", err: "soft limit 100 must be less than or equal to hard limit 10", line: 5 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { err, dir } = loadError(svc(c.body), c.host);
      expect(err.message).toContain(c.err);
      expect(err.message).toContain(`${join(dir, "compose.yaml")}:${c.line}:`);
    });
  }

  it("what fits the host loads; `config` (no host) does not check it", () => {
    const body = "    runtime: traced\n    cpuset: '1'\n    ulimits:\n      nofile: 2000000\n      nproc: 500\n    blkio_config:\n      device_read_bps: [{path: /dev/vda, rate: 1mb}]\n";
    expect(() => load(svc(body), fakeHost(v1, { canRaiseRlimits: true, nrOpen: 1 << 22 }))).not.toThrow();
    expect(() => load(svc("    cpuset: 5-7\n    cpu_rt_runtime: 1000\n    runtime: nvidia\n"))).not.toThrow();
    expect(() => load(svc("    runtime: runc\n"), fakeHost(v1, { runtimes: [] }))).not.toThrow();
  });

  it("on cgroup v2, swappiness and oom_kill_disable are dropped with a warning, as dockerd does", () => {
    const { warnings } = load(svc("    mem_limit: 64m\n    mem_swappiness: 0\n    oom_kill_disable: true\n"), fakeHost(v2));
    expect(warnings).toEqual([
      expect.stringContaining("services.app.oom_kill_disable: ignored: this kernel does not support OomKillDisable"),
      expect.stringContaining("services.app.mem_swappiness: ignored: this kernel does not support memory swappiness"),
    ]);
    expect(load(svc("    mem_limit: 64m\n    mem_swappiness: 0\n    oom_kill_disable: true\n"), fakeHost(v1)).warnings).toEqual([]);
    expect(load(svc("    oom_kill_disable: true\n"), fakeHost(v1)).warnings).toEqual([expect.stringContaining("OOM killer is disabled for the container, but no memory limit is set")]);
  });
});

describe("parseCpuList", () => {
  it("reads the kernel's list format and refuses anything else", () => {
    expect(parseCpuList("0-2,5,7-8")).toEqual([0, 1, 2, 5, 7, 8]);
    expect(parseCpuList("")).toEqual([]);
    for (const bad of ["1-", "a", "3-1", "1,,2"]) expect(() => parseCpuList(bad)).toThrow();
  });
});
