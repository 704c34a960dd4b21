// Process and namespace keys on the embedded engine, checked from inside the
// containers: pid/ipc service:x, uts host, cgroup host + cgroup_parent,
// init, group_add, devices, userns_mode host, runtime, platform. One stack, so one daemon and one `up`.
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, spawnCli } from "./support/e2e.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tpk${process.pid}`;

// daemon.json `runtimes`: a runc-compatible wrapper that records each invocation, with a runtimeArg
// of its own it must receive first (and drops before it runs the real runc).
const runtimeDir = mkdtempSync(join(tmpdir(), "tscompose-test-runtime-"));
const runtimeLog = join(runtimeDir, "calls.log");
const runtimeBin = join(runtimeDir, "traced-runc");
writeFileSync(runtimeBin, `#!/bin/sh\necho "$*" >> ${runtimeLog}\n[ "$1" = "--traced-tag" ] && shift\nexec runc "$@"\n`);
chmodSync(runtimeBin, 0o755);

// Asynchronous, so the test's worker keeps answering vitest while a long `up` runs.
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = spawnCli(s.daemon, ["-p", project, ...args], { cwd: s.work });
  const code = await run.exited(240_000);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}
async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  if (r.code !== 0) throw new Error(`tscompose ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
const sh = (service: string, script: string): Promise<string> => ok(["exec", "-T", service, "sh", "-c", script]);
/** Exit code and output of a script that may fail (a check that something is refused). */
const tryShell = (service: string, script: string) => cli(["exec", "-T", service, "sh", "-c", `${script}; echo "rc=$?"`]);

const parent = (): string => `/${s.daemon.prefix}/custom`;
const stack = (): string => `
services:
  main:
    image: busybox
    command: ["sleep", "3600"]
    init: true
    ipc: shareable
    shm_size: 16m
    cgroup: host
    cgroup_parent: ${parent()}
    group_add: [www-data, "4242"]
    devices: ["/dev/net/tun:/dev/mytun:r"]
    userns_mode: host
    runtime: traced
  joiner:
    image: busybox
    command: ["sleep", "3601"]
    pid: service:main
    ipc: service:main
    uts: host
    runtime: runc
  alone:
    image: tscompose/multiplatform
    platform: linux/arm64/v8
    command: ["sleep", "3602"]
`;

beforeAll(async () => {
  s = await startStackSuite("proc-keys", ["busybox", "multiplatform"], { runtimes: { traced: { path: runtimeBin, runtimeArgs: ["--traced-tag"] } } });
  s.projects.push({ name: project, cwd: s.work });
}, 300_000);

afterAll(async () => {
  expect(await stopStackSuite(s)).toEqual([]);
  rmSync(runtimeDir, { recursive: true, force: true });
}, 180_000);

describe("process and namespace keys", () => {
  it("share pid and ipc namespaces, keep the host's uts and cgroup namespaces, run an init, add groups and devices", async () => {
    writeFileSync(join(s.work, "compose.yaml"), stack());
    await ok(["up", "-d"]);

    // pid: service:main: the joiner sees main's processes (and its own); alone does not.
    const joinerPs = await sh("joiner", "ps -o args");
    expect(joinerPs).toContain("sleep 3600");
    expect(joinerPs).toContain("sleep 3601");
    const alonePs = await sh("alone", "ps -o args");
    expect(alonePs).toContain("sleep 3602");
    expect(alonePs).not.toContain("sleep 3600");

    // ipc: service:main: the same IPC namespace (SysV IPC, POSIX message queues); alone has its own.
    const ipcOf = (svc: string) => sh(svc, "readlink /proc/self/ns/ipc");
    expect(await ipcOf("joiner")).toBe(await ipcOf("main"));
    expect(await ipcOf("alone")).not.toBe(await ipcOf("main"));
    // ipc: shareable: main's /dev/shm (a tmpfs on the host, of its shm_size) is the joiner's too, so POSIX
    // shared memory is shared; alone's is its own (the positive control: it can use it).
    await sh("main", "echo shared > /dev/shm/seg");
    expect(await sh("joiner", "cat /dev/shm/seg")).toBe("shared\n");
    expect((await tryShell("alone", "cat /dev/shm/seg 2>/dev/null")).stdout).toBe("rc=1\n");
    expect(await sh("alone", "echo own > /dev/shm/own && cat /dev/shm/own")).toBe("own\n");
    expect(await sh("joiner", "df -k /dev/shm | awk 'NR==2 {print $2}'")).toBe("16384\n");
    const shmMounts = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(s.daemon.stateDir) && / \S+\/shm /.test(l));
    expect(shmMounts()).toHaveLength(1);

    // uts: host: the host's hostname; the others have their own.
    expect((await sh("joiner", "hostname")).trim()).toBe(hostname());
    expect((await sh("alone", "hostname")).trim()).not.toBe(hostname());

    // init: PID 1 is docker-init (tini), the command its child.
    expect(await sh("main", "tr '\\0' ' ' < /proc/1/cmdline")).toBe("/sbin/docker-init -- sleep 3600 ");
    const sleepParent = await sh("main", "for p in /proc/[0-9]*; do if [ \"$(tr '\\0' ' ' < $p/cmdline)\" = 'sleep 3600 ' ]; then awk '{print $4}' $p/stat; fi; done");
    expect(sleepParent).toBe("1\n");

    // cgroup: host with cgroup_parent: /proc/self/cgroup shows the host's path, under the parent; a private namespace shows "/".
    const cgroups = await sh("main", "cat /proc/self/cgroup");
    expect(cgroups).toMatch(new RegExp(`:${parent()}/[0-9a-f]{64}$`, "m"));
    expect(await sh("alone", "cat /proc/self/cgroup")).not.toContain(parent());

    // group_add: by name from the image's /etc/group and by number.
    expect((await sh("main", "id -G")).trim().split(" ")).toEqual(expect.arrayContaining(["0", "33", "4242"]));
    expect((await sh("alone", "id -G")).trim().split(" ")).not.toContain("33");

    // devices: the host's tun device at /dev/mytun, opened (tun then says its state is bad: no interface attached),
    // where joiner, without it, has no such node.
    expect((await tryShell("main", "cat /dev/mytun 2>&1")).stdout).toContain("File descriptor in bad state");
    expect((await tryShell("joiner", "test -e /dev/mytun")).stdout).toBe("rc=1\n");

    // runtime: main was created, and its exec run, by the configured runtime, with its runtimeArgs first;
    // joiner (runtime: runc) and alone (the default) never went through it.
    const idOf = async (svc: string) => ((await ok(["ps", "-q", svc])).trim());
    const calls = readFileSync(runtimeLog, "utf8").split("\n");
    const [mainId, joinerId, aloneId] = [await idOf("main"), await idOf("joiner"), await idOf("alone")];
    expect(mainId).toMatch(/^[0-9a-f]{64}$/);
    expect(calls.find((c) => / create /.test(c) && c.includes(mainId))).toMatch(/^--traced-tag --root \S+ .*create/);
    expect(calls.some((c) => / exec /.test(c) && c.endsWith(mainId))).toBe(true);
    expect(calls.some((c) => c.includes(joinerId) || c.includes(aloneId))).toBe(false);

    // cgroup_parent: main's cgroup is under the parent in the host's hierarchies (v1 per controller, v2 one tree);
    // the same look after down must find none.
    const containerCgroups = (): string[] =>
      ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .map((root) => join(root, parent()))
        .flatMap((dir) => (existsSync(dir) ? readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => join(dir, n)) : []));
    expect(containerCgroups().some((d) => d.endsWith(mainId))).toBe(true);

    // platform: the image pulled is the arm64 one of the index.
    const [image] = JSON.parse(await ok(["image", "inspect", "tscompose/multiplatform"])) as { Architecture: string; Variant?: string }[];
    expect(image?.Architecture).toBe("arm64");

    // SIGTERM reaches the command through the init: it ends by the signal (143), not by the kill after the grace period (137).
    await ok(["stop", "-t", "60", "main"]);
    const ps = jsonLines<{ ExitCode: number }>(await ok(["ps", "-a", "--format", "json", "main"]));
    expect(ps[0]?.ExitCode).toBe(143);

    await ok(["down", "-t", "0"]);
    // main's host /dev/shm went with it.
    expect(shmMounts()).toEqual([]);
    // The container's cgroup under cgroup_parent went with it.
    expect(containerCgroups()).toEqual([]);
  }, 600_000);

  it("refuses at up, at the key, a runtime daemon.json does not name, before creating anything", async () => {
    writeFileSync(join(s.work, "compose.yaml"), "services:\n  x:\n    image: busybox\n    runtime: nvidia\n");
    expect((await cli(["config"])).stdout).toContain("runtime: nvidia");
    const r = await cli(["up", "-d"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/compose\.yaml:4:5: .*services\.x\.runtime: unknown or invalid runtime name: nvidia/);
    expect((await ok(["ps", "-a", "-q"])).trim()).toBe("");
  }, 120_000);

  it("prints in config, and refuses at up at the key's line, what the embedded engine cannot do", async () => {
    writeFileSync(
      join(s.work, "compose.yaml"),
      "services:\n  x:\n    image: busybox\n    userns_mode: \"private\"\n",
    );
    expect((await cli(["config"])).code).toBe(0);
    const r = await cli(["up", "-d"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/compose\.yaml:4:5: .*services\.x\.userns_mode: not supported by the embedded engine: user namespace remapping/);
  }, 120_000);
});
