// A corrupt or truncated record never destroys anything. A container whose
// record.json is truncated while the daemon is down is still running and
// listed after a restart (rebuilt from its bundle and runc's state), the bad
// file kept aside and named in the log; one whose record cannot be rebuilt is
// left alone (process, directory, writable layer). A truncated stack record is
// set aside, named in `ls` and the log, and the stack stays supervised.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDaemon } from "../support/daemon.js";
import { psRows, startStackSuite, stopStackSuite, until } from "../support/stack.js";
import type { StackSuite } from "../support/stack.js";

let suite: StackSuite;
let daemon: TestDaemon;
let work: string;
const project = `corrupt${process.pid}`;

const containersDir = (): string => join(daemon.stateDir, "runtime", "containers");
const runcStatus = (id: string): string => {
  try {
    return (JSON.parse(execFileSync("runc", ["--root", join(daemon.stateDir, "runtime", "runc"), "state", id], { encoding: "utf8" })) as { status: string }).status;
  } catch {
    return "gone";
  }
};
const truncate = (file: string): string => {
  const text = readFileSync(file, "utf8");
  writeFileSync(file, text.slice(0, text.length >> 1));
  return text;
};

beforeAll(async () => {
  suite = await startStackSuite("corrupt");
  ({ daemon, work } = suite);
  suite.projects.push({ name: project, cwd: work });
  writeFileSync(
    join(work, "compose.yaml"),
    [
      "services:",
      "  app:",
      "    image: busybox",
      "    restart: always",
      // Exits 3 on TERM: a crash the restart policy must answer.
      "    command: ['sh', '-c', 'trap \"exit 3\" TERM; echo hi > /tmp/written; sleep 3600 & wait']",
      "  other:",
      "    image: busybox",
      "    command: ['sh', '-c', 'trap \"exit 0\" TERM; sleep 3600 & wait']",
      "",
    ].join("\n"),
  );
  const up = daemon.cli(["-p", project, "up", "-d", "--wait"], { cwd: work });
  expect(up.code, up.stdout + up.stderr).toBe(0);
}, 300_000);

afterAll(async () => expect(await stopStackSuite(suite, ["-v", "-t", "0"])).toEqual([]), 120_000);

describe("corrupt records at daemon start", () => {
  it("a truncated record.json of a running container: still running and listed, the bad file kept aside and logged", async () => {
    const app = psRows(daemon, project, work).find((r) => r.Service === "app");
    expect(app?.State).toBe("running");
    const id = app?.ID ?? "";
    await daemon.stop();
    const record = join(containersDir(), id, "record.json");
    truncate(record);
    await daemon.start();

    const after = psRows(daemon, project, work).find((r) => r.Service === "app");
    expect(after).toMatchObject({ ID: id, State: "running" });
    expect(runcStatus(id)).toBe("running");
    const aside = readdirSync(join(containersDir(), id)).filter((n) => n.startsWith("record.json.corrupt-"));
    expect(aside).toHaveLength(1);
    expect(existsSync(join(daemon.stateDir, "snapshots", "containers", id, "upper", "tmp", "written"))).toBe(true);
    expect(daemon.log()).toContain(record);
    expect(daemon.log()).toContain("rebuilt from its bundle");
    // The rebuilt record is saved whole: the next start reads it normally.
    expect(JSON.parse(readFileSync(record, "utf8"))).toMatchObject({ id, state: "running" });
  }, 120_000);

  it("a record that cannot be rebuilt (an older bundle): the container is left alone, nothing deleted, reported", async () => {
    const other = psRows(daemon, project, work).find((r) => r.Service === "other");
    const id = other?.ID ?? "";
    await daemon.stop();
    const record = join(containersDir(), id, "record.json");
    const config = join(containersDir(), id, "config.json");
    const goodRecord = truncate(record);
    const spec = JSON.parse(readFileSync(config, "utf8")) as { annotations?: Record<string, string> };
    const goodConfig = readFileSync(config, "utf8");
    delete spec.annotations;
    writeFileSync(config, JSON.stringify(spec));
    await daemon.start();

    expect(runcStatus(id)).toBe("running");
    expect(existsSync(join(daemon.stateDir, "snapshots", "containers", id, "upper"))).toBe(true);
    expect(existsSync(config)).toBe(true);
    expect(daemon.log()).toMatch(/container record unreadable and not rebuildable: container left alone/);
    expect(daemon.log()).toContain(id);

    // Put the good files back (as an operator would): the next start knows the container again.
    await daemon.stop();
    for (const n of readdirSync(join(containersDir(), id)).filter((f) => f.startsWith("record.json.corrupt-"))) execFileSync("rm", [join(containersDir(), id, n)]);
    writeFileSync(record, goodRecord);
    writeFileSync(config, goodConfig);
    await daemon.start();
    // While it was unknown, re-sync made the service a new container (it could not know this one):
    // now both are known, and the stack converges to one replica again, as after any duplicate.
    await until(
      () => psRows(daemon, project, work).filter((r) => r.Service === "other"),
      (rows) => rows.length === 1 && rows[0]?.State === "running",
    );
  }, 120_000);

  it("a truncated stack record: set aside, named in `ls` and the log, the stack still supervised (restart: always)", async () => {
    await daemon.stop();
    const file = join(daemon.stateDir, "stacks", `${project}.json`);
    truncate(file);
    await daemon.start();

    expect(readdirSync(join(daemon.stateDir, "stacks")).filter((n) => n.startsWith(`${project}.json.corrupt-`))).toHaveLength(1);
    expect(daemon.log()).toContain(file);
    const ls = daemon.cli(["ls"]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`${project}.*saved record unreadable`));
    // Both containers run on, and the restart policy still holds: app exits 3 and comes back.
    const before = psRows(daemon, project, work);
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect(before.every((r) => r.State === "running")).toBe(true);
    const app = before.find((r) => r.Service === "app");
    // The exec itself dies with the container (its exit code says so): only the restart counts.
    daemon.cli(["-p", project, "exec", "-T", "app", "kill", "-TERM", "1"], { cwd: work });
    await until(
      () => psRows(daemon, project, work).find((r) => r.Service === "app"),
      (r) => r?.State === "running" && (r.RestartCount ?? 0) > (app?.RestartCount ?? 0),
    );
    // `up` saves a good record again and `ls` no longer complains.
    const up = daemon.cli(["-p", project, "up", "-d"], { cwd: work });
    expect(up.code, up.stderr).toBe(0);
    expect(daemon.cli(["ls"]).stdout).not.toContain("unreadable");
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ name: project });
  }, 180_000);
});
