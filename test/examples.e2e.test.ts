// The example stacks and the everyday commands, end to end on the embedded
// engine through the real CLI and a real daemon: health-gated start order and
// `up --wait`, profiles, the lifecycle verbs, logs, attached `up` with Ctrl-C,
// --abort-on-container-exit / --exit-code-from, and two CLIs racing on one
// stack. Examples are copied as they are; only fixed host ports are swapped
// for free ones so the suite can run beside the quickstart and other suites.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../src/daemon/client.js";
import type { DaemonClient } from "../src/daemon/client.js";
import type { ContainerView } from "../src/daemon/api.js";
import { startRegistry } from "./fixtures/registry.js";
import type { TestRegistry } from "./fixtures/registry.js";
import { pushTestImage } from "./fixtures/push.js";
import { freePort } from "./fixtures/ports.js";
import { buildOnce, cleanupDir, leaks, repo, testDaemon } from "./support/daemon.js";
import type { TestDaemon } from "./support/daemon.js";
import { eventually, psAll, runCli, spawnCli, states } from "./support/e2e.js";
import type { PsRow } from "./support/e2e.js";

let registry: TestRegistry;
let daemon: TestDaemon;
let api: DaemonClient;
let work: string;
const projects = new Set<string>();

// busybox sleep as PID 1 ignores SIGTERM; the trap lets stops take milliseconds, not the grace period.
const sleeper = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;

async function httpStatus(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status;
}

/** Copies an example into the work dir, replacing fixed host ports in its files. */
function copyExample(name: string, ports: Record<string, number> = {}): string {
  const dir = join(work, name);
  cpSync(join(repo, "examples", name), dir, { recursive: true });
  for (const file of ["compose.yaml", "compose.override.yaml"]) {
    let text: string;
    try {
      text = readFileSync(join(dir, file), "utf8");
    } catch {
      continue;
    }
    for (const [from, to] of Object.entries(ports)) text = text.replaceAll(`127.0.0.1:${from}:`, `127.0.0.1:${to}:`);
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

function stackDir(name: string, yaml: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "compose.yaml"), yaml);
  return dir;
}

/** Runs the CLI for a project (remembered for cleanup) and fails with its output when the exit code differs. */
function cli(project: string, cwd: string, args: string[], env: NodeJS.ProcessEnv = {}, code = 0): { stdout: string; stderr: string } {
  projects.add(project);
  const r = runCli(daemon, ["-p", project, ...args], { cwd, env });
  if (r.code !== code) throw new Error(`tscompose ${args.join(" ")} exited ${r.code}, expected ${code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\n--- daemon log ---\n${daemon.log().slice(-3000)}`);
  return r;
}

async function inspect(project: string, service: string, n = 1): Promise<ContainerView> {
  const path = `/containers/${encodeURIComponent(`${project}-${service}-${n}`)}`;
  try {
    return await api.json<ContainerView>("GET", path);
  } catch (err) {
    // The synchronous CLI runs block this process's event loop: a keep-alive
    // socket the daemon closed meanwhile is only noticed on the first write.
    if (!["EPIPE", "ECONNRESET"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
    return api.json<ContainerView>("GET", path);
  }
}

function row(rows: PsRow[], service: string): PsRow {
  const r = rows.find((x) => x.Service === service);
  if (!r) throw new Error(`no container of ${service} in ${JSON.stringify(rows)}`);
  return r;
}

beforeAll(async () => {
  buildOnce();
  registry = await startRegistry();
  await pushTestImage(registry, "busybox");
  await pushTestImage(registry, "redis");
  daemon = testDaemon({ mirror: registry.url });
  await daemon.start();
  api = await connect({ ...daemonPathsOf(daemon) }, { autostart: false });
  work = mkdtempSync(join(tmpdir(), "tscompose-test-examples-"));
}, 300_000);

function daemonPathsOf(d: TestDaemon): { stateDir: string; socket: string; logFile: string; pidFile: string; configFile: string } {
  return { stateDir: d.stateDir, socket: d.socket, logFile: join(d.dir, "daemon.log"), pidFile: join(d.stateDir, "daemon.pid"), configFile: join(d.dir, "daemon.json") };
}

afterAll(async () => {
  if (daemon) {
    for (const p of projects) daemon.cli(["-p", p, "down", "-v", "-t", "1"]);
    await daemon.stop();
    const left = leaks(daemon);
    cleanupDir(daemon);
    expect(left).toEqual([]);
  }
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 180_000);

describe("examples/health-gated", () => {
  it("up --wait: db healthy, then migrate runs to completion, then api starts; migrate's exit 0 counts as done", async () => {
    const port = await freePort();
    const cwd = copyExample("health-gated", { 8081: port });
    const project = "hg";
    const up = cli(project, cwd, ["up", "--wait"]);
    expect(up.stdout + up.stderr).not.toMatch(/Error/);

    const rows = psAll(daemon, project, cwd);
    expect(states(rows)).toEqual([`${project}-api-1:running`, `${project}-db-1:running`, `${project}-migrate-1:exited`]);
    expect(row(rows, "db").Health).toBe("healthy");
    expect(row(rows, "migrate").ExitCode).toBe(0);

    const [db, migrate, apiC] = await Promise.all([inspect(project, "db"), inspect(project, "migrate"), inspect(project, "api")]);
    const t = (s: string | undefined): number => Date.parse(s ?? "");
    // db is only ready after its 3 s sleep: migrate cannot have started before that.
    expect(t(migrate.startedAt) - t(db.startedAt)).toBeGreaterThanOrEqual(2500);
    // api waits for migrate to finish, not just to start.
    expect(t(apiC.startedAt)).toBeGreaterThanOrEqual(t(migrate.finishedAt));

    const logs = cli(project, cwd, ["logs", "--no-color", "migrate"]).stdout;
    expect(logs).toMatch(/migrate-1 +\| migrating\n[^]*migrate-1 +\| done/);
    // The api serves on its published port (busybox httpd: any HTTP answer will do).
    expect(await eventually(() => httpStatus(port), (s) => s > 0)).toBeGreaterThan(0);

    // A second --wait on the converged stack: migrate stays done (not re-run, not an error).
    const again = cli(project, cwd, ["up", "--wait"]);
    expect(again.stdout).not.toMatch(/Creating|Starting|Error/);
    expect((await inspect(project, "migrate")).startedAt).toBe(migrate.startedAt);

    cli(project, cwd, ["down", "-t", "1"]);
    expect(psAll(daemon, project, cwd)).toEqual([]);
  }, 180_000);
});

describe("examples/profiles", () => {
  it("without a profile only the default service runs; with --profile debug the debug and metrics services too", async () => {
    const port = await freePort();
    const cwd = copyExample("profiles", { 8082: port });
    const project = "prof";
    cli(project, cwd, ["up", "-d"]);
    expect(states(psAll(daemon, project, cwd))).toEqual([`${project}-app-1:running`]);
    // compose.override.yaml is picked up by itself: development settings.
    const logs = await eventually(() => cli(project, cwd, ["logs", "app"]).stdout, (o) => /app running as/.test(o));
    expect(logs).toContain("app running as development");
    expect((await inspect(project, "app")).ports.map((p) => Number(p.hostPort))).toEqual([port]);

    cli(project, cwd, ["--profile", "debug", "up", "-d"]);
    expect(states(psAll(daemon, project, cwd))).toEqual([`${project}-app-1:running`, `${project}-debug-shell-1:running`, `${project}-metrics-1:running`]);

    cli(project, cwd, ["--profile", "debug", "down", "-t", "1"]);
    expect(psAll(daemon, project, cwd)).toEqual([]);
  }, 180_000);
});

describe("examples/webapp: lifecycle commands, logs", () => {
  const project = "wa";
  let cwd: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    cwd = copyExample("webapp");
    env = { WEB_PORT: String(await freePort()) };
    cli(project, cwd, ["up", "-d", "--wait"], env);
  }, 180_000);

  afterAll(() => {
    daemon.cli(["-p", project, "down", "-v", "-t", "1"], { cwd });
  }, 60_000);

  const stateOf = (service: string): string => row(psAll(daemon, project, cwd), service).State;
  /** How many times the supervisor has decided not to restart this service's container (the log line it writes). */
  const notRestarted = (service: string): number =>
    daemon
      .log()
      .split("\n")
      .filter((l) => l.includes('"msg":"not restarting"') && l.includes(`"container":"${project}-${service}-1"`)).length;

  it("stop / start: a stopped service stays stopped (restart: unless-stopped does not bring it back) until started", async () => {
    const decided = notRestarted("web");
    const out = cli(project, cwd, ["stop", "web"]).stdout;
    expect(out).toMatch(new RegExp(`Container ${project}-web-1  Stopped`));
    expect(stateOf("web")).toBe("exited");
    expect(cli(project, cwd, ["ps", "--services"]).stdout.split("\n").filter(Boolean).sort()).toEqual(["redis", "worker"]);
    // The supervisor's decision on that exit, then the state after it.
    const why = await eventually(() => notRestarted("web"), (n) => n > decided);
    expect(why).toBe(decided + 1);
    expect(daemon.log()).toMatch(new RegExp(`"msg":"not restarting".*"container":"${project}-web-1".*"reason":"stopped on purpose"`));
    expect(stateOf("web")).toBe("exited");
    cli(project, cwd, ["start", "web"]);
    expect(stateOf("web")).toBe("running");
    await eventually(() => httpStatus(Number(env.WEB_PORT)), (s) => s === 200);
  });

  it("restart: the same container, started again", async () => {
    const before = await inspect(project, "web");
    cli(project, cwd, ["restart", "-t", "1", "web"]);
    const after = await inspect(project, "web");
    expect(after.id).toBe(before.id);
    expect(after.state).toBe("running");
    expect(Date.parse(after.startedAt ?? "")).toBeGreaterThan(Date.parse(before.startedAt ?? ""));
  });

  it("pause / unpause", () => {
    cli(project, cwd, ["pause", "redis"]);
    expect(stateOf("redis")).toBe("paused");
    // Nothing to unpause elsewhere, nothing to pause twice: both are no-ops, not errors.
    cli(project, cwd, ["pause", "redis"]);
    cli(project, cwd, ["unpause"]);
    expect(stateOf("redis")).toBe("running");
  });

  it("kill: SIGKILL by default, exit code 137, and the restart policy does not undo it", async () => {
    const decided = notRestarted("worker");
    cli(project, cwd, ["kill", "worker"]);
    const w = await eventually(() => row(psAll(daemon, project, cwd), "worker"), (r) => r.State === "exited");
    expect(w.ExitCode).toBe(137);
    // The supervisor's decision on that exit (on-failure:5 would restart a crash), then the state after it.
    await eventually(() => notRestarted("worker"), (n) => n > decided);
    expect(stateOf("worker")).toBe("exited");
  });

  it("rm: only stopped containers (-f only skips the prompt), running ones with -s; then up brings them back", () => {
    cli(project, cwd, ["rm", "-f", "worker"]);
    expect(psAll(daemon, project, cwd).map((r) => r.Service).sort()).toEqual(["redis", "web"]);
    const none = cli(project, cwd, ["rm", "-f", "web"]);
    expect(none.stderr).toMatch(/No stopped containers/);
    expect(stateOf("web")).toBe("running");
    cli(project, cwd, ["rm", "-f", "-s", "web"]);
    expect(psAll(daemon, project, cwd).map((r) => r.Service)).toEqual(["redis"]);
    cli(project, cwd, ["up", "-d"], env);
    expect(states(psAll(daemon, project, cwd))).toEqual([`${project}-redis-1:running`, `${project}-web-1:running`, `${project}-worker-1:running`]);
  });

  it("logs --tail N gives the last N lines; logs -f follows new lines and ends when the container stops", async () => {
    // The worker prints redis's counter (":1", ":2", ...) every 2 s.
    await eventually(() => cli(project, cwd, ["logs", "worker"]).stdout.split("\n").filter(Boolean).length, (n) => n >= 2, 30_000);
    // --tail first: a line the worker writes in between lands in both, not only in the later one.
    const tail = cli(project, cwd, ["logs", "--no-color", "--tail", "1", "worker"]).stdout.split("\n").filter(Boolean);
    const all = cli(project, cwd, ["logs", "--no-color", "worker"]).stdout.split("\n").filter(Boolean);
    expect(tail).toHaveLength(1);
    expect(all).toContain(tail[0]);
    expect(cli(project, cwd, ["logs", "--tail", "0", "worker"]).stdout).toBe("");

    const follow = spawnCli(daemon, ["-p", project, "logs", "-f", "--no-color", "--tail", "0", "worker"], { cwd });
    // Only lines written after it started: two new counter values arrive.
    const first = await follow.waitFor(/worker-1 +\| :(\d+)/, 30_000);
    const n = Number(first[1]);
    await follow.waitFor(new RegExp(`worker-1 +\\| :${n + 1}\\b`), 30_000);
    expect(follow.stdout()).not.toContain(tail[0] as string);
    cli(project, cwd, ["stop", "-t", "1", "worker"]);
    await follow.waitFor(/worker-1 exited with code/, 30_000);
    expect(await follow.exited(15_000)).toBe(0);
    cli(project, cwd, ["start", "worker"]);
  }, 120_000);
});

describe("attached up", () => {
  const ticker = `["sh", "-c", "trap 'echo bye; exit 0' TERM; i=0; while true; do echo tick $$i; i=$$((i+1)); sleep 1; done"]`;

  it("streams service-prefixed logs and stops the stack on SIGINT", async () => {
    const project = "att";
    projects.add(project);
    const cwd = stackDir("attached", `services:\n  ticker:\n    image: busybox\n    command: ${ticker}\n  idle:\n    image: busybox\n    command: ${sleeper}\n`);
    const up = spawnCli(daemon, ["-p", project, "up", "--no-color"], { cwd });
    await up.waitFor(/Attaching to .*att-ticker-1/);
    await up.waitFor(/ticker-1 +\| tick 2\n/, 60_000);
    expect(states(psAll(daemon, project, cwd))).toEqual([`${project}-idle-1:running`, `${project}-ticker-1:running`]);
    up.child.kill("SIGINT");
    const code = await up.exited(60_000);
    expect(code).toBe(130);
    expect(up.stdout()).toMatch(/Gracefully stopping/);
    const rows = psAll(daemon, project, cwd);
    expect(states(rows)).toEqual([`${project}-idle-1:exited`, `${project}-ticker-1:exited`]);
    // Stopped by the stop signal, gracefully: the trap ran.
    expect(cli(project, cwd, ["logs", "ticker"]).stdout).toMatch(/ticker-1 +\| bye/);
    cli(project, cwd, ["down", "-t", "1"]);
  }, 120_000);

  const jobStack = `services:\n  job:\n    image: busybox\n    command: ["sh", "-c", "echo working; sleep 2; exit 3"]\n  server:\n    image: busybox\n    command: ${sleeper}\n`;

  it("--exit-code-from returns that service's exit code and stops the rest", () => {
    const project = "ecf";
    const cwd = stackDir("exit-code-from", jobStack);
    const r = cli(project, cwd, ["up", "--exit-code-from", "job"], {}, 3);
    expect(r.stdout).toMatch(/job-1 +\| working/);
    expect(r.stdout).toMatch(/job-1 exited with code 3/);
    expect(states(psAll(daemon, project, cwd))).toEqual([`${project}-job-1:exited`, `${project}-server-1:exited`]);
    cli(project, cwd, ["down", "-t", "1"]);
  }, 120_000);

  it("--abort-on-container-exit stops everything when the first container exits and returns its code", () => {
    const project = "aoce";
    const cwd = stackDir("abort-on-exit", jobStack);
    cli(project, cwd, ["up", "--abort-on-container-exit"], {}, 3);
    expect(states(psAll(daemon, project, cwd))).toEqual([`${project}-job-1:exited`, `${project}-server-1:exited`]);
    cli(project, cwd, ["down", "-t", "1"]);
  }, 120_000);
});

describe("two CLIs on one stack at once", () => {
  it("are serialized: one container per service, all running", async () => {
    const project = "race";
    projects.add(project);
    const services = ["a", "b", "c", "d"];
    const cwd = stackDir("race", `services:\n${services.map((s) => `  ${s}:\n    image: busybox\n    command: ${sleeper}\n`).join("")}`);
    const one = spawnCli(daemon, ["-p", project, "up", "-d"], { cwd });
    const two = spawnCli(daemon, ["-p", project, "up", "-d"], { cwd });
    const codes = await Promise.all([one.exited(), two.exited()]);
    expect(codes, `${one.stderr()}\n${two.stderr()}`).toEqual([0, 0]);
    // One of them did the work; the other found it done.
    const created = [one.stdout(), two.stdout()].map((o) => (o.match(/Created/g) ?? []).length).sort();
    expect(created[0]).toBe(0);
    expect(states(psAll(daemon, project, cwd))).toEqual(services.map((s) => `${project}-${s}-1:running`));
    cli(project, cwd, ["down", "-t", "1"]);
  }, 120_000);
});
