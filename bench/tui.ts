// The TUI under load: 200 containers in 10 stacks (4 services of 5
// replicas each), events arriving at 50/s (dies, starts, restarts, health
// changes), stats of every running container once a second. The real App
// (view model, connection, neo-blessed screen at 120x40) runs in this
// process against a stand-in daemon in a child process that serves the same
// API over a unix socket, so the CPU measured is the TUI's alone. Prints
// frame time p50/p99 (view model + layout + blessed's render of the frame),
// frames per second, and the TUI's CPU % under load and idle (no events,
// stats only). No peer is installed here (ctop, lazydocker): figures alone.
//
// Usage: npm run build:dev && node dist-dev/bench/tui.js [--seconds 10]
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { parseArgs } from "node:util";
import type { ContainerView, DaemonEvent, StackDetail, StackSummary, StatsSample } from "../src/daemon/api.js";
import { DaemonClient } from "../src/daemon/client.js";
import { LABEL } from "../model/labels.js";
import { App } from "../src/tui/app.js";
import { openTerm } from "../src/tui/term.js";

const STACKS = 10;
const SERVICES = 4;
const REPLICAS = 5;

function fleet(): ContainerView[] {
  const out: ContainerView[] = [];
  const now = Date.now();
  for (let s = 0; s < STACKS; s++) {
    for (let v = 0; v < SERVICES; v++) {
      for (let n = 1; n <= REPLICAS; n++) {
        const project = `stack${s}`;
        const service = ["web", "api", "worker", "cache"][v] as string;
        out.push({
          id: `${project}-${service}-${n}-${"0".repeat(40)}`,
          name: `${project}-${service}-${n}`,
          image: "docker.io/library/busybox:latest",
          imageId: "sha256:0",
          labels: { [LABEL.project]: project, [LABEL.service]: service, [LABEL.number]: String(n), [LABEL.oneoff]: "False" },
          state: "running",
          pid: 100,
          exitCode: undefined,
          oomKilled: false,
          error: undefined,
          createdAt: new Date(now - 3600_000).toISOString(),
          startedAt: new Date(now - 3600_000).toISOString(),
          finishedAt: undefined,
          restartCount: 0,
          command: ["sleep", "1000"],
          tty: false,
          openStdin: false,
          ports: v === 0 ? [{ containerPort: 80, hostPort: String(8000 + s * 10 + n), protocol: "tcp", hostIp: undefined }] : [],
          networks: {},
          project,
          service,
          number: n,
          health: v === 1 ? "healthy" : undefined,
        });
      }
    }
  }
  return out;
}

/** The stand-in daemon (child process): the API routes the TUI uses, events at a rate the parent sets. */
function serve(socket: string): void {
  const containers = fleet();
  const streams = new Set<ServerResponse>();
  let rate = 0;
  let tick = 0;
  const cpu = new Map<string, number>();
  const send = (res: ServerResponse, body: unknown): void => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://d");
    const p = url.pathname;
    if (p === "/v1/ping") return send(res, { version: "bench", pid: process.pid, engine: "embedded" });
    if (p === "/v1/bench") {
      rate = Number(url.searchParams.get("rate"));
      return send(res, { ok: true });
    }
    if (p === "/v1/containers") return send(res, containers);
    const one = /^\/v1\/containers\/([^/]+)$/.exec(p);
    if (one) {
      const c = containers.find((x) => x.id === decodeURIComponent(one[1] as string));
      if (c) return send(res, { ...c, healthLog: [] });
      res.writeHead(404);
      return res.end("{}");
    }
    if (p === "/v1/stacks") {
      const names = [...new Set(containers.map((c) => c.project as string))];
      return send(res, names.map((name): StackSummary => ({ name, status: "running", configFiles: [], running: 20, total: 20, watching: false, engine: "embedded" })));
    }
    const detail = /^\/v1\/stacks\/([^/]+)\/detail$/.exec(p);
    if (detail) {
      const name = detail[1] as string;
      return send(res, {
        name,
        project: { files: [`/srv/${name}/compose.yaml`], envFiles: [], profiles: [], env: {}, cwd: `/srv/${name}` },
        options: {},
        services: ["web", "api", "worker", "cache"].map((s) => ({ name: s, desired: REPLICAS, scheduled: false, image: "busybox", configHash: "h", config: { image: "busybox" } })),
      } satisfies StackDetail);
    }
    if (p === "/v1/stats") {
      const now = Date.now();
      return send(
        res,
        containers
          .filter((c) => c.state === "running")
          .map((c): StatsSample => {
            const used = (cpu.get(c.id) ?? 0) + Math.random() * 5e7;
            cpu.set(c.id, used);
            return { id: c.id, stats: { time: now, cpuUsageNs: used, systemUsageNs: now * 1e6 * 2, onlineCpus: 2, memoryUsage: 5e6 + Math.random() * 1e6, memoryLimit: 256e6, pids: 1, blockRead: 0, blockWrite: 0, netRx: 0, netTx: 0 } };
          }),
      );
    }
    if (/^\/v1\/containers\/[^/]+\/logs$/.test(p)) {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      for (let i = 0; i < 200; i++) res.write(`${JSON.stringify({ stream: "stdout", time: Date.now() - 200 + i, timestamp: "", line: `GET /item/${i} 200 ${"x".repeat(40)}` })}\n`);
      streams.add(res);
      req.on("close", () => streams.delete(res));
      return;
    }
    if (p === "/v1/events") {
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      streams.add(res);
      req.on("close", () => streams.delete(res));
      return;
    }
    res.writeHead(404);
    res.end("{}");
  });
  server.listen(socket, () => process.send?.("ready"));
  // Events: each tick one container changes (die -> restarting -> start), health flips, a log line.
  const step = (): void => {
    const wait = rate > 0 ? 1000 / rate : 100;
    setTimeout(step, wait);
    if (rate <= 0) return;
    const c = containers[tick % containers.length] as ContainerView;
    const phase = Math.floor(tick / containers.length) % 3;
    tick++;
    const base = { type: "container" as const, id: c.id, name: c.name, labels: c.labels, time: Date.now() };
    let e: DaemonEvent;
    if (phase === 0) {
      c.state = "exited";
      c.exitCode = 1;
      e = { ...base, action: "die", exitCode: 1 };
    } else if (phase === 1) {
      c.state = "running";
      c.restartCount++;
      c.startedAt = new Date().toISOString();
      e = { ...base, action: "start" };
    } else {
      c.health = c.health === "healthy" ? "unhealthy" : "healthy";
      e = { ...base, action: "health_status", status: c.health };
    }
    const line = `${JSON.stringify(e)}\n`;
    for (const s of streams) if (s.req.url === "/v1/events") s.write(line);
    for (const s of streams) if (s.req.url?.includes("/logs")) s.write(`${JSON.stringify({ stream: "stdout", time: Date.now(), timestamp: "", line: `event ${tick}` })}\n`);
  };
  step();
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

async function measure(app: App, seconds: number): Promise<{ p50: number; p99: number; fps: number; cpu: number }> {
  app.frameTimes.length = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  const frames = [...app.frameTimes];
  return { p50: pct(frames, 50), p99: pct(frames, 99), fps: frames.length / (wall / 1000), cpu: ((used.user + used.system) / 1000 / wall) * 100 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, serve: { type: "string" } } });
  if (values.serve) return serve(values.serve);
  const seconds = Number(values.seconds);
  const dir = mkdtempSync(join(tmpdir(), "tscompose-bench-tui-"));
  const socket = join(dir, "d.sock");
  const child: ChildProcess = fork(new URL(import.meta.url).pathname, ["--serve", socket], { stdio: "inherit" });
  try {
    await new Promise<void>((resolve) => child.once("message", () => resolve()));
    // A terminal of 120x40 that discards what blessed writes (counting it).
    let bytes = 0;
    const output = Object.assign(
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          cb();
        },
      }),
      { isTTY: true, columns: 120, rows: 40 },
    ) as unknown as NodeJS.WriteStream;
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input }) as unknown as NodeJS.ReadStream;
    const term = openTerm({ input, output });
    const client = new DaemonClient(socket);
    const app = new App(term, client, { color: true, cli: [], env: {} });
    const running = app.run();
    // Select a service row: its log pane follows 5 containers.
    await new Promise((r) => setTimeout(r, 1500));
    app.onKey({ full: "down", ch: undefined });

    console.log(`tscompose tui: ${STACKS * SERVICES * REPLICAS} containers in ${STACKS} stacks, 120x40, ${seconds} s per phase`);
    await client.json("GET", "/bench?rate=50");
    const load = await measure(app, seconds);
    const bytesLoad = bytes;
    await client.json("GET", "/bench?rate=0");
    await new Promise((r) => setTimeout(r, 1000));
    bytes = 0;
    const idle = await measure(app, seconds);
    console.log(`  events 50/s + stats 1/s   frame p50 ${load.p50.toFixed(2)} ms  p99 ${load.p99.toFixed(2)} ms  ${load.fps.toFixed(1)} frames/s  CPU ${load.cpu.toFixed(1)}%  (${(bytesLoad / seconds / 1024).toFixed(1)} KiB/s to the terminal)`);
    console.log(`  idle (stats 1/s only)     frame p50 ${idle.p50.toFixed(2)} ms  p99 ${idle.p99.toFixed(2)} ms  ${idle.fps.toFixed(1)} frames/s  CPU ${idle.cpu.toFixed(1)}%  (${(bytes / seconds / 1024).toFixed(1)} KiB/s to the terminal)`);
    console.log("  peer: none installed here (ctop, lazydocker); figures alone");
    app.stop();
    await running;
    term.destroy();
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

await main();
