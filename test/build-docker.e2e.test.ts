// `build:` end to end on the Docker engine: the daemon (TSCOMPOSE_ENGINE=docker)
// on a private dockerd builds a stack's images through dockerd's /build;
// `tscompose build` prints compose's plain progress, `up` builds what is
// missing, a Dockerfile edit rebuilds and recreates, a .dockerignored edit
// does not, and a failing build exits 1 naming the Dockerfile's line.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDockerdWorld, stopDockerdWorld, type DockerdWorld } from "./support/dockerd-world.js";
import { isRoot } from "./support/requires.js";


describe.skipIf(!isRoot)("build: on the Docker engine, through the daemon", () => {
  let world: DockerdWorld | undefined;
  const project = "bd";

  beforeAll(async () => {
    world = await startDockerdWorld("build-docker", { defaultEngine: true });
  }, 180_000);

  afterAll(async () => {
    try {
      world?.d.cli(["-p", project, "down", "--remove-orphans"]);
      if (world) expect((await world.dockerd.docker(["ps", "-aq"])).stdout.trim()).toBe("");
    } finally {
      await stopDockerdWorld(world);
    }
  }, 120_000);

  it("build, up, a Dockerfile edit recreates, an ignored edit does not, a failing build exits 1 at its line", async () => {
    const { d: daemon, dockerd: docker } = world as DockerdWorld;
    const app = join(daemon.dir, "app");
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, "Dockerfile"), 'FROM busybox\nARG GREETING\nCOPY msg.txt /msg.txt\nRUN echo "built with $GREETING" && echo "$GREETING" > /greeting\nCMD ["sleep", "3600"]\n');
    writeFileSync(join(app, "msg.txt"), "v1\n");
    writeFileSync(join(app, "notes.md"), "ignored\n");
    writeFileSync(join(app, ".dockerignore"), "notes.md\n");
    writeFileSync(join(daemon.dir, "compose.yaml"), ["services:", "  web:", "    build:", "      context: ./app", "      args: [GREETING=hi]", "      labels: {org.example.stage: test}", ""].join("\n"));
    const cli = (args: string[]) => daemon.cli(["-p", project, ...args]);
    const containerOf = async (): Promise<string> => (await docker.docker(["ps", "-q", "--filter", `label=com.docker.compose.project=${project}`])).stdout.trim();

    // tscompose build: compose's plain progress (not a terminal), the image <project>-<service>.
    const build = cli(["build"]);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toMatch(/^#1 \[web 1\/6\] FROM busybox$/m);
    expect(build.stdout).toMatch(/^#4 \[web 4\/6\] RUN echo "built with \$GREETING"/m);
    expect(build.stdout).toMatch(/^#4 \d+\.\d{3} built with hi$/m);
    expect(build.stdout).toMatch(/^#4 DONE \d+\.\ds$/m);
    const label = (await docker.docker(["image", "inspect", "-f", "{{index .Config.Labels \"org.example.stage\"}}", `${project}-web`])).stdout.trim();
    expect(label).toBe("test");
    // Again: every step from the cache; -q prints nothing.
    const again = cli(["build"]);
    expect(again.stdout).toMatch(/^#3 CACHED$/m);
    const quiet = cli(["build", "-q", "--build-arg", "GREETING=quiet"]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toBe("");

    // up runs the image that is there (the quiet build's), building nothing.
    const up = cli(["up", "-d"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).not.toMatch(/Building/);
    const first = await containerOf();
    expect((await docker.docker(["exec", first, "cat", "/greeting"])).stdout).toBe("quiet\n");

    // An edit of an ignored file: nothing to do.
    writeFileSync(join(app, "notes.md"), "still ignored\n");
    const same = cli(["up", "-d"]);
    expect(same.code, same.stderr).toBe(0);
    expect(await containerOf()).toBe(first);

    // A context edit: rebuilt and recreated (the build inputs are in the config hash).
    writeFileSync(join(app, "msg.txt"), "v2\n");
    const edited = cli(["up", "-d"]);
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.stdout).toMatch(/Service web {2}Built/);
    const second = await containerOf();
    expect(second).not.toBe(first);
    expect((await docker.docker(["exec", second, "cat", "/msg.txt", "/greeting"])).stdout).toBe("v2\nhi\n");

    // up --build builds again even when nothing changed (all cached, same image: the container stays).
    const forced = cli(["up", "-d", "--build"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/CACHED/);
    expect(await containerOf()).toBe(second);

    // A failing step: exit 1, the Dockerfile's line named, the running container left alone.
    writeFileSync(join(app, "Dockerfile"), "FROM busybox\nCOPY msg.txt /msg.txt\nRUN echo about-to-fail && exit 7\n");
    const failed = cli(["up", "-d"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/Dockerfile:3: RUN echo about-to-fail && exit 7: .*exit code: 7/);
    expect(failed.stdout).toMatch(/about-to-fail/);
    expect(await containerOf()).toBe(second);
    const failedBuild = cli(["build"]);
    expect(failedBuild.code).toBe(1);

    const down = cli(["down"]);
    expect(down.code, down.stderr).toBe(0);
    expect(await containerOf()).toBe("");
  }, 400_000);

  it("image build: docker build's flags, the image tagged; a bad Dockerfile exits 1 at its line", async () => {
    const { d: daemon, dockerd: docker } = world as DockerdWorld;
    const ctx = join(daemon.dir, "standalone");
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, "data.txt"), "standalone\n");
    writeFileSync(join(daemon.dir, "Other.Dockerfile"), "FROM busybox AS base\nARG WHO\nRUN echo \"$WHO\" > /who\nCOPY data.txt /data.txt\nFROM base AS unused\nRUN false\n");
    const ok = daemon.cli(["image", "build", "-t", "standalone:1", "-f", "Other.Dockerfile", "--build-arg", "WHO=me", "--target", "base", "--label", "k=v", "standalone"]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^#\d+ \[\d\/\d\] RUN echo/m);
    expect(ok.stdout).toMatch(/^sha256:[0-9a-f]{64}$/m);
    expect((await docker.docker(["run", "--rm", "--network", "none", "standalone:1", "cat", "/who", "/data.txt"])).stdout).toBe("me\nstandalone\n");
    expect((await docker.docker(["image", "inspect", "-f", "{{index .Config.Labels \"k\"}}", "standalone:1"])).stdout.trim()).toBe("v");
    writeFileSync(join(ctx, "Dockerfile"), "FROM busybox\nNOPE x\n");
    const bad = daemon.cli(["image", "build", "-t", "standalone:2", "standalone"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown instruction: NOPE/i);
    await docker.docker(["rmi", "standalone:1"]);
  }, 240_000);
});
