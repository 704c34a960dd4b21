// `tscompose attach` end to end: the real CLI and daemon on the embedded
// engine (conmon's attach socket through the perl bridge). A stdin_open
// service running `cat` echoes what the CLI's stdin sends; a counter shows
// that attach gets only output written after it attached, stdout and stderr
// apart; --index picks a replica; the detach keys leave the container
// running; --sig-proxy forwards the CLI's SIGTERM; a stopped container and a
// missing service are refused with compose's words.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDaemon } from "./support/daemon.js";
import { eventually, jsonLines, spawnCli } from "./support/e2e.js";
import type { PsRow } from "./support/e2e.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let suite: StackSuite;
let d: TestDaemon;
const project = `tat${process.pid}`;

// $$ is a literal $ for compose's interpolation.
const STACK = `
services:
  echo:
    image: busybox
    stdin_open: true
    command: ["cat"]
  counter:
    image: busybox
    scale: 2
    command: ["sh", "-c", "trap 'exit 7' TERM; i=0; while true; do i=$$((i+1)); echo $$(hostname) line$$i; echo err$$i >&2; sleep 0.2; done"]
  once:
    image: busybox
    command: ["true"]
`;

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  return d.cli(["-p", project, ...args], { cwd: suite.work });
}

function ok(args: string[]): string {
  const r = cli(args);
  if (r.code !== 0) throw new Error(`${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const attachCli = (args: string[], stdin = false) => spawnCli(d, ["-p", project, "attach", ...args], { cwd: suite.work, stdin: stdin ? "pipe" : undefined });
const state = (name: string): string | undefined => jsonLines<PsRow>(ok(["ps", "-a", "--format", "json"])).find((r) => r.Name === name)?.State;
const lineNumbers = (text: string): number[] => [...text.matchAll(/line(\d+)/g)].map((m) => Number(m[1]));

beforeAll(async () => {
  suite = await startStackSuite("attach");
  d = suite.daemon;
  writeFileSync(join(suite.work, "compose.yaml"), STACK);
  suite.projects.push({ name: project, cwd: suite.work });
  ok(["up", "-d"]);
  await eventually(() => state(`${project}-once-1`), (s) => s === "exited", 60_000, "once to exit");
}, 300_000);

afterAll(async () => {
  const left = await stopStackSuite(suite, ["-t", "1"]);
  expect(left).toEqual([]);
}, 180_000);

describe("attach", () => {
  it("stdin_open: a line typed into attach reaches the main process and its echo comes back; the detach keys leave it running", async () => {
    const a = attachCli(["echo"], true);
    a.child.stdin?.write("hello attach\n");
    await a.waitFor(/hello attach\n/);
    // ctrl-p ctrl-q: docker's message and exit code; the container goes on.
    a.child.stdin?.write("\x10\x11");
    expect(await a.exited()).toBe(1);
    expect(a.stderr()).toContain("read escape sequence");
    expect(state(`${project}-echo-1`)).toBe("running");

    // A second attach: the container's stdin stayed open for it, and the first line is not replayed.
    const b = attachCli(["--detach-keys", "ctrl-x", "echo"], true);
    b.child.stdin?.write("second\n");
    await b.waitFor(/second\n/);
    expect(b.stdout()).toBe("second\n");
    b.child.stdin?.write("\x18");
    expect(await b.exited()).toBe(1);
    expect(state(`${project}-echo-1`)).toBe("running");
  });

  it("without stdin_open: output written after attaching only, stdout and stderr apart; Ctrl-C without --sig-proxy leaves it running", async () => {
    // What the log holds already: attach must show none of it.
    const before = await eventually(() => lineNumbers(ok(["logs", "--index", "1", "counter"])), (n) => n.length >= 3, 60_000, "three counter lines");
    const seen = Math.max(...before);
    const a = attachCli(["--sig-proxy=false", "counter"]);
    await a.waitFor(/line\d+\n[\s\S]*line\d+\n/);
    const first = lineNumbers(a.stdout())[0] ?? 0;
    expect(first).toBeGreaterThan(seen);
    await eventually(() => a.stderr(), (t) => /err\d+\n/.test(t), 30_000, "stderr lines");
    expect(a.stdout()).not.toContain("err");
    expect(a.stderr()).not.toContain("line");
    a.child.kill("SIGINT");
    await a.exited();
    expect(state(`${project}-counter-1`)).toBe("running");
  });

  it("--index picks the replica; a missing one is compose's error", async () => {
    const hostname = ok(["exec", "-T", "--index", "2", "counter", "hostname"]).trim();
    expect(hostname).not.toBe("");
    const a = attachCli(["--index", "2", "--sig-proxy=false", "counter"]);
    await a.waitFor(/line\d+\n/);
    expect(a.stdout().split("\n")[0]).toMatch(new RegExp(`^${hostname} line\\d+$`));
    a.child.kill("SIGINT");
    await a.exited();

    const r = cli(["attach", "--index", "3", "counter"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('service "counter" is not running container #3');
  });

  it("needs no stack file with -p: stdin_open and tty come from the container, as docker attach reads them", async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "tsc-attach-nofile-"));
    try {
      const a = spawnCli(d, ["-p", project, "attach", "--detach-keys", "ctrl-x", "echo"], { cwd: elsewhere, stdin: "pipe" });
      a.child.stdin?.write("without a file\n");
      await a.waitFor(/without a file\n/);
      a.child.stdin?.write("\x18");
      expect(await a.exited()).toBe(1);
      expect(a.stderr()).toContain("read escape sequence");
      // The project as its containers have it: a service none was made for is unknown; a stopped one is not running.
      const missing = d.cli(["-p", project, "attach", "nosuch"], { cwd: elsewhere });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("no such service: nosuch");
      const stopped = d.cli(["-p", project, "attach", "once"], { cwd: elsewhere });
      expect(stopped.code).toBe(1);
      expect(stopped.stderr).toContain('service "once" is not running');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
    expect(state(`${project}-echo-1`)).toBe("running");
  });

  it("a stopped container, a missing service and bad detach keys are errors (exit 1), touching nothing", () => {
    const stopped = cli(["attach", "once"]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('service "once" is not running');
    const missing = cli(["attach", "nosuch"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no such service: nosuch");
    const keys = cli(["attach", "--detach-keys", "ctrl-1", "echo"]);
    expect(keys.code).toBe(1);
    expect(keys.stderr).toContain("Invalid detach keys (ctrl-1) provided");
    expect(state(`${project}-echo-1`)).toBe("running");
  });

  it("run (without -d) gives the one-off container the CLI's stdin; its end ends cat", async () => {
    const r = spawnCli(d, ["-p", project, "run", "--rm", "-T", "--no-deps", "echo", "cat"], { cwd: suite.work, stdin: "pipe" });
    r.child.stdin?.end("to the one-off\n");
    expect(await r.exited()).toBe(0);
    expect(r.stdout()).toBe("to the one-off\n");
  });

  it("--sig-proxy (the default) sends the CLI's SIGTERM to the container, whose exit code becomes the CLI's", async () => {
    const a = attachCli(["counter"]);
    await a.waitFor(/line\d+\n/);
    a.child.kill("SIGTERM");
    expect(await a.exited()).toBe(7);
    expect(state(`${project}-counter-1`)).toBe("exited");
  });
});
