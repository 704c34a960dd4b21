// Stacks end to end, in one run, against the peer (issue 8's bench):
//   the same 20-service and 100-service stacks (busybox, one network: the
//   project's default) under docker-compose 1.29 on a private dockerd
//   (bench/dockerd.ts: its own data root and netns, iptables on as compose's
//   networks need) and under tscompose (a daemon with its own state dir, like
//   the e2e tests'): `up -d` with the image cached, `ps`, `down`; medians and
//   ratios. Tools alternate round by round (these machines are noisy).
// Then the daemon at rest with 100 containers running: CPU over 10 s from
// /proc/<pid>/stat, and RSS; dockerd + containerd measured the same way.
//
// Stopping, fairly: busybox `sleep` as PID 1 ignores SIGTERM, so every stop
// would last the whole grace period and `down` would measure only the timeout.
// The main stacks run `sh -c "trap 'exit 0' TERM; sleep & wait"`, which ends
// on SIGTERM at once, under both tools, with the default grace period (10 s).
// A second phase runs plain `sleep` (TERM ignored) with `down -t 1`: there
// `down` can only be bounded by the grace period, never by the service count.
//
// Goals (issue 8): up of 20 cached services >= 5x faster than docker-compose;
// down bounded by the grace period rather than by the number of services;
// ps under 100 ms.
//
// Usage: npm run build:dev && node dist-dev/bench/up.js   (root; ROUNDS=5 for 20 services,
// ROUNDS_100=2 for 100, PS_REPEAT=5, PLAIN=0 skips the plain-sleep phase,
// REST=0 the at-rest measure, HANG_MS=600000 when a docker-compose run counts as hung)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pushTestImage } from "../test/fixtures/push.js";
import { startRegistry } from "../test/fixtures/registry.js";
import type { TestRegistry } from "../test/fixtures/registry.js";
import { bin, cleanupDir, leaks, testDaemon } from "../test/support/daemon.js";
import type { TestDaemon } from "../test/support/daemon.js";
import { listProcs, loadLayout, memoryOf, startBenchDockerd } from "./dockerd.js";
import type { BenchDockerd } from "./dockerd.js";
import { median, report, timeCommand } from "./harness.js";
import type { Sample } from "./harness.js";

const ROUNDS_20 = Number(process.env.ROUNDS ?? 5);
const ROUNDS_100 = Number(process.env.ROUNDS_100 ?? 2);
const PS_REPEAT = Number(process.env.PS_REPEAT ?? 5);
const PLAIN = process.env.PLAIN !== "0";
const REST = process.env.REST !== "0";
const IDLE_MS = 10_000;

type Kind = "trap" | "plain";

function stackYaml(n: number, kind: Kind): string {
  const command = kind === "trap" ? `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]` : `["sleep", "3600"]`;
  let y = "services:\n";
  for (let i = 1; i <= n; i++) y += `  s${String(i).padStart(3, "0")}:\n    image: busybox\n    command: ${command}\n`;
  return y;
}

interface Tool {
  name: string;
  /** Runs the tool with args, timed; throws with its stderr on failure. */
  time(args: string[]): number;
  /** Runs the tool, returning stdout. */
  out(args: string[]): string;
}

function tools(d: TestDaemon, docker: BenchDockerd): Tool[] {
  const dcEnv = { PATH: process.env.PATH, HOME: docker.dir, DOCKER_HOST: docker.host, DOCKER_CONFIG: join(docker.dir, "client"), COMPOSE_INTERACTIVE_NO_CLI: "1" };
  const out = (cmd: string, args: string[], env: NodeJS.ProcessEnv): string => {
    const r = spawnSync(cmd, args, { env, encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  };
  return [
    { name: "docker-compose 1.29", time: (a) => timeCompose(a, dcEnv), out: (a) => out("docker-compose", a, dcEnv) },
    { name: "tscompose", time: (a) => timeCommand(process.execPath, [bin, ...a], { env: d.env }), out: (a) => out(process.execPath, [bin, ...a], d.env) },
  ];
}

/** Runs that never ended (killed after HANG_MS), listed in the report. */
const hung: string[] = [];
const HANG_MS = Number(process.env.HANG_MS ?? 600_000);

/** dockerd's retries of "network ... has active endpoints" on a big `down`, counted for the report. */
let composeDownRetries = 0;

/**
 * docker-compose, timed. dockerd sometimes refuses to remove the network right
 * after stopping ~100 containers ("has active endpoints": its endpoint cleanup
 * lags); a user then runs `down` again, so the bench does too and counts both
 * runs' time against docker-compose.
 */
function timeCompose(args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  for (let attempt = 0; ; attempt++) {
    try {
      timeCommand("docker-compose", args, { env, timeoutMs: HANG_MS });
      return Number(process.hrtime.bigint() - start) / 1e6;
    } catch (e) {
      if (!args.includes("down") || attempt >= 2 || !/has active endpoints/.test((e as Error).message)) throw e;
      composeDownRetries++;
    }
  }
}

interface Samples {
  up: Sample[];
  ps: Sample[];
  down: Sample[];
}

function emptySamples(ts: Tool[], label: string): Samples {
  const mk = (): Sample[] => ts.map((t) => ({ name: `${t.name} (${label})`, times: [] }));
  return { up: mk(), ps: mk(), down: mk() };
}

function running(t: Tool, file: string, project: string): number {
  return t.out(["-p", project, "-f", file, "ps", "-q"]).split("\n").filter(Boolean).length;
}

/** up -d, ps (PS_REPEAT times), down, for every tool in turn (the order alternating by round). */
function roundOf(ts: Tool[], file: string, project: string, n: number, round: number, s: Samples, downArgs: string[]): void {
  const order = round % 2 === 0 ? ts.map((_, i) => i) : ts.map((_, i) => ts.length - 1 - i);
  for (const i of order) {
    const t = ts[i]!;
    try {
      s.up[i]!.times.push(t.time(["-p", project, "-f", file, "up", "-d"]));
    } catch (e) {
      // docker-compose 1.29 sometimes never exits from `up` of ~100 services
      // here (every thread parked, no request open at dockerd): count it, clean up, go on.
      if (!/ hung: /.test((e as Error).message)) throw e;
      hung.push(`${t.name}: up of ${n} services (round ${round + 1})`);
      t.time(["-p", project, "-f", file, "down", "-t", "0"]);
      continue;
    }
    const count = running(t, file, project);
    if (count !== n) throw new Error(`${t.name}: ${count} containers after up, ${n} expected`);
    for (let k = 0; k < PS_REPEAT; k++) s.ps[i]!.times.push(t.time(["-p", project, "-f", file, "ps"]));
    s.down[i]!.times.push(t.time(["-p", project, "-f", file, "down", ...downArgs]));
    if (running(t, file, project) !== 0) throw new Error(`${t.name}: containers left after down`);
  }
}

// ---- resources at rest

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

function cpuTicks(pid: number): number {
  try {
    // Fields after the command (which may hold spaces): utime and stime are the 12th and 13th.
    const rest = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").pop()!.split(" ");
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

interface AtRest {
  name: string;
  pids: number[];
  cpuPercent: number;
  rssMiB: number;
}

/** CPU (percent of one core) over IDLE_MS and RSS now, of each group of processes, measured over the same window. */
async function atRest(groups: { name: string; pids: number[] }[]): Promise<AtRest[]> {
  const before = groups.map((g) => g.pids.reduce((a, p) => a + cpuTicks(p), 0));
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return groups.map((g, i) => {
    const ticks = g.pids.reduce((a, p) => a + cpuTicks(p), 0) - (before[i] ?? 0);
    return {
      name: g.name,
      pids: g.pids,
      cpuPercent: (100 * ticks) / CLK_TCK / secs,
      rssMiB: g.pids.reduce((a, p) => a + memoryOf(p).rss, 0) / 2 ** 20,
    };
  });
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

function groupsFor(t: Tool, d: TestDaemon, docker: BenchDockerd): { name: string; pids: number[] }[] {
  const procs = listProcs();
  if (t.name === "tscompose") {
    return [
      // The daemon and its command launcher (engine/sys/launcher.ts), a perl child of it.
      { name: "tscompose daemon + launcher", pids: [d.process?.pid ?? -1, ...procs.filter((p) => p.cmd.startsWith("perl -e") && parentOf(p.pid) === d.process?.pid).map((p) => p.pid)] },
      { name: "conmon monitors", pids: procs.filter((p) => p.cmd.startsWith("/usr/bin/conmon") && p.cmd.includes(d.stateDir)).map((p) => p.pid) },
    ];
  }
  const shims = new Set(docker.shimPids());
  const mine = procs.filter((p) => p.cmd.includes(docker.dir) && !shims.has(p.pid));
  return [
    { name: "dockerd + containerd", pids: mine.filter((p) => /^(\S*\/)?(dockerd|containerd) /.test(p.cmd)).map((p) => p.pid) },
    { name: "containerd shims", pids: [...shims] },
  ];
}

// ---- main

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench/up needs root (containers, namespaces, a private dockerd)");
  const work = mkdtempSync(join(tmpdir(), "tscb-up-"));
  let registry: TestRegistry | undefined;
  let docker: BenchDockerd | undefined;
  let daemon: TestDaemon | undefined;
  const cleanups: (() => void)[] = [];
  try {
    registry = await startRegistry();
    const pushed = await pushTestImage(registry, "busybox");
    docker = await startBenchDockerd({ iptables: true });
    await loadLayout(docker, `oci:${pushed.layout.dir}:${pushed.layout.tag}`, work);
    daemon = testDaemon({ mirror: registry.url });
    await daemon.start();
    const ts = tools(daemon, docker);

    const files: Record<string, string> = {};
    for (const [n, kind] of [[1, "trap"], [20, "trap"], [100, "trap"], [20, "plain"], [100, "plain"]] as [number, Kind][]) {
      const f = join(work, `stack-${kind}-${n}.yaml`);
      writeFileSync(f, stackYaml(n, kind));
      files[`${kind}${n}`] = f;
    }
    for (const t of ts) {
      // Whatever a failed run leaves, down removes (projects are fixed names in a private daemon each).
      for (const key of Object.keys(files)) cleanups.push(() => void t.out(["-p", `bench${key}`, "-f", files[key]!, "down", "-t", "0"]));
    }

    // Warm-up: tscompose pulls busybox through the mirror once; both create and remove a network and a container once.
    for (const t of ts) {
      t.time(["-p", "benchtrap1", "-f", files.trap1!, "up", "-d"]);
      t.time(["-p", "benchtrap1", "-f", files.trap1!, "down"]);
    }

    console.log(`stack up/ps/down: ${ROUNDS_20} rounds of 20 services, ${ROUNDS_100} of 100; ps ${PS_REPEAT}x per round; CLK_TCK ${CLK_TCK}`);
    const s20 = emptySamples(ts, "20");
    for (let r = 0; r < ROUNDS_20; r++) roundOf(ts, files.trap20!, "benchtrap20", 20, r, s20, []);

    const s100 = emptySamples(ts, "100");
    for (let r = 0; r < ROUNDS_100; r++) roundOf(ts, files.trap100!, "benchtrap100", 100, r, s100, []);

    // At rest: each tool's 100 up alone, a few seconds to settle, then measured, then down.
    const rest: AtRest[] = [];
    for (const t of REST ? ts : []) {
      try {
        t.time(["-p", "benchtrap100", "-f", files.trap100!, "up", "-d"]);
      } catch (e) {
        if (!/ hung: /.test((e as Error).message)) throw e;
        hung.push(`${t.name}: up of 100 services for the at-rest measure`);
        t.time(["-p", "benchtrap100", "-f", files.trap100!, "down", "-t", "0"]);
        continue;
      }
      await new Promise((r) => setTimeout(r, 3000));
      rest.push(...(await atRest(groupsFor(t, daemon, docker))));
      t.time(["-p", "benchtrap100", "-f", files.trap100!, "down"]);
    }

    const plain = { s20: emptySamples(ts, "20, sleep ignores TERM, -t 1"), s100: emptySamples(ts, "100, sleep ignores TERM, -t 1") };
    if (PLAIN) {
      roundOf(ts, files.plain20!, "benchplain20", 20, 0, plain.s20, ["-t", "1"]);
      roundOf(ts, files.plain100!, "benchplain100", 100, 0, plain.s100, ["-t", "1"]);
    }

    // ---- report
    const base = ts[0]!.name;
    const show = (title: string, samples: Sample[]): void => report(title, samples, samples.find((s) => s.name.startsWith(base))!.name);
    show("up -d, 20 services, image cached", s20.up);
    show("ps, 20 services running", s20.ps);
    show("down, 20 services (stop on SIGTERM, default grace 10 s)", s20.down);
    show("up -d, 100 services, image cached", s100.up);
    show("ps, 100 services running", s100.ps);
    show("down, 100 services (stop on SIGTERM, default grace 10 s)", s100.down);
    if (PLAIN) {
      show("down -t 1, 20 services whose PID 1 ignores SIGTERM", plain.s20.down);
      show("down -t 1, 100 services whose PID 1 ignores SIGTERM", plain.s100.down);
    }
    if (hung.length > 0) console.log(`\nhung (killed after ${HANG_MS} ms, left out of the medians):\n  ${hung.join("\n  ")}`);
    if (composeDownRetries > 0) console.log(`\n(docker-compose down had to be run again ${composeDownRetries}x: "network has active endpoints"; both runs counted)`);
    console.log(`\nat rest with 100 containers running (CPU over ${IDLE_MS / 1000} s, percent of one core; RSS summed)`);
    for (const r of rest) console.log(`  ${r.name.padEnd(28)} ${String(r.pids.length).padStart(4)} procs  CPU ${r.cpuPercent.toFixed(2).padStart(6)} %  RSS ${r.rssMiB.toFixed(1).padStart(8)} MiB`);

    const m = (s: Sample[], i: number): number => median(s[i]!.times);
    const upRatio = m(s20.up, 0) / m(s20.up, 1);
    console.log("\ngoals");
    console.log(`  up of 20 cached services >= 5x faster than docker-compose: ${upRatio.toFixed(1)}x  ${upRatio >= 5 ? "MET" : "MISSED"}`);
    const ps100 = s100.ps[1]!.times.length > 0 ? `, ${m(s100.ps, 1).toFixed(0)} ms (100)` : "";
    console.log(`  ps under 100 ms: ${m(s20.ps, 1).toFixed(0)} ms (20 services)${ps100}  ${m(s20.ps, 1) < 100 && (ps100 === "" || m(s100.ps, 1) < 100) ? "MET" : "MISSED"}`);
    // The floor for any Node CLI on this machine: the runtime's own start-up.
    const bare = median(Array.from({ length: PS_REPEAT }, () => timeCommand(process.execPath, ["-e", "0"], {})));
    console.log(`    (node -e 0 alone takes ${bare.toFixed(0)} ms here)`);
    const down20 = m(s20.down, 1);
    if (s100.down[1]!.times.length > 0) {
      const down100 = m(s100.down, 1);
      console.log(`  down bounded by the grace period, not the service count: ${down20.toFixed(0)} ms (20) -> ${down100.toFixed(0)} ms (100), ${(down100 / down20).toFixed(1)}x for 5x the services`);
    }
    if (PLAIN) {
      const p20 = m(plain.s20.down, 1);
      const p100 = m(plain.s100.down, 1);
      console.log(`    with stops that must wait out -t 1: ${p20.toFixed(0)} ms (20), ${p100.toFixed(0)} ms (100): grace 1000 ms + ${(p20 - 1000).toFixed(0)} / ${(p100 - 1000).toFixed(0)} ms of work`);
    }
    cleanups.length = 0;
  } finally {
    for (const c of cleanups) {
      try {
        c();
      } catch {
        // not up
      }
    }
    if (daemon) {
      await daemon.stop();
      const left = leaks(daemon);
      if (left.length > 0) console.log(`\nLEAKS after the run:\n  ${left.join("\n  ")}`);
      else cleanupDir(daemon);
    }
    await docker?.stop();
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
