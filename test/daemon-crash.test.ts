// kill -9 of the daemon, at several points of an `up` and while a stack runs.
// The daemon persists each stack's desired state before it acts and re-syncs
// level-triggered when it starts again, so whatever the moment of the crash:
// the stack converges to exactly one container per service replica, all
// running, nothing duplicated, and after `down` nothing is left on the host.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "./fixtures/registry.js";
import type { TestRegistry } from "./fixtures/registry.js";
import { pushTestImage } from "./fixtures/push.js";
import { buildOnce, cleanupDir, leaks, testDaemon } from "./support/daemon.js";
import type { TestDaemon } from "./support/daemon.js";
import { eventually, psAll, runCli, spawnCli, states } from "./support/e2e.js";
import { StopWaiting } from "./support/wait.js";

// busybox sleep as PID 1 ignores SIGTERM: the trap makes `down` quick without -t tricks.
const sleeper = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;
const STACK = `
services:
  db:
    image: busybox
    command: ${sleeper}
  cache:
    image: busybox
    command: ${sleeper}
  api:
    image: busybox
    command: ${sleeper}
    depends_on: [db, cache]
  worker:
    image: busybox
    command: ${sleeper}
    depends_on: [api]
    deploy:
      replicas: 2
  web:
    image: busybox
    command: ${sleeper}
    depends_on: [api]
  cron:
    image: busybox
    command: ${sleeper}
`;
const SERVICES = ["api", "cache", "cron", "db", "web", "worker", "worker"];

let registry: TestRegistry;
let work: string;
const daemons: TestDaemon[] = [];

function expected(project: string): string[] {
  const n = new Map<string, number>();
  return SERVICES.map((s) => {
    n.set(s, (n.get(s) ?? 0) + 1);
    return `${project}-${s}-${n.get(s)}:running`;
  }).sort();
}

/** The daemon's own processes are not leaks; anything else naming its state dir is (conmon, containers). */
function containerProcesses(d: TestDaemon): string[] {
  return execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(d.stateDir) && !l.includes(" ps -eo") && !l.includes(" daemon --state-dir "));
}

async function freshDaemon(): Promise<TestDaemon> {
  const d = testDaemon({ mirror: registry.url });
  daemons.push(d);
  await d.start();
  return d;
}

/** down, stop the daemon gracefully, and nothing of it may remain. */
async function downAndCheck(d: TestDaemon, project: string, cwd: string): Promise<void> {
  const down = runCli(d, ["-p", project, "down", "-v", "-t", "2"], { cwd });
  expect(down.stderr).toBe("");
  expect(down.code).toBe(0);
  expect(psAll(d, project, cwd)).toEqual([]);
  await d.stop();
  expect(leaks(d)).toEqual([]);
  // Clean: nothing for afterAll to do with this one.
  daemons.splice(daemons.indexOf(d), 1);
  cleanupDir(d);
}

beforeAll(async () => {
  buildOnce();
  registry = await startRegistry();
  await pushTestImage(registry, "busybox");
  work = mkdtempSync(join(tmpdir(), "tscompose-test-crash-"));
  writeFileSync(join(work, "compose.yaml"), STACK);
}, 300_000);

afterAll(async () => {
  // Only daemons of failed tests are left here: bring each back to take its stacks down.
  for (const d of daemons) {
    if (!d.process) await d.start().catch(() => undefined);
    for (const p of d.cli(["ls", "-a", "-q"]).stdout.split("\n").filter(Boolean)) d.cli(["-p", p, "down", "-v", "-t", "1"]);
    await d.stop();
    cleanupDir(d);
  }
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 300_000);

describe("kill -9 of the daemon in the middle of up", () => {
  // Each point is a line of the CLI's progress output: the kill lands while
  // the daemon is pulling, between the network and the first container, while
  // containers are being created (some half way: snapshot and netns made, no
  // record yet), and while they are being started.
  const points: [string, RegExp][] = [
    ["pulling the image", /Image .* Pulling/],
    ["after the network", /Network .* Created/],
    ["at the first container being created", /Container .* Creating/],
    ["at the first container created", /Container .* Created/],
    ["at the first container started", /Container .* Started/],
  ];
  for (const [i, [when, line]] of points.entries()) {
    it(`converges after a crash ${when}`, async () => {
      const d = await freshDaemon();
      const project = `crash${i}`;
      const up = spawnCli(d, ["-p", project, "up", "-d"], { cwd: work });
      await up.waitFor(line);
      await d.stop("SIGKILL");
      // The CLI loses its stream: it must fail, not hang or claim success.
      expect(await up.exited(30_000)).not.toBe(0);

      await d.start();
      const rows = await eventually(
        () => psAll(d, project, work),
        (r) => r.length === SERVICES.length && r.every((c) => c.State === "running"),
        90_000,
        `stack ${project} converged after the crash`,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n--- daemon log ---\n${d.log().slice(-4000)}`);
      });
      expect(states(rows)).toEqual(expected(project));
      expect(new Set(rows.map((r) => r.ID)).size).toBe(SERVICES.length);

      // Converged means converged: another up has nothing to do, and nothing else appeared meanwhile.
      const again = runCli(d, ["-p", project, "up", "-d"], { cwd: work });
      expect(again.code).toBe(0);
      expect(again.stderr).toBe("");
      expect(again.stdout).not.toMatch(/Creating|Starting|Removing|Recreat/);
      expect(states(psAll(d, project, work))).toEqual(expected(project));

      await downAndCheck(d, project, work);
    }, 240_000);
  }
});

describe("kill -9 of the daemon while the stack runs", () => {
  it("leaves the containers running; after a restart they are the same ones, and down works", async () => {
    const d = await freshDaemon();
    const project = "crashrun";
    const up = d.cli(["-p", project, "up", "-d"], { cwd: work });
    expect(up.code).toBe(0);
    // The positive control for "nothing dies with the daemon": a client streaming from it (events, shown
    // subscribed by a restart's start event) does end when the daemon dies.
    const events = spawnCli(d, ["-p", project, "events"], { cwd: work });
    await eventually(
      () => {
        const restart = d.cli(["-p", project, "restart", "-t", "1", "cron"], { cwd: work });
        if (restart.code !== 0) throw new StopWaiting(`restart failed: ${restart.stderr}`);
        return events.stdout();
      },
      (out) => out.includes(" container start "),
      60_000,
      "the events client subscribed",
      500,
    );
    const before = psAll(d, project, work);
    expect(states(before)).toEqual(expected(project));
    const monitors = containerProcesses(d).length;
    expect(monitors).toBeGreaterThanOrEqual(SERVICES.length);

    await d.stop("SIGKILL");
    expect(await events.exited(30_000)).not.toBe(0);
    // With no daemon at all, every container (its monitor and its processes) lives on.
    expect(containerProcesses(d).length).toBe(monitors);

    const resynced = (log: string): number => log.split("\n").filter((l) => l.includes('"msg":"stack re-synced"') && l.includes(`"stack":"${project}"`)).length;
    const resyncsBefore = resynced(d.log());
    await d.start();
    const after = psAll(d, project, work);
    expect(states(after)).toEqual(expected(project));
    const byName = (rows: typeof before): Record<string, string> => Object.fromEntries(rows.map((r) => [r.Name, r.ID]));
    expect(byName(after)).toEqual(byName(before));
    // The re-sync after the restart must not touch them either: once the daemon
    // says it is done, whatever it was going to do to them is done.
    await eventually(() => resynced(d.log()), (n) => n > resyncsBefore, 60_000, "the re-sync after the restart");
    expect(byName(psAll(d, project, work))).toEqual(byName(before));
    expect(containerProcesses(d).length).toBe(monitors);

    await downAndCheck(d, project, work);
  }, 240_000);
});

describe("SIGTERM while the daemon re-syncs after a crash", () => {
  it("the re-sync under way finishes, then the engines close and the daemon exits; nothing opens again after", async () => {
    const d = await freshDaemon();
    const project = "crashterm";
    const up = spawnCli(d, ["-p", project, "up", "-d"], { cwd: work });
    await up.waitFor(/Network .* Created/);
    await d.stop("SIGKILL");
    await up.exited(30_000);

    // The restarted daemon answers as soon as it listens; its re-sync (every container still to create) runs after.
    await d.start();
    const startedAt = d.log().lastIndexOf('"msg":"daemon starting"');
    // d.stop() fails the test when the daemon has not exited 60 s after SIGTERM (an engine reopened by the re-sync kept it alive).
    await d.stop("SIGTERM");
    const lines = d.log().slice(startedAt).split("\n");
    const stopped = lines.findIndex((l) => l.includes('"msg":"daemon stopped"'));
    expect(stopped).toBeGreaterThan(0);
    const resynced = lines.findIndex((l) => l.includes('"msg":"stack re-synced"') && l.includes(`"stack":"${project}"`));
    expect(resynced, "the re-sync finished before the engines closed").toBeGreaterThan(0);
    expect(resynced).toBeLessThan(stopped);
    expect(lines.slice(stopped).filter((l) => l.includes('"msg":"engine open"') || l.includes('"msg":"action done"'))).toEqual([]);

    await d.start();
    const rows = await eventually(() => psAll(d, project, work), (r) => r.length === SERVICES.length && r.every((c) => c.State === "running"), 90_000, `stack ${project} converged`);
    expect(states(rows)).toEqual(expected(project));
    await downAndCheck(d, project, work);
  }, 240_000);
});
