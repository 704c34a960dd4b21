// A real tscompose daemon for end-to-end tests: its own state dir, socket,
// engine config (the fixture registry as docker.io's mirror, DNS forwarding
// only to a dead loopback port, kernel objects under a unique prefix), run as
// a child process of the built bin/tscompose exactly as a user runs it.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { API_VERSION } from "../../src/daemon/api.js";
import { cgroupRoots } from "./engine.js";
import { StopWaiting, eventually } from "./wait.js";
import { randomPoolOctet } from "./pools.js";

/** The repository root, from the source tree (vitest) or from dist-dev/ (benchmarks). */
function findRepo(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
export const repo = findRepo();
export const bin = join(repo, "bin", "tscompose");

export interface TestDaemon {
  dir: string;
  stateDir: string;
  socket: string;
  prefix: string;
  env: NodeJS.ProcessEnv;
  process: ChildProcess | undefined;
  start(): Promise<void>;
  /** SIGTERM (graceful) or SIGKILL (crash). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  cli(args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string }): { code: number; stdout: string; stderr: string };
  log(): string;
}

/** dist/ is built once for the whole run by test/global-setup.ts; this only checks it is there. */
export function buildOnce(): void {
  if (!existsSync(join(repo, "dist", "src", "cli", "main.js"))) throw new Error("dist/ is missing: vitest's globalSetup (test/global-setup.ts) builds it");
}

/** `config`: more daemon.json keys (runtimes ...), on top of the test daemon's own. */
export function testDaemon(opts: { mirror?: string; config?: Record<string, unknown> }): TestDaemon {
  const dir = mkdtempSync(join(tmpdir(), "tscompose-test-daemon-"));
  const stateDir = join(dir, "state");
  const socket = join(dir, "d.sock");
  // Lowercase alnum, at most 5: the engine derives bridge, veth, netns and chain names from it.
  const prefix = `t${randomBytes(2).toString("hex")}`;
  const configFile = join(dir, "daemon.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      "registry-mirrors": opts.mirror ? [opts.mirror] : [],
      // Docker Hub itself is a dead loopback port: a pull the mirror cannot serve fails here, it never leaves the machine.
      "x-tscompose-docker-hub-url": "http://127.0.0.1:9",
      // Names that are not the stack's go nowhere: a closed loopback port, never the host's resolvers.
      dns: ["127.0.0.1:9"],
      // Each test daemon a /16 of its own most of the time (a random one of the range), so parallel suites rarely share subnets.
      "default-address-pools": [{ base: `10.${randomPoolOctet("test-daemons")}.0.0/16`, size: 24 }],
      "x-tscompose-network-prefix": prefix,
      ...opts.config,
    }),
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TSCOMPOSE_STATE_DIR: stateDir,
    TSCOMPOSE_SOCKET: socket,
    TSCOMPOSE_CONFIG: configFile,
    TSCOMPOSE_LOG: join(dir, "daemon.log"),
    // A CLI call while the test's daemon is down must fail, not start a second daemon behind the test's back.
    TSCOMPOSE_NO_AUTOSTART: "1",
  };
  const d: TestDaemon = {
    dir,
    stateDir,
    socket,
    prefix,
    env,
    process: undefined,
    async start() {
      // TSCOMPOSE_TEST_DAEMON_NODE_ARGS: node flags for the daemon only (e.g. --cpu-prof when profiling a bench).
      const nodeArgs = process.env.TSCOMPOSE_TEST_DAEMON_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
      const child = spawn(process.execPath, [...nodeArgs, bin, "daemon", "--state-dir", stateDir], { env, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      d.process = child;
      const answers = async (): Promise<boolean> => {
        if (child.exitCode !== null) throw new StopWaiting(`daemon exited with ${child.exitCode}: ${stderr}`);
        return existsSync(socket) && (await pings(socket));
      };
      // A safety net, not a timing: files run in parallel forks, and a restart after kill -9 re-syncs
      // a dozen containers while the other forks load the cores (30 s was exceeded on a loaded machine).
      await eventually(answers, (yes) => yes, 90_000, "the daemon to answer", 100).catch((err: unknown) => {
        // The daemon's own log says where it stopped (the directory is removed with the suite).
        const tail = d.log().split("\n").slice(-40).join("\n");
        throw err instanceof StopWaiting ? err : new Error(`daemon did not start: ${stderr}\n--- daemon.log (last lines) ---\n${tail}`);
      });
    },
    async stop(signal = "SIGTERM") {
      const child = d.process;
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      // A daemon that does not finish its graceful stop is a bug to report, not to wait on until the
      // test's timeout: then a second SIGTERM would kill it while the timed-out test body, still
      // running, starts another daemon behind the next test's back.
      const hung = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 60_000).unref())]);
      if (hung) {
        const tail = d.log().split("\n").slice(-40).join("\n");
        child.kill("SIGKILL");
        await exited;
        d.process = undefined;
        throw new Error(`daemon did not exit within 60 s of ${signal}\n--- daemon.log (last lines) ---\n${tail}`);
      }
      d.process = undefined;
    },
    cli(args, o = {}) {
      // stderr of a command that succeeds too (warnings, hints).
      const r = spawnSync(bin, args, { cwd: o.cwd ?? dir, env: { ...env, ...o.env }, encoding: "utf8", input: o.input, stdio: ["pipe", "pipe", "pipe"], timeout: 180_000 });
      return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    },
    log: () => (existsSync(join(dir, "daemon.log")) ? readFileSync(join(dir, "daemon.log"), "utf8") : ""),
  };
  return d;
}

/**
 * GET /ping over the daemon's socket, from the test's own process: polling
 * with CLI commands (a node process started every 100 ms) took the cores a
 * starting daemon needs, several times over when forks restart daemons at once.
 */
function pings(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: `/${API_VERSION}/ping`, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** Everything the test daemon may have left on the host, by its prefix and state dir. */
export function leaks(d: TestDaemon): string[] {
  const found: string[] = [];
  const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").filter((l) => l.includes(d.stateDir));
  found.push(...mounts.map((m) => `mount: ${m.split(" ")[1]}`));
  const links = execFileSync("ip", ["-o", "link"], { encoding: "utf8" }).split("\n").filter((l) => l.includes(` ${d.prefix}`));
  found.push(...links.map((l) => `link: ${l.split(":")[1]?.trim()}`));
  const netns = existsSync("/var/run/netns") ? execFileSync("ls", ["/var/run/netns"], { encoding: "utf8" }).split("\n").filter((n) => n.startsWith(d.prefix)) : [];
  found.push(...netns.map((n) => `netns: ${n}`));
  for (const tool of ["iptables", "ip6tables"]) {
    const rules = execFileSync(`${tool}-save`, { encoding: "utf8" }).split("\n").filter((l) => l.includes(d.prefix.toUpperCase()) || l.includes(`${d.prefix}b-`));
    found.push(...rules.map((r) => `${tool}: ${r}`));
  }
  const procs = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).split("\n").filter((l) => l.includes(d.stateDir) && !l.includes(" ps -eo"));
  found.push(...procs.map((p) => `process: ${p.trim()}`));
  // Container cgroups under the daemon's parent (/<prefix>/<id>): a container nobody removed.
  for (const root of cgroupRoots()) {
    const parent = join(root, d.prefix);
    if (!existsSync(parent)) continue;
    for (const child of readdirSync(parent)) if (/^[0-9a-f]{64}$/.test(child)) found.push(`cgroup: ${join(parent, child)}`);
  }
  return found;
}

/** Removes the test daemon's directory and its (by now empty) parent cgroups, /<prefix> in every hierarchy. */
export function cleanupDir(d: TestDaemon): void {
  rmSync(d.dir, { recursive: true, force: true });
  for (const root of cgroupRoots()) removeEmptyTree(join(root, d.prefix));
}

/** rmdir depth-first: a cgroup directory goes only when nothing lives in it. */
function removeEmptyTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeEmptyTree(join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {
    // Still in use: leaks() reports what is inside.
  }
}
