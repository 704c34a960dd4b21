// Bad input to the embedded builder through the CLI (`tscompose image build`,
// `tscompose build` of a stack), and a build whose daemon is killed midway
// (issue 18). Each bad Dockerfile or context must fail with docker's words,
// naming `Dockerfile:LINE` and the instruction, exit 1, and leave the store as
// it found it: no image, layer, blob, snapshot, build container or mount more
// (the store is listed before and after). A daemon killed with kill -9 during
// a long RUN restarts with none of that build left and builds again.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCli } from "./support/e2e.js";
import { isRoot, missing } from "./support/requires.js";
import { startStackSuite, stopStackSuite, until, type StackSuite } from "./support/stack.js";

const skip = missing("root", isRoot);
let s: StackSuite | undefined;
const suite = (): StackSuite => s as StackSuite;
let n = 0;

/** What a build may leave in the daemon's state dir, and the mounts and runc containers under it. */
function storeListing(): string[] {
  const state = suite().daemon.stateDir;
  const dirs = ["images/by-id", "images/refs", "content/blobs/sha256", "content/ingest", "snapshots/layers", "snapshots/containers", "snapshots/views", "runtime/containers", "build", "tmp"];
  const out = dirs.flatMap((d) => (existsSync(join(state, d)) ? readdirSync(join(state, d)).map((f) => `${d}/${f}`) : []));
  out.push(...readFileSync("/proc/self/mounts", "utf8").split("\n").filter((l) => l.includes(state)).map((l) => `mount ${l.split(" ")[1]}`));
  const runcRoot = join(state, "runtime", "runc");
  const runc = JSON.parse(execFileSync("runc", ["--root", runcRoot, "list", "--format", "json"], { encoding: "utf8" }) || "[]") as { id: string }[] | null;
  out.push(...(runc ?? []).map((c) => `runc ${c.id}`));
  return out.sort();
}

/** A fresh context directory with these files. */
function context(files: Record<string, string>): string {
  const dir = join(suite().work, `ctx-${++n}`);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/** The CLI, asynchronous: a build takes seconds, and the test's worker must keep answering vitest meanwhile. */
async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = spawnCli(suite().daemon, args, { cwd });
  const code = await run.exited(180_000);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

function imageBuild(dir: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return cli(["image", "build", "-t", `tscompose-test/bad-${process.pid}:latest`, ...args, dir], existsSync(dir) ? dir : suite().work);
}

describe.skipIf(skip)("embedded builder: bad input and a build killed midway, through the CLI", () => {
  beforeAll(async () => {
    s = await startStackSuite("badbuild");
    // The base image pulled once, so that each case's listing before and after is of the build alone.
    expect((await cli(["pull", "busybox"], suite().work)).code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    // RUN steps use the engine's default bridge network, which stays as docker's does.
    s?.daemon.cli(["network", "rm", "bridge"]);
    expect(await stopStackSuite(s)).toEqual([]);
  }, 120_000);

  const cases: { what: string; files: Record<string, string>; args?: string[]; error: RegExp; stdout?: RegExp }[] = [
    { what: "an unknown instruction", files: { Dockerfile: "FROM busybox\nRUNN echo x\n" }, error: /^(Error: )?Dockerfile:2: unknown instruction: RUNN$/m },
    { what: "a COPY of a missing file", files: { "a.txt": "a\n", Dockerfile: "FROM busybox\nCOPY missing.txt /x\n" }, error: /^(Error: )?Dockerfile:2: COPY missing\.txt \/x: failed to compute cache key: "\/missing\.txt": not found$/m },
    { what: "a COPY glob that matches nothing", files: { "a.txt": "a\n", Dockerfile: "FROM busybox\nCOPY *.nope /x/\n" }, error: /^(Error: )?Dockerfile:2: COPY \*\.nope \/x\/: failed to compute cache key: "\/\*\.nope": not found$/m },
    { what: "a RUN bind mount of a missing file", files: { Dockerfile: "FROM busybox\nRUN --mount=type=bind,source=nope,target=/x true\n" }, error: /^(Error: )?Dockerfile:2: RUN --mount=type=bind,source=nope,target=\/x true: failed to compute cache key: "\/nope": not found$/m },
    // An unknown --from is an image name to docker too: the pull fails, and the error names the COPY.
    { what: "a COPY --from of a missing stage", files: { Dockerfile: "FROM busybox AS base\nCOPY --from=bsae /bin/sh /sh\n" }, error: /^(Error: )?Dockerfile:2: COPY --from=bsae \/bin\/sh \/sh: docker\.io\/library\/bsae:latest: .*manifest unknown/m },
    { what: "a COPY --from of a later stage", files: { Dockerfile: "FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\n" }, error: /Dockerfile:2: COPY: cannot copy from stage "b", it needs to be defined before current stage "a"$/m },
    { what: "a --target that is no stage", files: { Dockerfile: "FROM busybox AS a\nRUN true\n" }, args: ["--target", "nope"], error: /Dockerfile: target stage "nope" could not be found$/m },
    { what: "a FROM of a missing image", files: { Dockerfile: "FROM busybox\nRUN true\nFROM tscompose-no-such-image:1\n" }, error: /^(Error: )?Dockerfile:3: FROM tscompose-no-such-image:1: docker\.io\/library\/tscompose-no-such-image:1: .*manifest unknown/m },
    { what: "a stage FROM itself", files: { Dockerfile: "FROM busybox AS a\nCOPY --from=a /x /x\n" }, error: /Dockerfile:2: COPY: circular dependency detected on stage: a$/m },
    { what: "a variable required and unset", files: { Dockerfile: "FROM busybox\nARG NEED\nENV X=${NEED:?NEED-must-be-set}\n" }, error: /Dockerfile:3: ENV: .*NEED-must-be-set/m },
    {
      what: "a RUN that fails: its output shown, its exit code in the message",
      files: { Dockerfile: "FROM busybox\nRUN echo to-stdout && echo to-stderr >&2 && exit 7\n" },
      error: /^(Error: )?Dockerfile:2: RUN echo to-stdout && echo to-stderr >&2 && exit 7: process "\/bin\/sh -c echo to-stdout && echo to-stderr >&2 && exit 7" did not complete successfully: exit code: 7$/m,
      stdout: /^#\d+ \d+\.\d{3} to-stdout\n#\d+ \d+\.\d{3} to-stderr\n#\d+ ERROR: process .* exit code: 7$/m,
    },
    { what: "a missing Dockerfile (-f)", files: { "a.txt": "a\n" }, args: ["-f", "Nope.dockerfile"], error: /failed to read dockerfile: open .*Nope\.dockerfile: no such file or directory$/m },
    { what: "a context without a Dockerfile", files: { "a.txt": "a\n" }, error: /failed to read dockerfile: open Dockerfile: no such file or directory$/m },
  ];

  for (const c of cases) {
    it(`${c.what}: a clear error, exit 1, nothing left in the store`, async () => {
      const dir = context(c.files);
      const before = storeListing();
      const r = await imageBuild(dir, c.args);
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toMatch(c.error);
      if (c.stdout) expect(r.stdout).toMatch(c.stdout);
      expect(storeListing()).toEqual(before);
    }, 120_000);
  }

  it("a missing context: docker's error, before anything is read", async () => {
    const before = storeListing();
    const r = await imageBuild(join(suite().work, "no-such-context"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unable to prepare context: path ".*no-such-context" not found/);
    expect(storeListing()).toEqual(before);
  });

  it("an ARG that refers to itself or to a later ARG ends, with docker's values (expansion is in order, never recursive)", async () => {
    const dir = context({ Dockerfile: 'FROM busybox\nARG A=${A}x\nARG B=$C\nARG C=$B\nRUN echo "A=[$A] B=[$B] C=[$C]"\n' });
    const r = await imageBuild(dir, ["--no-cache"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ A=\[x\] B=\[\] C=\[\]$/m);
    // A build arg's value is taken as it is, never expanded again.
    const given = await imageBuild(dir, ["--no-cache", "--build-arg", "A=${A}$A"]);
    expect(given.code, given.stderr).toBe(0);
    expect(given.stdout).toContain(" A=[${A}$A] B=[] C=[]");
  }, 120_000);

  it("`tscompose build` of a stack: the failing service's Dockerfile line and instruction, exit 1, nothing left", async () => {
    const dir = context({
      "compose.yaml": "services:\n  app:\n    build: ./app\n",
      "app/Dockerfile": "FROM busybox\nCOPY . /src\nRUN echo building && exit 3\n",
      "app/x.txt": "x\n",
    });
    const before = storeListing();
    const r = await cli(["-p", `tbad${process.pid}`, "build"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile:3: RUN echo building && exit 3: process "\/bin\/sh -c echo building && exit 3" did not complete successfully: exit code: 3/);
    expect(r.stdout).toMatch(/ building$/m);
    // The COPY before it succeeded: its image stays, untagged, as the step cache (docker's builders keep it too); nothing else.
    const added = storeListing().filter((x) => !before.includes(x));
    expect(added.filter((x) => !/^(images\/by-id|content\/blobs\/sha256|snapshots\/layers|build)\//.test(x))).toEqual([]);
    expect(added.filter((x) => x.startsWith("snapshots/layers/"))).toHaveLength(1);
    expect(storeListing().filter((x) => !before.includes(x) && x.startsWith("images/refs/"))).toEqual([]);
  }, 120_000);

  it("kill -9 of the daemon during a long RUN: after its restart no mount, runc container, snapshot or half-made image is left, and the build runs again", async () => {
    const dir = context({ Dockerfile: "FROM busybox\nRUN echo started > /started-marker && sleep 600\n" });
    const before = storeListing();
    const build = spawnCli(suite().daemon, ["image", "build", "-t", `tscompose-test/killed-${process.pid}:latest`, dir], { cwd: dir });
    const state = suite().daemon.stateDir;
    // The marker in the build container's upper dir: the RUN is under way (and the listing below is its positive control).
    const upper = await until(
      () => readdirSync(join(state, "snapshots", "containers")).map((k) => join(state, "snapshots", "containers", k, "upper", "started-marker")).find((p) => existsSync(p)),
      (p) => p !== undefined,
    );
    expect(upper).toBeDefined();
    const during = storeListing();
    expect(during.some((x) => x.startsWith("runc "))).toBe(true);
    expect(during.some((x) => x.startsWith("snapshots/containers/"))).toBe(true);
    await suite().daemon.stop("SIGKILL");
    expect(await build.exited(30_000)).not.toBe(0);
    // Killed with the daemon: the build container (conmon, runc) still runs until the daemon's next start.
    expect(storeListing().some((x) => x.startsWith("runc "))).toBe(true);
    await suite().daemon.start();
    expect(storeListing()).toEqual(before);
    // The same Dockerfile, its RUN made short, builds.
    writeFileSync(join(dir, "Dockerfile"), "FROM busybox\nRUN echo started > /started-marker\n");
    const again = await imageBuild(dir);
    expect(again.code, again.stderr).toBe(0);
  }, 240_000);
});
