// --dry-run, create and scale end to end: a real daemon and real containers.
// A dry run must touch nothing and print exactly the steps the real run then
// takes from the same state (compared as the real run's "done" lines).
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDaemon } from "./support/daemon.js";
import { spawnCli } from "./support/e2e.js";
import { psRows, startStackSuite, stopStackSuite, until } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let suite: StackSuite;
let daemon: TestDaemon;
let work: string;
const project = `plan${process.pid}`;

const LOOP = `["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]`;
const STACK = `services:
  db:
    image: busybox
    command: ${LOOP}
    volumes: ["data:/data"]
  web:
    image: busybox
    command: ${LOOP}
    depends_on: [db]
volumes:
  data: {}
`;

// quick exits at once; slow only once the test creates flag/go, so which stops first never depends on timing.
const WAIT_STACK = `services:
  quick:
    image: busybox
    command: ["sh", "-c", "exit 3"]
  slow:
    image: busybox
    command: ["sh", "-c", "while [ ! -f /flag/go ]; do sleep 0.2; done; exit 5"]
    volumes: ["./flag:/flag"]
  server:
    image: busybox
    command: ${LOOP}
`;
const waitProject = `wait${process.pid}`;

const cli = (args: string[]): { code: number; stdout: string; stderr: string } => daemon.cli(["-p", project, ...args], { cwd: work });

const PREFIX = " DRY-RUN MODE -  ";
/** A dry run's lines without the prefix; every line of its output must carry it. */
function dryLines(out: string): string[] {
  const lines = out.split("\n").filter((l) => l !== "");
  expect(lines.filter((l) => !l.startsWith(PREFIX))).toEqual([]);
  return lines.map((l) => ` ${l.slice(PREFIX.length)}`).sort();
}
/** A real run's lines for finished steps ("Created", "Started"...), not those for steps begun ("Creating"...). */
const doneLines = (out: string): string[] =>
  out
    .split("\n")
    .filter((l) => l.startsWith(" ") && !/ing$/.test(l))
    .sort();

/** What a run could change: the stack's containers and their states, the daemon's networks and volumes, host links. */
function world(): unknown {
  const entries = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort() : []);
  const dirsNamed = (root: string, names: string[], depth = 3): string[] => {
    if (depth === 0 || !existsSync(root)) return [];
    return readdirSync(root).flatMap((n) => {
      const p = join(root, n);
      if (!statSync(p).isDirectory()) return [];
      return names.includes(n) ? [p, ...dirsNamed(p, names, depth - 1)] : dirsNamed(p, names, depth - 1);
    });
  };
  const stores = dirsNamed(daemon.stateDir, ["networks", "volumes"]).map((d) => `${d}: ${entries(d).join(",")}`);
  const links = execFileSync("ip", ["-o", "link"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(` ${daemon.prefix}`))
    .map((l) => l.split(":")[1]?.trim())
    .sort();
  const containers = psRows(daemon, project, work).map((r) => `${r.Name} ${r.ID} ${r.State}`).sort();
  return { containers, stores, links };
}

/** Runs args with --dry-run (before the command, as compose's docs write it), checks nothing changed, then runs them for real; both outputs' steps must match. */
function dryThenReal(args: string[]): { dry: string[]; real: { code: number; stdout: string; stderr: string } } {
  const before = world();
  const dry = cli(["--dry-run", ...args]);
  expect(dry.stderr).toBe("");
  expect(dry.code).toBe(0);
  expect(world()).toEqual(before);
  const real = cli(args);
  if (real.code !== 0) console.log(real.stdout, real.stderr, daemon.log().slice(-3000));
  expect(real.code).toBe(0);
  const lines = dryLines(dry.stdout);
  expect(lines).toEqual(doneLines(real.stdout));
  return { dry: lines, real };
}

// Each test first makes the state it starts from (below), so that any one of
// them runs alone (vitest -t) or in any order; after the test before it,
// making that state is mostly a no-op (an `up -d` of a converged stack).

/** Nothing of the stack, not even its image: the next up pulls, creates and starts everything. */
function nothing(): void {
  expect(cli(["down", "-v", "-t", "0"]).code).toBe(0);
  // The other project's containers use the image too.
  expect(daemon.cli(["-p", waitProject, "down", "-t", "0"], { cwd: join(work, "waiting") }).code).toBe(0);
  daemon.cli(["rmi", "busybox"], { cwd: work }); // absent already after a down from nothing: checked below
  expect(daemon.cli(["images", "-q", "busybox"], { cwd: work }).stdout).toBe("");
}

/** The stack as its file says: db and web running, one replica each, the volume and network made. */
function converged(): void {
  const up = cli(["up", "-d"]);
  expect(up.code, up.stderr).toBe(0);
  expect(psRows(daemon, project, work).map((r) => `${r.Name}:${r.State}`).sort()).toEqual([`${project}-db-1:running`, `${project}-web-1:running`]);
}

beforeAll(async () => {
  suite = await startStackSuite("plan", ["busybox"]);
  ({ daemon, work } = suite);
  writeFileSync(join(work, "compose.yaml"), STACK);
  suite.projects.push({ name: project, cwd: work });
  mkdirSync(join(work, "waiting", "flag"), { recursive: true });
  writeFileSync(join(work, "waiting", "compose.yaml"), WAIT_STACK);
  suite.projects.push({ name: waitProject, cwd: join(work, "waiting") });
}, 300_000);

afterAll(async () => expect(await stopStackSuite(suite, ["-v", "-t", "1"])).toEqual([]), 180_000);

describe("--dry-run, create and scale", () => {
  it("up --dry-run from nothing prints the pull, network, volume and containers the real up then makes", () => {
    nothing();
    const { dry } = dryThenReal(["up", "-d"]);
    expect(dry).toEqual(
      [
        " Image busybox  Pulled",
        ` Network ${project}_default  Created`,
        ` Volume "${project}_data"  Created`,
        ` Container ${project}-db-1  Created`,
        ` Container ${project}-web-1  Created`,
        ` Container ${project}-db-1  Started`,
        ` Service db  Ready`,
        ` Container ${project}-web-1  Started`,
      ].sort(),
    );
    expect(psRows(daemon, project, work).map((r) => `${r.Service}:${r.State}`).sort()).toEqual(["db:running", "web:running"]);
  }, 120_000);

  it("up --dry-run of a converged stack plans nothing; --dry-run after the command works too", () => {
    converged();
    const before = world();
    const dry = cli(["up", "-d", "--dry-run", "--force-recreate", "--no-deps", "web"]);
    expect(dry.code).toBe(0);
    expect(world()).toEqual(before);
    // --no-deps: db is not part of the plan, so nothing waits for it.
    expect(dryLines(dry.stdout)).toEqual([` Container ${project}-web-1  Created`, ` Container ${project}-web-1  Removed`, ` Container ${project}-web-1  Started`, ` Container ${project}-web-1  Stopped`].sort());
    expect(cli(["--dry-run", "up", "-d"]).stdout).toBe("");
  }, 120_000);

  it("stop, restart and rm --dry-run name the containers the real commands then act on", () => {
    converged();
    expect(dryThenReal(["restart", "web"]).dry).toEqual([` Container ${project}-web-1  Started`]);
    expect(dryThenReal(["stop"]).dry).toEqual([` Container ${project}-db-1  Stopped`, ` Container ${project}-web-1  Stopped`]);
    expect(dryThenReal(["rm", "-f", "web"]).dry).toEqual([` Container ${project}-web-1  Removed`]);
  }, 120_000);

  it("--dry-run on a command that cannot do it is an error, and touches nothing", () => {
    const before = world();
    const r = cli(["--dry-run", "logs"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--dry-run is not supported by "logs"/);
    expect(world()).toEqual(before);
  });

  it("pull --dry-run prints each service's pull and pulls nothing", () => {
    const r = cli(["pull", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(dryLines(r.stdout)).toEqual([" db Pulled", " web Pulled"]);
  });

  it("create makes the missing containers without starting them, a daemon restart leaves them so, up then only starts them", async () => {
    // db stopped with the file's config, web gone.
    converged();
    expect(cli(["stop", "-t", "1"]).code).toBe(0);
    expect(cli(["rm", "-f", "web"]).code).toBe(0);
    const { dry, real } = dryThenReal(["create"]);
    // db exists (stopped, same config): only web is created.
    expect(dry).toEqual([` Container ${project}-web-1  Created`]);
    expect(real.stdout).not.toMatch(/Start/);
    expect(psRows(daemon, project, work).map((r) => `${r.Service}:${r.State}`).sort()).toEqual(["db:exited", "web:created"]);

    const forced = dryThenReal(["create", "--force-recreate", "db"]);
    expect(forced.dry).toEqual([` Container ${project}-db-1  Created`, ` Container ${project}-db-1  Removed`]);
    expect(psRows(daemon, project, work).map((r) => `${r.Service}:${r.State}`).sort()).toEqual(["db:created", "web:created"]);

    // The daemon re-syncs its stacks when it starts: what create made stays as it is.
    await daemon.stop();
    await daemon.start();
    await until(() => daemon.log(), (log) => log.includes("stack re-synced") && log.includes(project));
    expect(psRows(daemon, project, work).map((r) => `${r.Service}:${r.State}`).sort()).toEqual(["db:created", "web:created"]);

    const up = cli(["up", "-d"]);
    expect(up.code).toBe(0);
    expect(doneLines(up.stdout)).toEqual([` Container ${project}-db-1  Started`, ` Container ${project}-web-1  Started`, " Service db  Ready"]);
    expect(psRows(daemon, project, work).map((r) => `${r.Service}:${r.State}`).sort()).toEqual(["db:running", "web:running"]);
  }, 180_000);

  it("create refuses --force-recreate with --no-recreate, touching nothing", () => {
    const before = world();
    const both = cli(["create", "--force-recreate", "--no-recreate"]);
    expect(both.code).not.toBe(0);
    expect(both.stderr).toMatch(/incompatible/);
    expect(world()).toEqual(before);
  });

  it("scale adds and removes replicas of the services named", () => {
    converged();
    const up = dryThenReal(["scale", "web=3"]);
    expect(up.dry).toEqual(
      [` Container ${project}-web-2  Created`, ` Container ${project}-web-2  Started`, ` Container ${project}-web-3  Created`, ` Container ${project}-web-3  Started`, " Service db  Ready"].sort(),
    );
    expect(psRows(daemon, project, work).map((r) => r.Name).sort()).toEqual([`${project}-db-1`, `${project}-web-1`, `${project}-web-2`, `${project}-web-3`]);
    const down = dryThenReal(["scale", "--no-deps", "web=1"]);
    expect(down.dry).toEqual([` Container ${project}-web-2  Removed`, ` Container ${project}-web-2  Stopped`, ` Container ${project}-web-3  Removed`, ` Container ${project}-web-3  Stopped`].sort());
    expect(psRows(daemon, project, work).map((r) => r.Name).sort()).toEqual([`${project}-db-1`, `${project}-web-1`]);
  }, 120_000);

  it("scale refuses a bad argument or an unknown service, touching nothing", () => {
    const before = world();
    for (const args of [["scale"], ["scale", "web"], ["scale", "web=-1"], ["scale", "nope=2"]]) {
      const r = cli(args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).not.toBe("");
    }
    expect(world()).toEqual(before);
  });

  it("down -v --dry-run prints the stops and removals the real down then makes", () => {
    converged();
    const { dry } = dryThenReal(["down", "-v", "-t", "1"]);
    expect(dry).toEqual(
      [
        ` Container ${project}-db-1  Stopped`,
        ` Container ${project}-web-1  Stopped`,
        ` Container ${project}-db-1  Removed`,
        ` Container ${project}-web-1  Removed`,
        ` Network ${project}_default  Removed`,
        ` Volume "${project}_data"  Removed`,
      ].sort(),
    );
    expect(psRows(daemon, project, work)).toEqual([]);
  }, 120_000);
});

describe("wait", () => {
  const cwd = (): string => join(work, "waiting");
  const waitCli = (args: string[]): { code: number; stdout: string; stderr: string } => daemon.cli(["-p", waitProject, ...args], { cwd: cwd() });

  it("prints each container's exit code and exits with the first's", async () => {
    // slow runs until the test lets it go.
    rmSync(join(cwd(), "flag", "go"), { force: true });
    expect(waitCli(["down", "-t", "0"]).code).toBe(0);
    expect(waitCli(["up", "-d"]).code).toBe(0);
    const ids = Object.fromEntries(psRows(daemon, waitProject, cwd()).map((r) => [r.Service, r.ID]));
    const w = spawnCli(daemon, ["-p", waitProject, "wait", "quick", "slow"], { cwd: cwd() });
    await w.waitFor(/exited with status code 3/);
    writeFileSync(join(cwd(), "flag", "go"), "");
    expect(await w.exited()).toBe(3);
    const lines = w.stdout().trim().split("\n");
    expect(lines.length).toBe(2);
    // Full IDs; ps shows their first 12 characters.
    expect(lines.find((l) => l.includes(`"${ids.quick}`))).toMatch(/^container "[0-9a-f]{64}" exited with status code 3$/);
    expect(lines.find((l) => l.includes(`"${ids.slow}`))).toMatch(/^container "[0-9a-f]{64}" exited with status code 5$/);
  }, 120_000);

  it("refuses an unknown service or none", () => {
    const unknown = waitCli(["wait", "nope"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no such service: nope/);
    expect(waitCli(["wait"]).code).not.toBe(0);
  });

  it("--down-project takes the project down once the first container has stopped", async () => {
    expect(waitCli(["up", "-d"]).code).toBe(0);
    expect(psRows(daemon, waitProject, cwd()).find((r) => r.Service === "server")?.State).toBe("running");
    const w = spawnCli(daemon, ["-p", waitProject, "wait", "--down-project", "quick", "server"], { cwd: cwd() });
    expect(await w.exited()).toBe(3);
    expect(w.stdout()).toMatch(/exited with status code 3/);
    expect(psRows(daemon, waitProject, cwd())).toEqual([]);
  }, 120_000);
});
