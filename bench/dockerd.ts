// The benches' peer: a private dockerd (Debian's docker.io 20.10) with its
// own data root, exec root, pid file, socket and cgroup parent under one temp
// dir, run inside a network namespace of its own that holds only loopback.
// Why the namespace: with iptables on (user-defined networks and their DNS
// need it) dockerd adds DOCKER chains and sets the FORWARD policy to DROP,
// and its embedded DNS forwards unknown names to the host's resolvers; in a
// namespace of its own, all of that stays there and disappears with it, and
// no query can leave the machine. stop() removes its containers, ends it,
// unmounts what it left, and deletes the namespace, dir and cgroups.
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTree } from "../engine/cgroups/v1.js";
import { run } from "../engine/sys/exec.js";
import { cgroupRoots } from "../test/support/engine.js";

export interface BenchDockerd {
  dir: string;
  /** unix:///.../docker.sock */
  host: string;
  socket: string;
  netns: string;
  /** The docker CLI against this daemon (extraEnv: DOCKER_BUILDKIT=0 ...); rejects with its stderr. */
  docker(args: string[], extraEnv?: Record<string, string>): Promise<string>;
  /** One call of the Engine API over the unix socket (no CLI in the way); rejects on a status >= 400. */
  api(method: string, path: string, body?: unknown): Promise<unknown>;
  /** Pids of the containerd shims (one per running container). */
  shimPids(): number[];
  stop(): Promise<void>;
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const point = line.split(" ")[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (point && (point === dir || point.startsWith(`${dir}/`))) out.push(point);
  }
  return out.sort((a, b) => b.length - a.length);
}

export async function startBenchDockerd(opts: { iptables: boolean }): Promise<BenchDockerd> {
  const tag = randomBytes(3).toString("hex");
  // Short: the sockets below it must fit in sun_path (108 bytes).
  const dir = await mkdtemp(join(tmpdir(), "tscb-d-"));
  const netns = `tscbd-${tag}`;
  const cgroupParent = `tscbd-${tag}`;
  const socket = join(dir, "docker.sock");
  const host = `unix://${socket}`;
  await run("ip", ["netns", "add", netns]);
  await run("ip", ["netns", "exec", netns, "ip", "link", "set", "lo", "up"]);
  const log = openSync(join(dir, "dockerd.log"), "a");
  let child: ChildProcess;
  try {
    // nsenter --net only: dockerd keeps the host's mount namespace, so its mounts are ours to see and clean.
    child = spawn(
      "nsenter",
      [
        `--net=/var/run/netns/${netns}`,
        "dockerd",
        "--data-root", `${dir}/data`,
        "--exec-root", `${dir}/exec`,
        "--pidfile", `${dir}/docker.pid`,
        "--host", host,
        "--storage-driver=overlay2",
        "--cgroup-parent", `/${cgroupParent}`,
        ...(opts.iptables ? [] : ["--iptables=false", "--ip-forward=false", "--bridge=none"]),
      ],
      { stdio: ["ignore", log, log], env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" } },
    );
  } finally {
    closeSync(log);
  }
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", DOCKER_CONFIG: join(dir, "client"), HOME: dir };
  const docker = (args: string[], extraEnv: Record<string, string> = {}): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile("docker", ["-H", host, ...args], { env: { ...env, ...extraEnv }, maxBuffer: 64 << 20, encoding: "utf8" }, (err, stdout, stderr) => {
        if (err) reject(new Error(`docker ${args.join(" ")}: ${stderr.trim() || err.message}`, { cause: err }));
        else resolve(stdout);
      });
    });
  const api = (method: string, path: string, body?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request({ socketPath: socket, method, path, headers: data ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) } : {} }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => {
          if ((res.statusCode ?? 500) >= 400) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.trim()}`));
          else resolve(text ? (JSON.parse(text) as unknown) : undefined);
        });
      });
      req.on("error", reject);
      req.end(data);
    });
  // The shims name our exec root in their -address argument.
  const shimPids = (): number[] => listProcs().filter((p) => p.cmd.includes("containerd-shim") && p.cmd.includes(dir)).map((p) => p.pid);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const ids = (await docker(["ps", "-aq"]).catch(() => "")).split("\n").filter(Boolean);
      if (ids.length > 0) await docker(["rm", "-f", ...ids]).catch(() => undefined);
      child.kill("SIGTERM");
      if (!(await exited(child, 20_000))) {
        child.kill("SIGKILL");
        await exited(child, 5_000);
      }
    }
    for (const m of mountsUnder(dir)) await run("umount", ["-l", m], { allowFailure: true });
    await run("ip", ["netns", "del", netns], { allowFailure: true });
    for (const root of cgroupRoots()) await removeTree(join(root, cgroupParent)).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      const tail = readFileSync(join(dir, "dockerd.log"), "utf8").trim().split("\n").slice(-5).join("\n");
      await stop();
      throw new Error(`the private dockerd did not start: ${tail}`);
    }
    try {
      await docker(["version", "--format", "{{.Server.Version}}"]);
      return { dir, host, socket, netns, docker, api, shimPids, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Every process with its command line (for RSS sums by name). */
export function listProcs(): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.push({ pid: Number(name), cmd: readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0/g, " ") });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** RSS and PSS of a process in bytes (PSS splits shared pages between their users: the fairer per-process figure). */
export function memoryOf(pid: number): { rss: number; pss: number } {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? 0) * 1024;
    return { rss: kb("Rss"), pss: kb("Pss") };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/** Loads an OCI layout's image into the daemon as busybox:latest (skopeo writes a docker-archive of it). */
export async function loadLayout(d: BenchDockerd, layoutRef: string, scratchDir: string): Promise<void> {
  const archive = join(scratchDir, `image-${randomBytes(3).toString("hex")}.tar`);
  await run("skopeo", ["--insecure-policy", "copy", "--quiet", layoutRef, `docker-archive:${archive}:busybox:latest`]);
  await d.docker(["load", "-q", "-i", archive]);
  await rm(archive, { force: true });
}
