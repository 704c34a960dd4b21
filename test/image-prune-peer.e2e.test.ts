// `image prune` after builds, against dockerd 20.10 as the peer (issue 18):
// the same Dockerfiles built by tscompose's embedded builder and by dockerd's
// classic builder (the one of its builders that keeps step images, with
// parents), then `images`, `image prune` and a rebuild on each. Both must keep
// the step images a tagged image descends from (its rebuild all from the
// cache, the same image), list and prune only the dangling image a failed
// build leaves (untagged, no child).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDockerdWorld, stopDockerdWorld, type DockerdWorld } from "./support/dockerd-world.js";
import { isRoot } from "./support/requires.js";

/** What a side did, in counts and facts both builders can be asked for. */
interface Outcome {
  /** Images the tagged build added (its steps and itself), with -a. */
  added: number;
  /** New images `images` lists without -a after the failed build: the tagged one and the failed build's dangling one. */
  listed: number;
  /** Images the failed build added. */
  leftovers: number;
  /** Which new images `image prune` deleted: the failed build's, none of the tagged one's. */
  prunedLeftovers: number;
  prunedOfTagged: number;
  /** The rebuild after the prune made the same image, from the cache. */
  sameImage: boolean;
}

interface Side {
  ids(all: boolean): Promise<string[]>;
  build(dir: string, tag?: string): Promise<{ ok: boolean; output: string }>;
  prune(): Promise<string>;
  /** The last build's image ID, full. */
  imageOf(tag: string): Promise<string>;
}

const TAGGED = 'FROM busybox\nRUN echo a > /a\nRUN echo b > /b\nCMD ["true"]\n';
// Shares the first step; its last good step is left without a child.
const FAILING = "FROM busybox\nRUN echo a > /a\nRUN echo c > /c\nRUN exit 3\n";

async function scenario(side: Side, work: string, name: string): Promise<Outcome> {
  const context = (sub: string, dockerfile: string): string => {
    const dir = join(work, `${name}-${sub}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "Dockerfile"), dockerfile);
    return dir;
  };
  const tag = `tscompose-test/prune-peer-${process.pid}:1`;
  const before = await side.ids(true);
  const tagged = context("tagged", TAGGED);
  const built = await side.build(tagged, tag);
  expect(built.ok, built.output).toBe(true);
  const image = await side.imageOf(tag);
  const added = (await side.ids(true)).filter((id) => !before.includes(id));
  const failed = await side.build(context("failing", FAILING));
  expect(failed.ok, failed.output).toBe(false);
  const leftovers = (await side.ids(true)).filter((id) => !before.includes(id) && !added.includes(id));
  const listed = (await side.ids(false)).filter((id) => !before.includes(id));
  const pruned = await side.prune();
  const rebuilt = await side.build(tagged, tag);
  expect(rebuilt.ok, rebuilt.output).toBe(true);
  return {
    added: added.length,
    listed: listed.length,
    leftovers: leftovers.length,
    prunedLeftovers: leftovers.filter((id) => pruned.includes(id)).length,
    prunedOfTagged: added.filter((id) => pruned.includes(id)).length,
    sameImage: (await side.imageOf(tag)) === image,
  };
}

describe.skipIf(!isRoot)("image prune after builds: tscompose's embedded engine against dockerd 20.10", () => {
  let world: DockerdWorld | undefined;

  beforeAll(async () => {
    world = await startDockerdWorld("image-prune-peer");
    // The base on both sides first, so that what each build adds is its own.
    await world.dockerd.docker(["pull", "busybox"]);
    expect(world.d.cli(["pull", "busybox"]).code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    try {
      // RUN steps use the engine's default bridge network, which stays as docker's does.
      world?.d.cli(["network", "rm", "bridge"]);
      if (world) expect((await world.dockerd.docker(["ps", "-aq"])).stdout.trim()).toBe("");
    } finally {
      await stopDockerdWorld(world);
    }
  }, 120_000);

  it("both keep the steps a tagged image descends from and prune only a failed build's dangling image", async () => {
    const { d: daemon, dockerd: docker } = world as DockerdWorld;
    const lines = (s: string): string[] => s.split("\n").filter(Boolean);
    const ours: Side = {
      ids: (all) => Promise.resolve(lines(daemon.cli(["images", "-q", "--no-trunc", ...(all ? ["-a"] : [])]).stdout)),
      build: (dir, tag) => {
        const r = daemon.cli(["image", "build", ...(tag ? ["-t", tag] : []), dir], { cwd: dir });
        return Promise.resolve({ ok: r.code === 0, output: r.stdout + r.stderr });
      },
      prune: () => Promise.resolve(daemon.cli(["image", "prune", "-f"]).stdout),
      imageOf: (tag) => Promise.resolve(daemon.cli(["image", "inspect", "-f", "{{.Id}}", tag]).stdout.trim()),
    };
    const theirs: Side = {
      ids: async (all) => lines((await docker.docker(["images", "-q", "--no-trunc", ...(all ? ["-a"] : [])])).stdout),
      // The classic builder (20.10's default): step images with parents. --force-rm: a failed step's container goes too, as ours does.
      build: (dir, tag) =>
        docker.docker(["build", "--network=none", "--force-rm", ...(tag ? ["-t", tag] : []), dir]).then(
          (r) => ({ ok: true, output: r.stdout + r.stderr }),
          (err: Error) => ({ ok: false, output: err.message }),
        ),
      prune: async () => (await docker.docker(["image", "prune", "-f"])).stdout,
      imageOf: async (tag) => (await docker.docker(["image", "inspect", "-f", "{{.Id}}", tag])).stdout.trim(),
    };
    const docker2010 = await scenario(theirs, daemon.dir, "docker");
    const tscompose = await scenario(ours, daemon.dir, "tscompose");
    // The peer's figures are the reference; the literal values say what they mean.
    expect(docker2010).toEqual({ added: 3, listed: 2, leftovers: 1, prunedLeftovers: 1, prunedOfTagged: 0, sameImage: true });
    expect(tscompose).toEqual(docker2010);
  }, 300_000);
});
