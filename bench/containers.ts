// Containers, in one run, interleaved round by round (these machines are noisy):
//   1. create + start + wait (+ remove) of a trivial container (`true`), N
//      times each, by tscompose's embedded engine (createEngine: image from a
//      local registry, overlay rootfs, runc under conmon), by raw `runc run`
//      on a bundle prepared once from the same busybox image (umoci), without
//      a seccomp filter and with the one ours get (Docker's default profile),
//      and by `docker run --rm` on a private dockerd; plus what converting the
//      profile for a container costs, and a cached lookup;
//   2. memory of the per-container monitor with N containers running: conmon
//      for tscompose, containerd-shim-runc-v2 for docker (RSS and PSS summed
//      from /proc).
// Goal (issue 5): within 2x of raw runc, well ahead of docker run.
//
// Usage: npm run build:dev && node dist-dev/bench/containers.js   (ROUNDS=50 by default; root needed)
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTree } from "../engine/cgroups/v1.js";
import { DEFAULT_CAPABILITIES } from "../engine/runtime/caps.js";
import { containerSeccomp, defaultSeccompProfile, seccompHost, toOciSeccomp } from "../engine/runtime/seccomp.js";
import { run } from "../engine/sys/exec.js";
import { pushTestImage } from "../test/fixtures/push.js";
import { startRegistry } from "../test/fixtures/registry.js";
import type { TestRegistry } from "../test/fixtures/registry.js";
import { cgroupRoots, engineWorld } from "../test/support/engine.js";
import type { EngineWorld } from "../test/support/engine.js";
import { listProcs, loadLayout, memoryOf, startBenchDockerd } from "./dockerd.js";
import type { BenchDockerd } from "./dockerd.js";
import { median, report } from "./harness.js";
import { tearDownBench } from "./teardown.js";
import type { Sample } from "./harness.js";
import { poolOctet } from "../test/support/pools.js";

const rounds = Number(process.env.ROUNDS ?? 50);
const running = Number(process.env.RUNNING ?? 50);

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(2);

function runSync(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr.toString()}`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the containers bench needs root (runc, overlay mounts, dockerd)");
  const tag = randomBytes(3).toString("hex");
  const work = await mkdtemp(join(tmpdir(), "tscb-c-"));
  let registry: TestRegistry | undefined;
  let world: EngineWorld | undefined;
  let dockerd: BenchDockerd | undefined;
  const runcRoot = join(work, "runc-root");
  const runcCgroup = `tscb-runc-${tag}`;
  try {
    registry = await startRegistry();
    const pushed = await pushTestImage(registry, "busybox");
    world = await engineWorld({ mirror: registry.url, poolOctet: poolOctet("bench-containers") });
    const engine = world.engine;
    await engine.pullImage("busybox");

    // The runc bundle: the same image unpacked by umoci (an independent unpacker), its config told to run `true`.
    const layout = join(work, "layout");
    await cp(pushed.layout.dir, layout, { recursive: true });
    const bundle = join(work, "bundle");
    await run("umoci", ["unpack", "--image", `${layout}:${pushed.layout.tag}`, bundle]);
    const config = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as {
      process: { args: string[]; terminal: boolean; capabilities?: { bounding?: string[] } };
      root: { path: string; readonly?: boolean };
      linux: { cgroupsPath?: string; seccomp?: unknown };
    };
    config.process.args = ["/bin/true"];
    config.process.terminal = false;
    config.linux.cgroupsPath = `/${runcCgroup}/bench`;
    // The plain peer runs without a seccomp filter (as measured before containers had one) ...
    const umociSeccomp = config.linux.seccomp !== undefined;
    delete config.linux.seccomp;
    await writeFile(join(bundle, "config.json"), JSON.stringify(config));
    // ... and a second bundle runs with the filter ours get (Docker's default profile for its capabilities).
    const bundleSeccomp = join(work, "bundle-seccomp");
    await mkdir(bundleSeccomp);
    const seccomp = containerSeccomp(undefined, config.process.capabilities?.bounding ?? DEFAULT_CAPABILITIES);
    await writeFile(join(bundleSeccomp, "config.json"), JSON.stringify({ ...config, root: { ...config.root, path: join(bundle, "rootfs") }, linux: { ...config.linux, cgroupsPath: `/${runcCgroup}/bench-s`, seccomp } }));

    // The peer: a private dockerd, with the same image loaded from a docker-archive of the same layout.
    dockerd = await startBenchDockerd({ iptables: false });
    await loadLayout(dockerd, `oci:${layout}:${pushed.layout.tag}`, work);

    const phases = { create: [] as number[], start: [] as number[], wait: [] as number[], remove: [] as number[], cpu: [] as number[] };
    let n = 0;
    const contenders: { name: string; run: () => Promise<number> }[] = [
      {
        name: "tscompose engine (create+start+wait+rm)",
        run: async () => {
          const cpu0 = process.cpuUsage();
          const t0 = process.hrtime.bigint();
          const c = await engine.createContainer(world!.spec({ name: `${world!.prefix}-b${++n}`, cmd: ["true"], networkMode: "none" }));
          const t1 = process.hrtime.bigint();
          await engine.startContainer(c.id);
          const t2 = process.hrtime.bigint();
          const { exitCode } = await engine.waitContainer(c.id);
          const t3 = process.hrtime.bigint();
          await engine.removeContainer(c.id);
          const total = ms(t0);
          if (exitCode !== 0) throw new Error(`true exited with ${exitCode}`);
          phases.create.push(Number(t1 - t0) / 1e6);
          phases.start.push(Number(t2 - t1) / 1e6);
          phases.wait.push(Number(t3 - t2) / 1e6);
          phases.remove.push(ms(t3));
          const cpu = process.cpuUsage(cpu0);
          phases.cpu.push((cpu.user + cpu.system) / 1000);
          return total;
        },
      },
      {
        name: "runc run (prepared bundle)",
        run: () => {
          const t0 = process.hrtime.bigint();
          runSync("runc", ["--root", runcRoot, "run", "--bundle", bundle, `tscb-${tag}-${++n}`]);
          return Promise.resolve(ms(t0));
        },
      },
      {
        name: "runc run (prepared bundle, seccomp)",
        run: () => {
          const t0 = process.hrtime.bigint();
          runSync("runc", ["--root", runcRoot, "run", "--bundle", bundleSeccomp, `tscb-${tag}-${++n}`]);
          return Promise.resolve(ms(t0));
        },
      },
      {
        name: "docker run --rm (dockerd 20.10)",
        run: () => {
          const t0 = process.hrtime.bigint();
          runSync("docker", ["-H", dockerd!.host, "run", "--rm", "--network", "none", "busybox", "true"]);
          return Promise.resolve(ms(t0));
        },
      },
    ];
    // One warm-up each, then the rounds, interleaved.
    for (const c of contenders) await c.run();
    for (const k of Object.values(phases)) k.length = 0;
    const samples: Sample[] = contenders.map((c) => ({ name: c.name, times: [] }));
    for (let i = 0; i < rounds; i++) {
      for (const [j, c] of contenders.entries()) samples[j]!.times.push(await c.run());
    }
    report(`create+start+wait of \`true\`, ${rounds} times each`, samples, "docker run --rm (dockerd 20.10)");
    const [ours, runc, runcSeccomp, docker] = samples.map((s) => median(s.times)) as [number, number, number, number];
    console.log(`  tscompose (seccomp on) / runc run (no seccomp): ${(ours / runc).toFixed(2)}x (goal: within 2x)${umociSeccomp ? " [umoci's seccomp removed]" : ""}`);
    console.log(`  tscompose (seccomp on) / runc run (same seccomp): ${(ours / runcSeccomp).toFixed(2)}x; the filter's cost in runc: ${(runcSeccomp - runc).toFixed(1)} ms`);
    const conv = seccompConversionCost(config.process.capabilities?.bounding ?? DEFAULT_CAPABILITIES);
    console.log(`  seccomp profile for a container: ${conv.uncachedMs.toFixed(2)} ms converted, ${(conv.cachedMs * 1000).toFixed(1)} µs from the cache`);
    console.log(`  docker run / tscompose: ${(docker / ours).toFixed(1)}x`);
    console.log(
      `  tscompose phases (median ms): create ${median(phases.create).toFixed(1)}, start ${median(phases.start).toFixed(1)}, ` +
        `wait ${median(phases.wait).toFixed(1)}, rm ${median(phases.remove).toFixed(1)}; engine CPU per container ${median(phases.cpu).toFixed(1)} ms`,
    );

    // 2. Monitors with `running` containers up.
    const ids: string[] = [];
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < running; i++) {
      const c = await engine.createContainer(world.spec({ name: `${world.prefix}-s${i}`, cmd: ["sleep", "3600"], networkMode: "none", stopTimeoutMs: 0 }));
      await engine.startContainer(c.id);
      ids.push(c.id);
    }
    const oursStartAll = ms(t0);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < running; i++) await dockerd.docker(["run", "-d", "--network", "none", "busybox", "sleep", "3600"]);
    const dockerStartAll = ms(t0);
    await new Promise((r) => setTimeout(r, 1000)); // let the monitors settle after their start-up work
    const stateDir = world.stateDir;
    const ourMonitors = listProcs()
      .filter((p) => p.cmd.includes("conmon") && p.cmd.includes(stateDir))
      .map((p) => memoryOf(p.pid));
    const shims = dockerd.shimPids().map(memoryOf);
    const sum = (xs: { rss: number; pss: number }[]) => xs.reduce((a, b) => ({ rss: a.rss + b.rss, pss: a.pss + b.pss }), { rss: 0, pss: 0 });
    const o = sum(ourMonitors);
    const d = sum(shims);
    console.log(`\nper-container monitor memory with ${running} containers running (sleep)`);
    console.log(
      `  conmon (tscompose)                 ${ourMonitors.length} processes  RSS ${mb(o.rss)} MB total, ${mb(o.rss / Math.max(1, ourMonitors.length))} MB each;  PSS ${mb(o.pss / Math.max(1, ourMonitors.length))} MB each`,
    );
    console.log(
      `  containerd-shim-runc-v2 (docker)   ${shims.length} processes  RSS ${mb(d.rss)} MB total, ${mb(d.rss / Math.max(1, shims.length))} MB each;  PSS ${mb(d.pss / Math.max(1, shims.length))} MB each`,
    );
    console.log(`  starting all ${running} one after another: tscompose ${(oursStartAll / 1000).toFixed(2)} s, docker run -d ${(dockerStartAll / 1000).toFixed(2)} s`);
    for (const id of ids) await engine.removeContainer(id, { force: true });
  } finally {
    await tearDownBench({ dockerd, world, registry, work });
    for (const root of cgroupRoots()) await removeTree(join(root, runcCgroup)).catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});

/** Converting Docker's profile for one capability set, and looking it up once converted (medians of 200). */
function seccompConversionCost(caps: readonly string[]): { uncachedMs: number; cachedMs: number } {
  const uncached: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < 200; i++) {
    let t0 = process.hrtime.bigint();
    toOciSeccomp(defaultSeccompProfile(), caps, seccompHost());
    uncached.push(ms(t0));
    t0 = process.hrtime.bigint();
    containerSeccomp(undefined, caps);
    cached.push(ms(t0));
  }
  return { uncachedMs: median(uncached), cachedMs: median(cached) };
}
