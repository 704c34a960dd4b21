// Compose flags through the daemon: `up --no-start` makes the containers and
// starts none (the next `up` does), `ps --filter status=` keeps those in that
// state, and a compose flag not implemented yet is refused by name with
// nothing made.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/e2e.js";
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
    expect(await stopStackSuite(s, ["-t", "0"])).toEqual([]);
  }, 180_000);

  const cli = (args: string[]) => runCli(s.daemon, args, { cwd: join(s.work, project) });
  const states = (args: string[] = []): string[] => {
    const r = cli(["ps", "-a", "--format", "{{.Name}} {{.State}}", ...args]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.split("\n").filter(Boolean);
  };

  it("a flag not implemented yet is refused by name and makes nothing", () => {
    const r = cli(["up", "-d", "--timestamps"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("up --timestamps: not supported yet (see docs/compat.md)\n");
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
});
