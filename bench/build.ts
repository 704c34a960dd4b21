// Building the same Dockerfile, in one run:
//   our engine's buildImage  vs  `DOCKER_BUILDKIT=0 docker build` on a
//   private dockerd (its classic builder; the Dockerfile keeps to what that
//   knows: no heredocs, no RUN --mount).
// Two figures: a cold build (--no-cache: every RUN runs, every COPY copies;
// the base image is present on both sides) and a fully cached rebuild. The
// context is 200 small files and one of 4 MB. Contenders alternate round by
// round; medians and ratios are printed. docker's figures include its CLI
// sending the context (that is what `docker build` costs a user).
// Run: npm run build:dev && node dist-dev/bench/build.js (ROUNDS=5 by default).
import { cp, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pushTestImage } from "../test/fixtures/push.js";
import { startRegistry, type TestRegistry } from "../test/fixtures/registry.js";
import { engineWorld, type EngineWorld } from "../test/support/engine.js";
import { loadLayout, startBenchDockerd, type BenchDockerd } from "./dockerd.js";
import { report, timeAsync, type Sample } from "./harness.js";
import { tearDownBench } from "./teardown.js";
import { poolOctet } from "../test/support/pools.js";

const rounds = Number(process.env.ROUNDS ?? 5);

const DOCKERFILE = `FROM busybox
ENV APP=/srv/app
WORKDIR /srv/app
RUN mkdir -p /srv/data && i=0; while [ $i -lt 100 ]; do echo "line $i" > /srv/data/f$i; i=$((i + 1)); done
COPY src/ ./src/
COPY blob.bin ./
RUN cat src/* | wc -l > /srv/lines && ls -l blob.bin
LABEL org.example.bench=build
CMD ["cat", "/srv/lines"]
`;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the build bench needs root (runc, overlay mounts, dockerd)");
  const work = await mkdtemp(join(tmpdir(), "tscb-build-"));
  let registry: TestRegistry | undefined;
  let world: EngineWorld | undefined;
  let dockerd: BenchDockerd | undefined;
  try {
    const ctx = join(work, "ctx");
    await mkdir(join(ctx, "src"), { recursive: true });
    for (let i = 0; i < 200; i++) await writeFile(join(ctx, "src", `file${i}.txt`), `${randomBytes(512).toString("base64")}\n`);
    await writeFile(join(ctx, "blob.bin"), randomBytes(4 << 20));
    await writeFile(join(ctx, "Dockerfile"), DOCKERFILE);

    registry = await startRegistry();
    const pushed = await pushTestImage(registry, "busybox");
    world = await engineWorld({ mirror: registry.url, poolOctet: poolOctet("bench-build") });
    const engine = world.engine;
    await engine.pullImage("busybox");
    const ours = (noCache: boolean) => async () => timeAsync(() => engine.buildImage({ contextDir: ctx, tags: ["bench/build:latest"], noCache, network: "none" }));
    const cold: { name: string; run: () => Promise<number> }[] = [{ name: "tscompose buildImage --no-cache", run: ours(true) }];
    const cached: { name: string; run: () => Promise<number> }[] = [{ name: "tscompose buildImage (cached)", run: ours(false) }];
    try {
      dockerd = await startBenchDockerd({ iptables: false });
      const layout = join(work, "layout");
      await cp(pushed.layout.dir, layout, { recursive: true });
      await loadLayout(dockerd, `oci:${layout}:${pushed.layout.tag}`, work);
      const peer = dockerd;
      const theirs = (noCache: boolean) => async () => timeAsync(() => peer.docker(["build", "-q", "--network", "none", ...(noCache ? ["--no-cache"] : []), "-t", "bench/build:latest", ctx], { DOCKER_BUILDKIT: "0" }));
      cold.push({ name: "docker build --no-cache (classic)", run: theirs(true) });
      cached.push({ name: "docker build (classic, cached)", run: theirs(false) });
    } catch (err) {
      console.log(`docker build left out: ${(err as Error).message}`);
    }
    for (const [title, contenders] of [
      ["cold build (--no-cache)", cold],
      ["fully cached rebuild", cached],
    ] as const) {
      for (const c of contenders) await c.run(); // warm-up (and, for the cached figure, the cache)
      const samples: Sample[] = contenders.map((c) => ({ name: c.name, times: [] }));
      for (let i = 0; i < rounds; i++) for (const [j, c] of contenders.entries()) samples[j]!.times.push(await c.run());
      report(`${title} of a 9-step Dockerfile, 200 files + 4 MB of context (${rounds} rounds)`, samples, contenders.length > 1 ? contenders[1]!.name : contenders[0]!.name);
    }
  } finally {
    await tearDownBench({ dockerd, world, registry, work });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
