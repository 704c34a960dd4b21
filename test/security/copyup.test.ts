// An image's symlinks must resolve inside the image, never on the host,
// wherever the engine reads or creates an image's files on the host side:
// the copy-up of a new named volume (Docker's "copy the image's content into
// an empty volume"), the image user lookup (/etc/passwd) and WORKDIR.
//
// The hostile image points its links at a test-unique host directory (under
// /tmp, with canary files in it), absolutely and with enough ".." to climb
// out of any rootfs on the host. The image also carries its own files at the
// same path inside itself: resolved as the container sees it, a link reaches
// those, and the volume gets the image's content, never the host's.
import { mkdir, mkdtemp, readdir, readFile, readlink, lstat, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ContainerSpec, MountSpec } from "../../engine/types.js";
import { busyboxLayer, DEFAULT_PATH } from "../fixtures/images.js";
import { buildLayout, type LayerEntry } from "../fixtures/layout.js";
import { pushLayout } from "../fixtures/push.js";
import { startRegistry, type TestRegistry } from "../fixtures/registry.js";
import { engineWorld, type EngineWorld } from "../support/engine.js";
import { isRoot, missing } from "../support/requires.js";
import { poolOctet } from "../support/pools.js";

// Skipped without root, a failure under TSCOMPOSE_TEST_REQUIRE_ALL=1 (test/support/requires.ts).
const root = !missing("root", isRoot);

let registry: TestRegistry;
let w: EngineWorld;
/** The host directory the image's links point at: "/tmp/tscompose-test-copyup-XXXX". */
let host: string;
let scratch: string;
const CANARY = "HOST SECRET, never in a volume";
const climb = "../".repeat(40);

/** Every file under `dir` (relative path -> "file:<content>" or "link:<target>"). */
async function tree(dir: string, prefix = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const abs = join(dir, name);
    const st = await lstat(abs);
    if (st.isSymbolicLink()) out[prefix + name] = `link:${await readlink(abs)}`;
    else if (st.isDirectory()) Object.assign(out, await tree(abs, `${prefix}${name}/`));
    else out[prefix + name] = `file:${await readFile(abs, "utf8")}`;
  }
  return out;
}

beforeAll(async () => {
  if (!root) return;
  host = await mkdtemp(join(tmpdir(), "tscompose-test-copyup-"));
  scratch = await mkdtemp(join(tmpdir(), "tscompose-test-copyup-build-"));
  await mkdir(join(host, "root", ".ssh"), { recursive: true });
  await writeFile(join(host, "root", ".ssh", "id_canary"), CANARY);
  await writeFile(join(host, "passwd"), "evil:x:4242:4242::/:/bin/sh\n");
  await mkdir(join(host, "wd"));

  const inImage = host.slice(1); // the same path, inside the image
  const hostile: LayerEntry[] = [
    // The image's own files where its links lead when resolved inside it.
    { type: "dir", path: inImage },
    { type: "dir", path: `${inImage}/root` },
    { type: "dir", path: `${inImage}/root/.ssh` },
    { type: "file", path: `${inImage}/root/.ssh/image_key`, data: "the image's own key" },
    { type: "symlink", path: "abs", target: `${host}/root` },
    { type: "symlink", path: "rel", target: `${climb}${inImage}/root` },
    { type: "dir", path: "data" },
    { type: "file", path: "data/own", data: "own" },
    { type: "dir", path: "data/inner" },
    { type: "symlink", path: "data/inner/abs-link", target: `${host}/root/.ssh` },
    { type: "symlink", path: "data/inner/rel-link", target: `${climb}${inImage}/root/.ssh` },
    { type: "dir", path: `${inImage}/wd` },
    { type: "symlink", path: "wdlink", target: `${host}/wd` },
  ];
  // A second image whose /etc/passwd is a link to the host's canary passwd file.
  const passwdLink: LayerEntry[] = [{ type: "symlink", path: "etc/passwd", target: `${host}/passwd` }];

  registry = await startRegistry();
  const config = { Env: [DEFAULT_PATH], Cmd: ["sh"] };
  const image = async (name: string, entries: LayerEntry[]) =>
    pushLayout(
      await buildLayout(
        {
          name,
          tag: "latest",
          format: "oci",
          images: [{ platform: { os: "linux", architecture: "amd64" }, config, layers: [{ entries: await busyboxLayer(), comment: "busybox" }, { entries, comment: name }] }],
        },
        scratch,
      ),
      registry,
      `library/${name}:latest`,
    );
  await image("hostile-links", hostile);
  await image("hostile-passwd", passwdLink);
  w = await engineWorld({ mirror: registry.url, poolOctet: poolOctet("security-copyup") });
  await w.engine.pullImage("hostile-links");
  await w.engine.pullImage("hostile-passwd");
}, 180_000);

afterAll(async () => {
  if (w) {
    expect(await w.cleanupAndFindLeaks()).toEqual([]);
  }
  await registry?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  if (host) {
    // The canaries are untouched: nothing wrote through the links either.
    expect(await readFile(join(host, "root", ".ssh", "id_canary"), "utf8")).toBe(CANARY);
    expect(await readdir(join(host, "wd"))).toEqual([]);
    await rm(host, { recursive: true, force: true });
  }
}, 120_000);

const volume = (source: string, target: string): MountSpec => ({ type: "volume", source, target, readOnly: false });

async function create(over: Partial<ContainerSpec>): Promise<string> {
  return (await w.engine.createContainer(w.spec({ image: "hostile-links", ...over }))).id;
}

async function volumeTree(name: string): Promise<Record<string, string>> {
  const info = await w.engine.inspectVolume(name);
  if (!info) throw new Error(`no volume ${name}`);
  return tree(info.mountpoint);
}

describe.skipIf(!root)("named-volume copy-up resolves the mount target inside the image", () => {
  test("an absolute link (abs -> host dir): the volume at /abs/.ssh gets the image's files, not the host's", async () => {
    const name = `${w.prefix}-abs`;
    await create({ mounts: [volume(name, "/abs/.ssh")] });
    expect(await volumeTree(name)).toEqual({ image_key: "file:the image's own key" });
  });

  test("a relative link climbing out (rel -> ../../..): the same", async () => {
    const name = `${w.prefix}-rel`;
    await create({ mounts: [volume(name, "/rel/.ssh")] });
    expect(await volumeTree(name)).toEqual({ image_key: "file:the image's own key" });
  });

  test("the mount target itself a link out of the image: resolved inside it", async () => {
    const name = `${w.prefix}-target`;
    await create({ mounts: [volume(name, "/data/inner/abs-link")] });
    expect(await volumeTree(name)).toEqual({ image_key: "file:the image's own key" });
  });

  test("links deeper in the copied tree are copied as links, never followed", async () => {
    const name = `${w.prefix}-deep`;
    await create({ mounts: [volume(name, "/data")] });
    expect(await volumeTree(name)).toEqual({
      own: "file:own",
      "inner/abs-link": `link:${host}/root/.ssh`,
      "inner/rel-link": `link:${climb}${host.slice(1)}/root/.ssh`,
    });
  });
});

describe.skipIf(!root)("the same class elsewhere: user lookup and WORKDIR", () => {
  test("an image's /etc/passwd linking to a host file is not read on the host", async () => {
    await expect(w.engine.createContainer(w.spec({ image: "hostile-passwd", user: "evil" }))).rejects.toThrow(/unable to find user evil/);
  });

  test("a WORKDIR through a link out of the image is created inside it", async () => {
    const id = await create({ workingDir: "/wdlink/sub", cmd: ["sh", "-c", "pwd"] });
    await w.engine.startContainer(id);
    expect(await w.engine.waitContainer(id)).toMatchObject({ exitCode: 0 });
    expect(existsSync(join(host, "wd", "sub"))).toBe(false);
  });
});
