// The swarm engine through the daemon and the CLI (issue 19), on a real
// 3-node swarm (test/fixtures/swarm-lab.ts): `--engine swarm -H <manager> up`
// deploys a two-service stack (depends_on service_healthy, a config) and
// records it as a swarm stack; ps lists its tasks with their nodes, logs gives
// a service's logs, scale changes the replicas, ls says ENGINE swarm; after a
// kill -9 and restart of the daemon ps still works and nothing was attempted
// on the embedded engine; exec names itself and the engine in its error; down
// leaves nothing (docker stack ls, config ls on the manager: empty).
// The daemon's daemon.json makes swarm (this lab's manager) its default
// engine: a stack with `build:` goes up there without --engine, built on the
// daemon's embedded engine, pushed to the registry its `image:` names (the
// lab's, on the same loopback port of the host and of every node) and
// deployed pinned to the pushed digest; a worker's task serves the file the
// Dockerfile wrote.
import * as fs from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSwarmLab, type LabNode, type SwarmLab } from "./fixtures/swarm-lab.js";
import { buildOnce, cleanupDir, leaks, testDaemon, type TestDaemon } from "./support/daemon.js";
import { isRoot, missing } from "./support/requires.js";
import { eventually } from "./support/wait.js";

const STACK = "tswcli";
const canRun = isRoot && fs.existsSync("/usr/sbin/dockerd") && fs.existsSync("/usr/bin/docker-registry");

function stackFile(image: string): string {
  return `
name: ${STACK}
services:
  db:
    image: ${image}
    command: ["sh", "-c", "echo db-says-hello; exec httpd -f -p 80 -h /www"]
    configs:
      - source: page
        target: /www/index.html
    healthcheck:
      test: ["CMD", "test", "-s", "/www/index.html"]
      interval: 1s
      retries: 5
    deploy:
      endpoint_mode: dnsrr
  web:
    image: ${image}
    command: ["sleep", "3600"]
    depends_on:
      db:
        condition: service_healthy
    deploy:
      endpoint_mode: dnsrr
configs:
  page:
    file: ./page.html
`;
}

describe.skipIf(missing("root, dockerd and docker-registry for a swarm lab", canRun))("the swarm engine through the daemon and the CLI", () => {
  let lab: SwarmLab | undefined;
  let d: TestDaemon | undefined;
  let dir: string;
  const swarmCli = (args: string[]) => (d as TestDaemon).cli(["--engine", "swarm", "-H", (lab as SwarmLab).manager.host, ...args], { cwd: dir });
  const cli = (args: string[]) => (d as TestDaemon).cli(args, { cwd: dir });
  const tasks = (): Record<string, string>[] => {
    const r = cli(["-p", STACK, "ps", "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
  };

  beforeAll(async () => {
    buildOnce();
    lab = await startSwarmLab({ loopbackRegistry: true });
    // Swarm as the default engine of stacks, with its manager, as --engine swarm -H says.
    d = testDaemon({ config: { "x-tscompose-engine": "swarm", "x-tscompose-docker-host": lab.manager.host } });
    await d.start();
    dir = join(d.dir, STACK);
    fs.mkdirSync(dir);
    fs.writeFileSync(join(dir, "compose.yaml"), stackFile(lab.images.busybox as string));
    fs.writeFileSync(join(dir, "page.html"), "hello page\n");
  }, 240_000);

  afterAll(async () => {
    if (d?.process) cli(["-p", STACK, "down"]);
    // The build's RUN steps used the embedded engine's default bridge network, which no down removes (as docker's).
    if (d?.process) cli(["network", "rm", "bridge"]);
    await d?.stop();
    // Nothing of the stack was made on the daemon's own engine, and the daemon is gone.
    const left = d ? leaks(d) : [];
    if (d) cleanupDir(d);
    await lab?.stop();
    if (lab) expect(await lab.leaks()).toEqual([]);
    expect(left).toEqual([]);
  }, 120_000);

  it("a key swarm cannot honour: a located error, nothing deployed, no record", async () => {
    fs.writeFileSync(join(dir, "bad.yaml"), `name: tswbad\nservices:\n  app:\n    image: busybox\n    privileged: true\n`);
    const r = swarmCli(["-f", "bad.yaml", "up", "-d"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:5:\d+: services\.app\.privileged: not supported on swarm/);
    expect((await (lab as SwarmLab).manager.docker(["service", "ls", "-q"])).stdout.trim()).toBe("");
    expect(cli(["ls", "-a", "-q"]).stdout).not.toContain("tswbad");
  });

  it("up deploys the stack, waiting until it converged, with a line per step", () => {
    const up = swarmCli(["up", "-d"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(" Config ");
    expect(up.stdout).toMatch(/ Service db {2}Created[\s\S]* Service db {2}Converged[\s\S]* Service web {2}Created/);
    expect(up.stdout).toContain(" Service web  Converged");
  }, 240_000);

  it("ps lists the tasks with their nodes; docker stack ps sees the same stack", async () => {
    const list = tasks();
    expect(list.map((t) => `${t.Name} ${t.State}`).sort()).toEqual([`${STACK}_db.1 running`, `${STACK}_web.1 running`]);
    const nodes = (lab as SwarmLab).nodes.map((n) => n.name);
    for (const t of list) expect(nodes).toContain(t.Node);
    const table = cli(["-p", STACK, "ps"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+IMAGE\s+NODE\s+DESIRED STATE\s+CURRENT STATE\s+ERROR$/);
    expect(table.stdout).toMatch(new RegExp(`${STACK}_web\\.1 .* Running\\s+Running `));
    const theirs = await (lab as SwarmLab).manager.docker(["stack", "ps", STACK, "--format", "{{.Name}}"]);
    expect(theirs.stdout.split("\n").filter(Boolean).sort()).toEqual([`${STACK}_db.1`, `${STACK}_web.1`]);
    // docker's own JSON of the same tasks: every field it has, ours has, with the same values for the same task.
    const docker = (await (lab as SwarmLab).manager.docker(["stack", "ps", STACK, "--no-trunc", "--format", "{{json .}}"])).stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
    expect(docker).toHaveLength(list.length);
    for (const t of docker) {
      const ours = list.find((o) => o.ID === t.ID);
      expect(Object.keys(ours ?? {})).toEqual(expect.arrayContaining(Object.keys(t)));
      expect(ours).toMatchObject({ Name: t.Name, Node: t.Node, DesiredState: t.DesiredState });
    }
  });

  it("logs gives a service's logs, each line with its task", async () => {
    await eventually(
      () => Promise.resolve(cli(["-p", STACK, "logs", "db"])),
      (r) => r.code === 0 && r.stdout.includes("db-says-hello"),
      30_000,
      "db's output in its service logs",
    );
    const r = cli(["-p", STACK, "logs", "--no-color", "db"]);
    expect(r.stdout).toMatch(new RegExp(`^${STACK}_db\\.1 +\\| db-says-hello$`, "m"));
    // Positive control's negative: web printed nothing.
    expect(cli(["-p", STACK, "logs", "web"]).stdout).not.toContain("db-says-hello");
  }, 60_000);

  it("scale sets the replicas and waits for them", () => {
    const r = cli(["-p", STACK, "scale", "web=2"]);
    expect(r.code, r.stderr).toBe(0);
    const running = tasks().filter((t) => t.Service === "web" && t.State === "running");
    expect(running).toHaveLength(2);
  }, 240_000);

  it("ls says the stack runs on swarm, with its manager", () => {
    const r = cli(["ls", "--format", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const row = (JSON.parse(r.stdout) as Record<string, unknown>[]).find((s) => s.Name === STACK);
    expect(row).toMatchObject({ Status: "running(3)", Engine: "swarm", EngineHost: (lab as SwarmLab).manager.host });
    expect(cli(["ls"]).stdout).toMatch(new RegExp(`${STACK}\\s+running\\(3\\).*swarm`));
  });

  it("exec names itself and the engine in a clear error; nothing runs on the embedded engine", () => {
    const r = cli(["-p", STACK, "exec", "web", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"exec" is not available on the swarm engine');
    expect(r.stderr).toContain(`project "${STACK}" runs on the swarm engine`);
  });

  it("after kill -9 and a restart of the daemon, the stack is still a swarm stack and no re-sync touched it", async () => {
    const daemon = d as TestDaemon;
    await daemon.stop("SIGKILL");
    await daemon.start();
    await eventually(() => Promise.resolve(daemon.log()), (log) => log.includes("daemon listening"), 10_000, "the daemon's start in its log");
    const list = tasks();
    expect(list.filter((t) => t.State === "running")).toHaveLength(3);
    expect(daemon.log()).not.toMatch(/re-sync failed|swarm engine runs stacks, not containers/);
  }, 60_000);

  it("build: without a registry in image: is a located error saying why; nothing deployed", async () => {
    fs.writeFileSync(join(dir, "hub.yaml"), `name: tswhub\nservices:\n  app:\n    build: .\n    image: me/app:1\n`);
    const r = cli(["-f", "hub.yaml", "up", "-d"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/hub\.yaml:5:\d+: services\.app\.image: not supported on swarm: a built image is pushed to the registry its name starts with, and this one names none/);
    expect((await (lab as SwarmLab).manager.docker(["service", "ls", "-q", "--filter", "label=com.docker.stack.namespace=tswhub"])).stdout.trim()).toBe("");
    expect(cli(["ls", "-a", "-q"]).stdout).not.toContain("tswhub");
  });

  it("up (swarm from daemon.json) builds on the embedded engine, pushes to image:'s registry, deploys by digest: a worker serves the built file", async () => {
    const l = lab as SwarmLab;
    const reg = l.loopbackRegistry as string;
    const base = (l.images.busybox as string).replace(l.registry, reg);
    const marker = `built-${Date.now()}`;
    const app = join(dir, "app");
    fs.mkdirSync(app);
    fs.writeFileSync(join(app, "Dockerfile"), `FROM ${base}\nRUN mkdir /www && echo ${marker} > /www/index.html\n`);
    fs.writeFileSync(
      join(dir, "build.yaml"),
      `name: tswbuild
services:
  app:
    build: ./app
    image: ${reg}/tswbuild/app:1
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    deploy:
      endpoint_mode: dnsrr
      placement:
        constraints: ["node.role == worker"]
`,
    );
    // `build` alone builds a swarm stack's image where up would (the embedded engine); up then pushes it as it is.
    const build = cli(["-f", "build.yaml", "build"]);
    expect(build.code, build.stderr).toBe(0);
    expect(cli(["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout).toContain(`${reg}/tswbuild/app:1`);
    const up = cli(["-f", "build.yaml", "up", "-d"]);
    expect(up.code, up.stderr).toBe(0);
    const digest = /Image \S+ {2}Pushed (sha256:[0-9a-f]{64})/.exec(up.stdout)?.[1];
    expect(digest, up.stdout).toBeDefined();
    expect(up.stdout).toContain(" Service app  Converged");
    // Pinned as docker stack deploy pins: the name as written, at the pushed digest.
    const pinned = (await l.manager.docker(["service", "inspect", "tswbuild_app", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}"])).stdout.trim();
    expect(pinned).toBe(`${reg}/tswbuild/app:1@${digest}`);
    // The stack is on swarm though up named no engine: daemon.json said so.
    const row = (JSON.parse(cli(["ls", "--format", "json"]).stdout) as Record<string, unknown>[]).find((s) => s.Name === "tswbuild");
    expect(row).toMatchObject({ Engine: "swarm", EngineHost: l.manager.host });
    const task = (cli(["-p", "tswbuild", "ps", "--format", "json"]).stdout.split("\n").filter(Boolean).map((x) => JSON.parse(x) as Record<string, string>)).find((t) => t.State === "running");
    const node = l.nodes.find((n) => n.name === task?.Node);
    expect(node, JSON.stringify(task)).toBeDefined();
    expect(node?.name).not.toBe(l.manager.name);
    const [id] = (await (node as LabNode).docker(["ps", "-q", "--filter", "label=com.docker.swarm.service.name=tswbuild_app"])).stdout.split("\n").filter(Boolean);
    expect((await (node as LabNode).docker(["exec", id as string, "cat", "/www/index.html"])).stdout).toBe(`${marker}\n`);
    const down = cli(["-p", "tswbuild", "down"]);
    expect(down.code, down.stderr).toBe(0);
    expect((await l.manager.docker(["service", "ls", "-q"])).stdout.trim().split("\n")).toHaveLength(2);
  }, 300_000);

  it("down --rmi is refused before anything is removed: exit 1, the stack and its record stay", async () => {
    const manager = (lab as SwarmLab).manager;
    const services = async () => (await manager.docker(["service", "ls", "-q", "--filter", `label=com.docker.stack.namespace=${STACK}`])).stdout.trim().split("\n").filter(Boolean).sort();
    const before = await services();
    expect(before).toHaveLength(2);
    for (const rmi of ["all", "local"]) {
      const r = cli(["-p", STACK, "down", "--rmi", rmi]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("--rmi is not supported on the swarm engine");
      expect(r.stderr).toContain("nothing was removed");
    }
    expect(await services()).toEqual(before);
    expect(tasks().filter((t) => t.State === "running")).toHaveLength(3);
    expect(cli(["ls", "-a", "-q"]).stdout).toContain(STACK);
  });

  it("down removes services, networks and configs: docker stack ls is empty", async () => {
    const r = cli(["-p", STACK, "down"]);
    expect(r.code, r.stderr).toBe(0);
    const manager = (lab as SwarmLab).manager;
    expect((await manager.docker(["stack", "ls", "--format", "{{.Name}}"])).stdout.trim()).toBe("");
    expect((await manager.docker(["config", "ls", "-q"])).stdout.trim()).toBe("");
    expect((await manager.docker(["network", "ls", "-q", "--filter", `label=com.docker.stack.namespace=${STACK}`])).stdout.trim()).toBe("");
    expect(cli(["ls", "-a", "-q"]).stdout).not.toContain(STACK);
  }, 120_000);
});
