// What a pull, unpack or layer removal killed with -9 leaves in the image
// store is reclaimed when the daemon starts, unless another process (a CLI
// image command, which still runs the image service itself) has the store
// open: its ingest files and unpacks in progress look just like leftovers.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ImageService } from "../engine/image/service.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry, type TestRegistry } from "./fixtures/registry.js";
import { buildOnce, cleanupDir, leaks, testDaemon, type TestDaemon } from "./support/daemon.js";
import { psAll, runCli } from "./support/e2e.js";

let registry: TestRegistry | undefined;
let d: TestDaemon | undefined;

beforeAll(async () => {
  buildOnce();
  registry = await startRegistry();
  await pushTestImage(registry, "busybox");
  d = testDaemon({ mirror: registry.url });
}, 180_000);

afterAll(async () => {
  if (d) {
    await d.stop();
    expect(leaks(d)).toEqual([]);
    cleanupDir(d);
  }
  await registry?.stop();
}, 120_000);

/** Leftovers as a SIGKILLed pull and layer removal leave them. */
function leaveLeftovers(state: string): string[] {
  const paths = {
    ingest: join(state, "content", "ingest", "0123456789abcdef0123456789abcdef"),
    unpack: join(state, "snapshots", "layers", ".tmp-Ab12Cd"),
    removal: join(state, "snapshots", "layers", ".del-0011223344556677"),
    containerRemoval: join(state, "snapshots", "containers", ".del-8899aabbccddeeff"),
    spool: join(state, "tmp", "spool-0011223344556677"),
    lease: join(state, "images", "leases", "999999999-1-1.json"),
  };
  for (const dir of [paths.unpack, paths.removal, paths.containerRemoval]) {
    mkdirSync(join(dir, "fs", "bin"), { recursive: true });
    writeFileSync(join(dir, "fs", "bin", "sh"), "half a layer");
  }
  for (const file of [paths.ingest, paths.spool, paths.lease]) {
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, file === paths.lease ? '["sha256:0000"]' : Buffer.alloc(64 * 1024, 1));
  }
  return Object.values(paths);
}

test("leftovers of killed pulls and removals are cleaned at daemon start, never under a live user of the store", async () => {
  const daemon = d!;
  const left = leaveLeftovers(daemon.stateDir);

  // A CLI image command holds the store open while the daemon starts: nothing of it is touched.
  const cli = await ImageService.open({ stateDir: daemon.stateDir, configFile: daemon.env.TSCOMPOSE_CONFIG!, sync: false });
  try {
    await daemon.start();
    expect(left.filter((p) => !existsSync(p))).toEqual([]);
    expect(daemon.log()).toContain("image store leftovers not cleaned");
  } finally {
    await cli.close();
  }
  await daemon.stop();

  // Nobody else: the next start reclaims all of it.
  await daemon.start();
  expect(left.filter((p) => existsSync(p))).toEqual([]);
  expect(daemon.log()).toMatch(/"image store leftovers removed".*"ingests":1/);

  // And the store works: pull, unpack and run.
  const work = join(daemon.dir, "work");
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, "compose.yaml"), 'services:\n  a:\n    image: busybox\n    command: ["sleep", "1000"]\n    stop_signal: SIGKILL\n');
  const up = runCli(daemon, ["-p", "leftovers", "up", "-d"], { cwd: work });
  expect(up.code, up.stderr).toBe(0);
  expect(psAll(daemon, "leftovers", work).map((r) => r.State)).toEqual(["running"]);
  expect(runCli(daemon, ["-p", "leftovers", "down"], { cwd: work }).code).toBe(0);
}, 240_000);
