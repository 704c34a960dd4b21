// docker/awesome-compose samples run UNCHANGED (test/stacks/awesome) with the
// real CLI and daemon: `up -d --wait`, every service running (healthy where
// it has a health check), each published TCP port accepting a connection on
// 127.0.0.1, the named volumes there; then `down -v` leaves nothing. The
// Docker Hub images are stood in by test/fixtures/standins.ts (what a
// stand-in honours is written there), pushed to the test registry, which is
// docker.io's mirror, under the names and tags the samples use.
// The samples with build: (flask, flask-redis, fastapi) run with `up -d
// --build --wait` on the embedded builder, FROM a python stand-in made of
// Debian's python3.11, pip installing wheels repacked from Debian packages
// (test/fixtures/python.ts); then a cached rebuild, `down -v`, `image rm`.
//
// The samples publish fixed host ports (80, 3000, 5432 ...) as users run
// them, so they run one after the other. A sample whose host port another
// process holds is skipped with the port named: the engine refuses to publish
// a held port, as dockerd does.
import { cpSync, existsSync, mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createServer, connect } from "node:net";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixedAnswerResolver, hostLookup, httpGet, nslookupAddresses } from "../engine/network/testing.js";
import { probe } from "../engine/network/ports.js";
import { pushLayout, pushTestImage } from "./fixtures/push.js";
import { buildPython, debianWheels, pythonAvailable } from "./fixtures/python.js";
import { buildStandIn } from "./fixtures/standins.js";
import type { StandIn } from "./fixtures/standins.js";
import { leaks, repo } from "./support/daemon.js";
import { jsonLines, psAll, spawnCli } from "./support/e2e.js";
import { eventually } from "./support/wait.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

// Ports and VOLUMEs as the real images have them (their Dockerfiles / docs).
const STANDINS: StandIn[] = [
  { ref: "library/elasticsearch:7.16.1", tcp: [9200, 9300] },
  { ref: "library/logstash:7.16.1", tcp: [5000, 5044, 9600] },
  { ref: "library/kibana:7.16.1", tcp: [5601] },
  { ref: "gitea/gitea:latest", tcp: [22, 3000], volumes: ["/data"] },
  { ref: "library/postgres:alpine", tcp: [5432], volumes: ["/var/lib/postgresql/data"], cmd: ["postgres"] },
  { ref: "library/postgres:latest", tcp: [5432], volumes: ["/var/lib/postgresql/data"], cmd: ["postgres"] },
  { ref: "itzg/minecraft-server:latest", tcp: [25565], volumes: ["/data"] },
  { ref: "library/nextcloud:apache", tcp: [80], volumes: ["/var/www/html"], cmd: ["apache2-foreground"] },
  { ref: "library/mariadb:10.5", tcp: [3306], volumes: ["/var/lib/mysql"], cmd: ["mysqld"] },
  { ref: "library/mariadb:10.6.4-focal", tcp: [3306, 33060], volumes: ["/var/lib/mysql"], cmd: ["mysqld"] },
  { ref: "visibilityspots/cloudflared:latest", tcp: [5054] },
  { ref: "pihole/pihole:latest", tcp: [53, 80, 443] },
  { ref: "linuxserver/plex:latest", tcp: [32400], volumes: ["/config"] },
  { ref: "portainer/portainer-ce:alpine", tcp: [8000, 9000, 9443], volumes: ["/data"] },
  { ref: "dpage/pgadmin4:latest", tcp: [80, 443], volumes: ["/var/lib/pgadmin"] },
  { ref: "prom/prometheus:latest", tcp: [9090], volumes: ["/prometheus"], cmd: ["--config.file=/etc/prometheus/prometheus.yml"] },
  { ref: "grafana/grafana:latest", tcp: [3000] },
  { ref: "linuxserver/wireguard:latest", tcp: [], volumes: ["/config"] },
  { ref: "library/wordpress:latest", tcp: [80], volumes: ["/var/www/html"], cmd: ["apache2-foreground"] },
];

interface Sample {
  /** Directory under test/stacks/awesome, as upstream names it. */
  name: string;
  services: string[];
  /** Services with a healthcheck: healthy after `up --wait`. */
  healthy?: string[];
  /** Host TCP ports the compose file publishes (or, on the host network, the server listens on). */
  tcp: number[];
  /** Named volumes (without the project prefix). */
  volumes?: string[];
  /** Host directories the compose file bind-mounts; created by `up` as dockerd does, removed after the test if they were not there. */
  hostDirs?: string[];
  /** Why the sample cannot run on this machine, or undefined when it can. */
  cannotRun?: () => string | undefined;
  /** A limit of the embedded engine: `up` fails with this error; `others` (with their published ports) run when brought up alone; `down -v` leaves nothing. */
  refused?: { error: RegExp; others: { services: string[]; tcp: number[] } };
}

const SAMPLES: Sample[] = [
  { name: "elasticsearch-logstash-kibana", services: ["elasticsearch", "logstash", "kibana"], healthy: ["elasticsearch"], tcp: [9200, 9300, 5000, 5044, 9600, 5601] },
  { name: "gitea-postgres", services: ["gitea", "db"], tcp: [3000], volumes: ["db_data", "git_data"] },
  { name: "minecraft", services: ["minecraft"], tcp: [25565] },
  { name: "nextcloud-postgres", services: ["nc", "db"], tcp: [80], volumes: ["db_data", "nc_data"] },
  { name: "nextcloud-redis-mariadb", services: ["nc", "redis", "db"], tcp: [80], volumes: ["db_data", "nc_data"] },
  {
    name: "pihole-cloudflared-DoH",
    services: ["cloudflared", "pihole"],
    tcp: [5054, 53, 8080, 8443],
    hostDirs: ["/etc/pihole", "/etc/dnsmasq.d"],
  },
  { name: "plex", services: ["plex"], tcp: [32400], hostDirs: ["/media/your"] },
  {
    name: "portainer",
    services: ["portainer"],
    tcp: [9000],
    volumes: ["portainer_data"],
    // dockerd would create a missing bind source as a directory: at /var/run/docker.sock that breaks the next dockerd started here.
    cannotRun: () => (existsSync("/var/run/docker.sock") ? undefined : "it bind-mounts /var/run/docker.sock and no Docker daemon runs here"),
  },
  { name: "postgresql-pgadmin", services: ["postgres", "pgadmin"], tcp: [5432, 5050] },
  { name: "prometheus-grafana", services: ["prometheus", "grafana"], tcp: [9090, 3000], volumes: ["prom_data"] },
  { name: "wireguard", services: ["wireguard"], tcp: [], hostDirs: ["/usr/share/appdata"], cannotRun: () => (wireguardAvailable() ? undefined : "the kernel has no wireguard support (the image sets up a wireguard interface)") },
  { name: "wordpress-mysql", services: ["db", "wordpress"], tcp: [80], volumes: ["db_data"] },
];

/** Whether the kernel can make a wireguard link: tried in a network namespace of its own, so the host is not touched. */
function wireguardAvailable(): boolean {
  try {
    execFileSync("unshare", ["--net", "ip", "link", "add", "wg0", "type", "wireguard"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Whether another process holds the host TCP port (binding it for a moment, as the engine checks before publishing). */
function portHeld(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(true));
    srv.listen({ host: "0.0.0.0", port, exclusive: true }, () => srv.close(() => resolve(false)));
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port, timeout: 2000 });
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("timeout", () => {
      sock.destroy();
      resolve(false);
    });
    sock.once("error", () => resolve(false));
  });
}

/** Each port accepts a TCP connection on 127.0.0.1; polled, as the stand-in's servers start just after the container does. */
async function allAccept(sample: string, ports: number[]): Promise<void> {
  for (const port of ports) await eventually(() => accepts(port), (yes) => yes, 30_000, `127.0.0.1:${port} (${sample}) to accept a connection`, 250);
}

let s: StackSuite;
let home: string;
/** The wheels the Python samples' pip installs from (undefined when python cannot be provided here). */
let wheels: string | undefined;

// Asynchronous, so the test's worker keeps answering vitest while a long `up` runs.
async function cli(project: string, cwd: string, args: string[], expectCode = 0): Promise<{ stdout: string; stderr: string }> {
  // HOME: minecraft bind-mounts ~/minecraft_data, which must land in the test's scratch home.
  const run = spawnCli(s.daemon, ["-p", project, ...args], { cwd, env: { HOME: home } });
  const code = await run.exited(240_000);
  if (code !== expectCode) {
    throw new Error(`tscompose ${args.join(" ")} exited ${code}, expected ${expectCode}\nstdout: ${run.stdout()}\nstderr: ${run.stderr()}\n--- daemon log ---\n${s.daemon.log().slice(-3000)}`);
  }
  return { stdout: run.stdout(), stderr: run.stderr() };
}

/**
 * `down -v`, then nothing of the project is left: containers, volumes (named and the images' anonymous ones), networks, kernel objects.
 * `built`: the project built images, whose RUN steps used the engine's default bridge network; `down` leaves that in place as docker does, so it is removed here.
 */
async function takenDownClean(project: string, cwd: string, built = false): Promise<void> {
  await cli(project, cwd, ["down", "-v", "-t", "1"]);
  if (built) await cli(project, cwd, ["network", "rm", "bridge"]);
  expect(psAll(s.daemon, project, cwd)).toEqual([]);
  expect(lines((await cli(project, cwd, ["volume", "ls", "-q"])).stdout)).toEqual([]);
  const networks = jsonLines<{ Name: string }>((await cli(project, cwd, ["network", "ls", "--format", "json"])).stdout).map((n) => n.Name);
  expect(networks.filter((n) => n.startsWith(`${project}_`))).toEqual([]);
  // The daemon itself runs on: everything else of leaks() must be gone.
  const daemonPid = s.daemon.process?.pid;
  expect(leaks(s.daemon).filter((l) => !l.startsWith(`process: ${daemonPid} `))).toEqual([]);
}

const lines = (text: string): string[] => text.split("\n").filter((l) => l.trim() !== "");

beforeAll(async () => {
  s = await startStackSuite("awesome-up", []);
  home = join(s.work, "home");
  mkdirSync(home);
  // The redis fixture is a real redis-server: nextcloud-redis-mariadb's redis:alpine.
  await pushTestImage(s.registry, "redis", { repository: "library/redis:alpine" });
  for (const standIn of STANDINS) await pushLayout(await buildStandIn(standIn), s.registry, standIn.ref);
  // The samples with build: (their base images and wheels from Debian packages, test/fixtures/python.ts).
  if (await pythonAvailable()) {
    const python = await buildPython();
    await pushLayout(python, s.registry, "library/python:3.10-alpine");
    await pushLayout(python, s.registry, "library/python:3.10-slim");
    await pushTestImage(s.registry, "redis", { repository: "redislabs/redismod:latest" });
    wheels = await debianWheels();
  }
}, 600_000);

afterAll(async () => {
  expect(await stopStackSuite(s, ["-v", "-t", "0"])).toEqual([]);
}, 180_000);

describe("docker/awesome-compose samples: up --wait, then down -v", () => {
  for (const sample of SAMPLES) {
    it(sample.name, async (ctx) => {
      const reason = sample.cannotRun?.();
      if (reason) {
        process.stdout.write(`awesome-up: ${sample.name} skipped: ${reason}\n`);
        ctx.skip(reason);
        return;
      }
      for (const port of sample.refused ? [] : sample.tcp) {
        if (await portHeld(port)) {
          process.stdout.write(`awesome-up: ${sample.name} skipped: host port ${port} is held by another process\n`);
          ctx.skip(`host port ${port} is held by another process`);
          return;
        }
      }
      const absentDirs = (sample.hostDirs ?? []).filter((d) => !existsSync(d));
      // A copy under the upstream directory name: the project name is that name, as for a user.
      const cwd = join(s.work, sample.name);
      cpSync(join(repo, "test", "stacks", "awesome", sample.name), cwd, { recursive: true });
      if (sample.name === "elasticsearch-logstash-kibana") {
        // Upstream's 1.9 MB sample access log is not copied into the repository; logstash's pipeline only reads it.
        writeFileSync(join(cwd, "logstash", "nginx.log"), "");
      }
      const project = sample.name.toLowerCase();
      s.projects.push({ name: project, cwd });
      try {
        if (sample.refused) {
          const { stderr } = await cli(project, cwd, ["up", "-d", "--wait"], 1);
          expect(stderr).toMatch(sample.refused.error);
          // Positive control: the services the limit does not touch run.
          const { others } = sample.refused;
          await cli(project, cwd, ["up", "-d", "--wait", ...others.services]);
          const running = psAll(s.daemon, project, cwd).filter((r) => r.State === "running").map((r) => r.Service);
          expect(running.sort()).toEqual([...others.services].sort());
          await allAccept(sample.name, others.tcp);
          await takenDownClean(project, cwd);
          return;
        }
        await cli(project, cwd, ["up", "-d", "--wait"]);

        const rows = psAll(s.daemon, project, cwd);
        expect(rows.map((r) => r.Service).sort()).toEqual([...sample.services].sort());
        for (const r of rows) {
          expect({ service: r.Service, state: r.State }).toEqual({ service: r.Service, state: "running" });
          if (sample.healthy?.includes(r.Service)) expect({ service: r.Service, health: r.Health }).toEqual({ service: r.Service, health: "healthy" });
        }
        await allAccept(sample.name, sample.tcp);
        const volumes = lines((await cli(project, cwd, ["volume", "ls", "-q"])).stdout);
        for (const v of sample.volumes ?? []) expect(volumes).toContain(`${project}_${v}`);
        for (const d of sample.hostDirs ?? []) expect(statSync(d).isDirectory()).toBe(true);
        if (sample.name === "minecraft") expect(statSync(join(home, "minecraft_data")).isDirectory()).toBe(true);

        await takenDownClean(project, cwd);
        // Negative control of the port check: with the stack gone, nothing answers there.
        for (const port of sample.tcp) expect({ port, accepts: await accepts(port) }).toEqual({ port, accepts: false });
      } finally {
        s.daemon.cli(["-p", project, "down", "-v", "-t", "0"], { cwd });
        for (const d of absentDirs) rmSync(d, { recursive: true, force: true });
      }
    }, 300_000);
  }
});

// Here rather than in a file of its own: the samples above publish host port 53 too, and the
// tests of one file run one after the other.
describe("port 53 published beside the embedded DNS (pihole's case)", () => {
  it("a container's udp 53 answers the host on 127.0.0.1 while the stack's containers resolve each other's names", async (ctx) => {
    if ((await probe("udp", "0.0.0.0", 53)).error !== undefined) return ctx.skip("udp port 53 of the host is held by another process");
    const cwd = join(s.work, "dns53");
    mkdirSync(cwd);
    // The pihole stand-in serves no UDP: the host's node (with the libraries ldd names, read-only) runs a fixed-answer resolver in it.
    writeFileSync(join(cwd, "resolver.js"), fixedAnswerResolver("192.0.2.53"));
    const node = realpathSync(process.execPath);
    const libs = [...new Set([...execFileSync("ldd", [node], { encoding: "utf8" }).matchAll(/(\/\S+)\s+\(0x/g)].map((m) => dirname(m[1]!)))];
    const mounts = [node, ...libs].map((path) => `      - ${path}:${path}:ro`).join("\n");
    writeFileSync(
      join(cwd, "compose.yaml"),
      [
        "services:",
        "  pihole:",
        "    image: pihole/pihole:latest",
        `    entrypoint: ["${node}", "/srv/resolver.js"]`,
        "    ports: ['53:53/udp']",
        "    volumes:",
        "      - ./resolver.js:/srv/resolver.js:ro",
        mounts,
        "  db:",
        "    image: postgres:alpine",
        "  web:",
        "    image: grafana/grafana:latest",
        "",
      ].join("\n"),
    );
    const project = "dns53";
    s.projects.push({ name: project, cwd });
    try {
      await cli(project, cwd, ["up", "-d", "--wait"]);
      expect(await eventually(() => hostLookup("anything.example", "127.0.0.1"), (a) => a.length > 0, 20_000, "the pihole to answer on 127.0.0.1:53")).toEqual(["192.0.2.53"]);
      // Their resolv.conf names the gateway, port 53, as the port published on every address does: the engine's server answers them.
      const ipOf = async (service: string) => /inet (\d+\.\d+\.\d+\.\d+)/.exec((await cli(project, cwd, ["exec", "-T", service, "ip", "-4", "-o", "addr", "show", "eth0"])).stdout)?.[1];
      const lookup = async (service: string, ...args: string[]) => nslookupAddresses((await cli(project, cwd, ["exec", "-T", service, "nslookup", ...args])).stdout);
      expect(await lookup("web", "db")).toEqual([await ipOf("db")]);
      expect(await lookup("db", "pihole")).toEqual([await ipOf("pihole")]);
      // A container asks the pihole by its name, as pihole's users point clients at it.
      expect(await lookup("web", "anything.example", "pihole")).toEqual(["192.0.2.53"]);
      await takenDownClean(project, cwd);
      // Negative control: with the stack gone nothing answers there.
      expect(await hostLookup("anything.example", "127.0.0.1")).toEqual([]);
    } finally {
      s.daemon.cli(["-p", project, "down", "-v", "-t", "0"], { cwd });
    }
  }, 300_000);
});

describe("the stand-ins are no rubber stamps", () => {
  it("exits 1 when a file its arguments name is missing; its curl fails where no server answers", async () => {
    const cwd = join(s.work, "standin-controls");
    mkdirSync(cwd);
    writeFileSync(
      join(cwd, "compose.yaml"),
      [
        "services:",
        "  prometheus:",
        "    image: prom/prometheus",
        "    command: ['--config.file=/etc/prometheus/missing.yml']",
        "  elasticsearch:",
        "    image: elasticsearch:7.16.1",
        "",
      ].join("\n"),
    );
    const project = "standin-controls";
    s.projects.push({ name: project, cwd });
    await cli(project, cwd, ["up", "-d"]);
    const prometheus = await eventually(
      () => psAll(s.daemon, project, cwd).find((r) => r.Service === "prometheus"),
      (r) => r?.State === "exited",
      30_000,
      "the stand-in prometheus to exit",
    );
    expect(prometheus?.ExitCode).toBe(1);
    const logs = await cli(project, cwd, ["logs", "prometheus"]);
    expect(logs.stdout + logs.stderr).toMatch(/\/etc\/prometheus\/missing\.yml: no such file/);
    // The shim that makes elasticsearch's health check pass, against a port with a server and one without.
    await eventually(() => runCurl(project, cwd, "localhost:9200/_cluster/health"), (code) => code === 0, 30_000, "curl to reach the stand-in's server");
    expect(await runCurl(project, cwd, "localhost:9299/")).not.toBe(0);
    await takenDownClean(project, cwd);
  }, 120_000);
});

async function runCurl(project: string, cwd: string, url: string): Promise<number> {
  const run = spawnCli(s.daemon, ["-p", project, "exec", "-T", "elasticsearch", "curl", "--silent", "--fail", url], { cwd });
  return run.exited(30_000);
}

interface BuildSample {
  /** Directory under test/stacks/awesome, as upstream names it. */
  name: string;
  /** The build contexts, relative to the sample: each gets the wheels its Dockerfile installs from. */
  contexts: string[];
  services: string[];
  /** Services the compose file builds: their images are `<project>-<service>`. */
  built: string[];
  tcp: number[];
  /** Base images built first with `image build -t TAG DIR` (DIR under test/fixtures, with the wheels), as third-party images the sample starts FROM. */
  bases?: { tag: string; dir: string }[];
  /** The page the app serves on 127.0.0.1:PORT/ on the first and the second GET. */
  pages: { port: number; first: string; second: string };
}

const BUILD_SAMPLES: BuildSample[] = [
  { name: "flask", contexts: ["app"], services: ["web"], built: ["web"], tcp: [8000], pages: { port: 8000, first: "Hello World!", second: "Hello World!" } },
  {
    name: "flask-redis",
    contexts: ["."],
    services: ["redis", "web"],
    built: ["web"],
    tcp: [8000, 6379],
    // The counter lives in the redis service: the app reaches it by its service name.
    pages: { port: 8000, first: "This webpage has been viewed 1 time(s)", second: "This webpage has been viewed 2 time(s)" },
  },
  {
    name: "fastapi",
    contexts: ["."],
    services: ["api"],
    built: ["api"],
    tcp: [8000],
    bases: [{ tag: "tiangolo/uvicorn-gunicorn-fastapi:python3.9-slim", dir: "uvicorn-gunicorn-fastapi" }],
    // gunicorn with uvicorn workers on $PORT (the compose file's 8000), the sample's app.main found by the base's start.sh.
    pages: { port: 8000, first: '{"message":"OK"}', second: '{"message":"OK"}' },
  },
];

/** The Dockerfile steps of the plain build progress (`#5 [web builder 2/4] RUN ...`), each with whether it ended CACHED, DONE or in an ERROR. */
function buildSteps(progress: string): { step: string; outcome: string }[] {
  const names = new Map<string, string>();
  const outcome = new Map<string, string>();
  for (const line of progress.split("\n")) {
    const step = /^#(\d+) (\[\S+ (?:\S+ )?\d+\/\d+\] .*)$/.exec(line);
    if (step) names.set(step[1] as string, step[2] as string);
    const end = /^#(\d+) (CACHED|DONE|ERROR)/.exec(line);
    if (end) outcome.set(end[1] as string, end[2] as string);
  }
  return [...names].map(([n, step]) => ({ step, outcome: outcome.get(n) ?? "none" }));
}

describe("docker/awesome-compose samples with build: up --build --wait, a cached rebuild, then down -v and image rm", () => {
  for (const sample of BUILD_SAMPLES) {
    it(sample.name, async (ctx) => {
      if (wheels === undefined) return ctx.skip("Debian's python3.11 and python3-pip-whl are not installed (scripts/install-deps.sh)");
      for (const port of sample.tcp) {
        if (await portHeld(port)) {
          process.stdout.write(`awesome-up: ${sample.name} skipped: host port ${port} is held by another process\n`);
          return ctx.skip(`host port ${port} is held by another process`);
        }
      }
      const cwd = join(s.work, sample.name);
      cpSync(join(repo, "test", "stacks", "awesome", sample.name), cwd, { recursive: true });
      for (const context of sample.contexts) cpSync(wheels, join(cwd, context, "wheels"), { recursive: true });
      const project = sample.name.toLowerCase();
      s.projects.push({ name: project, cwd });
      const bases = (sample.bases ?? []).map((b) => b.tag);
      const images = [...sample.built.map((service) => `${project}-${service}`), ...bases];
      try {
        for (const base of sample.bases ?? []) {
          const dir = join(s.work, "bases", base.dir);
          cpSync(join(repo, "test", "fixtures", base.dir), dir, { recursive: true });
          cpSync(wheels, join(dir, "wheels"), { recursive: true });
          await cli(project, cwd, ["image", "build", "-t", base.tag, dir]);
        }
        const first = await cli(project, cwd, ["up", "-d", "--build", "--wait"]);
        // Built by this daemon (a fresh one: nothing cached): the target's pip install ran. The Dockerfiles' later
        // dev-envs stage (apk, COPY --from=gloursdocker/docker, which exists nowhere here) is not the target: never built.
        const built = buildSteps(first.stdout);
        expect(built.filter((b) => / RUN /.test(b.step)).map((b) => b.outcome)).toEqual(["DONE"]);
        expect(first.stdout).not.toMatch(/gloursdocker|apk /);

        const rows = psAll(s.daemon, project, cwd);
        expect(rows.map((r) => r.Service).sort()).toEqual([...sample.services].sort());
        for (const r of rows) expect({ service: r.Service, state: r.State }).toEqual({ service: r.Service, state: "running" });
        const get = () => httpGet("127.0.0.1", sample.pages.port).catch(() => ({ status: 0, body: "" }));
        const page = await eventually(get, (r) => r.status === 200, 30_000, `the ${sample.name} app to answer on 127.0.0.1:${sample.pages.port}`, 250);
        expect(page.body).toBe(sample.pages.first);
        expect((await get()).body).toBe(sample.pages.second);
        await allAccept(sample.name, sample.tcp);

        // Nothing changed: every step comes from the cache and the containers stay.
        const ids = rows.map((r) => r.ID).sort();
        const again = await cli(project, cwd, ["up", "-d", "--build", "--wait"]);
        const steps = buildSteps(again.stdout).filter((b) => !/\] FROM /.test(b.step));
        expect(steps.length).toBeGreaterThan(0);
        expect(steps.filter((b) => b.outcome !== "CACHED")).toEqual([]);
        expect(psAll(s.daemon, project, cwd).map((r) => r.ID).sort()).toEqual(ids);

        await takenDownClean(project, cwd, true);
        const refs = images.map((i) => (i.includes(":") ? i : `${i}:latest`));
        const listed = async () => jsonLines<{ Repository: string; Tag: string }>((await cli(project, cwd, ["image", "ls", "--format", "json"])).stdout).map((i) => `${i.Repository}:${i.Tag}`);
        // Positive control of the check below: `image ls` names them so before.
        expect(await listed()).toEqual(expect.arrayContaining(refs));
        await cli(project, cwd, ["image", "rm", ...images]);
        expect((await listed()).filter((r) => refs.includes(r))).toEqual([]);
        for (const port of sample.tcp) expect({ port, accepts: await accepts(port) }).toEqual({ port, accepts: false });
      } finally {
        s.daemon.cli(["-p", project, "down", "-v", "-t", "0"], { cwd });
        s.daemon.cli(["image", "rm", "-f", ...images], { cwd });
        s.daemon.cli(["network", "rm", "bridge"], { cwd });
      }
    }, 300_000);
  }
});
