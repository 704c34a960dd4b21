// Supervision end to end: restart policies enforced by the daemon, with
// backoff, across a daemon restart. No timed assertions: we wait for states.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDaemon } from "./support/daemon.js";
import { psRows, startStackSuite, stopStackSuite, until as untilValue } from "./support/stack.js";
import type { PsRow, StackSuite } from "./support/stack.js";

let suite: StackSuite;
let daemon: TestDaemon;
let work: string;
const project = `sup${process.pid}`;

const ps = (): PsRow[] => psRows(daemon, project, work);
const until = (ok: (rows: PsRow[]) => boolean): Promise<PsRow[]> => untilValue(ps, ok);
const svc = (rows: PsRow[], name: string): PsRow | undefined => rows.find((r) => r.Service === name);

beforeAll(async () => {
  suite = await startStackSuite("supervise");
  ({ daemon, work } = suite);
  suite.projects.push({ name: project, cwd: work });
  writeFileSync(
    join(work, "compose.yaml"),
    [
      "services:",
      "  crasher:",
      "    image: busybox",
      "    command: ['sh', '-c', 'exit 3']",
      "    restart: always",
      "  limited:",
      "    image: busybox",
      "    command: ['sh', '-c', 'exit 4']",
      "    restart: on-failure:3",
      "  done:",
      "    image: busybox",
      "    command: ['true']",
      "    restart: on-failure",
      "  keeper:",
      "    image: busybox",
      "    command: ['sleep', '600']",
      "    restart: unless-stopped",
      "  stopped:",
      "    image: busybox",
      "    command: ['sleep', '600']",
      "    restart: unless-stopped",
      "",
    ].join("\n"),
  );
  const up = daemon.cli(["-p", project, "up", "-d"], { cwd: work });
  expect(up.code, up.stdout + up.stderr).toBe(0);
}, 300_000);

afterAll(async () => expect(await stopStackSuite(suite)).toEqual([]), 120_000);

describe("restart policies", () => {
  it("a crash-looping service with restart: always keeps being restarted", async () => {
    const rows = await until((r) => (svc(r, "crasher")?.RestartCount ?? 0) >= 4);
    expect(svc(rows, "crasher")!.ExitCode).toBe(3);
  });

  it("on-failure:3 gives up after three restarts, and on-failure leaves an exit 0 alone", async () => {
    const rows = await until((r) => svc(r, "limited")?.RestartCount === 3 && svc(r, "limited")?.State === "exited");
    // "Exited" can show before the supervisor has handled that exit: wait for its
    // decision on it (a "not restarting" line), after which nothing restarts it.
    const decided = (log: string): boolean => log.split("\n").some((l) => l.includes('"msg":"not restarting"') && l.includes('"service":"limited"'));
    await untilValue(() => daemon.log(), decided);
    const later = ps();
    expect(svc(later, "limited")).toMatchObject({ State: "exited", RestartCount: 3, ExitCode: 4 });
    expect(svc(rows, "done")).toMatchObject({ State: "exited", ExitCode: 0, RestartCount: 0 });
  });

  it("unless-stopped comes back after a daemon restart, but not if a user stopped it", async () => {
    const stop = daemon.cli(["-p", project, "stop", "-t", "0", "stopped"], { cwd: work });
    expect(stop.code, stop.stderr).toBe(0);
    await until((r) => svc(r, "stopped")?.State === "exited");
    const keeperId = svc(ps(), "keeper")!.ID;
    await daemon.stop("SIGKILL");
    // The containers outlive the daemon. Kill keeper's process while no daemon watches:
    // only the restart policy, applied when the daemon starts again, can bring it back.
    execFileSync("runc", ["--root", join(daemon.stateDir, "runtime", "runc"), "kill", keeperId, "KILL"]);
    expect(daemon.cli(["-p", project, "ps"], { cwd: work }).code).not.toBe(0);
    await daemon.start();
    const after = await until((r) => svc(r, "keeper")?.State === "running" && svc(r, "stopped")?.State === "exited");
    expect(svc(after, "stopped")!.State).toBe("exited");
  });
});
