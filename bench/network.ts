// Service networks, in one run, tscompose's embedded engine against docker
// (a private dockerd 20.10 in a network namespace of its own, see dockerd.ts):
//   1. attach-to-answer: from the moment a container is asked for on a
//      network until another container on that network gets the first A
//      answer for its name. Both engines are driven through their APIs (our
//      Engine in process; dockerd's Engine API over its socket: no CLI start-
//      up on either side). The asking container polls with a DNS client in
//      its network namespace (dns-probe.ts), every 5 ms.
//   2. DNS latency under a bounded load: COUNT queries for a container's
//      name, at most CONCURRENCY outstanding, from inside a container to its
//      resolver (our DNS on the gateway; docker's 127.0.0.11). Ours also on
//      the server's own port, without the DNAT from <gateway>:53 that
//      containers go through (what they asked before it existed): the ratio
//      is the price of that rule. Each from one socket, and from a socket per
//      query (a conntrack entry, so a NAT, per query, as C resolvers ask).
// All traffic stays in namespaces made here; names that are not known go to
// a dead loopback port (ours) or nowhere (dockerd's namespace has no route).
//
// Usage: npm run build:dev && node dist-dev/bench/network.js   (ROUNDS=20 COUNT=2000 CONCURRENCY=16; root needed)
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pushTestImage } from "../test/fixtures/push.js";
import { startRegistry } from "../test/fixtures/registry.js";
import type { TestRegistry } from "../test/fixtures/registry.js";
import { engineWorld } from "../test/support/engine.js";
import { listenersOn } from "../engine/network/testing.js";
import type { EngineWorld } from "../test/support/engine.js";
import { loadLayout, startBenchDockerd } from "./dockerd.js";
import type { BenchDockerd } from "./dockerd.js";
import { median, report } from "./harness.js";
import { tearDownBench } from "./teardown.js";
import type { Sample } from "./harness.js";
import { poolOctet } from "../test/support/pools.js";

const rounds = Number(process.env.ROUNDS ?? 20);
const count = Number(process.env.COUNT ?? 2000);
const concurrency = Number(process.env.CONCURRENCY ?? 16);
/** The load of each resolver is asked in this many blocks, interleaved with the others'. */
const BLOCKS = 8;
const SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];

/** A dns-probe.js process in the network namespace of the process `pid`. */
interface Probe {
  child: ChildProcess;
  /** Sends one command line and resolves with the next line of output. */
  ask(line: string): Promise<string>;
  close(): void;
}

async function startProbe(pid: number): Promise<Probe> {
  const script = join(import.meta.dirname, "dns-probe.js");
  const child = spawn("nsenter", [`--net=/proc/${pid}/ns/net`, process.execPath, script], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const waiting: ((l: string) => void)[] = [];
  lines.on("line", (l) => waiting.shift()?.(l));
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const ready = await Promise.race([next(), new Promise<string>((_, reject) => setTimeout(() => reject(new Error("dns-probe did not start")), 15_000))]);
  if (ready !== "ready") throw new Error(`dns-probe said ${ready}`);
  return {
    child,
    ask(line) {
      const p = next();
      child.stdin.write(`${line}\n`);
      return p;
    },
    close: () => child.stdin.end(),
  };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the network bench needs root (namespaces, bridges, dockerd)");
  const work = await mkdtemp(join(tmpdir(), "tscb-n-"));
  let registry: TestRegistry | undefined;
  let world: EngineWorld | undefined;
  let dockerd: BenchDockerd | undefined;
  const probes: Probe[] = [];
  try {
    registry = await startRegistry();
    const pushed = await pushTestImage(registry, "busybox");
    world = await engineWorld({ mirror: registry.url, poolOctet: poolOctet("bench-network") });
    const w = world;
    const engine = w.engine;
    await engine.pullImage("busybox");
    const net = await engine.createNetwork(w.networkSpec(`${w.prefix}-bench`));
    const onNet = { [net.name]: { aliases: [], ipv4Address: undefined } };
    const prober = await engine.createContainer(w.spec({ name: `${w.prefix}-prober`, cmd: SLEEPER, networkMode: "bridge", networks: onNet }));
    await engine.startContainer(prober.id);
    const ourProbe = await startProbe((await engine.inspectContainer(prober.id))!.pid!);
    probes.push(ourProbe);

    dockerd = await startBenchDockerd({ iptables: true });
    const d = dockerd;
    await loadLayout(d, `oci:${pushed.layout.dir}:${pushed.layout.tag}`, work);
    await d.docker(["network", "create", "benchnet"]);
    const dprober = (await d.api("POST", "/containers/create?name=prober", { Image: "busybox", Cmd: SLEEPER, HostConfig: { NetworkMode: "benchnet" } })) as { Id: string };
    await d.api("POST", `/containers/${dprober.Id}/start`);
    const dpid = ((await d.api("GET", `/containers/${dprober.Id}/json`)) as { State: { Pid: number } }).State.Pid;
    const dockerProbe = await startProbe(dpid);
    probes.push(dockerProbe);

    // 1. attach-to-answer, interleaved.
    let n = 0;
    const createOnly = { ours: [] as number[], docker: [] as number[] };
    const contenders = [
      {
        name: "tscompose engine",
        run: async () => {
          const name = `${w.prefix}-svc${++n}`;
          const t0 = performance.now();
          const answered = ourProbe.ask(`until ${net.gateway} 53 ${name}`);
          const c = await engine.createContainer(w.spec({ name, cmd: SLEEPER, networkMode: "bridge", networks: onNet }));
          await engine.startContainer(c.id);
          createOnly.ours.push(performance.now() - t0);
          const line = await answered;
          const took = performance.now() - t0;
          if (!line.startsWith("ok")) throw new Error(`tscompose: ${name} never resolved (${line})`);
          await engine.removeContainer(c.id, { force: true });
          return took;
        },
      },
      {
        name: "dockerd 20.10 (Engine API)",
        run: async () => {
          const name = `svc${++n}`;
          const t0 = performance.now();
          const answered = dockerProbe.ask(`until 127.0.0.11 53 ${name}`);
          const c = (await d.api("POST", `/containers/create?name=${name}`, { Image: "busybox", Cmd: SLEEPER, HostConfig: { NetworkMode: "benchnet" } })) as { Id: string };
          await d.api("POST", `/containers/${c.Id}/start`);
          createOnly.docker.push(performance.now() - t0);
          const line = await answered;
          const took = performance.now() - t0;
          if (!line.startsWith("ok")) throw new Error(`docker: ${name} never resolved (${line})`);
          await d.api("DELETE", `/containers/${c.Id}?force=true`);
          return took;
        },
      },
    ];
    for (const c of contenders) await c.run();
    createOnly.ours.length = 0;
    createOnly.docker.length = 0;
    const samples: Sample[] = contenders.map((c) => ({ name: c.name, times: [] }));
    for (let i = 0; i < rounds; i++) {
      for (const [j, c] of contenders.entries()) samples[j]!.times.push(await c.run());
    }
    report(`attach a container to a network until another container resolves its name (${rounds} rounds)`, samples, "dockerd 20.10 (Engine API)");
    console.log(`  create+start returned after (median): tscompose ${median(createOnly.ours).toFixed(1)} ms, docker ${median(createOnly.docker).toFixed(1)} ms`);

    // 2. DNS under a bounded load, each engine's resolver asked from inside a container.
    console.log(`\nDNS latency, ${count} A queries for a container's name from inside a container, ${concurrency} outstanding at most`);
    const own = (await listenersOn(net.gateway))[0]?.split(":")[1];
    if (own === undefined) throw new Error(`no DNS server listens on ${net.gateway}`);
    // A probe of its own: from one socket, the direct flow's reply tuple would be the DNATed
    // flow's too, and conntrack would have to resolve that clash on the measured path.
    const ownPortProbe = await startProbe((await engine.inspectContainer(prober.id))!.pid!);
    probes.push(ownPortProbe);
    for (const mode of ["", "fresh"]) {
      console.log(mode === "" ? "  one socket:" : "  a socket per query:");
      const rows: [string, Probe, string][] = [
        ["tscompose (<gateway>:53)", ourProbe, `${net.gateway} 53 ${w.prefix}-prober`],
        ["tscompose (own port)", ownPortProbe, `${net.gateway} ${own} ${w.prefix}-prober`],
        ["docker (127.0.0.11)", dockerProbe, "127.0.0.11 53 prober"],
      ];
      // Interleaved in blocks, the order rotating, so a change of the machine's load (shared
      // here) or a warm-up falls on every row alike.
      const results = rows.map(() => ({ latencies: [] as number[], errors: 0, wallMs: 0 }));
      for (const [, probe, target] of rows) await probe.ask(`load ${target} 200 ${concurrency} ${mode}`); // warm-up
      for (let block = 0; block < BLOCKS; block++) {
        for (let k = 0; k < rows.length; k++) {
          const i = (block + k) % rows.length;
          const [, probe, target] = rows[i]!;
          const line = await probe.ask(`load ${target} ${Math.ceil(count / BLOCKS)} ${concurrency} ${mode}`);
          const r = JSON.parse(line.slice("load ".length)) as { latencies: number[]; errors: number; wallMs: number };
          results[i]!.latencies.push(...r.latencies);
          results[i]!.errors += r.errors;
          results[i]!.wallMs += r.wallMs;
        }
      }
      const p50s: number[] = [];
      for (const [i, [label]] of rows.entries()) {
        const r = results[i]!;
        p50s.push(percentile(r.latencies, 50));
        console.log(
          `    ${label.padEnd(26)} p50 ${percentile(r.latencies, 50).toFixed(2)} ms  p90 ${percentile(r.latencies, 90).toFixed(2)} ms  ` +
            `p99 ${percentile(r.latencies, 99).toFixed(2)} ms  max ${Math.max(...r.latencies).toFixed(2)} ms  ` +
            `${((r.latencies.length / r.wallMs) * 1000).toFixed(0)} queries/s  errors ${r.errors}`,
        );
      }
      console.log(`    p50 <gateway>:53 (DNAT) / own port: ${((p50s[0] ?? NaN) / (p50s[1] ?? NaN)).toFixed(2)}x   p50 docker / tscompose: ${((p50s[2] ?? NaN) / (p50s[0] ?? NaN)).toFixed(2)}x`);
    }
  } finally {
    for (const p of probes) p.close();
    await tearDownBench({ dockerd, world, registry, work });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
