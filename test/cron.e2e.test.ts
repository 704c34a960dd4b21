// Scheduled jobs end to end: a real daemon runs x-tscompose schedules as
// one-off containers on the embedded engine. Cron with seconds keeps it fast;
// nothing is timed: the test waits for states, with generous deadlines.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobRun, JobView } from "../src/daemon/api.js";
import type { TestDaemon } from "./support/daemon.js";
import { psRows, startStackSuite, stopStackSuite, until } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let suite: StackSuite;
let daemon: TestDaemon;
let work: string;
const project = `cron${process.pid}`;

function jobs(): JobView[] {
  const r = daemon.cli(["-p", project, "jobs", "--format", "json"], { cwd: work });
  return r.code === 0 ? (JSON.parse(r.stdout) as JobView[]) : [];
}
const job = (views: JobView[], service: string): JobView => views.find((j) => j.service === service) ?? ({ running: [], history: [] } as unknown as JobView);
const ran = (j: JobView): JobRun[] => j.history.filter((r) => r.status === "succeeded" || r.status === "failed");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  suite = await startStackSuite("cron");
  ({ daemon, work } = suite);
  suite.projects.push({ name: project, cwd: work });
  writeFileSync(
    join(work, "compose.yaml"),
    [
      "services:",
      "  tick:",
      "    image: busybox",
      // Exit code from the slot it runs for: consecutive slots of */2 alternate 0 and 1.
      "    command: ['sh', '-c', 'echo run $$TSCOMPOSE_JOB_RUN; exit $$(( TSCOMPOSE_JOB_TIME / 2 % 2 ))']",
      "    x-tscompose:",
      "      schedule: '*/2 * * * * *'",
      "  slow:",
      "    image: busybox",
      "    command: ['sh', '-c', 'echo started; sleep 3; echo done']",
      "    x-tscompose:",
      "      schedule: { cron: '* * * * * *', overlap: skip, history: 20 }",
      // Never due while the test runs: a scheduled service with no run in progress.
      "  yearly:",
      "    image: busybox",
      "    command: ['true']",
      "    x-tscompose:",
      "      schedule: '0 0 1 1 *'",
      "",
    ].join("\n"),
  );
  const up = daemon.cli(["-p", project, "up", "-d"], { cwd: work });
  expect(up.code, up.stdout + up.stderr).toBe(0);
  expect(up.stdout).toContain('tick: scheduled "*/2 * * * * *"');
}, 300_000);

afterAll(async () => expect(await stopStackSuite(suite)).toEqual([]), 120_000);

describe("scheduled jobs", () => {
  it("a job every 2 s runs as one-off containers and records its alternating exit codes and output", async () => {
    const views = await until(jobs, (v) => ran(job(v, "tick")).length >= 4);
    const runs = ran(job(views, "tick"));
    for (const r of runs) {
      expect(r.exitCode, JSON.stringify(r)).toBe(Math.floor(Date.parse(r.tick) / 2000) % 2);
      expect(r.status).toBe(r.exitCode === 0 ? "succeeded" : "failed");
      expect(r.log).toContain(`run ${r.id}`);
      expect(r.container).toBe(`${project}-tick-job-${r.id}`);
    }
    expect(new Set(runs.map((r) => r.exitCode))).toEqual(new Set([0, 1]));
    // Finished runs leave no container: their logs live in the history.
    await until(
      () => psRows(daemon, project, work).map((p) => p.Name),
      (names) => runs.every((r) => !names.includes(r.container as string)),
    );
    const logs = daemon.cli(["-p", project, "jobs", "logs", "tick", runs[0]!.id], { cwd: work });
    expect(logs.stdout).toBe(`run ${runs[0]!.id}\n`);
    const table = daemon.cli(["-p", project, "jobs"], { cwd: work });
    expect(table.stdout).toMatch(/^tick\s+\*\/2 \* \* \* \* \*\s+skip\s+/m);
    const ps = daemon.cli(["-p", project, "ps"], { cwd: work });
    expect(ps.stdout).toMatch(new RegExp(`^${project}-tick-job\\s+tick\\s+Scheduled "\\*/2 \\* \\* \\* \\* \\*", next in`, "m"));
    const ls = daemon.cli(["ls"], { cwd: work });
    expect(ls.stdout).toMatch(new RegExp(`^${project}\\s+.*scheduled\\(3\\)`, "m"));
  });

  it("logs of a scheduled service with no run in progress points to its runs' output", () => {
    const logs = daemon.cli(["-p", project, "logs", "yearly"], { cwd: work });
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe("");
    expect(logs.stderr).toBe("yearly is a scheduled service with no run in progress; the output of its runs: tscompose jobs logs yearly [RUN]\n");
  });

  it("overlap skip: slots due while a longer run runs are recorded as skipped, and runs never overlap", async () => {
    let most = 0;
    const views = await until(jobs, (v) => {
      const j = job(v, "slow");
      most = Math.max(most, j.running.length);
      return j.history.filter((r) => r.status === "skipped").length >= 2 && ran(j).length >= 1;
    });
    expect(most).toBeLessThanOrEqual(1);
    const slow = job(views, "slow");
    for (const s of slow.history.filter((r) => r.status === "skipped")) expect(s.reason).toMatch(/^run \d{8}-\d{6} still running$/);
    for (const r of ran(slow)) expect(r).toMatchObject({ status: "succeeded", exitCode: 0, log: ["started", "done"] });
  });

  it("a daemon killed with -9 mid-run: that run is recorded once and not run again; slots missed while down are not caught up", async () => {
    const before = await until(jobs, (v) => job(v, "slow").running.some((r) => r.startedAt !== undefined));
    const inFlight = job(before, "slow").running.find((r) => r.startedAt !== undefined)!;
    const killedAt = Date.now();
    await daemon.stop("SIGKILL");
    await sleep(2500); // slots come and go while no daemon runs
    const restartedAt = Date.now();
    await daemon.start();
    const after = await until(jobs, (v) => job(v, "slow").history.some((r) => r.id === inFlight.id));
    const slow = job(after, "slow");
    expect(slow.history.filter((r) => r.id === inFlight.id)).toEqual([expect.objectContaining({ status: "succeeded", exitCode: 0, log: ["started", "done"] })]);
    expect(slow.running.map((r) => r.id)).not.toContain(inFlight.id);
    for (const j of after) {
      const missed = [...j.running, ...j.history].filter((r) => Date.parse(r.tick) > killedAt && Date.parse(r.tick) < restartedAt);
      expect(missed, j.service).toEqual([]);
    }
    // Still recorded once a few slots later, and its container is gone.
    const later = await until(jobs, (v) => ran(job(v, "slow")).some((r) => Date.parse(r.tick) > restartedAt));
    expect(job(later, "slow").history.filter((r) => r.id === inFlight.id)).toHaveLength(1);
    await until(
      () => psRows(daemon, project, work).map((p) => p.Name),
      (names) => !names.includes(inFlight.container as string),
    );
  });

  it("watch mode: an edited schedule and command apply from the next slot", async () => {
    const watch = daemon.cli(["-p", project, "up", "-d", "--watch"], { cwd: work });
    expect(watch.code, watch.stdout + watch.stderr).toBe(0);
    const file = join(work, "compose.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8")
        .replace("'*/2 * * * * *'", "{ cron: '*/3 * * * * *', history: 3 }")
        .replace("exit $$(( TSCOMPOSE_JOB_TIME / 2 % 2 ))", "exit 7"),
    );
    const views = await until(jobs, (v) => job(v, "tick").schedule.cron === "*/3 * * * * *" && ran(job(v, "tick")).some((r) => r.exitCode === 7));
    const tick = job(views, "tick");
    for (const r of ran(tick).filter((x) => x.exitCode === 7)) expect(new Date(r.tick).getUTCSeconds() % 3).toBe(0);
    expect(ran(tick).length).toBeLessThanOrEqual(3);
  });

  it("down stops the schedule and removes the job containers; nothing is left", async () => {
    await until(jobs, (v) => job(v, "slow").running.length > 0);
    const down = daemon.cli(["-p", project, "down", "-t", "0"], { cwd: work });
    expect(down.code, down.stderr).toBe(0);
    expect(psRows(daemon, project, work)).toEqual([]);
    // The scheduler's decision, in the daemon's log: this stack's timers are stopped.
    const logLines = (): Record<string, unknown>[] => daemon.log().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const sinceUnscheduled = (ls: Record<string, unknown>[]) => ls.slice(ls.findIndex((l) => l.msg === "jobs unscheduled" && l.stack === project) + 1);
    await until(logLines, (ls) => ls.some((l) => l.msg === "jobs unscheduled" && l.stack === project));
    // "Nothing runs after down" has no event of its own: a control stack scheduled every second, up
    // meanwhile, shows slots did come and were handled, while this stack's were not.
    const control = `${project}c`;
    writeFileSync(join(work, "control.yaml"), "services:\n  every:\n    image: busybox\n    command: ['true']\n    x-tscompose:\n      schedule: '* * * * * *'\n");
    suite.projects.push({ name: control, cwd: work });
    const upControl = daemon.cli(["-p", control, "-f", "control.yaml", "up", "-d"], { cwd: work });
    expect(upControl.code, upControl.stderr).toBe(0);
    const slotHandled = (l: Record<string, unknown>) => ["job run queued", "job run started", "job run skipped", "job slot already handled"].includes(l.msg as string);
    const after = await until(logLines, (ls) => sinceUnscheduled(ls).filter((l) => slotHandled(l) && l.stack === control).length >= 2);
    expect(sinceUnscheduled(after).filter((l) => slotHandled(l) && l.stack === project)).toEqual([]);
    const downControl = daemon.cli(["-p", control, "-f", "control.yaml", "down", "-t", "0"], { cwd: work });
    expect(downControl.code, downControl.stderr).toBe(0);
    expect(psRows(daemon, project, work)).toEqual([]);
    expect(jobs()).toEqual([]);
    expect(existsSync(join(daemon.stateDir, "jobs", `${project}.json`))).toBe(false);
    // (the suite's teardown checks the host for leaks once the daemon has stopped)
  });
});
