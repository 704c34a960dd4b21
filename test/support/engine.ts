// A private embedded engine for engine-level suites and benchmarks: its own
// state dir and daemon.json (the fixture registry as docker.io's mirror,
// Docker Hub and DNS forwarding pointed at a dead loopback port, an address
// pool of its own, kernel objects under a unique prefix), opened through
// openEmbeddedEngine() exactly as the daemon opens it. leaks() finds whatever the
// engine left on the host by that prefix and state dir, so a suite can assert
// that it leaves nothing behind. No vitest here: benches use it too.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { removeTree } from "../../engine/cgroups/v1.js";
import { openEmbeddedEngine } from "../../engine/index.js";
import type { ImageService } from "../../engine/image/service.js";
import { baseSpec } from "../../engine/runtime/testing.js";
import type { ContainerSpec, Engine, NetworkSpec } from "../../engine/types.js";
import { run } from "../../engine/sys/exec.js";
import { eventually } from "./wait.js";
import { collector } from "../../engine/testsuite/collector.js";
export { collector };

// Compiled into dist-dev/test/support by `npm run build:dev` (the benches use this file): the repo is one more level up there.
const up2 = resolve(import.meta.dirname, "../..");
export const repoRoot = basename(up2) === "dist-dev" ? dirname(up2) : up2;

export interface EngineWorldOptions {
  /** The fixture registry's URL (http://127.0.0.1:port), docker.io's mirror. */
  mirror: string;
  /** Second octet of the 10.x.0.0/16 address pool: the suite's own, from test/support/pools.ts (parallel suites never overlap). */
  poolOctet: number;
  /** Extra engine log lines go here (default: dropped). */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface EngineWorld {
  dir: string;
  stateDir: string;
  configFile: string;
  /** 1-5 of [a-z0-9]: bridges <prefix>b-, veths <prefix>v, netns <prefix>-, chains <PREFIX>, cgroups /<prefix>. */
  prefix: string;
  /** The engine currently open (replaced by reopen()). */
  engine: Engine;
  /** The image service inside it, as the daemon has it: the image verbs the Engine interface lacks (save, tag ...). */
  images: ImageService;
  /** Closes the current engine (unless already closed) and opens a new one on the same state dir. */
  reopen(opts?: { alreadyClosed?: boolean }): Promise<Engine>;
  close(): Promise<void>;
  /** A complete ContainerSpec for busybox with a unique name. */
  spec(over?: Partial<ContainerSpec>): ContainerSpec;
  networkSpec(name: string, over?: Partial<NetworkSpec>): NetworkSpec;
  /** Mounts, links, namespaces, iptables lines, processes, cgroups and DNS listeners the engine left behind. */
  leaks(): Promise<string[]>;
  /** Removes every container, network and volume, closes the engine, removes the cgroup parent and the directory. */
  cleanup(): Promise<void>;
  /** cleanup(), then what leaks() still finds once conmon has had 3 s to write its exit file and go (for an afterAll). */
  cleanupAndFindLeaks(): Promise<string[]>;
}

export async function engineWorld(opts: EngineWorldOptions): Promise<EngineWorld> {
  const dir = await mkdtemp(join(tmpdir(), "tsc-eng-"));
  const stateDir = join(dir, "state");
  const configFile = join(dir, "daemon.json");
  const prefix = `e${randomBytes(2).toString("hex")}`;
  await writeFile(
    configFile,
    JSON.stringify({
      "registry-mirrors": [opts.mirror],
      // A pull the mirror cannot serve fails here and never leaves the machine.
      "x-tscompose-docker-hub-url": "http://127.0.0.1:9",
      // Names that are not ours go to a closed loopback port, never to the host's resolvers.
      dns: ["127.0.0.1:9"],
      "default-address-pools": [{ base: `10.${opts.poolOctet}.0.0/16`, size: 24 }],
      "x-tscompose-network-prefix": prefix,
    }),
  );
  const open = () => openEmbeddedEngine({ kind: "embedded", stateDir, configFile, log: opts.log });
  let closed = false;
  let n = 0;
  const gateways = new Set<string>();
  const first = await open();
  const world: EngineWorld = {
    dir,
    stateDir,
    configFile,
    prefix,
    engine: first.engine,
    images: first.images,
    async reopen(o = {}) {
      if (!closed && !o.alreadyClosed) await world.engine.close();
      const opened = await open();
      world.engine = opened.engine;
      world.images = opened.images;
      closed = false;
      return world.engine;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const net of await world.engine.listNetworks()) gateways.add(net.gateway);
      await world.engine.close();
    },
    spec(over = {}) {
      return baseSpec({ name: `${prefix}-c${++n}`, image: "busybox", stopTimeoutMs: 2000, ...over });
    },
    networkSpec(name, over = {}) {
      return { name, labels: {}, driver: "bridge", internal: false, subnet: undefined, gateway: undefined, ...over };
    },
    async leaks() {
      const found: string[] = [];
      for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
        if (line.includes(stateDir) || line.includes(`/netns/${prefix}-`)) found.push(`mount ${line.split(" ")[4] ?? line}`);
      }
      for (const link of readdirSync("/sys/class/net")) if (link.startsWith(prefix)) found.push(`link ${link}`);
      if (existsSync("/var/run/netns")) for (const ns of readdirSync("/var/run/netns")) if (ns.startsWith(`${prefix}-`)) found.push(`netns ${ns}`);
      for (const tool of ["iptables", "ip6tables"]) {
        for (const line of (await run(`${tool}-save`, [])).stdout.split("\n")) {
          if (line.includes(prefix.toUpperCase()) || line.includes(`${prefix}b-`)) found.push(`${tool} ${line}`);
        }
      }
      found.push(...(await processesOf(stateDir, prefix)));
      for (const root of cgroupRoots()) {
        for (const child of await readdir(join(root, prefix)).catch((): string[] => [])) {
          if (/^[0-9a-f]{64}$/.test(child)) found.push(`cgroup ${join(root, prefix, child)}`);
        }
      }
      if (!closed) for (const net of await world.engine.listNetworks().catch(() => [])) gateways.add(net.gateway);
      const listeners = (await run("ss", ["-Hlnu"])).stdout;
      for (const gw of gateways) if (closed && listeners.includes(`${gw}:53 `)) found.push(`DNS listener on ${gw}:53`);
      return found;
    },
    async cleanupAndFindLeaks() {
      await world.cleanup();
      // Returns what is left rather than throwing, for the caller's expect(...).toEqual([]).
      return eventually(() => world.leaks(), (left) => left.length === 0, 3000, "nothing left behind", 100).catch(() => world.leaks());
    },
    async cleanup() {
      if (closed) await world.reopen({ alreadyClosed: true });
      const e = world.engine;
      for (const c of await e.listContainers({ all: true })) await e.removeContainer(c.id, { force: true, volumes: true }).catch(() => undefined);
      for (const net of await e.listNetworks()) await e.removeNetwork(net.name).catch(() => undefined);
      for (const v of await e.listVolumes()) await e.removeVolume(v.name).catch(() => undefined);
      await world.close();
      for (const root of cgroupRoots()) await removeTree(join(root, prefix)).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** /sys/fs/cgroup/<controller> (v1, hybrid) or /sys/fs/cgroup (v2). */
export function cgroupRoots(): string[] {
  const names = readdirSync("/sys/fs/cgroup");
  if (names.includes("cgroup.controllers")) return ["/sys/fs/cgroup"];
  return names.filter((n) => !n.includes(".")).map((n) => join("/sys/fs/cgroup", n));
}

/** Processes naming the state dir (monitors) or living in a cgroup under /<prefix>/ (containers), except ours. */
async function processesOf(stateDir: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replace(/\0/g, " ").trim();
    const cgroup = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
    if (cmd.includes(stateDir) || cgroup.includes(`:/${prefix}/`)) out.push(`process ${pid}: ${cmd}`);
  }
  return out;
}


/** Runs a command in a container, returning its exit code and output. */
export async function execText(
  engine: Engine,
  id: string,
  cmd: string[],
  opts: { timeoutMs?: number; user?: string; env?: string[] } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const out = collector();
  const err = collector();
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
  const { exitCode } = await engine.exec(id, { cmd, stdout: out.stream, stderr: err.stream, signal, user: opts.user, env: opts.env });
  return { exitCode, stdout: out.text(), stderr: err.text() };
}

/** The whole log of a container as "stream: line" strings, without following. */
export async function logLines(engine: Engine, id: string): Promise<{ stream: string; line: string; time: number }[]> {
  const out: { stream: string; line: string; time: number }[] = [];
  for await (const e of engine.logs(id)) out.push({ stream: e.stream, line: e.line, time: e.time });
  return out;
}


// ---- an engine in a child process, to be killed with SIGKILL

/** What engine-child.ts is asked to do (passed as JSON in its environment). */
export type EngineChildTask =
  | { kind: "run-container"; spec: ContainerSpec }
  | { kind: "create-network"; spec: NetworkSpec; pauseAt: string };

export const ENGINE_CHILD_ENV = "TSC_ENGINE_CHILD";

export interface EngineChildConfig {
  stateDir: string;
  configFile: string;
  task: EngineChildTask;
}

export interface EngineChild {
  child: ChildProcess;
  /** The JSON the child printed when it reached its point (the container's info; or the pause point). */
  reached: Record<string, unknown>;
  /** SIGKILL, resolved once the child is gone. */
  kill(): Promise<void>;
}

/**
 * Runs test/support/engine-child.ts with vite-node (no build needed) and
 * resolves once it printed its `ready` line: a container running, or a
 * network creation paused at a hook (engine/network/hooks.ts).
 */
export async function startEngineChild(cfg: EngineChildConfig, timeoutMs = 90_000): Promise<EngineChild> {
  const bin = join(repoRoot, "node_modules", ".bin", "vite-node");
  const env: NodeJS.ProcessEnv = { ...process.env, [ENGINE_CHILD_ENV]: JSON.stringify(cfg) };
  if (cfg.task.kind === "create-network") env.TSCOMPOSE_NETWORK_PAUSE_AT = cfg.task.pauseAt;
  const child = spawn(bin, [join(repoRoot, "test", "support", "engine-child.ts")], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const reached = await new Promise<Record<string, unknown>>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`engine child did not get ready: ${err}`)), timeoutMs);
    const check = () => {
      const line = out.split("\n").find((l) => l.startsWith("ready "));
      const paused = /paused at (\S+)/.exec(err);
      if (line) {
        clearTimeout(timer);
        resolvePromise(JSON.parse(line.slice("ready ".length)) as Record<string, unknown>);
      } else if (paused) {
        clearTimeout(timer);
        resolvePromise({ pausedAt: paused[1] });
      }
    };
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      check();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
      check();
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`engine child exited (${code}) before it was ready: ${err}`));
    });
  });
  return {
    child,
    reached,
    kill: () =>
      new Promise<void>((resolveKill) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolveKill();
        child.once("exit", () => resolveKill());
        child.kill("SIGKILL");
      }),
  };
}
