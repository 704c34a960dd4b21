// Committing a container that wrote MB megabytes of new files (50 by default;
// half random, half text-like, in files of 1 MB), in one run:
//   our engine's commitContainer  vs  dockerd's POST /commit (a private
//   dockerd, over its socket: no CLI start-up on either side).
// The same container is committed each round (the same changes: the same
// layer); the new image is removed between rounds, untimed. Contenders
// alternate round by round; medians and the ratio are printed. Needs root
// and dockerd; without a dockerd only our figures are printed, saying so.
// Run: npm run build:dev && node dist-dev/bench/commit.js (ROUNDS=5, MB=50 by default).
import { cp, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pushTestImage } from "../test/fixtures/push.js";
import { startRegistry, type TestRegistry } from "../test/fixtures/registry.js";
import { engineWorld, execText, type EngineWorld } from "../test/support/engine.js";
import { loadLayout, startBenchDockerd, type BenchDockerd } from "./dockerd.js";
import { report, timeAsync, type Sample } from "./harness.js";
import { tearDownBench } from "./teardown.js";
import { poolOctet } from "../test/support/pools.js";

const rounds = Number(process.env.ROUNDS ?? 5);
const megabytes = Number(process.env.MB ?? 50);
// Files of 1 MiB: odd ones random, even ones base64 text of random bytes (compresses ~1.3:1).
const WRITE = `mkdir -p /data && i=0; while [ $i -lt ${megabytes} ]; do if [ $((i % 2)) = 1 ]; then head -c 1048576 /dev/urandom > /data/f$i; else head -c 786432 /dev/urandom | base64 > /data/f$i; fi; i=$((i + 1)); done; sync; echo done`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the commit bench needs root (runc, overlay mounts, dockerd)");
  const work = await mkdtemp(join(tmpdir(), "tscb-commit-"));
  let registry: TestRegistry | undefined;
  let world: EngineWorld | undefined;
  let dockerd: BenchDockerd | undefined;
  try {
    registry = await startRegistry();
    const pushed = await pushTestImage(registry, "busybox");
    world = await engineWorld({ mirror: registry.url, poolOctet: poolOctet("bench-commit") });
    const engine = world.engine;
    await engine.pullImage("busybox");
    const ours = await engine.createContainer(world.spec({ cmd: ["sleep", "3600"], networkMode: "none" }));
    await engine.startContainer(ours.id);
    const written = await execText(engine, ours.id, ["sh", "-c", WRITE], { timeoutMs: 120_000 });
    if (!written.stdout.includes("done")) throw new Error(`writing the files failed: ${written.stderr}`);

    const contenders: { name: string; run: () => Promise<number> }[] = [
      {
        name: "tscompose engine commitContainer",
        run: async () => {
          let id = "";
          const ms = await timeAsync(async () => (id = await engine.commitContainer(ours.id)));
          await engine.removeImage(id, { force: true });
          return ms;
        },
      },
    ];
    try {
      dockerd = await startBenchDockerd({ iptables: false });
      // A copy, as bench/containers.ts: the fixture layout is a shared cache.
      const layout = join(work, "layout");
      await cp(pushed.layout.dir, layout, { recursive: true });
      await loadLayout(dockerd, `oci:${layout}:${pushed.layout.tag}`, work);
      const created = (await dockerd.api("POST", "/containers/create", { Image: "busybox:latest", Cmd: ["sleep", "3600"], HostConfig: { NetworkMode: "none" } })) as { Id: string };
      await dockerd.api("POST", `/containers/${created.Id}/start`);
      await dockerd.docker(["exec", created.Id, "sh", "-c", WRITE]);
      const peer = dockerd;
      contenders.push({
        name: "dockerd POST /commit",
        run: async () => {
          let id = "";
          const ms = await timeAsync(async () => (id = ((await peer.api("POST", `/commit?container=${created.Id}`, {})) as { Id: string }).Id));
          await peer.api("DELETE", `/images/${id}?force=1`);
          return ms;
        },
      });
    } catch (err) {
      console.log(`docker commit left out: ${(err as Error).message}`);
    }

    for (const c of contenders) await c.run(); // warm-up
    const samples: Sample[] = contenders.map((c) => ({ name: c.name, times: [] }));
    for (let i = 0; i < rounds; i++) for (const [j, c] of contenders.entries()) samples[j]!.times.push(await c.run());
    report(`commit of a container with ${megabytes} MB of new files (${rounds} rounds)`, samples, contenders.length > 1 ? "dockerd POST /commit" : "tscompose engine commitContainer");
    await engine.removeContainer(ours.id, { force: true });
  } finally {
    await tearDownBench({ dockerd, world, registry, work });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
