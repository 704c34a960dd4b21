// The embedded builder through the CLI and a real daemon (issue 18): bad input
// to `tscompose image build` and `tscompose build` of a stack, a build whose
// daemon is killed midway, ONBUILD triggers, cache mounts' `sharing` modes,
// and intermediate images in `images` (-a) and `image prune`.
//
// Each bad Dockerfile or context must fail with docker's words,
// naming `Dockerfile:LINE` and the instruction, exit 1, and leave the store as
// it found it: no image, layer, blob, snapshot, build container or mount more
// (the store is listed before and after). A daemon killed with kill -9 during
// a long RUN restarts with none of that build left and builds again.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StepCache } from "../engine/build/cache.js";
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

const firstLine = (text: string): string => text.split("\n")[0] ?? "";

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
    { what: "an unknown instruction", files: { Dockerfile: "FROM busybox\nRUNN echo x\n" }, error: /^Dockerfile:2: unknown instruction: RUNN$/ },
    { what: "a COPY of a missing file", files: { "a.txt": "a\n", Dockerfile: "FROM busybox\nCOPY missing.txt /x\n" }, error: /^Dockerfile:2: COPY missing\.txt \/x: failed to compute cache key: "\/missing\.txt": not found$/ },
    { what: "a COPY glob that matches nothing", files: { "a.txt": "a\n", Dockerfile: "FROM busybox\nCOPY *.nope /x/\n" }, error: /^Dockerfile:2: COPY \*\.nope \/x\/: failed to compute cache key: "\/\*\.nope": not found$/ },
    { what: "a RUN bind mount of a missing file", files: { Dockerfile: "FROM busybox\nRUN --mount=type=bind,source=nope,target=/x true\n" }, error: /^Dockerfile:2: RUN --mount=type=bind,source=nope,target=\/x true: failed to compute cache key: "\/nope": not found$/ },
    // An unknown --from is an image name to docker too: the pull fails, and the error names the COPY.
    { what: "a COPY --from of a missing stage", files: { Dockerfile: "FROM busybox AS base\nCOPY --from=bsae /bin/sh /sh\n" }, error: /^Dockerfile:2: COPY --from=bsae \/bin\/sh \/sh: docker\.io\/library\/bsae:latest: .*manifest unknown/ },
    { what: "a COPY --from of a later stage", files: { Dockerfile: "FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\n" }, error: /^Dockerfile:2: COPY: cannot copy from stage "b", it needs to be defined before current stage "a"$/ },
    { what: "a --target that is no stage", files: { Dockerfile: "FROM busybox AS a\nRUN true\n" }, args: ["--target", "nope"], error: /^Dockerfile: target stage "nope" could not be found$/ },
    { what: "a FROM of a missing image", files: { Dockerfile: "FROM busybox\nRUN true\nFROM tscompose-no-such-image:1\n" }, error: /^Dockerfile:3: FROM tscompose-no-such-image:1: docker\.io\/library\/tscompose-no-such-image:1: .*manifest unknown/ },
    { what: "a stage FROM itself", files: { Dockerfile: "FROM busybox AS a\nCOPY --from=a /x /x\n" }, error: /^Dockerfile:2: COPY: circular dependency detected on stage: a$/ },
    { what: "a variable required and unset", files: { Dockerfile: "FROM busybox\nARG NEED\nENV X=${NEED:?NEED-must-be-set}\n" }, error: /^Dockerfile:3: ENV: NEED: NEED-must-be-set$/ },
    {
      what: "a RUN that fails: its output shown, its exit code in the message",
      files: { Dockerfile: "FROM busybox\nRUN echo to-stdout && echo to-stderr >&2 && exit 7\n" },
      error: /^Dockerfile:2: RUN echo to-stdout && echo to-stderr >&2 && exit 7: process "\/bin\/sh -c echo to-stdout && echo to-stderr >&2 && exit 7" did not complete successfully: exit code: 7$/,
      stdout: /^#\d+ \d+\.\d{3} to-stdout\n#\d+ \d+\.\d{3} to-stderr\n#\d+ ERROR: process .* exit code: 7$/m,
    },
    { what: "a missing Dockerfile (-f)", files: { "a.txt": "a\n" }, args: ["-f", "Nope.dockerfile"], error: /^failed to read dockerfile: open \/.*\/Nope\.dockerfile: no such file or directory$/ },
    { what: "a context without a Dockerfile", files: { "a.txt": "a\n" }, error: /^failed to read dockerfile: open Dockerfile: no such file or directory$/ },
  ];

  for (const c of cases) {
    it(`${c.what}: a clear error, exit 1, nothing left in the store`, async () => {
      const dir = context(c.files);
      const before = storeListing();
      const r = await imageBuild(dir, c.args);
      expect(r.code, r.stdout).toBe(1);
      // The CLI's own error shape (src/cli/errors.ts), no compose "Error:" prefix: the first line says it all.
      expect(firstLine(r.stderr)).toMatch(c.error);
      if (c.stdout) expect(r.stdout).toMatch(c.stdout);
      expect(storeListing()).toEqual(before);
    }, 120_000);
  }

  it("a missing context: docker's error, before anything is read", async () => {
    const before = storeListing();
    const r = await imageBuild(join(suite().work, "no-such-context"));
    expect(r.code).toBe(1);
    expect(firstLine(r.stderr)).toMatch(/^unable to prepare context: path ".*no-such-context" not found$/);
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
    const failure = /^Service app: Dockerfile:3: RUN echo building && exit 3: process "\/bin\/sh -c echo building && exit 3" did not complete successfully: exit code: 3$/;
    expect(firstLine(r.stderr)).toMatch(failure);
    expect(r.stdout).toMatch(/ building$/m);
    // The COPY before it succeeded: its image stays, untagged, as the step cache (docker's builders keep it too); nothing else.
    const added = storeListing().filter((x) => !before.includes(x));
    expect(added.filter((x) => !/^(images\/by-id|content\/blobs\/sha256|snapshots\/layers|build)\//.test(x))).toEqual([]);
    expect(added.filter((x) => x.startsWith("snapshots/layers/"))).toHaveLength(1);
    expect(storeListing().filter((x) => !before.includes(x) && x.startsWith("images/refs/"))).toEqual([]);
    // up --build prints the same line first, and starts nothing.
    suite().projects.push({ name: `tbad${process.pid}`, cwd: dir });
    const up = await cli(["-p", `tbad${process.pid}`, "up", "-d", "--build"], dir);
    expect(up.code).toBe(1);
    expect(firstLine(up.stderr)).toMatch(failure);
    expect(up.stdout).toMatch(/^ Service app {2}Error$/m);
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
  it("ONBUILD: triggers recorded in the image config, not run in their own build; run right after a child's FROM, in the child's context; not passed on", async () => {
    const parentTag = `tscompose-test/onbuild-parent-${process.pid}:1`;
    const parent = context({
      Dockerfile: 'FROM busybox\nONBUILD COPY child.txt /from-trigger.txt\nONBUILD RUN echo "trigger saw $(cat /from-trigger.txt)" > /trigger-ran\nCMD ["true"]\n',
    });
    // The parent's context has no child.txt: its triggers must not run here.
    const built = await cli(["image", "build", "-t", parentTag, parent], parent);
    expect(built.code, built.stderr).toBe(0);
    const inspect = await cli(["image", "inspect", parentTag], parent);
    const config = (JSON.parse(inspect.stdout) as { Config: { OnBuild?: string[] | null } }[])[0]?.Config;
    expect(config?.OnBuild).toEqual(["COPY child.txt /from-trigger.txt", 'RUN echo "trigger saw $(cat /from-trigger.txt)" > /trigger-ran']);

    const child = context({ "child.txt": "the child's file", Dockerfile: `FROM ${parentTag}\nRUN cat /trigger-ran\n` });
    const childTag = `tscompose-test/onbuild-child-${process.pid}:1`;
    const c = await cli(["image", "build", "-t", childTag, child], child);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^#\d+ \[2\/4\] ONBUILD COPY child\.txt \/from-trigger\.txt$/m);
    expect(c.stdout).toMatch(/^#\d+ \d+\.\d{3} trigger saw the child's file$/m);
    const childConfig = (JSON.parse((await cli(["image", "inspect", childTag], child)).stdout) as { Config: { OnBuild?: string[] | null } }[])[0]?.Config;
    expect(childConfig?.OnBuild ?? []).toEqual([]);
    // A grandchild runs no trigger (positive control above: the child did).
    const grand = context({ Dockerfile: `FROM ${childTag}\nRUN cat /trigger-ran\n` });
    const g = await cli(["image", "build", grand], grand);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).not.toMatch(/ONBUILD/);
    expect(g.stdout).toMatch(/ trigger saw the child's file$/m);

    // A trigger that fails in the child's context names the child's FROM line and the trigger.
    const bad = context({ Dockerfile: `# no child.txt here\nFROM ${parentTag}\n` });
    const before = storeListing();
    const b = await cli(["image", "build", bad], bad);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/Dockerfile:2: ONBUILD COPY child\.txt \/from-trigger\.txt: failed to compute cache key: "\/child\.txt": not found/);
    expect(storeListing()).toEqual(before);
  }, 240_000);

  /** Two builds of the same Dockerfile at once with NAME=a and NAME=b; their outputs. */
  async function twoAtOnce(dockerfile: string): Promise<[string, string]> {
    const dir = context({ Dockerfile: dockerfile });
    const [a, b] = await Promise.all(
      ["a", "b"].map((name) => cli(["image", "build", "--no-cache", "--build-arg", `NAME=${name}`, "--build-arg", `OTHER=${name === "a" ? "b" : "a"}`, dir], dir)),
    );
    expect(a?.code, a?.stderr).toBe(0);
    expect(b?.code, b?.stderr).toBe(0);
    return [a?.stdout ?? "", b?.stdout ?? ""];
  }

  const cacheDir = (id: string): string => join(suite().daemon.stateDir, "build", "cache-mounts", StepCache.key([id]));

  it("RUN --mount=type=cache,sharing=locked: two builds using one id take turns (each RUN's enter and exit lines are adjacent); shared lets them in together", async () => {
    // Each RUN waits (at most 10 s) for the other to have entered: together under shared, in vain under locked.
    const script = (id: string, sharing: string): string =>
      `FROM busybox\nARG NAME\nARG OTHER\nRUN --mount=type=cache,id=${id},target=/c,sharing=${sharing} echo "enter $NAME" >> /c/log; i=0; while ! grep -q "enter $OTHER" /c/log && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; echo "exit $NAME" >> /c/log\n`;
    const locked = `locked-${process.pid}`;
    await twoAtOnce(script(locked, "locked"));
    const turns = readFileSync(join(cacheDir(locked), "log"), "utf8").trim().split("\n");
    expect(turns).toHaveLength(4);
    const first = turns[0]?.split(" ")[1];
    const second = first === "a" ? "b" : "a";
    expect(turns).toEqual([`enter ${first}`, `exit ${first}`, `enter ${second}`, `exit ${second}`]);
    // Positive control: the same two builds under shared are in the directory at the same time.
    const shared = `shared-${process.pid}`;
    await twoAtOnce(script(shared, "shared"));
    const together = readFileSync(join(cacheDir(shared), "log"), "utf8").trim().split("\n");
    expect(together.slice(0, 2).sort()).toEqual(["enter a", "enter b"]);
  }, 240_000);

  it("RUN --mount=type=cache,sharing=private: a build finding the directory in use gets another; shared gives both the same", async () => {
    // Both RUNs meet in a shared rendezvous cache, then say which names their cache directory holds.
    const script = (id: string, sharing: string): string =>
      `FROM busybox\nARG NAME\nRUN --mount=type=cache,id=rv-${id},target=/rv --mount=type=cache,id=${id},target=/p,sharing=${sharing} echo $NAME >> /p/names; echo $NAME >> /rv/entered; i=0; while [ "$(wc -l < /rv/entered)" -lt 2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; echo "saw $(sort /p/names | tr '\\n' ' ')"\n`;
    const [a, b] = await twoAtOnce(script(`private-${process.pid}`, "private"));
    expect(a).toMatch(/ saw a $/m);
    expect(b).toMatch(/ saw b $/m);
    const [sa, sb] = await twoAtOnce(script(`sharedp-${process.pid}`, "shared"));
    expect(sa).toMatch(/ saw a b $/m);
    expect(sb).toMatch(/ saw a b $/m);
  }, 240_000);

  it("COPY --link: an independent layer (fresh parent directories, no link below followed) put over the stage's, and CACHED when an earlier step changes", async () => {
    const dockerfile = (link: boolean): string =>
      [
        "FROM busybox",
        "ARG V=1",
        "RUN mkdir -p /app/real && chmod 700 /app && ln -s real /app/link && echo $V > /v",
        `COPY ${link ? "--link " : ""}a.txt /app/link/`,
        'RUN echo "app=$(stat -c %a /app) link=$(stat -c %F /app/link) real=$(ls /app/real | wc -l) a=$(cat /app/link/a.txt) v=$(cat /v)"',
        "",
      ].join("\n");
    const copied = (link: boolean): RegExp => new RegExp(`^#(\\d+) \\[\\d+/\\d+\\] COPY ${link ? "--link " : ""}a\\.txt /app/link/\n#\\1 CACHED$`, "m");
    for (const link of [true, false]) {
      const dir = context({ "a.txt": "from-context", Dockerfile: dockerfile(link) });
      const first = await cli(["image", "build", dir], dir);
      expect(first.code, first.stderr).toBe(0);
      // --link writes into an empty root: /app is made fresh (0755) and /app/link is its own directory; a plain COPY follows the link into /app/real.
      expect(first.stdout).toMatch(link ? / app=755 link=directory real=0 a=from-context v=1$/m : / app=700 link=symbolic link real=1 a=from-context v=1$/m);
      expect(first.stdout).not.toMatch(copied(link));
      // The RUN before the COPY changes: the --link layer is put over the new one as it is; a plain COPY runs again.
      const second = await cli(["image", "build", "--build-arg", "V=2", dir], dir);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toMatch(link ? / app=755 link=directory real=0 a=from-context v=2$/m : / app=700 link=symbolic link real=1 a=from-context v=2$/m);
      if (link) expect(second.stdout).toMatch(copied(link));
      else expect(second.stdout).not.toMatch(copied(link));
    }
  }, 240_000);

  it("intermediate images: hidden by `images`, listed by `images -a`; `image prune` takes a failed build's leftovers and keeps the steps a tagged image descends from", async () => {
    const ids = async (args: string[]): Promise<string[]> => (await cli(["images", "-q", "--no-trunc", ...args], suite().work)).stdout.split("\n").filter(Boolean);
    const before = await ids(["-a"]);
    const tag = `tscompose-test/steps-${process.pid}:1`;
    const dir = context({ Dockerfile: `FROM busybox\nRUN echo a | tee /a\nRUN echo b | tee /b\nCMD ["true"]\n` });
    const built = await cli(["image", "build", "--no-cache", "-t", tag, dir], dir);
    expect(built.code, built.stderr).toBe(0);
    const final = built.stdout.trim().split("\n").at(-1) ?? "";
    const added = (await ids(["-a"])).filter((id) => !before.includes(id));
    // One image per step (RUN a, RUN b) and the final one (CMD).
    expect(added).toHaveLength(3);
    expect(added).toContain(final);
    const intermediate = added.filter((id) => id !== final);
    const listed = await ids([]);
    expect(listed).toContain(final);
    for (const id of intermediate) expect(listed).not.toContain(id);
    const table = (await cli(["images", "-a"], suite().work)).stdout;
    for (const id of intermediate) expect(table).toMatch(new RegExp(`^<none> +<none> +${id.slice(7, 19)} `, "m"));

    // A failed build on the same first step: its last good step is dangling (untagged, no child), listed by `images` too.
    const failing = context({ Dockerfile: `FROM busybox\nRUN echo a | tee /a\nRUN echo c > /c\nRUN exit 3\n` });
    const failed = await cli(["image", "build", failing], failing);
    expect(failed.code).toBe(1);
    const leftovers = (await ids(["-a"])).filter((id) => !before.includes(id) && !added.includes(id));
    expect(leftovers).toHaveLength(1);
    expect(await ids([])).toContain(leftovers[0]);

    const pruned = await cli(["image", "prune", "-f"], suite().work);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain(`deleted: ${leftovers[0]}`);
    for (const id of added) expect(pruned.stdout).not.toContain(id);
    const left = await ids(["-a"]);
    for (const id of added) expect(left).toContain(id);
    expect(left).not.toContain(leftovers[0]);

    // The step cache survived the prune: the rebuild runs nothing and makes the same image.
    const rebuilt = await cli(["image", "build", "-t", tag, dir], dir);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout.match(/^#\d+ CACHED$/gm)).toHaveLength(2);
    expect(rebuilt.stdout).not.toMatch(/^#\d+ \d+\.\d{3} [ab]$/m);
    expect(rebuilt.stdout.trim().split("\n").at(-1)).toBe(final);

    const use = context({ Dockerfile: `FROM ${tag}\nRUN cat /a /b\n` });
    const used = await cli(["image", "build", use], use);
    expect(used.code, used.stderr).toBe(0);
    expect(used.stdout).toMatch(/ a\n#\d+ \d+\.\d{3} b$/m);
    // Untagged, the built image and its steps are dangling in turn: prune takes them all, the base stays.
    expect((await cli(["rmi", tag], suite().work)).code).toBe(0);
    const all = await cli(["image", "prune", "-f"], suite().work);
    expect(all.code, all.stderr).toBe(0);
    for (const id of added) expect(all.stdout).toContain(`deleted: ${id}`);
    const base = (await cli(["image", "inspect", "-f", "{{.Id}}", "busybox"], suite().work)).stdout.trim();
    expect(base).toMatch(/^sha256:/);
    expect(await ids(["-a"])).toContain(base);
  }, 240_000);
});
