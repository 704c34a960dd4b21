// Confinement of containers on the embedded engine, checked from inside real
// containers (busybox and redis pulled from a local registry, run by runc):
// Docker's default seccomp profile (denied calls fail with EPERM, clone3 with
// ENOSYS, ordinary programs run, CAP_SYS_ADMIN and privileged lift it as in
// Docker), security_opt (seccomp=unconfined / a profile, no-new-privileges),
// and the masked and read-only paths of /proc and /sys. Every denial has a
// positive control: the same probe succeeds where the confinement is lifted.
//
// The probes are tiny static x86-64 programs (test/support/syscall-probe.ts)
// that make one system call and exit with its errno, bind-mounted read-only.
import { existsSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerSpec } from "../../engine/types.js";
import { pushTestImage } from "../fixtures/push.js";
import { redisAvailable } from "../fixtures/images.js";
import { startRegistry } from "../fixtures/registry.js";
import type { TestRegistry } from "../fixtures/registry.js";
import { engineWorld, execText, logLines } from "../support/engine.js";
import type { EngineWorld } from "../support/engine.js";
import { SYS, probeSupported, syscallProbe } from "../support/syscall-probe.js";
import { isRoot, missing, skipUnless } from "../support/requires.js";
import { eventually } from "../support/wait.js";
import { poolOctet } from "../support/pools.js";

// Skipped without root, a failure under TSCOMPOSE_TEST_REQUIRE_ALL=1 (test/support/requires.ts).
const root = !missing("root", isRoot);

let registry: TestRegistry;
let w: EngineWorld;
let probeDir: string;
let haveRedis = false;

// name -> the call: each exits 0 when allowed, else with the errno it got.
const PROBES: Record<string, Buffer> = {
  // KEYCTL_GET_KEYRING_ID of the session keyring (runc gives each container one)
  keyctl: syscallProbe(SYS.keyctl, [0, -3n, 1]),
  // a user namespace needs no capability: only seccomp stops it
  unshare: syscallProbe(SYS.unshare, [0x10000000]),
  mount: syscallProbe(SYS.mount, ["none", "/tmp", "tmpfs", 0, 0]),
  // ADDR_NO_RANDOMIZE: not one of the personas the profile lets through
  personality: syscallProbe(SYS.personality, [0x0040000]),
  vsock: syscallProbe(SYS.socket, [40, 1, 0]),
  // clone3(NULL, 0): EINVAL from the kernel, ENOSYS from Docker's profile
  clone3: syscallProbe(SYS.clone3, [0, 0]),
  getpid: syscallProbe(39),
};

/** Runs every probe in a new container and returns name -> errno, plus its /proc/1/status. */
async function probe(over: Partial<ContainerSpec> = {}): Promise<{ errno: Record<string, number>; status: string }> {
  const script = `for p in ${Object.keys(PROBES).join(" ")}; do /probe/$p; echo "probe $p=$?"; done; grep -E '^(Seccomp|NoNewPrivs)' /proc/1/status`;
  const { output } = await runToExit({ cmd: ["sh", "-c", script], ...over });
  const errno: Record<string, number> = {};
  for (const m of output.matchAll(/^probe (\w+)=(\d+)$/gm)) errno[m[1] as string] = Number(m[2]);
  return { errno, status: output };
}

async function runToExit(over: Partial<ContainerSpec>): Promise<{ exitCode: number; output: string }> {
  const spec = w.spec({ mounts: [{ type: "bind", source: probeDir, target: "/probe", readOnly: true }], ...over });
  const c = await w.engine.createContainer(spec);
  try {
    await w.engine.startContainer(c.id);
    const { exitCode } = await w.engine.waitContainer(c.id);
    const output = (await logLines(w.engine, c.id)).map((l) => l.line).join("\n");
    return { exitCode, output };
  } finally {
    await w.engine.removeContainer(c.id, { force: true });
  }
}

beforeAll(async () => {
  if (!root) return;
  registry = await startRegistry();
  await pushTestImage(registry, "busybox");
  haveRedis = await redisAvailable();
  if (haveRedis) await pushTestImage(registry, "redis");
  w = await engineWorld({ mirror: registry.url, poolOctet: poolOctet("security-confinement") });
  await w.engine.pullImage("busybox");
  if (haveRedis) await w.engine.pullImage("redis");
  probeDir = join(w.dir, "probe");
  await mkdir(probeDir, { recursive: true });
  for (const [name, bytes] of Object.entries(PROBES)) {
    await writeFile(join(probeDir, name), bytes);
    await chmod(join(probeDir, name), 0o755);
  }
}, 240_000);

afterAll(async () => {
  if (w) {
    expect(await w.cleanupAndFindLeaks()).toEqual([]);
  }
  await registry?.stop();
}, 120_000);

describe.skipIf(!root || !probeSupported)("seccomp: Docker's default profile", () => {
  it("is on: Seccomp 2 (filter mode) in /proc/1/status", async () => {
    const { status } = await probe();
    expect(status).toMatch(/^Seccomp:\s+2$/m);
  }, 60_000);

  it("denies keyctl, unshare, mount, personality flags and AF_VSOCK with EPERM, clone3 with ENOSYS; getpid works", async () => {
    const { errno } = await probe();
    expect(errno).toEqual({ keyctl: 1, unshare: 1, mount: 1, personality: 1, vsock: 1, clone3: 38, getpid: 0 });
  }, 60_000);

  it("positive control: seccomp=unconfined lets the same calls through (mount still lacks CAP_SYS_ADMIN)", async () => {
    const { errno, status } = await probe({ seccompProfile: "unconfined" });
    expect(status).toMatch(/^Seccomp:\s+0$/m);
    expect(errno).toMatchObject({ keyctl: 0, unshare: 0, mount: 1, personality: 0, clone3: 22, getpid: 0 });
    expect(errno.vsock).not.toBe(1);
  }, 60_000);

  it("cap_add SYS_ADMIN gets mount, unshare and clone3 as under Docker, but still no keyctl", async () => {
    const { errno, status } = await probe({ capAdd: ["SYS_ADMIN"] });
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(errno).toMatchObject({ keyctl: 1, unshare: 0, mount: 0, clone3: 22 });
  }, 60_000);

  it("privileged: no filter, as Docker", async () => {
    const { errno, status } = await probe({ privileged: true });
    expect(status).toMatch(/^Seccomp:\s+0$/m);
    expect(errno).toMatchObject({ keyctl: 0, unshare: 0, mount: 0 });
  }, 60_000);

  it("a profile of one's own (Docker's format) replaces the default", async () => {
    const profile = JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }] });
    const { errno } = await probe({ seccompProfile: profile });
    expect(errno).toMatchObject({ getpid: 13, keyctl: 0, personality: 0 });
  }, 60_000);

  it("execs run under the container's filter", async () => {
    const c = await w.engine.createContainer(w.spec({ cmd: ["sleep", "60"], mounts: [{ type: "bind", source: probeDir, target: "/probe", readOnly: true }] }));
    try {
      await w.engine.startContainer(c.id);
      expect((await execText(w.engine, c.id, ["/probe/keyctl"])).exitCode).toBe(1);
      expect((await execText(w.engine, c.id, ["/probe/getpid"])).exitCode).toBe(0);
    } finally {
      await w.engine.removeContainer(c.id, { force: true });
    }
  }, 60_000);

  it("ordinary programs run: busybox httpd answers wget", async () => {
    const script = "mkdir /www && echo hello-seccomp > /www/index.html && httpd -p 127.0.0.1:8080 -h /www && timeout 5 wget -q -O - http://127.0.0.1:8080/";
    const { exitCode, output } = await runToExit({ cmd: ["sh", "-c", script] });
    expect(output).toContain("hello-seccomp");
    expect(exitCode).toBe(0);
  }, 60_000);

  it("ordinary programs run: redis-server answers redis-cli", async (ctx) => {
    skipUnless(ctx, "the redis test image (redis-server installed)", haveRedis);
    const c = await w.engine.createContainer(w.spec({ image: "redis", cmd: undefined }));
    try {
      await w.engine.startContainer(c.id);
      // redis-server was just started: wait until it answers.
      const ping = async () => (await execText(w.engine, c.id, ["redis-cli", "ping"])).stdout;
      await eventually(ping, (reply) => reply.includes("PONG"), 10_000, "redis-cli ping answered PONG");
      expect((await execText(w.engine, c.id, ["sh", "-c", "grep Seccomp: /proc/1/status"])).stdout).toMatch(/Seccomp:\s+2/);
    } finally {
      await w.engine.removeContainer(c.id, { force: true });
    }
  }, 60_000);
});

describe.skipIf(!root)("security_opt: no-new-privileges", () => {
  it("sets NoNewPrivs for the container and its execs; off by default as in Docker", async () => {
    const c = await w.engine.createContainer(w.spec({ cmd: ["sleep", "60"], noNewPrivileges: true }));
    try {
      await w.engine.startContainer(c.id);
      expect((await execText(w.engine, c.id, ["grep", "NoNewPrivs", "/proc/1/status"])).stdout).toMatch(/NoNewPrivs:\s+1/);
      expect((await execText(w.engine, c.id, ["grep", "NoNewPrivs", "/proc/self/status"])).stdout).toMatch(/NoNewPrivs:\s+1/);
    } finally {
      await w.engine.removeContainer(c.id, { force: true });
    }
    const { output } = await runToExit({ cmd: ["grep", "NoNewPrivs", "/proc/1/status"] });
    expect(output).toMatch(/NoNewPrivs:\s+0/);
  }, 60_000);
});

// Docker's lists (moby daemon/pkg/oci/defaults.go), written out here rather than imported, so that the test checks the engine's.
const MASKED_PATHS = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/interrupts",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/sys/devices/virtual/powercap",
  "/sys/firmware",
];
const READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

describe.skipIf(!root)("masked and read-only paths (Docker's defaults)", () => {
  // For each path: what the container sees (a directory's entry count, the first bytes of a file), then its mounts.
  const script = [
    `for p in ${[...MASKED_PATHS, ...READONLY_PATHS].join(" ")}; do`,
    '  if [ -d "$p" ]; then echo "path $p dir $(ls -A "$p" | wc -l)";',
    '  elif [ -e "$p" ]; then echo "path $p file $(head -c 64 "$p" 2>/dev/null | wc -c)";',
    '  else echo "path $p absent 0"; fi',
    "done",
    // only the container's own UTS namespace sees this hostname
    'if (echo confined-test > /proc/sys/kernel/hostname) 2>/tmp/err; then echo "write ok"; else echo "write failed $(cat /tmp/err)"; fi',
    "cat /proc/self/mountinfo",
  ].join("\n");
  type Seen = { kind: string; size: number; mountOpts: string | undefined };
  async function look(over: Partial<ContainerSpec> = {}): Promise<{ seen: Map<string, Seen>; write: string }> {
    const { output } = await runToExit({ cmd: ["sh", "-c", script], ...over });
    const mounts = new Map<string, string>();
    for (const line of output.split("\n")) {
      const f = line.split(" ");
      // mountinfo: id parent maj:min root mountpoint options ...
      if (f.length > 6 && /^\d+$/.test(f[0] as string)) mounts.set(f[4] as string, f[5] as string);
    }
    const seen = new Map<string, Seen>();
    for (const m of output.matchAll(/^path (\S+) (\w+) (\d+)$/gm)) seen.set(m[1] as string, { kind: m[2] as string, size: Number(m[3]), mountOpts: mounts.get(m[1] as string) });
    return { seen, write: /^write .*$/m.exec(output)?.[0] ?? "" };
  }

  it("masked paths read empty (files are /dev/null, directories an empty tmpfs); the host's are all covered", async () => {
    const { seen } = await look();
    const hostHas = MASKED_PATHS.filter((p) => existsSync(p));
    expect(hostHas.length).toBeGreaterThan(0);
    for (const p of MASKED_PATHS) {
      const s = seen.get(p);
      if (!hostHas.includes(p)) continue;
      expect(s?.kind, p).not.toBe("absent");
      expect(s?.size, `${p} must read empty`).toBe(0);
      expect(s?.mountOpts, `${p} must be a mount`).toBeDefined();
    }
  }, 60_000);

  it("read-only paths are read-only mounts, and writing /proc/sys fails with EROFS", async () => {
    const { seen, write } = await look();
    for (const p of READONLY_PATHS.filter((x) => existsSync(x))) expect(seen.get(p)?.mountOpts?.split(","), p).toContain("ro");
    expect(write).toMatch(/^write failed .*Read-only file system/);
  }, 60_000);

  it("positive control: privileged lifts them, as Docker (the host's timer_list and interrupts are visible, /proc/sys writable)", async () => {
    const { seen, write } = await look({ privileged: true });
    for (const p of ["/proc/timer_list", "/proc/interrupts"].filter((x) => existsSync(x))) {
      expect(seen.get(p)?.size, p).toBeGreaterThan(0);
      expect(seen.get(p)?.mountOpts, p).toBeUndefined();
    }
    expect(write).toBe("write ok");
  }, 60_000);
});
