// Real containers (runc under conmon) in a private state dir; afterAll
// removes everything and checks that no process or cgroup is left behind.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerSpec, EngineEvent } from "../types.js";
import type { ContainerRuntime } from "./runtime.js";
import { baseImage } from "./testing.js";
import type { TestEnv } from "./testing.js";
import { testEnv } from "./testing.js";
import { eventually } from "../../test/support/wait.js";

let env: TestEnv;
let rt: ContainerRuntime;
const events: EngineEvent[] = [];

beforeAll(async () => {
  env = await testEnv();
  rt = env.runtime;
  rt.onEvent((e) => events.push(e));
});

afterAll(async () => {
  await env.cleanup();
  // conmon writes the exit file and then exits: give it a moment.
  await eventually(() => env.leaks(), (leaks) => leaks.length === 0, 5000, "nothing left behind", 100);
});

async function run(over: Partial<ContainerSpec>, image = baseImage()) {
  const c = await rt.create(env.spec(over), { rootfs: env.rootfs, imageConfig: image });
  await rt.start(c.id);
  return c.id;
}

/** The shell printed "ready" after its trap: a signal sent earlier would meet the default action. */
async function trapSet(id: string): Promise<void> {
  await eventually(() => logText(id), (t) => t.startsWith("ready"), 5000, "the trap set", 25);
}

async function logText(id: string, stream?: "stdout" | "stderr"): Promise<string> {
  const lines: string[] = [];
  for await (const e of rt.logs(id, { stdout: stream !== "stderr", stderr: stream !== "stdout" })) lines.push(e.line);
  return lines.join("\n");
}

describe("exit codes and stop", () => {
  it("sh -c 'exit 3' exits with 3, with the die event", async () => {
    const id = await run({ cmd: ["sh", "-c", "echo out; echo err >&2; exit 3"] });
    expect(await rt.wait(id)).toEqual({ exitCode: 3, oomKilled: false });
    const info = await rt.inspect(id);
    expect(info).toMatchObject({ state: "exited", exitCode: 3, oomKilled: false, pid: undefined });
    expect(info?.finishedAt).toBeDefined();
    expect(await logText(id, "stdout")).toBe("out");
    expect(await logText(id, "stderr")).toBe("err");
    const mine = events.filter((e) => e.type === "container" && e.id === id).map((e) => e.action);
    expect(mine).toEqual(["create", "start", "die"]);
    expect(events.find((e) => e.type === "container" && e.id === id && e.action === "die")).toMatchObject({ exitCode: 3 });
  });

  it("a shell trapping TERM exits cleanly on stop", async () => {
    const id = await run({ cmd: ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.1; done"] });
    await trapSet(id);
    await rt.stop(id, { timeoutMs: 10_000 });
    expect(await rt.inspect(id)).toMatchObject({ state: "exited", exitCode: 0 });
    expect(await logText(id)).toContain("bye");
  });

  it("a process ignoring TERM is killed after the grace period (137)", async () => {
    const id = await run({ cmd: ["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done"] });
    await trapSet(id);
    const t0 = Date.now();
    await rt.stop(id, { timeoutMs: 1500 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(await rt.inspect(id)).toMatchObject({ state: "exited", exitCode: 137 });
    const acts = events.filter((e) => e.type === "container" && e.id === id).map((e) => e.action);
    expect(acts).toEqual(["create", "start", "kill", "kill", "die", "stop"]);
  });

  it("the image's stop signal is used", async () => {
    const id = await run({ cmd: ["sh", "-c", "trap 'exit 42' USR1; echo ready; while true; do sleep 0.1; done"] }, baseImage({ stopSignal: "SIGUSR1" }));
    await trapSet(id);
    await rt.stop(id, { timeoutMs: 10_000 });
    expect((await rt.inspect(id))?.exitCode).toBe(42);
  });

  it("stopping an exited container succeeds; starting it again works and appends to the log", async () => {
    const id = await run({ cmd: ["sh", "-c", "echo run"] });
    await rt.wait(id);
    await rt.stop(id);
    await rt.start(id);
    await rt.wait(id);
    expect(await logText(id)).toBe("run\nrun");
  });

  it("a missing executable fails start with 127 and leaves the container created", async () => {
    const c = await rt.create(env.spec({ cmd: ["/nope"] }), { rootfs: env.rootfs, imageConfig: baseImage() });
    await expect(rt.start(c.id)).rejects.toThrow(/nope/);
    expect(await rt.inspect(c.id)).toMatchObject({ state: "created", exitCode: 127 });
  });

  it("kill sends a signal; removal of a running container needs force", async () => {
    const id = await run({ cmd: ["sleep", "1000"] });
    await expect(rt.remove(id)).rejects.toThrow(/stop it first or force/);
    await rt.kill(id, "KILL");
    expect(await rt.inspect(id)).toMatchObject({ state: "exited", exitCode: 137 });
    const id2 = await run({ cmd: ["sleep", "1000"] });
    const cgroup = join("/sys/fs/cgroup/memory", env.cgroupParent, id2);
    expect(existsSync(cgroup)).toBe(true);
    await rt.remove(id2, { force: true });
    expect(await rt.inspect(id2)).toBeUndefined();
    expect(existsSync(cgroup)).toBe(false);
    expect(existsSync(join(env.stateDir, "containers", id2))).toBe(false);
    expect(events.filter((e) => e.type === "container" && e.id === id2).at(-1)?.action).toBe("destroy");
  });
});

describe("process setup", () => {
  it("env and users: by name, by uid, with supplementary groups", async () => {
    const image = baseImage({ env: ["PATH=/bin", "FROM_IMAGE=1", "OVERRIDE=image"] });
    const a = await run({ cmd: ["sh", "-c", 'echo "$FROM_IMAGE $OVERRIDE $SPEC_ONLY $HOSTNAME"; id -u'], env: ["OVERRIDE=spec", "SPEC_ONLY=yes"], user: "nobody" }, image);
    const b = await run({ cmd: ["id", "-u"], user: "1000" });
    const c = await run({ cmd: ["id", "-G"], user: "app" });
    for (const id of [a, b, c]) await rt.wait(id);
    expect(await logText(a)).toBe(`1 spec yes ${a.slice(0, 12)}\n65534`);
    expect(await logText(b)).toBe("1000");
    expect((await logText(c)).split(" ").sort()).toEqual(["10", "1000"]);
  });

  it("a read-only rootfs refuses writes; tmpfs mounts stay writable", async () => {
    const id = await run({ cmd: ["sh", "-c", "touch /tmp/x && echo tmpfs-ok; touch /rootfs-write"], readOnly: true, tmpfs: ["/tmp"] });
    const { exitCode } = await rt.wait(id);
    expect(exitCode).not.toBe(0);
    expect(await logText(id, "stdout")).toBe("tmpfs-ok");
    expect(await logText(id, "stderr")).toMatch(/Read-only file system/);
    expect(existsSync(join(env.rootfs, "rootfs-write"))).toBe(false);
  });

  it("init: true runs the command under docker-init", async () => {
    const id = await run({ cmd: ["sh", "-c", "echo $$"], init: true });
    await rt.wait(id);
    expect(Number(await logText(id))).toBeGreaterThan(1);
  });

  it("hostname and /etc files", async () => {
    const id = await run({ cmd: ["sh", "-c", "hostname; cat /etc/hostname; grep web /etc/hosts"], hostname: "web", extraHosts: ["db:10.1.2.3"] });
    await rt.wait(id);
    expect(await logText(id)).toBe("web\nweb");
    const hosts = await readFile(join(rt.containerDir(id), "hosts"), "utf8");
    expect(hosts).toContain("10.1.2.3\tdb");
  });
});

describe("limits and freezing", () => {
  it("hitting a 16MB memory limit is an OOM kill", async () => {
    const id = await run({ cmd: ["tail", "/dev/zero"], resources: { memory: 16 * 1024 * 1024, cpus: undefined, cpuShares: undefined, cpuset: undefined, pids: undefined } });
    expect(await rt.wait(id)).toEqual({ exitCode: 137, oomKilled: true });
    expect((await rt.inspect(id))?.oomKilled).toBe(true);
    const acts = events.filter((e) => e.type === "container" && e.id === id).map((e) => e.action);
    expect(acts).toContain("oom");
  });

  it("pause freezes the container, unpause thaws it", async () => {
    const counter = (file: string) => ["sh", "-c", `i=0; while true; do i=$((i+1)); echo $i > /tmp/${file}; sleep 0.05; done`];
    const counted = (file: string) => async () => Number((await readFile(join(env.rootfs, "tmp", file), "utf8").catch(() => "0")).trim());
    const id = await run({ cmd: counter("count") });
    const count = counted("count");
    await eventually(count, (n) => n > 2, 5000, "the counter running", 25);
    await rt.pause(id);
    expect((await rt.inspect(id))?.state).toBe("paused");
    const frozen = await count();
    // "It does not count" has no event of its own: the same counter in a container left running (the
    // positive control) counts on meanwhile, so the paused one had the time and did not.
    const controlCount = counted("control-count");
    await run({ cmd: counter("control-count") });
    await eventually(controlCount, (n) => n > 5, 5000, "the control counter running", 25);
    expect(await count()).toBe(frozen);
    await rt.unpause(id);
    await eventually(count, (n) => n > frozen + 2, 5000, "the counter running again", 25);
    expect((await rt.inspect(id))?.state).toBe("running");
    // Stopping a paused container works too (it is thawed to take the signal).
    await rt.pause(id);
    await rt.stop(id, { timeoutMs: 500 });
    expect((await rt.inspect(id))?.state).toBe("exited");
  });

  it("stats: memory in use, pids, cpu; top lists the processes", async () => {
    const id = await run({ cmd: ["sh", "-c", "sleep 1000 & sleep 1000"] });
    // busybox sh execs its last command: sh's background sleep + the sleep sh became.
    await eventually(() => rt.stats(id), (st) => st.pids >= 2, 5000, "both sleeps running", 25);
    const s = await rt.stats(id);
    expect(s.memoryUsage).toBeGreaterThan(0);
    expect(s.pids).toBeGreaterThanOrEqual(1);
    expect(s.cpuUsageNs).toBeGreaterThan(0);
    expect(s.memoryLimit).toBeGreaterThan(0);
    const top = await rt.top(id);
    expect(top.titles).toContain("PID");
    expect(top.titles.at(-1)).toBe("CMD");
    expect(top.processes.filter((p) => p.at(-1)?.includes("sleep 1000"))).toHaveLength(2);
    await rt.remove(id, { force: true });
  });
});

describe("exec", () => {
  let id: string;
  beforeAll(async () => {
    id = await run({ cmd: ["sleep", "1000"], env: ["FROM_CONTAINER=yes"] });
  });

  async function exec(cmd: string[], opts: { stdin?: Buffer | string; tty?: boolean; user?: string } = {}) {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const stdout = new PassThrough().on("data", (d: Buffer) => out.push(d));
    const stderr = new PassThrough().on("data", (d: Buffer) => err.push(d));
    const stdin = opts.stdin === undefined ? undefined : Readable.from([Buffer.from(opts.stdin)]);
    const { exitCode } = await rt.exec(id, { cmd, stdout, stderr, stdin, tty: opts.tty, user: opts.user, env: ["EXTRA=1"] });
    return { exitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }

  it("passes the exit code and keeps stdout and stderr apart", async () => {
    const r = await exec(["sh", "-c", 'echo "out $FROM_CONTAINER $EXTRA"; echo err >&2; exit 7']);
    expect(r).toMatchObject({ exitCode: 7 });
    expect(r.stdout.toString()).toBe("out yes 1\n");
    expect(r.stderr.toString()).toBe("err\n");
  });

  it("is binary-safe both ways", async () => {
    const data = Buffer.alloc(256 * 64);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
    const r = await exec(["cat"], { stdin: data });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.equals(data)).toBe(true);
  });

  it("runs as another user", async () => {
    expect((await exec(["id", "-u"], { user: "nobody" })).stdout.toString()).toBe("65534\n");
  });

  it("with a tty: a terminal, input echoed once, exit code passed through", async () => {
    const r = await exec(["sh", "-c", "tty; read x; echo got=$x; exit 4"], { tty: true, stdin: "hello\n" });
    expect(r.exitCode).toBe(4);
    const text = r.stdout.toString();
    // Where the container's pty echoes the input depends on when it arrived.
    expect(text).toMatch(/(^|\n)\/dev\/pts\/\d+\r\n/);
    expect(text).toContain("got=hello\r\n");
    expect(text.split("hello").length - 1).toBe(2); // one echo (the container's pty, not ours) + got=hello
  });

  it("fails on a container that is not running", async () => {
    const c = await rt.create(env.spec({ cmd: ["true"] }), { rootfs: env.rootfs, imageConfig: baseImage() });
    await expect(rt.exec(c.id, { cmd: ["true"] })).rejects.toThrow(/not running/);
  });
});

describe("restart of the engine", () => {
  it("a new runtime on the same state dir finds running containers, their logs, and exits that happened meanwhile", async () => {
    const running = await run({ cmd: ["sh", "-c", "echo hello; sleep 1000"] });
    const dies = await run({ cmd: ["sleep", "1000"] });
    await eventually(() => logText(running), (t) => t === "hello", 5000, "the log line", 25);
    await rt.close();
    // While nobody watches: one container is killed.
    await rt.runc.kill(dies, "SIGKILL");
    await eventually(() => existsSync(join(env.stateDir, "exits", dies)), (yes) => yes, 5000, "the exit file", 25);

    const rt2 = await env.reopen();
    expect(await rt2.inspect(running)).toMatchObject({ state: "running" });
    expect(await rt2.inspect(dies)).toMatchObject({ state: "exited", exitCode: 137 });
    const lines: string[] = [];
    for await (const e of rt2.logs(running)) lines.push(e.line);
    expect(lines).toEqual(["hello"]);
    // The new instance also notices exits.
    await rt2.stop(running, { timeoutMs: 200 });
    expect(await rt2.inspect(running)).toMatchObject({ state: "exited", exitCode: 137 });
    rt = rt2;
  });

  it("remembers on disk that an exit was asked for by a stop, until the next start", async () => {
    // A server that exits 0 on SIGTERM: without the mark, its stop looks like a one-shot that completed.
    const id = await run({ cmd: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"] });
    expect(await rt.inspect(id)).toMatchObject({ state: "running", stopRequested: false });
    await rt.stop(id, { timeoutMs: 5000 });
    expect(await rt.inspect(id)).toMatchObject({ state: "exited", exitCode: 0, stopRequested: true });
    await rt.close();
    rt = await env.reopen();
    expect(await rt.inspect(id)).toMatchObject({ state: "exited", exitCode: 0, stopRequested: true });
    await rt.start(id);
    expect(await rt.inspect(id)).toMatchObject({ state: "running", stopRequested: false });
    await rt.remove(id, { force: true });
  });

  it("follows logs until the container exits", async () => {
    const id = await run({ cmd: ["sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.1; done"] });
    const lines: string[] = [];
    for await (const e of rt.logs(id, { follow: true })) lines.push(e.line);
    expect(lines).toEqual(["line 1", "line 2", "line 3"]);
  });
});
