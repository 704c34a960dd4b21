// The image store shared by the CLI and the daemon (issue 14): the image
// commands still run the image service inside the CLI process, so a CLI
// `image prune -a -f` runs while the daemon pulls images and creates
// containers from them. A cross-process lock and leases on disk must keep the
// CLI's garbage collection from taking what the daemon has found, unpacked or
// is about to use. The test loops `up -d --force-recreate --pull always`
// against prune loops; after each round every image record still has its
// blobs and layers and every container snapshot its layers, and at the end
// the stack runs. Besides the CLI's own loop, this process runs the CLI's
// prune code (the image service on the daemon's state dir) in a tight loop,
// so the short windows are hit often; a scheduled service's image is pulled
// by every `up` and used by no container, so prune takes it every round.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ImageService } from "../../engine/image/service.js";
import { spawnCli, runCli, psAll } from "../support/e2e.js";
import { startStackSuite, stopStackSuite, type StackSuite } from "../support/stack.js";

let suite: StackSuite | undefined;

beforeAll(async () => {
  suite = await startStackSuite("image-store", ["busybox", "multilayer"]);
}, 240_000);

afterAll(async () => {
  expect(await stopStackSuite(suite)).toEqual([]);
}, 120_000);

interface Broken {
  what: string;
  missing: string;
}

/** What the state dir's records name but the store does not hold. */
function brokenRecords(stateDir: string): Broken[] {
  const broken: Broken[] = [];
  const blob = (d: string): boolean => existsSync(join(stateDir, "content", "blobs", "sha256", d.replace(/^sha256:/, "")));
  const layer = (c: string): boolean => existsSync(join(stateDir, "snapshots", "layers", c.replace(/^sha256:/, ""), "layer.json"));
  const byId = join(stateDir, "images", "by-id");
  for (const name of existsSync(byId) ? readdirSync(byId) : []) {
    if (!name.endsWith(".json") || name.startsWith(".")) continue;
    const r = JSON.parse(readFileSync(join(byId, name), "utf8")) as {
      id: string;
      config: { digest: string };
      manifest: { digest: string };
      layers: { blob: { digest: string }; chainId: string }[];
    };
    for (const d of [r.config.digest, r.manifest.digest, ...r.layers.map((l) => l.blob.digest)]) if (!blob(d)) broken.push({ what: `image ${r.id}`, missing: `blob ${d}` });
    for (const l of r.layers) if (!layer(l.chainId)) broken.push({ what: `image ${r.id}`, missing: `layer ${l.chainId}` });
  }
  const containers = join(stateDir, "snapshots", "containers");
  for (const key of existsSync(containers) ? readdirSync(containers) : []) {
    if (key.startsWith(".")) continue;
    const meta = JSON.parse(readFileSync(join(containers, key, "snapshot.json"), "utf8")) as { layers: string[] };
    for (const l of meta.layers) if (!layer(l)) broken.push({ what: `container snapshot ${key.slice(0, 12)}`, missing: `layer ${l}` });
  }
  return broken;
}

test("image prune -a -f in the CLI never takes what the daemon pulls or uses", async () => {
  const s = suite!;
  const d = s.daemon;
  const project = "imgrace";
  s.projects.push({ name: project, cwd: s.work });
  // SIGKILL as the stop signal: recreating is quick, so the rounds are many.
  writeFileSync(
    join(s.work, "compose.yaml"),
    [
      "services:",
      ...["a", "b", "c", "d"].flatMap((n) => [`  ${n}:`, "    image: busybox", '    command: ["sleep", "1000"]', "    stop_signal: SIGKILL"]),
      // Never runs (once a year), but every up pulls its image, which no container uses; it shares busybox's layer.
      "  job:",
      "    image: tscompose/multilayer",
      '    command: ["true"]',
      "    x-tscompose:",
      "      schedule: '0 0 1 1 *'",
      "",
    ].join("\n"),
  );
  const first = runCli(d, ["-p", project, "up", "-d"], { cwd: s.work });
  expect(first.stderr).toBe(first.code === 0 ? first.stderr : "");
  expect(first.code).toBe(0);

  const deadline = Date.now() + 90_000;
  const upFailures: string[] = [];
  let rounds = 0;
  let prunes = 0;
  while (rounds < 12 && Date.now() < deadline) {
    rounds++;
    const up = spawnCli(d, ["-p", project, "up", "-d", "--force-recreate", "--pull", "always"], { cwd: s.work });
    let upDone = false;
    const upExit = up.exited(180_000).finally(() => (upDone = true));
    // Two prune loops, so one is always collecting somewhere in the up's pulls, removals and creates.
    const pruneLoop = async (): Promise<void> => {
      while (!upDone) {
        const p = spawnCli(d, ["image", "prune", "-a", "-f"], { cwd: s.work });
        const code = await p.exited(120_000);
        prunes++;
        expect(p.stderr(), "prune itself must not fail").toBe("");
        expect(code).toBe(0);
      }
    };
    const inProcessLoop = async (): Promise<void> => {
      const svc = await ImageService.open({ stateDir: d.stateDir, configFile: d.env.TSCOMPOSE_CONFIG!, sync: false });
      try {
        while (!upDone) {
          await svc.prune({ all: true, inUse: (id) => svc.usedBySnapshots(id) });
          prunes++;
          // A breath between rounds: the machine is shared, and the windows are hit all the same.
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        await svc.close();
      }
    };
    await Promise.all([pruneLoop(), inProcessLoop()]);
    const code = await upExit;
    // A prune between removing a container and creating its successor may take the image away:
    // that up fails with a clear "no such image" (docker compose would too), nothing worse.
    if (code !== 0) {
      upFailures.push(up.stderr());
      expect(up.stderr()).toMatch(/no such image/i);
    }
    expect(brokenRecords(d.stateDir), `after round ${rounds}`).toEqual([]);
  }
  console.log(`image store race: ${rounds} rounds, ${prunes} prunes, ${upFailures.length} ups failed cleanly ("no such image")`);

  const last = runCli(d, ["-p", project, "up", "-d"], { cwd: s.work });
  expect(last.code, last.stderr).toBe(0);
  const rows = psAll(d, project, s.work);
  expect(rows.map((r) => `${r.Service}:${r.State}`).sort()).toEqual(["a:running", "b:running", "c:running", "d:running"]);
  expect(brokenRecords(d.stateDir)).toEqual([]);
}, 300_000);
