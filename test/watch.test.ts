// Watch mode end to end: an edit of the stack file recreates only the changed
// service; a broken edit is reported with its position and changes nothing.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry } from "./fixtures/registry.js";
import type { TestRegistry } from "./fixtures/registry.js";
import { buildOnce, cleanupDir, leaks, testDaemon } from "./support/daemon.js";
import type { TestDaemon } from "./support/daemon.js";
import { eventually } from "./support/wait.js";
import { jsonLines } from "./support/e2e.js";

let registry: TestRegistry;
let daemon: TestDaemon;
let work: string;
const project = `wat${process.pid}`;

const stack = (greeting: string): string =>
  ["services:", "  app:", "    image: busybox", "    command: ['sleep', '600']", "    environment:", `      GREETING: ${greeting}`, "  other:", "    image: busybox", "    command: ['sleep', '600']", ""].join("\n");

function ids(): Record<string, string> {
  const r = daemon.cli(["-p", project, "ps", "--format", "json"], { cwd: work });
  const rows = r.code === 0 ? jsonLines<{ Service: string; ID: string; State: string }>(r.stdout) : [];
  return Object.fromEntries(rows.filter((x) => x.State === "running").map((x) => [x.Service, x.ID]));
}

beforeAll(async () => {
  buildOnce();
  registry = await startRegistry();
  await pushTestImage(registry, "busybox");
  daemon = testDaemon({ mirror: registry.url });
  await daemon.start();
  work = mkdtempSync(join(tmpdir(), "tscompose-test-watch-"));
  writeFileSync(join(work, "compose.yaml"), stack("hello"));
  const up = daemon.cli(["-p", project, "up", "-d", "--watch"], { cwd: work });
  expect(up.code, up.stdout + up.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  if (daemon) {
    daemon.cli(["-p", project, "down", "-t", "0"], { cwd: work });
    await daemon.stop();
    const left = leaks(daemon);
    cleanupDir(daemon);
    expect(left).toEqual([]);
  }
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe("watch mode", () => {
  it("recreates only the service whose config changed", async () => {
    const before = await eventually(ids, (v) => Object.keys(v).length === 2);
    writeFileSync(join(work, "compose.yaml"), stack("bonjour"));
    const after = await eventually(ids, (v) => v.app !== undefined && v.app !== before.app);
    expect(after.other).toBe(before.other);
  });

  it("keeps the running stack on a broken edit and reports where it is broken", async () => {
    const before = ids();
    writeFileSync(join(work, "compose.yaml"), stack("bonjour").replace("    command: ['sleep', '600']\n    environment", "    command: ['sleep', '600']\n    enviroment"));
    const log = await eventually(() => daemon.log(), (l) => l.includes("do not load"));
    expect(log).toMatch(/compose\.yaml:\d+:\d+: services\.app: additional property \\"enviroment\\" is not allowed/);
    // That line is the daemon's decision on this edit ("keeping the running stack"):
    // nothing is replaced after it, so no wait for something not to happen.
    expect(ids()).toEqual(before);
    // Fixing the file converges again.
    writeFileSync(join(work, "compose.yaml"), stack("hola"));
    const fixed = await eventually(ids, (v) => v.app !== undefined && v.app !== before.app);
    expect(fixed.other).toBe(before.other);
  });
});
