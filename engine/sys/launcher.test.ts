// The command launcher with real processes: what run() promises (output,
// exit codes, stdin, env, cwd, timeouts, a missing command) holds through it,
// many commands at once keep their own outputs, a launcher that dies fails
// only what was running and is replaced, and nothing is left behind.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CommandTimeoutError, holdLauncher, run } from "./exec.js";
import { Launcher } from "./launcher.js";
import { isRunning as alive } from "./proc.js";
import { eventually } from "../../test/support/wait.js";

/** Launcher processes whose parent is `ppid`. */
const launchersOf = (ppid: number) =>
  execFileSync("ps", ["-eo", "pid,ppid,args"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === String(ppid) && f[2] === "perl" && f[3]?.endsWith("/launcher.pl"))
    .map((f) => Number(f[0]));
/** The pid of a launcher's own perl process (undefined when it has none). */
const launcherPid = (l: Launcher) => (l as unknown as { child?: { pid?: number; exitCode: number | null } }).child?.pid;
/** Session id of a process (field 6 of /proc/<pid>/stat; the name in field 2 has no spaces here). */
const sessionOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ")[3]);

let release: (() => void) | undefined;
afterEach(() => {
  release?.();
  release = undefined;
});

describe("run() through the launcher", () => {
  it("passes output, exit codes, stdin, env and cwd as child_process does", async () => {
    release = holdLauncher();
    expect(await run("echo", ["two words", "x"])).toEqual({ stdout: "two words x\n", stderr: "", code: 0 });
    expect(await run("sh", ["-c", "cat; echo oops >&2; exit 3"], { input: "from stdin\n", allowFailure: true })).toEqual({ stdout: "from stdin\n", stderr: "oops\n", code: 3 });
    await expect(run("sh", ["-c", "echo bad >&2; exit 2"])).rejects.toThrow("sh -c echo bad >&2; exit 2 failed (exit 2): bad");
    expect((await run("pwd", [], { cwd: "/usr" })).stdout).toBe("/usr\n");
    expect((await run("sh", ["-c", "echo $ONLY-$HOME"], { env: { ONLY: "this", PATH: process.env.PATH } })).stdout).toBe("this-\n");
    expect((await run("sh", ["-c", "kill -KILL $$"], { allowFailure: true })).code).toBe(137);
  });

  it("names a command that is not installed; a timeout ends the command", async () => {
    release = holdLauncher();
    await expect(run("tscompose-no-such-command", [])).rejects.toThrow("tscompose-no-such-command is not installed");
    // sleep 3600 ends early only if killed: a timeout that did not kill would run into the test's timeout.
    await expect(run("sleep", ["3600"], { timeoutMs: 200 })).rejects.toThrow("sleep 3600 timed out after 200 ms and was killed");
  });

  it("many commands at once each get their own output", async () => {
    release = holdLauncher();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => run("sh", ["-c", `sleep 0.0$((${i} % 5)); echo ${i}; echo e${i} >&2`])));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 40 }, (_, i) => `${i}\n`));
    expect(results.map((r) => r.stderr)).toEqual(Array.from({ length: 40 }, (_, i) => `e${i}\n`));
  });
});

/** Pids of processes whose command line is exactly `args`. */
const pidsOf = (args: string) =>
  execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.slice(l.indexOf(" ") + 1) === args)
    .map((l) => Number(l.split(" ")[0]));

describe.each([
  ["through the launcher", true],
  ["through child_process", false],
])("a command that outlives its timeout, %s", (_, viaLauncher) => {
  it("gets SIGTERM, then SIGKILL after the grace, with what it started; the caller gets an error naming it", async () => {
    if (viaLauncher) release = holdLauncher();
    // sleep inherits the ignored SIGTERM: both must be killed outright.
    const marker = `sleep 1000.${process.pid}${viaLauncher ? 1 : 2}`;
    const script = `trap "" TERM; ${marker}; echo survived`;
    // The timeout leaves sh time to set its trap even on a loaded machine: a
    // SIGTERM that came first would end it with 143 and test nothing.
    const err = await run("sh", ["-c", script], { timeoutMs: 2000, killGraceMs: 300, allowFailure: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandTimeoutError);
    expect((err as Error).message).toBe(`sh -c ${script} timed out after 2000 ms and was killed`);
    expect((err as CommandTimeoutError).result.code).toBe(137);
    await eventually(() => pidsOf(marker), (pids) => pids.length === 0, 2000, "the sleep gone", 20);
  });

  it("refuses a timeout that is not a positive number (NaN would mean none)", async () => {
    if (viaLauncher) release = holdLauncher();
    await expect(run("true", [], { timeoutMs: Number.NaN })).rejects.toThrow("true: timeout must be a positive number of milliseconds, got NaN");
    await expect(run("true", [], { timeoutMs: 0 })).rejects.toThrow(RangeError);
    expect((await run("true", [], { timeoutMs: 5000 })).code).toBe(0);
  });
});

describe("starting a monitor-like process (conmon)", () => {
  it("reports the first line on its fd 3 pipe, runs it in a session of its own, and keeps its stderr until discarded", async () => {
    const l = new Launcher();
    // Like conmon: the first process forks a child that outlives it and reports on fd 3 later.
    // `cut` reads its own stat, so the session is that of the forked child (a subshell's $$ is
    // its parent's, which has exited by then). Field 6 is the session id.
    const script = `echo started >&2; (sleep 0.2; echo '{"data": 42}' >&3; echo more >&3; cut -d" " -f6 /proc/self/stat >&2) & exit 0`;
    const started = l.start({ cmd: "sh", args: ["-c", script], detached: true, syncPipe: true });
    expect((await started.ended).code).toBe(0);
    expect(await started.syncLine).toBe('{"data": 42}');
    await eventually(() => started.stderrSoFar().split("\n").length, (n) => n >= 3, 2000, "three lines of stderr", 20);
    const [first, sid] = started.stderrSoFar().split("\n");
    expect(first).toBe("started");
    // Its own session: not ours, so a Ctrl-C or our exit does not reach it.
    // (In a container our own session id can read 0: its leader is outside our pid namespace.)
    expect(Number(sid)).toBeGreaterThan(0);
    expect(Number(sid)).not.toBe(sessionOf(process.pid));
    started.discard();
    expect(readdirSync((l as unknown as { dir: string }).dir)).toEqual([]);
    l.close();
  });

  it("a sync pipe closed without a line reports what it held", async () => {
    const l = new Launcher();
    const started = l.start({ cmd: "sh", args: ["-c", "printf partial >&3"], syncPipe: true });
    expect(await started.syncLine).toBe("partial");
    const silent = l.start({ cmd: "true", args: [], syncPipe: true });
    expect(await silent.syncLine).toBe("");
    for (const s of [started, silent]) s.discard();
    l.close();
  });
});

describe("the launcher process", () => {
  it("leaves no files, and exits when released", async () => {
    const l = new Launcher();
    await l.run({ cmd: "sh", args: ["-c", "cat"], input: "x" });
    const dir = (l as unknown as { dir: string }).dir;
    expect(readdirSync(dir)).toEqual([]);
    const pid = launcherPid(l)!;
    expect(alive(pid)).toBe(true);
    l.close();
    await eventually(() => alive(pid), (yes) => !yes, 2000, "the launcher gone", 20);
    expect(existsSync(dir)).toBe(false);
  });

  it("a launcher whose owner is killed finishes its command, removes its directory and exits", async () => {
    const owner = spawn(join(import.meta.dirname, "../../node_modules/.bin/vite-node"), [join(import.meta.dirname, "fixtures/launcher-owner.ts")], { stdio: ["ignore", "pipe", "inherit"] });
    const dir = await new Promise<string>((resolve, reject) => {
      owner.stdout.on("data", (d: Buffer) => resolve(d.toString().trim()));
      owner.on("exit", (code) => reject(new Error(`the owner exited early (${String(code)})`)));
    });
    const launcherPid = launchersOf(owner.pid!);
    expect(launcherPid).toHaveLength(1);
    owner.kill("SIGKILL");
    await eventually(() => ({ dir: existsSync(dir), alive: alive(launcherPid[0]!) }), (s) => !s.dir && !s.alive, 5000, "the directory removed and the launcher gone", 20);
  });

  it("a launcher that dies fails the commands it was running, and the next command gets a new one", async () => {
    const l = new Launcher();
    // A duration no one else uses, to find the orphaned sleep by.
    const duration = `30.${process.pid}`;
    const long = l.run({ cmd: "sleep", args: [duration] });
    const pid = launcherPid(l)!;
    expect(launchersOf(process.pid)).toContain(pid);
    // Killed once the command runs (its directory holds the command's output files by then).
    const dir0 = (l as unknown as { dir: string }).dir;
    await eventually(() => readdirSync(dir0).length, (n) => n > 0, 2000, "the command's files", 20);
    process.kill(pid, "SIGKILL");
    const killedDir = (l as unknown as { dir: string }).dir;
    await expect(long).rejects.toThrow(/the command launcher exited \(SIGKILL\) while command 1 ran/);
    expect(existsSync(killedDir)).toBe(false);
    expect((await l.run({ cmd: "echo", args: ["again"] })).stdout).toBe("again\n");
    l.close();
    // The orphaned command: ours to clean up.
    execFileSync("pkill", ["-f", `^sleep ${duration.replace(".", "\\.")}$`], { stdio: "ignore" });
  });
});
