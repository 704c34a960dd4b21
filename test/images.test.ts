// The image service and the image commands end to end, against a real
// docker-registry configured as docker.io's mirror (Docker Hub itself is a
// dead loopback port: nothing can leave the machine), and against a real,
// private dockerd for save/load interop.
import { execFile, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ImageService } from "../engine/image/service.js";
import { startPrivateDockerd, type PrivateDockerd } from "./fixtures/dockerd.js";
import { startFakeRegistry, type FakeRegistry } from "./fixtures/fake-registry.js";
import { buildBusybox, layoutBlobPath, MULTILAYER_EXPECTED } from "./fixtures/images.js";
import type { ImageLayout } from "./fixtures/layout.js";
import { loopbackOnlyDispatcher, type LoopbackDispatcher } from "./fixtures/loopback.js";
import { inspectRaw, pushTestImage, skopeo, type PushedImage } from "./fixtures/push.js";
import { startRegistry, type TestRegistry } from "./fixtures/registry.js";
import { bin, buildOnce } from "./support/daemon.js";
import { skipUnless } from "./support/requires.js";
import { jsonLines } from "./support/e2e.js";
import { eventually } from "./support/wait.js";

const run = promisify(execFile);
const DEAD_HUB = "http://127.0.0.1:9";

let registry: TestRegistry;
let busybox: PushedImage;
let multilayer: PushedImage;
let root: string;
let loopback: LoopbackDispatcher;
const services: ImageService[] = [];

beforeAll(async () => {
  buildOnce();
  registry = await startRegistry();
  busybox = await pushTestImage(registry, "busybox");
  multilayer = await pushTestImage(registry, "multilayer");
  root = await fs.mkdtemp(path.join(os.tmpdir(), "tscompose-test-images-"));
  loopback = loopbackOnlyDispatcher();
}, 180_000);

afterAll(async () => {
  // The image commands talk to a daemon, which the first of them started for its state dir.
  for (const state of states) await stopDaemon(state);
  for (const s of services) {
    for (const snap of await s.snapshotter.list().catch(() => [])) await s.snapshotter.remove(snap.key);
    await s.close();
  }
  await loopback?.close();
  await registry?.stop();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

let counter = 0;
const states: string[] = [];
/**
 * A fresh state dir with a daemon.json whose docker.io mirror is `mirror`. The
 * daemon the CLI starts on it names its kernel objects apart (a unique prefix)
 * and resolves nothing outside.
 */
async function stateDir(mirror = registry.url): Promise<{ dir: string; state: string; config: string }> {
  const dir = path.join(root, `case-${++counter}`);
  await fs.mkdir(dir, { recursive: true });
  const config = path.join(dir, "daemon.json");
  await fs.writeFile(config, JSON.stringify(daemonConfig(mirror)));
  const state = path.join(dir, "state");
  states.push(state);
  return { dir, state, config };
}

const prefix = `i${process.pid.toString(36).slice(-3)}`;
function daemonConfig(mirror: string): Record<string, unknown> {
  return { "registry-mirrors": [mirror], "x-tscompose-docker-hub-url": DEAD_HUB, dns: ["127.0.0.1:9"], "x-tscompose-network-prefix": `${prefix}${counter.toString(36)}`.slice(0, 5) };
}

/** Stops the daemon a CLI command started on `state`, if any (SIGTERM, or a crash with SIGKILL), and waits for it to be gone. */
async function stopDaemon(state: string, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  const pid = Number((await fs.readFile(path.join(state, "daemon.pid"), "utf8").catch(() => "")).trim());
  if (!(pid > 0)) return;
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, signal);
  await eventually(() => Promise.resolve(alive()), (a) => !a, 30_000, `the daemon of ${state} to stop`);
}

async function service(state: string, mirror = registry.url): Promise<ImageService> {
  const s = await ImageService.open({
    stateDir: state,
    daemonConfig: { "registry-mirrors": [mirror] },
    registry: { dockerHubUrl: DEAD_HUB, dispatcher: loopback.dispatcher, credentials: () => undefined },
    sync: false,
  });
  services.push(s);
  return s;
}

function cli(where: { dir: string; state: string; config: string }, args: string[], opts: { cwd?: string; input?: Buffer } = {}) {
  const r = spawnSync(bin, args, {
    cwd: opts.cwd ?? where.dir,
    input: opts.input,
    encoding: "utf8",
    maxBuffer: 256 << 20,
    env: { PATH: process.env.PATH, HOME: where.dir, DOCKER_CONFIG: path.join(where.dir, "docker-config"), TSCOMPOSE_STATE_DIR: where.state, TSCOMPOSE_CONFIG: where.config },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A stack directory whose compose.yaml has these lines under `services:`, with a Dockerfile for the services that have `build: .`. */
async function buildableStack(where: { dir: string }, services: string[]): Promise<string> {
  const stack = path.join(where.dir, "stack");
  await fs.mkdir(stack);
  await fs.writeFile(path.join(stack, "Dockerfile"), "FROM busybox\n");
  await fs.writeFile(path.join(stack, "compose.yaml"), ["services:", ...services, ""].join("\n"));
  return stack;
}

/** cli() without blocking this process: needed when a server of the test (the token server) must answer the child. */
function cliAsync(where: { dir: string; state: string; config: string }, args: string[], opts: { input?: Buffer } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd: where.dir,
      env: { PATH: process.env.PATH, HOME: where.dir, DOCKER_CONFIG: path.join(where.dir, "docker-config"), TSCOMPOSE_STATE_DIR: where.state, TSCOMPOSE_CONFIG: where.config },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

const sha256File = async (file: string): Promise<string> => createHash("sha256").update(await fs.readFile(file)).digest("hex");

/** Every committed blob hashes to its name; returns how many there are. */
async function verifyBlobs(state: string): Promise<number> {
  const dir = path.join(state, "content", "blobs", "sha256");
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const n of names) expect(await sha256File(path.join(dir, n)), `blob ${n}`).toBe(n);
  return names.length;
}

/** The merged filesystem equals MULTILAYER_EXPECTED (on top of busybox). */
async function expectMultilayerTree(rootfs: string): Promise<void> {
  for (const [file, content] of Object.entries(MULTILAYER_EXPECTED.files)) expect(await fs.readFile(path.join(rootfs, file), "utf8"), file).toBe(content);
  for (const d of MULTILAYER_EXPECTED.dirs) expect((await fs.lstat(path.join(rootfs, d))).isDirectory(), d).toBe(true);
  for (const [link, target] of Object.entries(MULTILAYER_EXPECTED.symlinks)) expect(await fs.readlink(path.join(rootfs, link))).toBe(target);
  for (const [a, b] of MULTILAYER_EXPECTED.hardlinks) expect((await fs.stat(path.join(rootfs, a))).ino).toBe((await fs.stat(path.join(rootfs, b))).ino);
  for (const gone of MULTILAYER_EXPECTED.absent) await expect(fs.lstat(path.join(rootfs, gone)), gone).rejects.toThrow(/ENOENT|ENOTDIR/);
}

/** A listing of a tree (type, mode, size, link target) for comparing two unpacks. */
async function treeListing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await fs.readdir(path.join(dir, rel))).sort()) {
      const p = path.join(rel, name);
      const st = await fs.lstat(path.join(dir, p));
      const kind = st.isDirectory() ? "d" : st.isSymbolicLink() ? `l>${await fs.readlink(path.join(dir, p))}` : st.isFile() ? `f${st.size}` : "other";
      out.push(`${p} ${kind} ${(st.mode & 0o7777).toString(8)}`);
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk("");
  return out;
}

async function withMounted<T>(svc: ImageService, ref: string, fn: (rootfs: string) => Promise<T>): Promise<T> {
  const image = await svc.resolveLocal(ref);
  expect(image, ref).toBeDefined();
  const key = `test-${++counter}`;
  await svc.snapshotter.prepare(key, image!.chainIds);
  try {
    return await fn(await svc.snapshotter.mount(key));
  } finally {
    await svc.snapshotter.remove(key);
  }
}

describe("pull", () => {
  test("tscompose pull busybox goes through the docker.io mirror; a second pull is up to date", async () => {
    const where = await stateDir();
    const first = cli(where, ["pull", "busybox"]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const layer = busybox.layout.images[0]!.layers[0]!.digest.slice(7, 19);
    expect(first.stdout).toContain("latest: Pulling from library/busybox\n");
    expect(first.stdout).toContain(`${layer}: Pull complete\n`);
    expect(first.stdout).toContain(`Digest: ${busybox.digest}\n`);
    expect(first.stdout).toContain("Status: Downloaded newer image for busybox:latest\n");
    expect(first.stdout.endsWith("docker.io/library/busybox:latest\n")).toBe(true);

    const second = cli(where, ["pull", "busybox"]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`${layer}: Already exists\n`);
    expect(second.stdout).toContain("Status: Image is up to date for busybox:latest\n");

    const quiet = cli(where, ["pull", "-q", "busybox"]);
    expect(quiet.stdout).toBe("docker.io/library/busybox:latest\n");
    await verifyBlobs(where.state);
  });

  test("pull by digest records the digest, not a tag", async () => {
    const where = await stateDir();
    const ref = `busybox@${busybox.digest}`;
    const r = cli(where, ["pull", ref]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.endsWith(`docker.io/library/busybox@${busybox.digest}\n`)).toBe(true);
    const inspect = JSON.parse(cli(where, ["image", "inspect", ref]).stdout) as { Id: string; RepoTags: string[]; RepoDigests: string[] }[];
    expect(inspect[0]!.Id).toBe(busybox.layout.images[0]!.config.digest);
    expect(inspect[0]!.RepoTags).toEqual([]);
    expect(inspect[0]!.RepoDigests).toEqual([ref]);
    expect(cli(where, ["images", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"]).stdout).toBe(`busybox <none> ${busybox.digest}\n`);
  });

  test("a multi-layer image with whiteouts mounts to exactly the reference tree", async () => {
    const { state, dir } = await stateDir();
    const svc = await service(state);
    await svc.pull("tscompose/multilayer");
    // The independent oracle: umoci applying the same layout's layers in order.
    const reference = path.join(dir, "umoci");
    await run("umoci", ["raw", "unpack", "--image", `${multilayer.layout.dir}:${multilayer.layout.tag}`, reference]);
    await withMounted(svc, "tscompose/multilayer", async (rootfs) => {
      await expectMultilayerTree(rootfs);
      expect(await treeListing(rootfs)).toEqual(await treeListing(reference));
    });
  });

  test("two pulls of the same image at once both succeed with one set of blobs", async () => {
    const { state } = await stateDir();
    const a = await service(state);
    // A second service on the same state dir stands for a second process.
    const b = await service(state);
    const events: string[] = [];
    const results = await Promise.all([
      a.pull("tscompose/multilayer", { onProgress: (p) => events.push(p.status) }),
      a.pull("tscompose/multilayer"),
      b.pull("tscompose/multilayer"),
    ]);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    const image = multilayer.layout.images[0]!;
    const expected = new Set([multilayer.digest, image.config.digest, ...image.layers.map((l) => l.digest)].map((d) => d.slice(7)));
    expect(new Set(await fs.readdir(path.join(state, "content", "blobs", "sha256")))).toEqual(expected);
    expect(await fs.readdir(path.join(state, "content", "ingest"))).toEqual([]);
    expect((await a.snapshotter.listLayers()).length).toBe(image.layers.length);
    expect(events).toContain("Pull complete");
    await verifyBlobs(state);
    await withMounted(b, "tscompose/multilayer", expectMultilayerTree);
  });

  test("a pull killed with SIGKILL mid-download leaves no visible corrupt blob, and a re-pull succeeds", async () => {
    // The pull runs in the daemon the CLI talks to: killing the CLI, then the daemon, kills it mid-download.
    // A mirror that passes everything through from the real registry but
    // stalls every layer blob half way, so the kill lands mid-download.
    let stalled!: () => void;
    const midway = new Promise<void>((resolve) => (stalled = resolve));
    const proxy = await startFakeRegistry(async (req: IncomingMessage, res: ServerResponse) => {
      const upstream = await fetch(`${registry.url}${req.url}`, { method: req.method, headers: { accept: String(req.headers.accept ?? "*/*") } });
      const body = Buffer.from(await upstream.arrayBuffer());
      const headers: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (k !== "content-encoding" && k !== "transfer-encoding") headers[k] = v;
      });
      res.writeHead(upstream.status, headers);
      const isLayer = /\/blobs\/sha256:/.test(req.url ?? "") && body.length > 100_000;
      if (!isLayer) return void res.end(body);
      res.write(body.subarray(0, body.length >> 1));
      stalled();
    });
    try {
      const where = await stateDir(proxy.url);
      const child = spawn(bin, ["pull", "busybox"], {
        cwd: where.dir,
        stdio: "ignore",
        env: { PATH: process.env.PATH, HOME: where.dir, TSCOMPOSE_STATE_DIR: where.state, TSCOMPOSE_CONFIG: where.config },
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
      await midway;
      // Killed once the daemon writes the layer (its ingest file is open; the half it got is still in the writer's 1 MiB batch): mid-download, not before it began.
      const ingest = path.join(where.state, "content", "ingest");
      await eventually(() => fs.readdir(ingest), (files) => files.length > 0, 30_000, "the layer's ingest file");
      child.kill("SIGKILL");
      expect(await exited).toBe("SIGKILL");
      await stopDaemon(where.state, "SIGKILL");
      // Whatever is visible is whole; the half layer is at most an ingest file.
      await verifyBlobs(where.state);
      const layer = busybox.layout.images[0]!.layers[0]!.digest.slice(7);
      await expect(fs.access(path.join(where.state, "content", "blobs", "sha256", layer))).rejects.toThrow();
      // The same state dir, now with a mirror that works: the daemon the next command starts reads it.
      await fs.writeFile(where.config, JSON.stringify(daemonConfig(registry.url)));
      expect(cli(where, ["images", "-q"]).stdout).toBe("");
      const again = cli(where, ["pull", "busybox"]);
      expect(again.code, again.stderr).toBe(0);
      expect(await verifyBlobs(where.state)).toBe(3);
      const svc = await service(where.state);
      await withMounted(svc, "busybox", async (rootfs) => {
        expect((await fs.stat(path.join(rootfs, "bin/busybox"))).size).toBeGreaterThan(100_000);
      });
    } finally {
      await proxy.stop();
    }
  });

  test("a corrupted layer fails with a clear digest error and leaves nothing", async () => {
    const layout = await buildBusybox();
    const fake = await serveLayout(layout, (digest, bytes) => {
      if (digest !== layout.images[0]!.layers[0]!.digest) return bytes;
      const bad = Buffer.from(bytes);
      bad[bad.length >> 1] = (bad[bad.length >> 1]! + 1) & 0xff;
      return bad;
    });
    try {
      const { state } = await stateDir(fake.url);
      const svc = await service(state, fake.url);
      const err = await svc.pull("busybox").then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/blob sha256:[0-9a-f]{64} from 127\.0\.0\.1:\d+: digest mismatch: expected sha256:[0-9a-f]{64}, got sha256:[0-9a-f]{64}/);
      expect(await svc.list()).toEqual([]);
      expect(await svc.content.list()).toEqual([]);
      expect(await svc.snapshotter.listLayers()).toEqual([]);
      expect(await fs.readdir(path.join(state, "content", "ingest"))).toEqual([]);
      expect((await fs.readdir(path.join(state, "snapshots", "layers"))).filter((n) => !n.startsWith(".del-"))).toEqual([]);
    } finally {
      await fake.stop();
    }
  });
});

/** A registry serving one layout (under library/busybox), with a hook to alter blobs. */
async function serveLayout(layout: ImageLayout, alter: (digest: string, bytes: Buffer) => Buffer): Promise<FakeRegistry> {
  return startFakeRegistry(async (req, res) => {
    const url = req.url ?? "";
    if (url === "/v2/") return void res.writeHead(200).end("{}");
    const manifest = /\/manifests\/(.+)$/.exec(url);
    if (manifest) {
      const bytes = await fs.readFile(layoutBlobPath(layout, layout.target.digest));
      return void res.writeHead(200, { "content-type": layout.target.mediaType, "docker-content-digest": layout.target.digest, "content-length": bytes.length }).end(bytes);
    }
    const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url);
    if (blob) {
      const bytes = alter(blob[1]!, await fs.readFile(layoutBlobPath(layout, blob[1]!)));
      return void res.writeHead(200, { "content-length": bytes.length }).end(bytes);
    }
    res.writeHead(404).end();
  });
}

describe("local images", () => {
  test("rmi removes unreferenced layers and blobs but keeps shared ones", async () => {
    const { state } = await stateDir();
    const svc = await service(state);
    const bb = await svc.pull("busybox");
    await svc.pull("tscompose/multilayer");
    const base = (await svc.resolveLocal("busybox"))!.chainIds[0]!;
    const multi = (await svc.resolveLocal("tscompose/multilayer"))!.chainIds;
    expect(multi[0]).toBe(base);

    const report = await svc.remove("tscompose/multilayer", { inUse: () => Promise.resolve(false) });
    expect(report[0]).toBe("Untagged: tscompose/multilayer:latest");
    expect(report).toContain(`Deleted: ${multilayer.layout.images[0]!.config.digest}`);
    for (const c of multi.slice(1)) expect(report).toContain(`Deleted: ${c}`);
    expect(report).not.toContain(`Deleted: ${base}`);
    expect((await svc.snapshotter.listLayers()).map((l) => l.chainId)).toEqual([base]);
    const image = busybox.layout.images[0]!;
    expect(new Set((await svc.content.list()).map((b) => b.digest))).toEqual(new Set([busybox.digest, image.config.digest, image.layers[0]!.digest]));

    // In use by a container: refused without -f.
    await svc.snapshotter.prepare("user", [base]);
    await expect(svc.remove("busybox", { inUse: (id) => svc.usedBySnapshots(id) })).rejects.toThrow(/must force/);
    await svc.snapshotter.remove("user");

    await svc.remove(bb.id, { inUse: () => Promise.resolve(false) });
    expect(await svc.content.list()).toEqual([]);
    expect(await svc.snapshotter.listLayers()).toEqual([]);
    expect(await svc.list()).toEqual([]);
  });

  test("images, tag, rmi and prune print like docker", async () => {
    const where = await stateDir();
    expect(cli(where, ["pull", "-q", "busybox"]).code).toBe(0);
    expect(cli(where, ["tag", "busybox", "example.com/team/app:v1"]).code).toBe(0);
    const out = cli(where, ["images"]).stdout.split("\n").filter(Boolean);
    expect(out[0]).toMatch(/^REPOSITORY {3,}TAG {3,}IMAGE ID {3,}CREATED {3,}SIZE$/);
    const header = out[0]!;
    const columns = ["TAG", "IMAGE ID", "CREATED", "SIZE"].map((h) => header.indexOf(h));
    const id = busybox.layout.images[0]!.config.digest.slice(7, 19);
    const rows = out.slice(1).map((line) => [line.slice(0, columns[0]), ...columns.map((c, i) => line.slice(c, columns[i + 1])).map((s) => s.trim())].map((s) => s.trim()));
    expect(rows).toEqual([
      ["busybox", "latest", id, expect.stringMatching(/^\d+ years ago$/), "2.13MB"],
      ["example.com/team/app", "v1", id, expect.stringMatching(/^\d+ years ago$/), "2.13MB"],
    ]);
    expect(cli(where, ["images", "-q"]).stdout).toBe(`${id}\n${id}\n`);
    const json = jsonLines<Record<string, string>>(cli(where, ["images", "--format", "json"]).stdout);
    expect(json.map((j) => `${j.Repository}:${j.Tag}`)).toEqual(["busybox:latest", "example.com/team/app:v1"]);
    expect(cli(where, ["images", "busybox", "-q"]).stdout).toBe(`${id}\n`);

    // By ID with tags in two repositories: docker refuses without -f.
    const byId = cli(where, ["rmi", id]);
    expect(byId.code).toBe(1);
    expect(byId.stderr).toMatch(/referenced in multiple repositories/);
    expect(cli(where, ["rmi", "example.com/team/app:v1"]).stdout).toBe("Untagged: example.com/team/app:v1\n");
    const missing = cli(where, ["image", "inspect", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("[]\n");
    expect(missing.stderr).toBe("Error: No such image: nope\n");

    // A dangling image (its only tag moved away) is what prune removes.
    expect(cli(where, ["pull", "-q", "tscompose/multilayer"]).code).toBe(0);
    expect(cli(where, ["tag", "busybox", "tscompose/multilayer:latest"]).code).toBe(0);
    const pruned = cli(where, ["image", "prune", "-f"]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain(`untagged: tscompose/multilayer@${multilayer.digest}\n`);
    expect(pruned.stdout).toContain(`deleted: ${multilayer.layout.images[0]!.config.digest}\n`);
    expect(pruned.stdout).toMatch(/Total reclaimed space: \d/);
    expect(cli(where, ["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout).toBe("busybox:latest\ntscompose/multilayer:latest\n");
  });

  test("tscompose pull inside a stack directory pulls every service's image", async () => {
    const where = await stateDir();
    const stack = path.join(where.dir, "stack");
    await fs.mkdir(stack);
    await fs.writeFile(
      path.join(stack, "compose.yaml"),
      "services:\n  web:\n    image: busybox\n  worker:\n    image: busybox\n  data:\n    image: tscompose/multilayer\n",
    );
    const r = cli(where, ["pull"], { cwd: stack });
    expect(r.code, r.stderr).toBe(0);
    for (const s of ["web", "data"]) expect(r.stdout).toContain(` ${s} Pulled\n`);
    // One pull per image, as compose: the second service of busybox names the first.
    expect(r.stdout).toContain(" worker Skipped - Image is already being pulled by web\n");
    expect(cli(where, ["images", "--format", "{{.Repository}}"]).stdout.split("\n").filter(Boolean).sort()).toEqual(["busybox", "tscompose/multilayer"]);
  });

  test("compose pull's flags: --include-deps, --policy, --ignore-buildable, --ignore-pull-failures", async () => {
    const where = await stateDir();
    const pinned = `${registry.host}/pullflags/pinned:v1`;
    expect(cli(where, ["pull", "-q", "busybox"]).code).toBe(0);
    expect(cli(where, ["tag", "busybox", pinned]).code).toBe(0);
    expect(cli(where, ["push", "-q", pinned]).code).toBe(0);
    expect(cli(where, ["rmi", pinned]).code).toBe(0);
    const stack = await buildableStack(where, [
      "  web:",
      "    image: tscompose/multilayer",
      "    depends_on: [pinned]",
      "  pinned:",
      `    image: ${pinned}`,
      "  built:",
      "    build: .",
      `    image: ${registry.host}/pullflags/built:v1`,
      "  broken:",
      `    image: ${registry.host}/pullflags/absent:v1`,
    ]);
    const pull = (args: string[]) => cli(where, ["pull", ...args], { cwd: stack });
    const repositories = () => cli(where, ["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split("\n").filter(Boolean).sort();

    // SERVICE... alone pulls just it; --include-deps its dependencies too.
    const alone = pull(["web"]);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stdout).toBe(" web Pulling\n web Pulled\n");
    expect(repositories()).toEqual(["busybox:latest", "tscompose/multilayer:latest"]);
    const withDeps = pull(["--include-deps", "web"]);
    expect(withDeps.code, withDeps.stderr).toBe(0);
    expect(withDeps.stdout).toContain(" pinned Pulled\n");
    expect(repositories()).toContain(pinned);

    // --policy missing: a present image with a tag (not latest) is not pulled again; always pulls it.
    expect(pull(["--policy", "missing", "pinned"]).stdout).toBe(" pinned Skipped - Image is already present locally\n");
    expect(pull(["--policy", "always", "pinned"]).stdout).toBe(" pinned Pulling\n pinned Pulled\n");
    // As compose, :latest counts as never present: missing pulls it.
    expect(pull(["--policy", "missing", "web"]).stdout).toBe(" web Pulling\n web Pulled\n");
    const bad = pull(["--policy", "sometimes", "web"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("argument 'sometimes' is invalid");

    // A service that can be built: its failed pull is a warning naming `build`, still exit 1; --ignore-buildable skips it.
    const built = pull(["built"]);
    expect(built.code).toBe(1);
    expect(built.stdout).toBe(" built Pulling\n built Warning\n");
    expect(built.stderr).toContain("WARNING: Some service image(s) must be built from source by running:\n    tscompose build built\n");
    const skipped = pull(["--ignore-buildable", "built"]);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stdout).toBe(" built Skipped - Image can be built\n");

    // A failed pull fails the command, the others done; --ignore-pull-failures reports it and exits 0.
    const failed = pull(["broken", "web"]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(" broken Error\n");
    expect(failed.stdout).toContain(" web Pulled\n");
    expect(failed.stderr).toMatch(/^Error: broken: /m);
    const ignored = pull(["--ignore-pull-failures", "broken", "web"]);
    expect(ignored.code, ignored.stderr).toBe(0);
    expect(ignored.stdout).toContain(" broken Error\n");
    expect(ignored.stderr).toMatch(/^WARN broken: /m);

    // On an image by name (docker's pull) the compose flags are refused, nothing pulled.
    const byName = cli(where, ["pull", "--policy", "always", "tscompose/multilayer:nope"]);
    expect(byName.code).toBe(1);
    expect(byName.stderr).toContain("--policy is docker compose pull's flag");
  });

  test("compose push pushes the images of the services with build:, per service", async () => {
    const where = await stateDir();
    const app = `${registry.host}/composepush/app:v1`;
    const extra = `${registry.host}/composepush/app:extra`;
    const absent = `${registry.host}/composepush/absent:v1`;
    expect(cli(where, ["pull", "-q", "tscompose/multilayer"]).code).toBe(0);
    for (const t of [app, extra]) expect(cli(where, ["tag", "tscompose/multilayer", t]).code).toBe(0);
    const stack = await buildableStack(where, [
      "  app:",
      `    build: { context: ., tags: ["${extra}"] }`,
      `    image: ${app}`,
      "    depends_on: [plain]",
      "  plain:",
      "    image: tscompose/multilayer",
      "  missing:",
      "    build: .",
      `    image: ${absent}`,
    ]);
    const push = (args: string[]) => cli(where, ["push", ...args], { cwd: stack });

    // A service without build: is skipped (its image is someone else's); a tag not present fails the command.
    const all = push([]);
    expect(all.code).toBe(1);
    expect(all.stdout).toContain(" plain Skipped\n");
    expect(all.stdout).toContain(` app Pushed ${app}\n`);
    expect(all.stdout).toContain(` app Pushed ${extra}\n`);
    expect(all.stdout).toContain(` missing Error ${absent}\n`);
    expect(all.stderr).toMatch(/^Error: Pushing missing: /m);
    for (const t of [app, extra]) expect(JSON.parse(await inspectRaw(t))).toEqual(JSON.parse(await fs.readFile(layoutBlobPath(multilayer.layout, multilayer.digest), "utf8")));

    const ignored = push(["--ignore-push-failures", "-q"]);
    expect(ignored.code, ignored.stderr).toBe(0);
    expect(ignored.stdout).toBe("");
    expect(ignored.stderr).toMatch(/^WARN Pushing missing: /m);
    // SERVICE...: just its images; --include-deps adds its dependencies' (plain: skipped, no build:).
    expect(push(["app"]).stdout).not.toContain("plain");
    expect(push(["--include-deps", "app"]).stdout).toContain(" plain Skipped\n");
    // An image by name is still docker's push, where compose's flags are refused.
    expect(cli(where, ["push", "--include-deps", app]).stderr).toContain("--include-deps is docker compose push's flag");
  });

  test("save and load round-trip, and an OCI layout tar loads", async () => {
    const from = await stateDir();
    expect(cli(from, ["pull", "-q", "tscompose/multilayer"]).code).toBe(0);
    const archive = path.join(from.dir, "multilayer.tar");
    const saved = cli(from, ["save", "-o", archive, "tscompose/multilayer"]);
    expect(saved.code, saved.stderr).toBe(0);

    const to = await stateDir();
    const loaded = cli(to, ["load", "-i", archive]);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toBe("Loaded image: tscompose/multilayer:latest\n");
    const a = JSON.parse(cli(from, ["image", "inspect", "tscompose/multilayer"]).stdout) as { Id: string; RootFS: unknown; Config: unknown }[];
    const b = JSON.parse(cli(to, ["image", "inspect", "tscompose/multilayer"]).stdout) as { Id: string; RootFS: unknown; Config: unknown }[];
    expect(b[0]!.Id).toBe(a[0]!.Id);
    expect(b[0]!.RootFS).toEqual(a[0]!.RootFS);
    expect(b[0]!.Config).toEqual(a[0]!.Config);
    await withMounted(await service(to.state), "tscompose/multilayer", expectMultilayerTree);

    // Through stdin too, and an OCI image layout (as skopeo writes it) loads untagged.
    const third = await stateDir();
    expect(cli(third, ["load"], { input: await fs.readFile(archive) }).stdout).toBe("Loaded image: tscompose/multilayer:latest\n");
    const ociTar = path.join(third.dir, "oci.tar");
    await run("tar", ["-cf", ociTar, "-C", busybox.layout.dir, "oci-layout", "index.json", "blobs"]);
    const oci = cli(third, ["load", "-i", ociTar]);
    expect(oci.code, oci.stderr).toBe(0);
    expect(oci.stdout).toBe(`Loaded image ID: ${busybox.layout.images[0]!.config.digest}\n`);
  });

  test("push to a registry, checked by skopeo, and pull it back", async () => {
    const where = await stateDir();
    expect(cli(where, ["pull", "-q", "tscompose/multilayer"]).code).toBe(0);
    const target = `${registry.host}/pushed/multilayer:v2`;
    expect(cli(where, ["tag", "tscompose/multilayer", target]).code).toBe(0);
    const pushed = cli(where, ["push", target]);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stdout).toContain(`The push refers to repository [${registry.host}/pushed/multilayer]\n`);
    // The manifest goes up byte for byte: same digest as where it was pulled from.
    expect(pushed.stdout).toContain(`v2: digest: ${multilayer.digest} size: `);
    expect(await inspectRaw(target)).toBe(await fs.readFile(layoutBlobPath(multilayer.layout, multilayer.digest), "utf8"));
    const copy = path.join(where.dir, "copy");
    await skopeo(["copy", "--quiet", "--src-tls-verify=false", `docker://${target}`, `oci:${copy}:x`]);
    const again = cli(where, ["push", target]);
    expect(again.stdout).toContain("Layer already exists");
  });

  test("import a root filesystem tar as a one-layer image", async () => {
    const where = await stateDir();
    const rootfs = path.join(where.dir, "rootfs");
    await fs.mkdir(path.join(rootfs, "etc"), { recursive: true });
    await fs.writeFile(path.join(rootfs, "etc", "hello"), "hello\n");
    const file = path.join(where.dir, "rootfs.tar.gz");
    await run("tar", ["-czf", file, "-C", rootfs, "."]);
    const r = cli(where, ["import", "-c", "CMD [\"cat\", \"/etc/hello\"]", "-c", "ENV A=1", file, "imported:1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const [info] = JSON.parse(cli(where, ["image", "inspect", "imported:1"]).stdout) as { Id: string; Config: { Cmd: string[]; Env: string[] }; RootFS: { Layers: string[] } }[];
    expect(info!.Id).toBe(r.stdout.trim());
    expect(info!.Config.Cmd).toEqual(["cat", "/etc/hello"]);
    expect(info!.Config.Env).toEqual(["A=1"]);
    expect(info!.RootFS.Layers).toHaveLength(1);
    await withMounted(await service(where.state), "imported:1", async (mounted) => {
      expect(await fs.readFile(path.join(mounted, "etc", "hello"), "utf8")).toBe("hello\n");
    });
  });

  test("login checks the credentials and writes config.json like docker; pulls then use them", async () => {
    const secured = await startRegistry({ auth: "token", anonymousPull: false });
    try {
      await pushTestImage(secured, "busybox", { credentials: secured.credentials, repository: "private/busybox:latest" });
      const where = await stateDir();
      const ref = `${secured.host}/private/busybox`;
      const anonymous = await cliAsync(where, ["pull", ref]);
      expect(anonymous.code).toBe(1);
      expect(anonymous.stderr).toMatch(/401|unauthorized|refused/i);
      const bad = await cliAsync(where, ["login", "-u", secured.credentials.username, "--password-stdin", secured.host], { input: Buffer.from("wrong\n") });
      expect(bad.code).toBe(1);
      const good = await cliAsync(where, ["login", "-u", secured.credentials.username, "--password-stdin", secured.host], { input: Buffer.from(`${secured.credentials.password}\n`) });
      expect(good.code, good.stderr).toBe(0);
      expect(good.stdout).toBe("Login Succeeded\n");
      const config = JSON.parse(await fs.readFile(path.join(where.dir, "docker-config", "config.json"), "utf8")) as { auths: Record<string, { auth: string }> };
      expect(Buffer.from(config.auths[secured.host]!.auth, "base64").toString()).toBe(`${secured.credentials.username}:${secured.credentials.password}`);
      expect((await cliAsync(where, ["pull", "-q", ref])).code).toBe(0);
      expect((await cliAsync(where, ["logout", secured.host])).stdout).toBe(`Removing login credentials for ${secured.host}\n`);
      const after = JSON.parse(await fs.readFile(path.join(where.dir, "docker-config", "config.json"), "utf8")) as { auths: Record<string, unknown> };
      expect(after.auths).toEqual({});
    } finally {
      await secured.stop();
    }
  });
});

/** A tar of the given files, in memory. */
async function tarOf(files: { name: string; body: string | Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const f of files) pack.entry({ name: f.name }, f.body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A docker save archive of one image whose only layer has these entries. */
async function savedArchiveWithLayer(entries: { name: string; body: string }[]): Promise<Buffer> {
  const layer = await tarOf(entries);
  const diffId = `sha256:${createHash("sha256").update(layer).digest("hex")}`;
  const config = JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [diffId] } });
  const configHex = createHash("sha256").update(config).digest("hex");
  const manifest = JSON.stringify([{ Config: `${configHex}.json`, RepoTags: ["hostile/image:1"], Layers: ["l1/layer.tar"] }]);
  return tarOf([
    { name: `${configHex}.json`, body: config },
    { name: "l1/layer.tar", body: layer },
    { name: "manifest.json", body: manifest },
  ]);
}

const daemonPid = async (state: string): Promise<number> => Number((await fs.readFile(path.join(state, "daemon.pid"), "utf8")).trim());

describe("hostile uploads through the daemon", () => {
  test("load refuses a breakout layer and a non-archive with a clear error, keeps nothing of them, and the daemon goes on", async () => {
    const where = await stateDir();
    expect(cli(where, ["pull", "-q", "busybox"]).code).toBe(0);
    const pid = await daemonPid(where.state);

    const breakout = path.join(where.dir, "breakout.tar");
    await fs.writeFile(breakout, await savedArchiveWithLayer([{ name: "../escape", body: "out\n" }]));
    const refused = cli(where, ["load", "-i", breakout]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/outside the layer/);
    await expect(fs.access(path.join(where.state, "..", "escape"))).rejects.toThrow();

    const garbage = path.join(where.dir, "garbage.tar");
    await fs.writeFile(garbage, Buffer.alloc(64 << 10, 7));
    const notTar = cli(where, ["load", "-i", garbage]);
    expect(notTar.code).toBe(1);
    expect(notTar.stderr).not.toBe("");

    // The same daemon answers, with only what was there before.
    expect(cli(where, ["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout).toBe("busybox:latest\n");
    expect(await daemonPid(where.state)).toBe(pid);
    process.kill(pid, 0);
  });

  test("an upload larger than the layer size limit is refused (413) as it streams, and the daemon goes on", async () => {
    const where = await stateDir();
    await fs.writeFile(where.config, JSON.stringify({ ...daemonConfig(registry.url), "x-tscompose-max-layer-size": 1 << 20 }));
    const big = path.join(where.dir, "big.tar");
    await fs.writeFile(big, await tarOf([{ name: "zeros", body: Buffer.alloc(3 << 20) }]));
    const r = cli(where, ["load", "-i", big]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/larger than 1 MiB/);
    const imported = cli(where, ["import", big, "big:1"]);
    expect(imported.code).toBe(1);
    expect(imported.stderr).toMatch(/larger than 1 MiB/);
    expect(cli(where, ["images", "-q"])).toMatchObject({ code: 0, stdout: "" });
  });
});

describe("interop with a real Docker daemon", () => {
  let dockerd: PrivateDockerd | undefined;
  let why = "";
  beforeAll(async () => {
    try {
      dockerd = await startPrivateDockerd();
    } catch (err) {
      why = (err as Error).message;
      console.warn(`SKIPPING the dockerd interop tests: ${why}`);
    }
  }, 60_000);
  afterAll(async () => {
    await dockerd?.stop();
  }, 60_000);

  test("docker load accepts our save: same image ID and layers", async (ctx) => {
    if (!dockerd) return skipUnless(ctx, `a private dockerd (${why})`, false);
    const where = await stateDir();
    expect(cli(where, ["pull", "-q", "tscompose/multilayer"]).code).toBe(0);
    expect(cli(where, ["tag", "tscompose/multilayer", "interop/ours:1"]).code).toBe(0);
    const archive = path.join(where.dir, "ours.tar");
    expect(cli(where, ["save", "-o", archive, "interop/ours:1"]).code).toBe(0);
    const loaded = await dockerd.docker(["load", "-i", archive]);
    expect(loaded.stdout).toContain("Loaded image: interop/ours:1");
    const [theirs] = JSON.parse((await dockerd.docker(["image", "inspect", "interop/ours:1"])).stdout) as { Id: string; RootFS: { Layers: string[] } }[];
    const [ours] = JSON.parse(cli(where, ["image", "inspect", "interop/ours:1"]).stdout) as { Id: string; RootFS: { Layers: string[] } }[];
    expect(theirs!.Id).toBe(ours!.Id);
    expect(theirs!.RootFS.Layers).toEqual(ours!.RootFS.Layers);
  });

  test("tscompose load accepts docker save of an image docker pulled", async (ctx) => {
    if (!dockerd) return skipUnless(ctx, `a private dockerd (${why})`, false);
    // 127.0.0.0/8 registries are insecure by default for docker too.
    await dockerd.docker(["pull", "-q", multilayer.ref]);
    const where = await stateDir();
    const archive = path.join(where.dir, "theirs.tar");
    await dockerd.docker(["save", "-o", archive, multilayer.ref]);
    const loaded = cli(where, ["load", "-i", archive]);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loaded.stdout).toBe(`Loaded image: ${multilayer.ref}\n`);
    const [theirs] = JSON.parse((await dockerd.docker(["image", "inspect", multilayer.ref])).stdout) as { Id: string; RootFS: { Layers: string[] } }[];
    const [ours] = JSON.parse(cli(where, ["image", "inspect", multilayer.ref]).stdout) as { Id: string; RootFS: { Layers: string[] } }[];
    expect(ours!.Id).toBe(theirs!.Id);
    expect(ours!.RootFS.Layers).toEqual(theirs!.RootFS.Layers);
    await withMounted(await service(where.state), multilayer.ref, expectMultilayerTree);
  });
});
