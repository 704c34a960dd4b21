// Fault campaign 2: the daemon's state dir on a small filesystem (a 64 MB
// ext4 image, loop-mounted) that fills up during a pull (while a blob
// downloads, then while its layer unpacks) and during container creation.
// Each time: a clear "no space" error naming the state dir, nothing
// half-written left behind (no partial blob, image record, layer dir, container
// record, bundle, snapshot, netns or mount), what runs keeps running, and once
// space is freed (the filler file deleted) the same pull and up succeed.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRegistry } from "../fixtures/registry.js";
import type { TestRegistry } from "../fixtures/registry.js";
import { pushTestImage } from "../fixtures/push.js";
import { buildOnce, cleanupDir, leaks, testDaemon } from "../support/daemon.js";
import type { TestDaemon } from "../support/daemon.js";
import { psAll, runCli } from "../support/e2e.js";

const project = "nospace";
const sleeper = `["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`;
const STACK = `
services:
  s0:
    image: busybox
    command: ${sleeper}
  s1:
    image: busybox
    command: ${sleeper}
  s2:
    image: busybox
    command: ${sleeper}
`;

let registry: TestRegistry;
let d: TestDaemon;
let image: string;
let mounted = false;
let layer: { size: number; uncompressedSize: number };

const filler = (): string => join(d.stateDir, "filler");

/** Fills the state filesystem until `leave` bytes are free for the daemon. */
function fill(leave: number): void {
  const s = statfsSync(d.stateDir);
  const free = s.bavail * s.bsize;
  // The file's own extent blocks count too: step back until it fits.
  for (let slack = 0; ; slack += 64 * 1024) {
    try {
      execFileSync("fallocate", ["-l", String(Math.max(free - leave - slack, 4096)), filler()], { stdio: "ignore" });
      return;
    } catch (err) {
      if (slack > 4 * 1024 * 1024) throw err;
    }
  }
}

function freeSpace(): void {
  rmSync(filler(), { force: true });
}

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  return runCli(d, ["-p", project, ...args], { cwd: d.dir });
}

/** Every file under dir, relative, skipping the filler and lost+found. */
function files(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (p === filler() || e.name === "lost+found") return [];
    return e.isDirectory() ? [p.slice(base.length + 1) + "/", ...files(p, base)] : [p.slice(base.length + 1)];
  });
}

/** What a failed operation must not leave: partial or unverifiable content, half-made layers, records, bundles, snapshots. */
function halfWritten(): string[] {
  const s = d.stateDir;
  const found: string[] = [];
  found.push(...files(join(s, "content", "ingest")).map((f) => `ingest: ${f}`));
  const blobs = join(s, "content", "blobs", "sha256");
  for (const f of existsSync(blobs) ? readdirSync(blobs) : []) {
    if (createHash("sha256").update(readFileSync(join(blobs, f))).digest("hex") !== f) found.push(`blob that does not match its digest: ${f}`);
  }
  const layers = join(s, "snapshots", "layers");
  for (const l of existsSync(layers) ? readdirSync(layers) : []) if (!existsSync(join(layers, l, "layer.json"))) found.push(`layer without its metadata: ${l}`);
  // Temporary names of interrupted writes, anywhere.
  found.push(...files(s).filter((f) => /(^|\/)\.tmp|\.tmp(-|$)|\.partial/.test(f)).map((f) => `temporary: ${f}`));
  return found;
}

/** Containers on disk (records, bundles, snapshots, netns) that `ps -a` does not show. */
function unownedContainers(): string[] {
  const ids = psAll(d, project, d.dir).map((r) => r.ID);
  const dirs = [join(d.stateDir, "runtime", "containers"), join(d.stateDir, "snapshots", "containers"), join(d.stateDir, "network", "sandboxes")];
  const found = dirs.flatMap((dir) => (existsSync(dir) ? readdirSync(dir) : []).filter((e) => !ids.some((id) => e.startsWith(id))).map((e) => join(dir, e)));
  const netns = existsSync("/var/run/netns") ? readdirSync("/var/run/netns").filter((n) => n.startsWith(d.prefix)) : [];
  found.push(...netns.filter((n) => !ids.some((id) => id.startsWith(n.slice(-12)))).map((n) => `netns ${n}`));
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1] ?? "")
    .filter((m) => m.startsWith(`${d.stateDir}/`) && !ids.some((id) => m.includes(id)));
  found.push(...mounts.map((m) => `mount ${m}`));
  return found;
}

function expectNoSpaceError(r: { code: number; stdout: string; stderr: string }): void {
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`no space left on device for the state dir ${d.stateDir}`);
  expect(r.stderr).toContain("free space on that filesystem and retry");
  // Never the bare errno text alone.
  expect(r.stderr).not.toMatch(/^Error: [^(\n]*ENOSPC/m);
}

beforeAll(async () => {
  buildOnce();
  registry = await startRegistry();
  const pushed = await pushTestImage(registry, "busybox");
  const built = pushed.layout.images[0]?.layers[0];
  if (!built) throw new Error("the busybox fixture has no layer");
  layer = built;
  image = "busybox";
  d = testDaemon({ mirror: registry.url });
  const img = join(d.dir, "state.img");
  execFileSync("truncate", ["-s", "64M", img]);
  // No reserved blocks: root (the daemon) would otherwise write on into them.
  execFileSync("mkfs.ext4", ["-q", "-m", "0", img]);
  mkdirSync(d.stateDir);
  execFileSync("mount", ["-o", "loop", img, d.stateDir]);
  mounted = true;
  writeFileSync(join(d.dir, "compose.yaml"), STACK);
  await d.start();
}, 300_000);

afterAll(async () => {
  if (d) {
    if (mounted) freeSpace();
    if (!d.process) await d.start().catch(() => undefined);
    d.cli(["-p", project, "down", "-v", "-t", "0"]);
    await d.stop();
    if (mounted) {
      // The loop device goes with the mount (mount -o loop sets autoclear); lazy only if something still holds it.
      try {
        execFileSync("umount", [d.stateDir]);
      } catch {
        execFileSync("umount", ["-l", d.stateDir]);
      }
    }
    cleanupDir(d);
  }
  await registry?.stop();
}, 300_000);

/** Runs fn with the state filesystem full but for `leave` bytes; the space comes back whatever happens. */
function whileFull<T>(leave: number, fn: () => T): T {
  fill(leave);
  try {
    return fn();
  } finally {
    freeSpace();
  }
}

/** Files under images/ but the store's two lock files, which exist from the daemon's start: records, tags, leases. */
const imageRecords = (): string[] => files(join(d.stateDir, "images")).filter((f) => !f.endsWith("/") && f !== "store.lock" && f !== "users.lock");

describe("a state dir that fills up", () => {
  it("a pull that runs out of space while the blob downloads fails clearly and leaves nothing", () => {
    whileFull(Math.floor(layer.size / 4), () => {
      const r = cli(["pull"]);
      expectNoSpaceError(r);
      expect(halfWritten()).toEqual([]);
      expect(imageRecords()).toEqual([]);
    });
  });

  it("a pull that runs out of space while the layer unpacks fails clearly and leaves nothing; with space freed it succeeds", () => {
    // Room for the compressed blob, not for its files.
    whileFull(layer.size + Math.floor((layer.uncompressedSize - layer.size) / 3), () => {
      const r = cli(["pull"]);
      expectNoSpaceError(r);
      expect(r.stderr).toContain("failed to register layer");
      expect(halfWritten()).toEqual([]);
      expect(imageRecords()).toEqual([]);
    });
    const again = cli(["pull"]);
    expect(again.stderr).not.toMatch(/Error/);
    expect(again.code).toBe(0);
    expect(runCli(d, ["images", "--format", "json"], { cwd: d.dir }).stdout).toContain(image);
    expect(halfWritten()).toEqual([]);
  });

  it("an up that runs out of space while creating containers fails clearly, leaves no half container, keeps what runs; with space freed it succeeds", () => {
    const first = cli(["up", "-d", "s0"]);
    expect(first.stderr).not.toMatch(/Error/);
    expect(first.code).toBe(0);
    const [running] = psAll(d, project, d.dir);
    expect(running?.State).toBe("running");

    whileFull(16 * 1024, () => {
      const r = cli(["up", "-d"]);
      expectNoSpaceError(r);
      expect(halfWritten()).toEqual([]);
      expect(unownedContainers()).toEqual([]);
      // What ran before still runs, the same container.
      const rows = psAll(d, project, d.dir);
      expect(rows.find((c) => c.Name === `${project}-s0-1`)).toMatchObject({ ID: running?.ID, State: "running" });
    });

    const again = cli(["up", "-d"]);
    expect(again.stderr).not.toMatch(/Error/);
    expect(again.code).toBe(0);
    const after = psAll(d, project, d.dir);
    expect(after.map((c) => `${c.Name}:${c.State}`).sort()).toEqual([`${project}-s0-1:running`, `${project}-s1-1:running`, `${project}-s2-1:running`]);
    expect(after.find((c) => c.Name === `${project}-s0-1`)?.ID).toBe(running?.ID);
    expect(unownedContainers()).toEqual([]);
  });

  it("an up on a state dir with no room at all, not even for the stack's record, fails clearly and changes nothing", () => {
    const before = psAll(d, project, d.dir);
    whileFull(0, () => {
      const r = cli(["up", "-d", "--force-recreate"]);
      expectNoSpaceError(r);
      expect(halfWritten()).toEqual([]);
    });
    expect(psAll(d, project, d.dir).map((c) => `${c.Name}:${c.ID}:${c.State}`)).toEqual(before.map((c) => `${c.Name}:${c.ID}:${c.State}`));
  });

  it("down works on a full state dir, and nothing is left on the host", async () => {
    whileFull(0, () => {
      const down = cli(["down", "-t", "0"]);
      expect(down.stderr).toBe("");
      expect(down.code).toBe(0);
    });
    expect(psAll(d, project, d.dir)).toEqual([]);
    expect(unownedContainers()).toEqual([]);
    await d.stop();
    // The state filesystem's own mount is the test's, not a leak.
    expect(leaks(d).filter((l) => l !== `mount: ${d.stateDir}`)).toEqual([]);
  });
});
