// The TUI end to end: `tscompose tui` in a real terminal (tmux), driven by
// keys, against a real daemon running two real stacks. The test reads the
// screen as a person would. Text snapshots of the screen (plain, and with
// colours as ANSI) are kept in test-output/tui/ for a person to look at.
// No timed assertions: we wait for what the screen shows, with a deadline.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry } from "./fixtures/registry.js";
import type { TestRegistry } from "./fixtures/registry.js";
import { bin, buildOnce, cleanupDir, leaks, repo, testDaemon } from "./support/daemon.js";
import type { TestDaemon } from "./support/daemon.js";
import { eventually } from "./support/wait.js";

let registry: TestRegistry;
let daemon: TestDaemon;
let work: string;
const a = `tuia${process.pid}`;
const b = `tuib${process.pid}`;
const session = `tscompose-tui-test-${process.pid}`;
const outDir = join(repo, "test-output", "tui");

const tmux = (...args: string[]): string => execFileSync("tmux", args, { encoding: "utf8" });
const screen = (): string => tmux("capture-pane", "-p", "-t", session).trimEnd();
const keys = (...k: string[]): void => void tmux("send-keys", "-t", session, ...k);

/** Saves what the screen shows now, plain and with its colours, for a person to look at. */
function snapshot(name: string): string {
  const text = screen();
  writeFileSync(join(outDir, `${name}.txt`), text);
  writeFileSync(join(outDir, `${name}.ansi`), tmux("capture-pane", "-p", "-e", "-t", session));
  return text;
}

function untilScreen(what: string, ok: (s: string) => boolean, timeoutMs = 90_000): Promise<string> {
  return eventually(screen, ok, timeoutMs, `the screen showing ${what}`);
}

/** The screen line of a container, by name. */
const rowOf = (s: string, name: string): string => s.split("\n").find((l) => l.includes(` ${name} `)) ?? "";

function up(project: string, dir: string): void {
  const r = daemon.cli(["-p", project, "up", "-d"], { cwd: dir });
  expect(r.code, r.stdout + r.stderr).toBe(0);
}

beforeAll(async () => {
  buildOnce();
  mkdirSync(outDir, { recursive: true });
  registry = await startRegistry();
  await pushTestImage(registry, "busybox");
  daemon = testDaemon({ mirror: registry.url });
  await daemon.start();
  work = mkdtempSync(join(tmpdir(), "tscompose-test-tui-"));
  mkdirSync(join(work, "a", "flag"), { recursive: true });
  mkdirSync(join(work, "b"), { recursive: true });
  writeFileSync(
    join(work, "a", "compose.yaml"),
    [
      "services:",
      "  flaky:",
      "    image: busybox",
      // Crashes until the test drops a file in its bind mount, then stays up.
      "    command: ['sh', '-c', 'if [ -f /flag/ok ]; then echo steady now; exec sleep 600; fi; echo crashing; exit 1']",
      "    volumes: ['./flag:/flag']",
      "    restart: always",
      "  steady:",
      "    image: busybox",
      "    command: ['sh', '-c', 'echo hello from steady; exec sleep 600']",
      "    stop_signal: SIGKILL",
      "",
    ].join("\n"),
  );
  writeFileSync(join(work, "b", "compose.yaml"), ["services:", "  web:", "    image: busybox", "    command: ['sleep', '600']", "    deploy:", "      replicas: 2", ""].join("\n"));
  up(a, join(work, "a"));
  up(b, join(work, "b"));
  const env = Object.entries({ ...daemon.env, LANG: "C.UTF-8", TERM: "xterm-256color" })
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", "env", "-i", ...env, process.execPath, bin, "tui");
}, 300_000);

afterAll(async () => {
  try {
    tmux("kill-session", "-t", session);
  } catch {
    // not started, or already gone
  }
  try {
    if (daemon) {
      if (!daemon.process) await daemon.start();
      for (const [p, d] of [
        [a, "a"],
        [b, "b"],
      ] as const) {
        const r = daemon.cli(["-p", p, "down", "-v", "-t", "0"], { cwd: join(work, d) });
        expect(r.code, r.stdout + r.stderr).toBe(0);
      }
      await daemon.stop();
      expect(leaks(daemon)).toEqual([]);
      cleanupDir(daemon);
    }
  } finally {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  }
}, 180_000);

describe("tscompose tui", () => {
  it("shows every stack, service and container of the daemon with their state", async () => {
    const s = await untilScreen("both stacks running", (x) => x.includes(a) && x.includes(b) && /steady-1 +running/.test(x) && /web-2 +running/.test(x));
    expect(s).toMatch(/● daemon/);
    expect(s).toMatch(new RegExp(`▾ ${b} +2/2 up`));
    expect(s).toMatch(/NAME +STATE +HEALTH +RST +UP +CPU% +MEM/);
    snapshot("01-stacks");
  }, 120_000);

  it("shows a crash-looping container as restarting, then running once it stays up", async () => {
    const flaky = `${a}-flaky-1`;
    await untilScreen("flaky restarting", (x) => rowOf(x, flaky).includes("restarting"));
    snapshot("02-restarting");
    writeFileSync(join(work, "a", "flag", "ok"), "");
    await untilScreen("flaky running", (x) => rowOf(x, flaky).includes("running"));
    snapshot("03-running-again");
  }, 180_000);

  it("stops the selected container with a key: it turns to exited", async () => {
    const steady = `${a}-steady-1`;
    keys("/");
    for (const ch of "steady") keys(ch);
    keys("Enter");
    // Rows under the filter: the stack, the service, the container.
    await untilScreen("the filter applied", (x) => x.includes("filter:steady") && !x.includes(`${b}-web-1`));
    keys("g", "Down", "Down");
    await untilScreen("the container selected", (x) => x.split("\n").some((l) => l.startsWith("›") && l.includes(steady)));
    await untilScreen("its log in the pane", (x) => x.includes("hello from steady"));
    keys("s");
    // The container's row and its stack's count are refreshed apart: wait for the one screen that has both.
    const s = await untilScreen("steady exited, its stack 1/2 up", (x) => /exited \(137\)/.test(rowOf(x, steady)) && new RegExp(`▾ ${a} +1/2 up`).test(x));
    expect(rowOf(s, steady)).toMatch(/exited \(137\)/);
    snapshot("04-stopped");
    keys("4");
    await untilScreen("the event in the events view", (x) => /exited with code 137/.test(x));
    snapshot("05-events");
    // Escape alone: an escape followed at once by "1" reads as alt-1.
    keys("Escape");
    await untilScreen("the filter cleared", (x) => !x.includes("filter:"));
    keys("1");
    await untilScreen("the logs view", (x) => x.includes("[1 Logs]"));
  }, 120_000);

  it("fits 80x24 and redraws on resize", async () => {
    tmux("resize-window", "-t", session, "-x", "80", "-y", "24");
    const s = await untilScreen("an 80-column layout", (x) => x.split("\n").length <= 24 && /s start\/stop/.test(x) && /NAME +STATE/.test(x) && !/PORTS/.test(x));
    for (const line of s.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    snapshot("06-80x24");
    keys("?");
    const help = await untilScreen("the help", (x) => x.includes("tscompose tui — keys"));
    expect(help).toMatch(/exec a shell/);
    snapshot("07-help");
    keys("Escape");
    await untilScreen("the help closed", (x) => !x.includes("tscompose tui — keys"));
  }, 120_000);

  it("says when the daemon is not reachable and reconnects when it is back", async () => {
    await daemon.stop();
    const down = await untilScreen("the daemon gone", (x) => x.includes("daemon not reachable"));
    expect(down).toMatch(/✖ no daemon/);
    snapshot("08-no-daemon");
    await daemon.start();
    await untilScreen("the daemon back", (x) => x.includes("● daemon") && !x.includes("not reachable") && /flaky-1 +running/.test(x));
    snapshot("09-reconnected");
  }, 120_000);
});
