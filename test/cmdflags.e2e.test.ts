// docker compose's flags of run, exec, ps and build through the built CLI and
// a test daemon: run -v (bind, relative bind, named), --cap-add/--cap-drop,
// --env-from-file, -q, --remove-orphans; exec --privileged; ps --no-trunc and
// --orphans; build --push to the suite's registry. Capabilities are read from /proc/self/status inside the
// container, each against the same reading without the flag.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectRaw } from "./fixtures/push.js";
import { spawnCli } from "./support/e2e.js";
import { isRoot, missing } from "./support/requires.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tcmd${process.pid}`;
const dir = (): string => join(s.work, project);
const LONG = "sleep 3600; echo a-command-longer-than-twenty";

const stackFile = (withGone: boolean): string =>
  [
    "services:",
    "  web:",
    "    image: busybox",
    `    command: ["sh", "-c", "${LONG}"]`,
    "  withdep:",
    "    image: busybox",
    "    depends_on: [db]",
    "  db:",
    "    image: busybox",
    '    command: ["sleep", "3600"]',
    ...(withGone ? ["  gone:", "    image: busybox", '    command: ["sleep", "3600"]'] : []),
    "volumes:",
    "  shared: {}",
    "",
  ].join("\n");

/** The capability bit of CAP_NAME's number in a `CapEff:` line's hex mask. */
const hasCap = (status: string, bit: number): boolean => {
  const hex = /CapEff:\s+([0-9a-f]+)/.exec(status)?.[1];
  if (hex === undefined) throw new Error(`no CapEff in ${JSON.stringify(status)}`);
  return ((BigInt(`0x${hex}`) >> BigInt(bit)) & 1n) === 1n;
};
const CAP_CHOWN = 0;
const CAP_SYS_ADMIN = 21;

describe.skipIf(missing("root", isRoot))("compose flags of run, exec, ps and build", () => {
  beforeAll(async () => {
    s = await startStackSuite("cmdflags");
    mkdirSync(dir());
    writeFileSync(join(dir(), "compose.yaml"), stackFile(true));
    s.projects.push({ name: project, cwd: dir() });
  }, 300_000);

  afterAll(async () => {
    // The build's RUN steps made the engine's default bridge (docker0's like), which outlives projects.
    s?.daemon.cli(["network", "rm", "bridge"]);
    expect(await stopStackSuite(s, ["-t", "0", "-v", "--remove-orphans"])).toEqual([]);
  }, 180_000);

  // Asynchronous, so the worker keeps answering vitest while a command runs.
  const cli = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const run = spawnCli(s.daemon, ["-p", project, ...args], { cwd: dir() });
    const code = await run.exited(240_000);
    return { code, stdout: run.stdout(), stderr: run.stderr() };
  };
  const ok = async (args: string[]): Promise<string> => {
    const r = await cli(args);
    expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  it("ps --no-trunc prints the whole command; --orphans=false hides services the file no longer has", async () => {
    await ok(["up", "-d", "web", "gone"]);
    const table = await ok(["ps"]);
    expect(table).toContain('"sh -c sleep 3600; e…"');
    expect(table).not.toContain(LONG);
    expect(await ok(["ps", "--no-trunc"])).toContain(`"sh -c ${LONG}"`);

    writeFileSync(join(dir(), "compose.yaml"), stackFile(false));
    const services = async (args: string[]) => (await ok(["ps", "--format", "{{.Service}}", ...args])).split("\n").filter(Boolean).sort();
    // compose's default is --orphans=true: the orphan is listed.
    expect(await services([])).toEqual(["gone", "web"]);
    expect(await services(["--orphans"])).toEqual(["gone", "web"]);
    expect(await services(["--orphans=false"])).toEqual(["web"]);
  }, 300_000);

  it("run --remove-orphans removes the containers of services the file no longer has", async () => {
    const names = async () => (await ok(["ps", "-a", "--format", "{{.Service}}"])).split("\n").filter(Boolean).sort();
    await ok(["run", "--rm", "--no-deps", "web", "true"]);
    expect(await names()).toContain("gone");
    await ok(["run", "--rm", "--no-deps", "--remove-orphans", "web", "true"]);
    expect(await names()).toEqual(["web"]);
  }, 300_000);

  it("run -v mounts binds (absolute and relative to the current directory) and named volumes, besides the service's", async () => {
    mkdirSync(join(dir(), "host"));
    writeFileSync(join(dir(), "host", "f"), "from-host\n");
    const out = await ok(["run", "--rm", "--no-deps", "-v", `${join(dir(), "host")}:/mnt/abs:ro`, "-v", "./host:/mnt/rel", "-v", "shared:/data", "web", "sh", "-c", "cat /mnt/abs/f /mnt/rel/f; echo kept > /data/x; touch /mnt/abs/y 2>/dev/null || echo read-only"]);
    expect(out).toBe("from-host\nfrom-host\nread-only\n");
    // The named volume is the stack's (project-prefixed, as the file's `shared`) and outlives the one-off.
    expect(await ok(["run", "--rm", "--no-deps", "-v", "shared:/data", "web", "cat", "/data/x"])).toBe("kept\n");
    expect((await ok(["volume", "ls", "--format", "{{.Name}}"])).split("\n")).toContain(`${project}_shared`);
    const bad = await cli(["run", "--rm", "--no-deps", "-v", "shared:relative", "web", "true"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('run -v: invalid volume specification "shared:relative"');
  }, 300_000);

  it("run --cap-add and --cap-drop change the one-off's capabilities", async () => {
    const caps = async (flags: string[]) => ok(["run", "--rm", "--no-deps", ...flags, "web", "grep", "CapEff", "/proc/self/status"]);
    const plain = await caps([]);
    expect(hasCap(plain, CAP_CHOWN)).toBe(true);
    expect(hasCap(plain, CAP_SYS_ADMIN)).toBe(false);
    expect(hasCap(await caps(["--cap-drop", "CHOWN"]), CAP_CHOWN)).toBe(false);
    expect(hasCap(await caps(["--cap-add", "SYS_ADMIN"]), CAP_SYS_ADMIN)).toBe(true);
  }, 300_000);

  it("run --env-from-file adds a file's variables that -e does not set, reading -e's in ${}", async () => {
    writeFileSync(join(dir(), "run.env"), "A=from-file\nB=${A}-x\nC=only-file\n");
    expect(await ok(["run", "--rm", "--no-deps", "-e", "A=cli", "--env-from-file", "run.env", "web", "sh", "-c", 'echo "$A $B $C"'])).toBe("cli cli-x only-file\n");
    const missingFile = await cli(["run", "--rm", "--no-deps", "--env-from-file", "nope.env", "web", "true"]);
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toContain("--env-from-file nope.env: no such file");
  }, 300_000);

  it("run -q prints no progress of its dependencies; without it their start is shown", async () => {
    const quiet = await cli(["run", "--rm", "-q", "withdep", "true"]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe("");
    expect(await ok(["ps", "--format", "{{.Service}} {{.State}}"])).toContain("db running");
    await ok(["stop", "db"]);
    const loud = await cli(["run", "--rm", "withdep", "true"]);
    expect(loud.code, loud.stderr).toBe(0);
    expect(loud.stderr).toMatch(new RegExp(`Container ${project}-db-1\\s+Started`));
  }, 300_000);

  it("exec --privileged gives the process every capability", async () => {
    const caps = async (flags: string[]) => ok(["exec", "-T", ...flags, "web", "grep", "CapEff", "/proc/self/status"]);
    expect(hasCap(await caps([]), CAP_SYS_ADMIN)).toBe(false);
    expect(hasCap(await caps(["--privileged"]), CAP_SYS_ADMIN)).toBe(true);
  }, 300_000);

  it("build --push pushes the built image to the registry its image: names; build alone does not", async () => {
    const built = `${s.registry.host}/buildpush${process.pid}/app:v1`;
    const where = join(s.work, "buildpush");
    mkdirSync(where);
    writeFileSync(join(where, "Dockerfile"), "FROM busybox\nRUN echo built > /built\n");
    writeFileSync(join(where, "compose.yaml"), `services:\n  app:\n    build: .\n    image: ${built}\n`);
    const inBuildDir = async (args: string[]) => {
      const run = spawnCli(s.daemon, ["-p", `${project}b`, ...args], { cwd: where });
      const code = await run.exited(240_000);
      expect(code, `${args.join(" ")}: ${run.stderr()}`).toBe(0);
      return run.stdout();
    };
    await inBuildDir(["build"]);
    await expect(inspectRaw(built)).rejects.toThrow();
    await inBuildDir(["build", "--push"]);
    const manifest = JSON.parse(await inspectRaw(built)) as { layers: unknown[] };
    expect(manifest.layers.length).toBeGreaterThan(1);
    await inBuildDir(["down", "--rmi", "all"]);
  }, 300_000);
});
