// The CLI starts the daemon in the background when its socket does not answer:
// when there is no socket at all, and when a killed daemon left its socket
// file behind (the first request is the check; there is no separate ping).
// With autostart off, the CLI says the daemon is not running and exits 1.
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { DaemonClient } from "../src/daemon/client.js";
import { buildOnce, cleanupDir, leaks, testDaemon } from "./support/daemon.js";
import { eventually } from "./support/wait.js";
import { isRunning as alive } from "../engine/sys/proc.js";

const d = testDaemon({});
const started: number[] = [];
const autostartEnv = { TSCOMPOSE_NO_AUTOSTART: "" };


async function daemonPid(): Promise<number> {
  const ping = await new DaemonClient(d.socket).ping();
  if (!ping) throw new Error("the daemon does not answer");
  started.push(ping.pid);
  return ping.pid;
}

afterAll(async () => {
  for (const pid of started) if (alive(pid)) process.kill(pid, "SIGTERM");
  await eventually(() => Promise.resolve(started.filter(alive)), (left) => left.length === 0, 30_000, "the started daemons to exit");
  expect(leaks(d)).toEqual([]);
  cleanupDir(d);
}, 60_000);

describe("daemon autostart", () => {
  it("the first command starts the daemon; after a kill -9 the next one starts a new one in spite of the stale socket", async () => {
    buildOnce();
    expect(existsSync(d.socket)).toBe(false);
    const first = d.cli(["ls", "-q"], { env: autostartEnv });
    expect([first.code, first.stderr]).toEqual([0, ""]);
    const pid1 = await daemonPid();

    process.kill(pid1, "SIGKILL");
    await eventually(() => Promise.resolve(alive(pid1)), (a) => !a, 10_000, "the daemon to die");
    expect(existsSync(d.socket)).toBe(true); // left behind: connecting to it is refused

    const off = d.cli(["ls", "-q"]);
    expect(off.code).toBe(1);
    expect(off.stderr).toContain(`cannot connect to the tscompose daemon at ${d.socket}: is it running?`);

    const second = d.cli(["ls", "-q"], { env: autostartEnv });
    expect([second.code, second.stderr]).toEqual([0, ""]);
    const pid2 = await daemonPid();
    expect(pid2).not.toBe(pid1);
    expect(alive(pid2)).toBe(true);
  });
});
