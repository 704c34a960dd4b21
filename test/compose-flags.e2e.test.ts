// Compose flags through the daemon: `up --no-start` makes the containers and
// starts none (the next `up` does), `ps --filter status=` keeps those in that
// state, and a compose flag not implemented yet is refused by name with
// nothing made. Attached `up`: --attach, --no-attach, --attach-dependencies,
// --timestamps, --no-log-prefix, --abort-on-container-failure; `ls --filter`;
// -y; `up -t` (recreates and the attached stop) and --always-recreate-deps;
// `up/create --quiet-pull`; `restart --no-deps`; `kill --remove-orphans`.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { psAll, runCli } from "./support/e2e.js";
import { isRoot, missing } from "./support/requires.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tcfl${process.pid}`;

describe.skipIf(missing("root", isRoot))("compose flags", () => {
  beforeAll(async () => {
    s = await startStackSuite("compose-flags");
    mkdirSync(join(s.work, project));
    writeFileSync(join(s.work, project, "compose.yaml"), 'services:\n  web:\n    image: busybox\n    command: ["sleep", "3600"]\n');
    s.projects.push({ name: project, cwd: join(s.work, project) });
  }, 300_000);

  afterAll(async () => {
    // --quiet-pull's build: RUN steps use the engine's default bridge network, which `down` leaves in place as docker does.
    s?.daemon.cli(["network", "rm", "bridge"]);
    expect(await stopStackSuite(s, ["-t", "0"])).toEqual([]);
  }, 180_000);

  const cli = (args: string[]) => runCli(s.daemon, args, { cwd: join(s.work, project) });
  const states = (args: string[] = []): string[] => {
    const r = cli(["ps", "-a", "--format", "{{.Name}} {{.State}}", ...args]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.split("\n").filter(Boolean);
  };

  it("a flag not implemented yet is refused by name and makes nothing", () => {
    const r = cli(["up", "-d", "--menu"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("up --menu: not supported yet (see docs/compat.md)\n");
    expect(states()).toEqual([]);
  }, 300_000);

  it("up --no-start creates without starting; ps --filter status= selects by state; up starts it", () => {
    const created = cli(["up", "--no-start"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`Container ${project}-web-1\\s+Created`));
    expect(created.stdout).not.toMatch(/Started/);
    expect(states()).toEqual([`${project}-web-1 created`]);
    expect(states(["--filter", "status=created"])).toEqual([`${project}-web-1 created`]);
    expect(states(["--filter", "status=running"])).toEqual([]);
    const bad = cli(["ps", "--filter", "name=web"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid filter "name=web"');

    const up = cli(["up", "-d"]);
    expect(up.code, up.stderr).toBe(0);
    expect(states(["--filter", "status=running"])).toEqual([`${project}-web-1 running`]);
    expect(states(["--filter", "status=created"])).toEqual([]);
  }, 300_000);

  it("ls --filter name= keeps the stacks whose name it equals or matches; -y is accepted by up and create", () => {
    const yes = cli(["up", "-d", "-y"]);
    expect(yes.code, yes.stderr).toBe(0);
    const created = cli(["create", "--yes"]);
    expect(created.code, created.stderr).toBe(0);
    const names = (args: string[]): string[] => {
      const r = cli(["ls", "-q", ...args]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.split("\n").filter(Boolean);
    };
    expect(names([])).toContain(project);
    expect(names(["--filter", `name=${project}`])).toEqual([project]);
    expect(names(["--filter", `name=^${project.slice(0, 4)}`])).toEqual([project]);
    expect(names(["--filter", `name=^${project}x$`])).toEqual([]);
    const bad = cli(["ls", "--filter", "status=running"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("invalid filter 'status'");
  }, 300_000);

  const stackCli = (name: string, yaml: string) => {
    const dir = join(s.work, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "compose.yaml"), yaml);
    s.projects.push({ name, cwd: dir });
    return (args: string[]) => runCli(s.daemon, ["-p", name, ...args], { cwd: dir });
  };
  // `sleep` as PID 1 ignores SIGTERM: only the SIGKILL after the timeout stops it.
  const stubborn = `    image: busybox\n    command: ["sleep", "3600"]\n    stop_grace_period: 10m\n`;

  it("up --always-recreate-deps recreates the dependencies of the services named; -t bounds the stop of a recreate", () => {
    const name = `tcfr${process.pid}`;
    const run = stackCli(name, `services:\n  web:\n    image: busybox\n    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]\n    depends_on: [db]\n  db:\n${stubborn}`);
    const ids = (): Record<string, string> => Object.fromEntries(psAll(s.daemon, name).map((r) => [r.Name.replace(`${name}-`, ""), r.ID]));
    const up = (args: string[]) => {
      const r = run(["up", "-d", ...args]);
      expect(r.code, r.stderr).toBe(0);
      return r;
    };
    up([]);
    const first = ids();
    // The positive control: an up of web alone leaves db as it is.
    up(["web"]);
    expect(ids()).toEqual(first);
    // db ignores SIGTERM and has 10 minutes of grace: -t 0 kills it at once.
    up(["--always-recreate-deps", "-t", "0", "web"]);
    const second = ids();
    expect(second["db-1"]).not.toBe(first["db-1"]);
    expect(second["web-1"]).toBe(first["web-1"]);
    const clash = run(["up", "-d", "--always-recreate-deps", "--no-recreate"]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toBe("--always-recreate-deps and --no-recreate are incompatible\n");
    expect(run(["down", "-t", "0"]).code).toBe(0);
  }, 300_000);

  it("up and create --quiet-pull leave the build progress out, the steps' lines in", () => {
    const name = `tcfq${process.pid}`;
    const run = stackCli(name, `services:\n  app:\n    build: .\n    command: ["sleep", "3600"]\n`);
    writeFileSync(join(s.work, name, "Dockerfile"), "FROM busybox\nRUN echo built > /built\n");
    // The positive control: without the flag the build's plain lines are there.
    const loud = run(["create", "--build"]);
    expect(loud.code, loud.stderr).toBe(0);
    expect(loud.stdout).toMatch(/^#\d+ /m);
    const quiet = run(["create", "--build", "--quiet-pull"]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).not.toMatch(/^#\d+ /m);
    const up = run(["up", "-d", "--build", "--quiet-pull"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).not.toMatch(/^#\d+ /m);
    expect(up.stdout).toMatch(/Service app\s+Built/);
    expect(up.stdout).toMatch(new RegExp(`Container ${name}-app-1\\s+Started`));
    expect(run(["down", "-t", "0"]).code).toBe(0);
  }, 300_000);

  it("restart takes in the dependents with restart: true, --no-deps not; kill leaves orphans to --remove-orphans", () => {
    const name = `tcfk${process.pid}`;
    const starts = `["sh", "-c", "echo started; trap 'exit 0' TERM; sleep 3600 & wait"]`;
    const yaml = `services:\n  db:\n    image: busybox\n    command: ${starts}\n  web:\n    image: busybox\n    command: ${starts}\n    depends_on:\n      db:\n        condition: service_started\n        restart: true\n`;
    const run = stackCli(name, `${yaml}  old:\n    image: busybox\n    command: ${starts}\n`);
    const ok = (args: string[]) => {
      const r = run(args);
      expect(r.code, r.stderr).toBe(0);
      return r;
    };
    const started = (service: string): number => ok(["logs", "--no-log-prefix", service]).stdout.split("\n").filter((l) => l === "started").length;
    ok(["up", "-d"]);
    expect([started("db"), started("web")]).toEqual([1, 1]);
    ok(["restart", "db"]);
    expect([started("db"), started("web")]).toEqual([2, 2]);
    ok(["restart", "--no-deps", "db"]);
    expect([started("db"), started("web")]).toEqual([3, 2]);

    // old is an orphan once the file no longer has it.
    writeFileSync(join(s.work, name, "compose.yaml"), yaml);
    const state = () => Object.fromEntries(psAll(s.daemon, name).map((r) => [r.Service, r.State]));
    ok(["kill"]);
    expect(state()).toEqual({ db: "exited", web: "exited", old: "running" });
    ok(["kill", "--remove-orphans"]);
    expect(state()).toEqual({ db: "exited", web: "exited", old: "exited" });
    expect(run(["down", "-t", "0", "--remove-orphans"]).code).toBe(0);
  }, 300_000);

  describe("attached up", () => {
    const lines = (out: string): string[] => out.split("\n");
    const ts = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`;
    const said = (text: string, exit: number, after = 1) => `["sh", "-c", "echo ${text}; sleep ${after}; exit ${exit}"]`;
    const server = (text: string) => `["sh", "-c", "trap 'exit 0' TERM; echo ${text}; sleep 3600 & wait"]`;

    it("--abort-on-container-failure stops all at the first failure, with its code; --no-attach hides a service", () => {
      const run = stackCli(`tcff${process.pid}`, `services:\n  ok:\n    image: busybox\n    command: ${said("ok-line", 0)}\n  bad:\n    image: busybox\n    command: ${said("bad-line", 5, 5)}\n  db:\n    image: busybox\n    command: ${server("db-line")}\n`);
      const r = run(["up", "--no-color", "--abort-on-container-failure", "--no-attach", "db"]);
      expect(r.code, r.stderr).toBe(5);
      expect(r.stdout).toMatch(/^ok-1 +\| ok-line$/m);
      expect(r.stdout).toMatch(/^bad-1 +\| bad-line$/m);
      // ok's exit (0) stopped nothing: bad ran to its failure.
      expect(r.stdout).toMatch(/^ok-1 exited with code 0$/m);
      expect(r.stdout).toMatch(/^bad-1 exited with code 5$/m);
      expect(r.stdout).not.toContain("db-line");
      const ps = run(["ps", "-a", "--format", "{{.Service}} {{.State}}"]);
      expect(ps.stdout.split("\n").filter(Boolean).sort()).toEqual(["bad exited", "db exited", "ok exited"]);
      // The positive control of --no-attach: db's output is there to show.
      expect(run(["logs", "db"]).stdout).toMatch(/db-1 +\| db-line/);
    }, 300_000);

    it("-t: the stop at the end of an attached up kills what ignores SIGTERM once the timeout is past", () => {
      const name = `tcft${process.pid}`;
      const run = stackCli(name, `services:\n  job:\n    image: busybox\n    command: ${said("job-line", 0, 2)}\n  db:\n${stubborn}`);
      const r = run(["up", "--no-color", "--abort-on-container-exit", "-t", "0"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^job-1 +\| job-line$/m);
      const rows = psAll(s.daemon, name);
      expect(rows.map((row) => `${row.Service} ${row.State} ${row.ExitCode}`).sort()).toEqual(["db exited 137", "job exited 0"]);
    }, 300_000);

    it("--attach-dependencies, --attach, --timestamps and --no-log-prefix", () => {
      const run = stackCli(`tcfa${process.pid}`, `services:\n  web:\n    image: busybox\n    command: ${said("web-line", 0, 2)}\n    depends_on: [db]\n  db:\n    image: busybox\n    command: ${server("db-line")}\n`);
      // The services named, not their dependencies, unless asked.
      const plain = run(["up", "--no-color", "--abort-on-container-exit", "--timestamps", "web"]);
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.stdout).toMatch(new RegExp(`^web-1 +\\| ${ts} web-line$`, "m"));
      expect(plain.stdout).not.toContain("db-line");

      const deps = run(["up", "--no-color", "--abort-on-container-exit", "--attach-dependencies", "--no-log-prefix", "web"]);
      expect(deps.code, deps.stderr).toBe(0);
      expect(lines(deps.stdout)).toContain("db-line");
      expect(lines(deps.stdout)).toContain("web-line");

      // --attach: only db's output, while web's exit still ends the up (its code, 0).
      const only = run(["up", "--no-color", "--abort-on-container-exit", "--attach", "db", "web"]);
      expect(only.code, only.stderr).toBe(0);
      expect(only.stdout).toMatch(/^db-1 +\| db-line$/m);
      expect(only.stdout).not.toContain("web-line");
      expect(only.stdout).toMatch(/Gracefully stopping/);

      const unknown = run(["up", "--attach", "nosuch"]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("no such service: nosuch");
      const clash = run(["up", "--attach", "db", "--attach-dependencies"]);
      expect(clash.code).toBe(1);
      expect(clash.stderr).toBe("cannot combine --attach and --attach-dependencies\n");
    }, 300_000);
  });
});
