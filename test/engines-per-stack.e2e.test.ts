// One daemon, two stacks, two engines (issue 19): one stack on the embedded
// engine, one on a private dockerd chosen with `--engine docker -H`. Each
// stays on its engine for ps, logs, exec and down, across a kill -9 and
// restart of the daemon; `up` of a stack on another engine is a conflict;
// docker-compose 1.29 and tscompose see each other's containers on dockerd.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PrivateDockerd } from "./fixtures/dockerd.js";
import { leaks, type TestDaemon } from "./support/daemon.js";
import { startDockerdWorld, stopDockerdWorld, type DockerdWorld } from "./support/dockerd-world.js";
import { isRoot, missing } from "./support/requires.js";
import { eventually } from "./support/wait.js";

const STACK = 'services:\n  web:\n    image: busybox\n    command: ["sh", "-c", "echo hello-web; exec sleep 3600"]\n';

describe.skipIf(missing("root", isRoot))("stacks on two engines in one daemon", () => {
  let world: DockerdWorld | undefined;
  let dockerd: PrivateDockerd | undefined;
  let d: TestDaemon | undefined;

  beforeAll(async () => {
    // The daemon's default is the embedded engine: the docker stack is chosen on the command line only.
    world = await startDockerdWorld("engines-per-stack");
    ({ dockerd, d } = world);
  }, 180_000);

  afterAll(async () => {
    if (d?.process) {
      for (const p of ["emb", "dk", "dk2", "rmk", "rmo"]) d.cli(["-p", p, "down"]);
    }
    await stopDockerdWorld(world);
  }, 120_000);

  const compose = (args: string[], cwd: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const docker = dockerd as PrivateDockerd;
      execFile("docker-compose", args, { cwd, env: { PATH: process.env.PATH, HOME: docker.dir, DOCKER_HOST: docker.host }, encoding: "utf8" }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
    });

  it("a stack on dockerd carries docker compose's labels, and docker-compose 1.29 takes it down", async () => {
    const daemon = d as TestDaemon;
    const docker = dockerd as PrivateDockerd;
    const dir = join(daemon.dir, "dk2");
    mkdirSync(dir);
    writeFileSync(join(dir, "compose.yaml"), `${STACK}    volumes: [data:/data]\n    depends_on: [db]\n  db:\n    image: busybox\n    command: ["sleep", "3600"]\nvolumes:\n  data: {}\n`);
    const up = daemon.cli(["--engine", "docker", "-H", docker.host, "-p", "dk2", "up", "-d"], { cwd: dir });
    expect(up.code, up.stderr).toBe(0);
    const labels = async (kind: string, name: string): Promise<Record<string, string>> =>
      JSON.parse((await docker.docker([kind, "inspect", "-f", kind === "container" ? "{{json .Config.Labels}}" : "{{json .Labels}}", name])).stdout) as Record<string, string>;
    const web = await labels("container", "dk2-web-1");
    expect(web).toMatchObject({
      "com.docker.compose.project": "dk2",
      "com.docker.compose.service": "web",
      "com.docker.compose.container-number": "1",
      "com.docker.compose.oneoff": "False",
      "com.docker.compose.project.working_dir": dir,
      "com.docker.compose.project.config_files": join(dir, "compose.yaml"),
      "com.docker.compose.image": expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    });
    expect(web["com.docker.compose.config-hash"]).toMatch(/^[0-9a-f]{64}$/);
    expect(web["com.docker.compose.depends_on"]).toMatch(/^db:service_started/);
    expect(web["com.docker.compose.version"]).toMatch(/^\d+\.\d+/);
    expect(await labels("network", "dk2_default")).toMatchObject({ "com.docker.compose.project": "dk2", "com.docker.compose.network": "default" });
    expect(await labels("volume", "dk2_data")).toMatchObject({ "com.docker.compose.project": "dk2", "com.docker.compose.volume": "data" });

    // docker-compose's down finds all of it by those labels (a positive control first: its ps lists both services).
    expect((await compose(["-p", "dk2", "ps", "--services"], dir)).trim().split("\n").sort()).toEqual(["db", "web"]);
    await compose(["-p", "dk2", "down", "-v"], dir);
    expect((await docker.docker(["ps", "-aq", "--filter", "label=com.docker.compose.project=dk2"])).stdout.trim()).toBe("");
    expect((await docker.docker(["network", "ls", "-q", "--filter", "name=dk2_default"])).stdout.trim()).toBe("");
    expect((await docker.docker(["volume", "ls", "-q", "--filter", "name=dk2_data"])).stdout.trim()).toBe("");
    // tscompose's own down of what is already gone forgets the stack.
    expect(daemon.cli(["-p", "dk2", "down"]).code).toBe(0);
    expect(daemon.cli(["ls", "-a", "-q"]).stdout).not.toContain("dk2");
  }, 240_000);

  it("down --rmi on dockerd: local removes the default-named image, all keeps busybox while another stack's container uses it", async () => {
    const daemon = d as TestDaemon;
    const docker = dockerd as PrivateDockerd;
    const onDocker = ["--engine", "docker", "-H", docker.host];
    const dirs = { rmk: join(daemon.dir, "rmk"), rmo: join(daemon.dir, "rmo") };
    mkdirSync(join(dirs.rmk, "app"), { recursive: true });
    mkdirSync(dirs.rmo);
    writeFileSync(join(dirs.rmk, "app", "Dockerfile"), "FROM busybox\n");
    writeFileSync(join(dirs.rmk, "compose.yaml"), `${STACK}  app:\n    build: ./app\n    command: ["sleep", "3600"]\n`);
    writeFileSync(join(dirs.rmo, "compose.yaml"), STACK);
    const ok = (args: string[], cwd: string): string => {
      const r = daemon.cli(args, { cwd });
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const exists = (image: string): Promise<boolean> => docker.docker(["image", "inspect", image]).then(
      () => true,
      () => false,
    );
    ok([...onDocker, "-p", "rmo", "up", "-d"], dirs.rmo);
    // The built image by its default name, made without a build: a second tag of busybox, which rmo's container runs as "busybox".
    await docker.docker(["tag", "busybox", "rmk-app"]);
    ok([...onDocker, "-p", "rmk", "up", "-d", "--no-build"], dirs.rmk);
    expect(ok(["-p", "rmk", "down", "--rmi", "local", "-t", "0"], dirs.rmk)).toMatch(/Image rmk-app\s+Removed/);
    expect(await exists("rmk-app")).toBe(false);
    expect(await exists("busybox")).toBe(true);

    await docker.docker(["tag", "busybox", "rmk-app"]);
    ok([...onDocker, "-p", "rmk", "up", "-d", "--no-build"], dirs.rmk);
    const all = ok(["-p", "rmk", "down", "--rmi", "all", "-t", "0"], dirs.rmk);
    expect(all).toMatch(/Image rmk-app\s+Removed/);
    expect(all).toMatch(/Image busybox\s+Resource is still in use \(container rmo-web-1\)/);
    expect(await exists("rmk-app")).toBe(false);
    expect(await exists("busybox")).toBe(true);
    expect((await docker.docker(["ps", "-a", "--format", "{{.Names}}"])).stdout.trim()).toBe("rmo-web-1");
    ok(["-p", "rmo", "down", "-t", "0"], dirs.rmo);
  }, 300_000);

  it("each stack keeps its engine for ps, logs, exec and down, across a daemon restart", async () => {
    const daemon = d as TestDaemon;
    const docker = dockerd as PrivateDockerd;
    const onDocker = ["--engine", "docker", "-H", docker.host];
    const dirs = { emb: join(daemon.dir, "emb"), dk: join(daemon.dir, "dk"), dcp: join(daemon.dir, "dcp") };
    for (const dir of Object.values(dirs)) {
      mkdirSync(dir);
      writeFileSync(join(dir, "compose.yaml"), STACK);
    }
    const ok = (args: string[], cwd: string): string => {
      const r = daemon.cli(args, { cwd });
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const psRows = (project: string): { ID: string; Name: string; State: string; Engine: string }[] =>
      ok(["-p", project, "ps", "--format", "json"], daemon.dir)
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { ID: string; Name: string; State: string; Engine: string });
    const dockerNames = async (): Promise<string[]> => (await docker.docker(["ps", "-a", "--format", "{{.Names}}"])).stdout.split("\n").filter(Boolean).sort();

    ok(["-p", "emb", "up", "-d"], dirs.emb);
    ok([...onDocker, "-p", "dk", "up", "-d"], dirs.dk);

    // Each stack's containers are on its own engine only.
    expect(await dockerNames()).toEqual(["dk-web-1"]);
    const before = { emb: psRows("emb"), dk: psRows("dk") };
    expect(before.emb.map((r) => [r.Name, r.State, r.Engine])).toEqual([["emb-web-1", "running", "embedded"]]);
    expect(before.dk.map((r) => [r.Name, r.State, r.Engine])).toEqual([["dk-web-1", "running", "docker"]]);
    const ls = JSON.parse(ok(["ls", "--format", "json"], daemon.dir)) as { Name: string; Engine: string; EngineHost?: string }[];
    expect(ls.map((s) => [s.Name, s.Engine, s.EngineHost])).toEqual([
      ["dk", "docker", docker.host],
      ["emb", "embedded", undefined],
    ]);
    expect(ok(["ls"], daemon.dir)).toMatch(/^NAME\s+STATUS\s+CONFIG FILES\s+ENGINE\n/);

    // Another engine for a stack that runs is a conflict, and changes nothing; the same up without flags follows the stack's record.
    const conflict = daemon.cli(["--engine", "embedded", "-p", "dk", "up", "-d"], { cwd: dirs.dk });
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/project "dk" runs on the docker \(unix:\/\/.*\) engine; it cannot also run on the embedded engine/);
    ok(["-p", "dk", "up", "-d"], dirs.dk);
    expect(psRows("dk").map((r) => r.ID)).toEqual(before.dk.map((r) => r.ID));
    // A dockerd that is no swarm manager: refused, and no record of the stack is kept (test/swarm-cli.e2e.test.ts deploys to a real swarm).
    const swarm = daemon.cli(["--engine", "swarm", "-H", docker.host, "-p", "sw", "up", "-d"], { cwd: dirs.emb });
    expect(swarm.code).toBe(1);
    expect(swarm.stderr).toContain("this dockerd is not part of a swarm");
    expect(ok(["ls", "-a", "-q"], daemon.dir)).not.toMatch(/^sw$/m);

    const checkVerbs = async (): Promise<void> => {
      for (const p of ["emb", "dk"] as const) {
        // logs and exec by project alone (no engine flag): the record says where.
        await eventually(() => daemon.cli(["-p", p, "logs", "web"]).stdout, (out) => out.includes("hello-web"), 30_000, `${p}'s logs`);
        expect(ok(["-p", p, "exec", "-T", "web", "echo", `hi-${p}`], daemon.dir).trim()).toBe(`hi-${p}`);
      }
      // A positive control of the same exec through dockerd itself: dk's container is there, emb's is not.
      expect((await docker.docker(["exec", "dk-web-1", "echo", "via-docker"])).stdout.trim()).toBe("via-docker");
    };
    await checkVerbs();

    // kill -9 and restart: each stack comes back on its own engine, untouched.
    const resynced = (stack: string): number => daemon.log().split("\n").filter((l) => l.includes('"msg":"stack re-synced"') && l.includes(`"stack":"${stack}"`)).length;
    const resyncs = { emb: resynced("emb"), dk: resynced("dk") };
    await daemon.stop("SIGKILL");
    await daemon.start();
    await eventually(() => [resynced("emb"), resynced("dk")], ([e, k]) => (e ?? 0) > resyncs.emb && (k ?? 0) > resyncs.dk, 60_000, "both stacks re-synced");
    expect(psRows("emb").map((r) => [r.ID, r.Engine])).toEqual(before.emb.map((r) => [r.ID, "embedded"]));
    expect(psRows("dk").map((r) => [r.ID, r.Engine])).toEqual(before.dk.map((r) => [r.ID, "docker"]));
    expect(await dockerNames()).toEqual(["dk-web-1"]);
    await checkVerbs();

    // Image verbs: with -H they go to that dockerd, a stack's `images` to its engine.
    await docker.docker(["tag", "busybox", "only-in-dockerd:1"]);
    const rows = (args: string[]): string[] => ok([...args, "images", "--format", "{{.Repository}}:{{.Tag}}"], daemon.dir).split("\n").filter(Boolean).sort();
    expect(rows(onDocker)).toEqual(["busybox:latest", "only-in-dockerd:1"]);
    expect(rows([])).toEqual(["busybox:latest"]);
    ok([...onDocker, "rmi", "only-in-dockerd:1"], daemon.dir);
    expect(rows(onDocker)).toEqual(["busybox:latest"]);
    ok([...onDocker, "pull", "-q", "busybox"], daemon.dir);
    expect(ok(["-p", "dk", "images", "--format", "json"], daemon.dir)).toContain((await docker.docker(["image", "inspect", "-f", "{{.Id}}", "busybox"])).stdout.trim());
    // tag too (test/docker-verbs.e2e.test.ts has the rest: save, load, push, import, login).
    ok([...onDocker, "tag", "busybox", "x:1"], daemon.dir);
    expect(rows(onDocker)).toEqual(["busybox:latest", "x:1"]);
    expect(rows([])).toEqual(["busybox:latest"]);
    ok([...onDocker, "rmi", "x:1"], daemon.dir);

    // docker-compose 1.29 sees tscompose's stack by compose's labels, and tscompose sees docker-compose's.
    expect((await compose(["-p", "dk", "ps", "--services", "--filter", "status=running"], dirs.dk)).trim()).toBe("web");
    await compose(["-p", "dcp", "up", "-d"], dirs.dcp);
    const theirs = ok([...onDocker, "-p", "dcp", "ps", "--format", "json"], daemon.dir)
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Name: string; Service: string; State: string });
    expect(theirs.map((r) => [r.Name, r.Service, r.State])).toEqual([["dcp_web_1", "web", "running"]]);
    // Without the flag the project is looked for on the daemon's default engine, where it is not.
    expect(psRows("dcp")).toEqual([]);
    await compose(["-p", "dcp", "down"], dirs.dcp);

    // down, each on its engine; the dockerd's engine is closed once no stack runs on it.
    ok(["-p", "dk", "down"], daemon.dir);
    ok(["-p", "emb", "down"], daemon.dir);
    await eventually(() => daemon.log(), (log) => log.includes('"msg":"engine closed: no stack runs on it"'), 10_000, "the docker engine closed");
    const left = [
      ...(await dockerNames()),
      ...(await docker.docker(["network", "ls", "-q", "--filter", "type=custom"])).stdout.split("\n").filter(Boolean),
      ...(await docker.docker(["volume", "ls", "-q"])).stdout.split("\n").filter(Boolean),
    ];
    expect(left).toEqual([]);
    expect(psRows("emb")).toEqual([]);
    // The daemon is ours too: stopped, it must leave nothing of the embedded stack behind.
    await daemon.stop();
    expect(leaks(daemon)).toEqual([]);
  }, 400_000);
});
