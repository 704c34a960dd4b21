// `build:` end to end on the embedded engine (its own builder, issue 18): the
// same path as test/build-docker.e2e.test.ts. `tscompose build` prints
// compose's plain progress, `up` builds what is missing, a context edit
// rebuilds and recreates, a .dockerignored edit does not, and a failing
// build exits 1 naming the Dockerfile's line; `run` builds a missing image
// and, with --build, an existing one. Needs the embedded builder
// (EmbeddedEngine.buildImage); until it lands this file fails.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRoot } from "./support/requires.js";
import { psRows, startStackSuite, stopStackSuite, type StackSuite } from "./support/stack.js";

let s: StackSuite | undefined;
const project = `tbuild${process.pid}`;

describe.skipIf(!isRoot)("build: on the embedded engine, through the daemon", () => {
  beforeAll(async () => {
    s = await startStackSuite("build");
  }, 180_000);

  afterAll(async () => {
    // RUN steps use the engine's default bridge network, which `down` leaves in place as docker does.
    s?.daemon.cli(["network", "rm", "bridge"]);
    expect(await stopStackSuite(s)).toEqual([]);
  }, 120_000);

  it("build, up, a context edit recreates, an ignored edit does not, a failing build exits 1 at its line", () => {
    const suite = s as StackSuite;
    const dir = join(suite.work, "stack");
    const app = join(dir, "app");
    mkdirSync(app, { recursive: true });
    suite.projects.push({ name: project, cwd: dir });
    writeFileSync(join(app, "Dockerfile"), 'FROM busybox\nARG GREETING\nCOPY msg.txt /msg.txt\nRUN echo "built with $GREETING" && echo "$GREETING" > /greeting\nCMD ["sleep", "3600"]\n');
    writeFileSync(join(app, "msg.txt"), "v1\n");
    writeFileSync(join(app, "notes.md"), "ignored\n");
    writeFileSync(join(app, ".dockerignore"), "notes.md\n");
    writeFileSync(join(dir, "compose.yaml"), ["services:", "  web:", "    build:", "      context: ./app", "      args: [GREETING=hi]", "    stop_grace_period: 1s", ""].join("\n"));
    const cli = (args: string[]) => suite.daemon.cli(["-p", project, ...args], { cwd: dir });
    const containerId = (): string => psRows(suite.daemon, project, dir).find((r) => r.Service === "web" && r.State === "running")?.ID ?? "";
    const read = (...paths: string[]): string => cli(["exec", "-T", "web", "cat", ...paths]).stdout;

    const build = cli(["build"]);
    expect(build.code, build.stderr).toBe(0);
    // BuildKit's numbering (the embedded builder): only FROM and file-changing steps are vertices, 3 here (dockerd's legacy builder counts 4).
    expect(build.stdout).toMatch(/^#\d+ \[web (\S+ )?1\/3\] FROM /m);
    expect(build.stdout).toMatch(/^#(\d+) \[web (\S+ )?3\/3\] RUN echo "built with \$GREETING"/m);
    expect(build.stdout).toMatch(/^#\d+ \d+\.\d{3} built with hi$/m);
    expect(build.stdout).toMatch(/^#\d+ DONE \d+\.\ds$/m);
    const again = cli(["build"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^#\d+ CACHED$/m);
    const quiet = cli(["build", "-q", "--build-arg", "GREETING=quiet"]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toBe("");

    const up = cli(["up", "-d"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).not.toMatch(/Building/);
    const first = containerId();
    expect(first).not.toBe("");
    expect(read("/greeting")).toBe("quiet\n");

    writeFileSync(join(app, "notes.md"), "still ignored\n");
    const same = cli(["up", "-d"]);
    expect(same.code, same.stderr).toBe(0);
    expect(containerId()).toBe(first);

    writeFileSync(join(app, "msg.txt"), "v2\n");
    const edited = cli(["up", "-d"]);
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.stdout).toMatch(/Service web {2}Built/);
    const second = containerId();
    expect(second).not.toBe(first);
    expect(read("/msg.txt", "/greeting")).toBe("v2\nhi\n");

    const forced = cli(["up", "-d", "--build"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/CACHED/);
    expect(containerId()).toBe(second);

    writeFileSync(join(app, "Dockerfile"), "FROM busybox\nCOPY msg.txt /msg.txt\nRUN echo about-to-fail && exit 7\n");
    const failed = cli(["up", "-d"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/Dockerfile:3/);
    expect(failed.stdout).toMatch(/about-to-fail/);
    expect(containerId()).toBe(second);
    expect(cli(["build"]).code).toBe(1);

    const down = cli(["down", "-t", "0"]);
    expect(down.code, down.stderr).toBe(0);
    expect(psRows(suite.daemon, project, dir)).toEqual([]);
  }, 600_000);

  it("run builds a missing image, keeps an existing one, and rebuilds it with --build", () => {
    const suite = s as StackSuite;
    const runProject = `trunb${process.pid}`;
    const dir = join(suite.work, "run");
    const job = join(dir, "job");
    mkdirSync(job, { recursive: true });
    suite.projects.push({ name: runProject, cwd: dir });
    writeFileSync(join(job, "Dockerfile"), 'FROM busybox\nCOPY msg.txt /msg.txt\nCMD ["cat", "/msg.txt"]\n');
    writeFileSync(join(job, "msg.txt"), "first\n");
    writeFileSync(join(dir, "compose.yaml"), "services:\n  job:\n    build: ./job\n");
    const run = (args: string[]) => suite.daemon.cli(["-p", runProject, "run", "--rm", "-T", ...args, "job"], { cwd: dir });

    const missing = run([]);
    expect(missing.code, missing.stderr).toBe(0);
    expect(missing.stdout).toBe("first\n");
    expect(missing.stderr).toMatch(/Service job {2}Built/);

    writeFileSync(join(job, "msg.txt"), "second\n");
    const kept = run([]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toBe("first\n");
    expect(kept.stderr).not.toMatch(/Built/);

    const rebuilt = run(["--build"]);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toMatch(/Service job {2}Built/);
    expect(rebuilt.stdout).toBe("second\n");
    expect(suite.daemon.cli(["-p", runProject, "ps", "-a", "-q"], { cwd: dir }).stdout).toBe("");
  }, 300_000);
});
