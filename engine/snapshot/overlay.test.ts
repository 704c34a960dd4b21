// The overlay snapshotter on a real root under /tmp with real overlay mounts.
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Digest } from "../content/types.js";
import { chainId, chainIds } from "./chain.js";
import { isMounted, mountOverlay, mountPoints, unmount } from "./mount.js";
import { OverlaySnapshotter, shortId } from "./overlay.js";
import { buildTar, tmpDir, type TarItem } from "./testing.js";
import { SnapshotError, type ChainId } from "./types.js";

let base: string;

beforeAll(async () => {
  base = await tmpDir("overlay");
});

afterAll(async () => {
  for (const m of await mountPoints()) if (m.startsWith(`${base}/`)) await unmount(m);
  await rm(base, { recursive: true, force: true });
});

let n = 0;
function snapshotter(): OverlaySnapshotter {
  return new OverlaySnapshotter({ root: `${base}/root-${n++}` });
}

const sha256 = (b: Buffer | string): Digest => `sha256:${createHash("sha256").update(b).digest("hex")}`;

interface Blob {
  tar: Buffer;
  diffId: Digest;
  opened: number;
  open: () => Readable;
}

async function blob(items: TarItem[], opts: { gzip?: boolean; slow?: boolean } = {}): Promise<Blob> {
  const tar = await buildTar(items);
  const data = opts.gzip === false ? tar : gzipSync(tar);
  const b: Blob = {
    tar,
    diffId: sha256(tar),
    opened: 0,
    open: () => {
      b.opened++;
      if (opts.slow !== true) return Readable.from([data]);
      // Small chunks with pauses, so two unpacks of the same layer overlap.
      async function* slow(): AsyncGenerator<Buffer> {
        for (let i = 0; i < data.length; i += 512) {
          await new Promise((r) => setTimeout(r, 1));
          yield data.subarray(i, i + 512);
        }
      }
      return Readable.from(slow());
    },
  };
  return b;
}

async function applyAll(s: OverlaySnapshotter, blobs: Blob[]): Promise<ChainId[]> {
  let parent: ChainId | undefined;
  const ids: ChainId[] = [];
  for (const b of blobs) {
    const info = await s.applyLayer({ ...(parent === undefined ? {} : { parent }), diffId: b.diffId, open: b.open });
    parent = info.chainId;
    ids.push(info.chainId);
  }
  return ids;
}

describe("chain IDs", () => {
  // diffIDs of known strings; expected chain IDs computed with sha256sum(1):
  //   printf '%s %s' "$d0" "$d1" | sha256sum
  const d0 = "sha256:589f0d58b9053a4ff7329b8fdb4f9dd120e29354c086ad0b3b10733f6cfd6de3" as const;
  const d1 = "sha256:55fea2a37a9fc5963f1beccd0d162b856e6bd05ca07cdd3726847846ab740f0d" as const;
  const d2 = "sha256:e6c65c655ca8172ab7a2b634dab3220a45472dd6571b6efd956ccc05e229a201" as const;

  test("the diffIDs are what we think they are", () => {
    expect([sha256("layer-a"), sha256("layer-b"), sha256("layer-c")]).toEqual([d0, d1, d2]);
  });

  test("chainID(L0) = diffID(L0); chainID(Ln) = sha256(chainID(Ln-1) + ' ' + diffID(Ln))", () => {
    const c1 = "sha256:267c5fd16af60e52927fabf0a36a31f3b5a2069347f7f00c7bd7f93f6ebc01f4";
    const c2 = "sha256:82c0ed5f6c15be9b9180a8c04b9f2c676d74af6db13c711f5bb47a0fa43b56df";
    expect(chainIds([d0, d1, d2])).toEqual([d0, c1, c2]);
    expect(chainId(undefined, d0)).toBe(d0);
    expect(chainId(d0, d1)).toBe(sha256(`${d0} ${d1}`));
  });

  test("the snapshotter stores layers under their chain IDs", async () => {
    const s = snapshotter();
    const blobs = [await blob([{ name: "a", content: "a" }]), await blob([{ name: "b", content: "b" }])];
    const ids = await applyAll(s, blobs);
    expect(ids).toEqual(chainIds(blobs.map((b) => b.diffId)));
    expect(ids[1]).toBe(sha256(`${blobs[0]!.diffId} ${blobs[1]!.diffId}`));
    const info = await s.getLayer(ids[1]!);
    expect(info).toMatchObject({ chainId: ids[1], diffId: blobs[1]!.diffId, parent: ids[0], size: blobs[1]!.tar.length });
    expect(info!.path).toBe(`${s.root}/layers/${ids[1]!.slice(7)}/fs`);
  });
});

describe("OverlaySnapshotter layers", () => {
  test("an existing chain is found without opening the blob", async () => {
    const s = snapshotter();
    const b = await blob([{ name: "f", content: "1" }]);
    const first = await s.applyLayer({ diffId: b.diffId, open: b.open });
    const second = await s.applyLayer({ diffId: b.diffId, open: b.open });
    expect(second).toEqual(first);
    expect(b.opened).toBe(1);
    expect(await s.listLayers()).toEqual([first]);
  });

  test("without a diffID the chain is learned from the unpack", async () => {
    const s = snapshotter();
    const b = await blob([{ name: "f", content: "2" }], { gzip: false });
    const info = await s.applyLayer({ open: b.open });
    expect(info.diffId).toBe(b.diffId);
    expect(info.chainId).toBe(b.diffId);
  });

  test("a diffID mismatch leaves nothing behind", async () => {
    const s = snapshotter();
    const b = await blob([{ name: "f", content: "3" }]);
    const wrong = sha256("something else");
    await expect(s.applyLayer({ diffId: wrong, open: b.open })).rejects.toMatchObject({ code: "digest-mismatch" });
    expect(await readdir(`${s.root}/layers`)).toEqual([]);
    expect(await s.getLayer(wrong)).toBeUndefined();
  });

  test("a hostile layer fails the apply and leaves nothing behind", async () => {
    const s = snapshotter();
    const b = await blob([{ name: "../escape", content: "x" }]);
    await expect(s.applyLayer({ diffId: b.diffId, open: b.open })).rejects.toMatchObject({ name: "UnpackError", code: "breakout" });
    expect(await readdir(`${s.root}/layers`)).toEqual([]);
  });

  test("a missing parent is refused", async () => {
    const s = snapshotter();
    const b = await blob([{ name: "f", content: "4" }]);
    await expect(s.applyLayer({ parent: sha256("nope"), diffId: b.diffId, open: b.open })).rejects.toMatchObject({ code: "not-found" });
  });

  test("concurrent unpacks of one layer in one process share the work", async () => {
    const s = snapshotter();
    const b = await blob([{ name: "f", content: Buffer.alloc(50_000, 1) }], { slow: true });
    const results = await Promise.all([1, 2, 3, 4].map(() => s.applyLayer({ diffId: b.diffId, open: b.open })));
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(b.opened).toBe(1);
  });

  test("concurrent unpacks of one layer by two snapshotters on one root (two processes) both succeed, one copy kept", async () => {
    const root = `${base}/shared-${n++}`;
    const a = new OverlaySnapshotter({ root });
    const c = new OverlaySnapshotter({ root });
    const b = await blob(
      Array.from({ length: 40 }, (_, i) => ({ name: `d/f${i}`, content: `file ${i}` })),
      { slow: true },
    );
    const [ra, rc] = await Promise.all([a.applyLayer({ diffId: b.diffId, open: b.open }), c.applyLayer({ diffId: b.diffId, open: b.open })]);
    expect(b.opened).toBe(2); // both really unpacked
    expect(ra.chainId).toBe(rc.chainId);
    expect(ra.path).toBe(rc.path);
    expect(await readdir(`${root}/layers`)).toEqual([b.diffId.slice(7)]); // no .tmp- left over
    expect((await readdir(`${ra.path}/d`)).length).toBe(40);
  });

  test("an interrupted unpack is invisible and cleanup() removes it", async () => {
    const s = snapshotter();
    const b = await blob([{ name: "f", content: "5" }]);
    const info = await s.applyLayer({ diffId: b.diffId, open: b.open });
    // What kill -9 mid-unpack leaves: a temporary directory, maybe with files.
    await mkdir(`${s.root}/layers/.tmp-killed/fs`, { recursive: true });
    await writeFile(`${s.root}/layers/.tmp-killed/fs/half`, "x");
    await symlink("../layers/0000/fs", `${s.root}/l/dangling`);
    expect(await s.listLayers()).toEqual([info]);
    await s.cleanup();
    expect(await readdir(`${s.root}/layers`)).toEqual([info.chainId.slice(7)]);
    expect(await readdir(`${s.root}/l`)).toEqual([shortId(info.chainId)]);
  });
});

describe("OverlaySnapshotter containers", () => {
  test("prepare, mount, write into merged, unmount, remove", async () => {
    const s = snapshotter();
    const blobs = [
      await blob([
        { name: "etc/", type: "directory" },
        { name: "etc/os-release", content: "base" },
        { name: "etc/gone", content: "to be deleted" },
        { name: "bin/", type: "directory" },
        { name: "bin/sh", content: "#!", mode: 0o755 },
      ]),
      await blob([
        { name: "etc/", type: "directory" },
        { name: "etc/os-release", content: "top" },
        { name: "etc/.wh.gone", content: "" },
      ]),
    ];
    const ids = await applyAll(s, blobs);
    const layers = await Promise.all(ids.map((id) => s.getLayer(id)));

    const m = await s.prepare("c1", ids);
    expect(m).toEqual({
      type: "overlay",
      source: "overlay",
      options: [`lowerdir=${layers[1]!.path}:${layers[0]!.path}`, `upperdir=${s.root}/containers/c1/upper`, `workdir=${s.root}/containers/c1/work`],
    });
    expect(await s.mounts("c1")).toEqual(m);
    await expect(s.prepare("c1", ids)).rejects.toMatchObject({ code: "conflict" });

    const merged = await s.mount("c1");
    expect(await s.mount("c1")).toBe(merged); // idempotent, not stacked
    expect((await mountPoints()).has(merged)).toBe(true);
    expect(await readFile(`${merged}/etc/os-release`, "utf8")).toBe("top");
    expect((await readdir(`${merged}/etc`)).sort()).toEqual(["os-release"]);
    expect((await lstat(merged)).mode & 0o7777).toBe(0o755);

    await writeFile(`${merged}/etc/new`, "written by the container");
    await rm(`${merged}/bin/sh`);
    const snap = await s.get("c1");
    expect(await readFile(`${snap!.upper}/etc/new`, "utf8")).toBe("written by the container");
    expect((await lstat(`${snap!.upper}/bin/sh`)).isCharacterDevice()).toBe(true); // the kernel's whiteout
    expect(await readFile(`${layers[0]!.path}/bin/sh`, "utf8")).toBe("#!"); // layers untouched

    await s.unmount("c1");
    await s.unmount("c1");
    expect(await isMounted(merged)).toBe(false);
    expect(await readdir(merged)).toEqual([]);
    await s.mount("c1");
    expect(await readFile(`${merged}/etc/new`, "utf8")).toBe("written by the container");

    const u = await s.usage();
    expect(u.containers.c1!.inodes).toBeGreaterThan(0);
    expect(u.layers[ids[0]!]!.size).toBeGreaterThan(0);
    expect(u.total.size).toBe(Object.values(u.layers).reduce((a, x) => a + x.size, 0) + u.containers.c1!.size);

    await s.remove("c1");
    expect(await isMounted(merged)).toBe(false);
    expect(await s.get("c1")).toBeUndefined();
    expect(await readdir(`${s.root}/containers`)).toEqual([]);
    await s.remove("c1"); // removing twice is fine
  });

  test("layers must be given base first and form one chain", async () => {
    const s = snapshotter();
    const ids = await applyAll(s, [await blob([{ name: "a", content: "a" }]), await blob([{ name: "b", content: "b" }])]);
    await expect(s.prepare("wrong-order", [...ids].reverse())).rejects.toMatchObject({ code: "invalid" });
    await expect(s.prepare("missing", [sha256("none")])).rejects.toMatchObject({ code: "not-found" });
    await expect(s.prepare("../evil", ids)).rejects.toBeInstanceOf(SnapshotError);
    expect(await readdir(`${s.root}/containers`)).toEqual([]);
  });

  test("an image without layers gets an empty lowerdir", async () => {
    const s = snapshotter();
    const m = await s.prepare("scratch", []);
    expect(m.options[0]).toBe(`lowerdir=${s.root}/empty`);
    const merged = await s.mount("scratch");
    expect(await readdir(merged)).toEqual([]);
    await s.remove("scratch");
  });

  test("layers in use are not removed; unused ones are, with their short links", async () => {
    const s = snapshotter();
    const ids = await applyAll(s, [await blob([{ name: "a", content: "a" }]), await blob([{ name: "b", content: "b" }])]);
    await s.prepare("user", ids);
    await expect(s.removeLayer(ids[1]!)).rejects.toMatchObject({ code: "in-use", message: expect.stringContaining("user") });
    await expect(s.removeLayer(ids[0]!)).rejects.toMatchObject({ code: "in-use" }); // parent of ids[1]
    await s.remove("user");
    await expect(s.removeLayer(ids[0]!)).rejects.toMatchObject({ code: "in-use", message: expect.stringContaining("parent") });
    await s.removeLayer(ids[1]!);
    await s.removeLayer(ids[0]!);
    await s.removeLayer(ids[0]!); // idempotent
    expect(await s.listLayers()).toEqual([]);
    expect(await readdir(`${s.root}/layers`)).toEqual([]);
    expect(await readdir(`${s.root}/l`)).toEqual([]);
  });

  test("many layers: lowerdir goes through short links, relative to the root, and still mounts", async () => {
    const s = snapshotter();
    const blobs: Blob[] = [];
    for (let i = 0; i < 60; i++) {
      blobs.push(await blob([{ name: `f${i}`, content: `layer ${i}` }, { name: "shared", content: `top is ${i}` }]));
    }
    const ids = await applyAll(s, blobs);
    const m = await s.prepare("tall", ids);
    expect(m.cwd).toBe(s.root);
    expect(m.options[0]).toBe(`lowerdir=${[...ids].reverse().map((id) => `l/${shortId(id)}`).join(":")}`);
    expect(m.options.slice(1)).toEqual(["upperdir=containers/tall/upper", "workdir=containers/tall/work"]);
    expect(Buffer.byteLength(m.options.join(","))).toBeLessThan(4096);
    for (const id of ids) expect(await readlink(`${s.root}/l/${shortId(id)}`)).toBe(`../layers/${id.slice(7)}/fs`);

    const merged = await s.mount("tall");
    expect((await readdir(merged)).length).toBe(61);
    expect(await readFile(`${merged}/shared`, "utf8")).toBe("top is 59");
    expect(await readFile(`${merged}/f0`, "utf8")).toBe("layer 0");
    await s.remove("tall");
    expect(await isMounted(merged)).toBe(false);
  });
});

describe("OverlaySnapshotter layer views", () => {
  test("a view shows the layers merged (whiteouts honoured), read-only, and is gone when fn ends, even by throwing", async () => {
    const s = snapshotter();
    const ids = await applyAll(s, [
      await blob([{ name: "etc/", type: "directory" }, { name: "etc/passwd", content: "base" }, { name: "etc/gone", content: "x" }]),
      await blob([{ name: "etc/", type: "directory" }, { name: "etc/passwd", content: "top" }, { name: "etc/.wh.gone", content: "" }]),
    ]);
    let seen = "";
    const listed = await s.withLayersView(ids, async (dir) => {
      seen = dir;
      expect(await isMounted(dir)).toBe(true);
      await expect(writeFile(`${dir}/etc/new`, "no")).rejects.toMatchObject({ code: "EROFS" });
      return { passwd: await readFile(`${dir}/etc/passwd`, "utf8"), etc: (await readdir(`${dir}/etc`)).sort() };
    });
    expect(listed).toEqual({ passwd: "top", etc: ["passwd"] });
    expect(await isMounted(seen)).toBe(false);
    expect(await readdir(`${s.root}/views`)).toEqual([]);

    await expect(s.withLayersView(ids, () => Promise.reject(new Error("reader failed")))).rejects.toThrow("reader failed");
    expect(await readdir(`${s.root}/views`)).toEqual([]);
    expect([...(await mountPoints())].filter((m) => m.startsWith(`${s.root}/`))).toEqual([]);
  });

  test("one layer (or none) is read in place, with nothing mounted", async () => {
    const s = snapshotter();
    const [id] = await applyAll(s, [await blob([{ name: "only", content: "one" }])]);
    const layer = await s.getLayer(id!);
    expect(await s.withLayersView([id!], (dir) => Promise.resolve(dir))).toBe(layer!.path);
    expect(await s.withLayersView([], (dir) => readdir(dir))).toEqual([]);
    await expect(s.withLayersView([sha256("missing")], () => Promise.resolve())).rejects.toMatchObject({ code: "not-found" });
  });

  test("removeStaleViews unmounts and deletes a view a crash left behind", async () => {
    const s = snapshotter();
    const ids = await applyAll(s, [await blob([{ name: "a", content: "a" }]), await blob([{ name: "b", content: "b" }])]);
    const [base, top] = await Promise.all(ids.map((id) => s.getLayer(id)));
    // What a create killed inside withLayersView leaves: a view still mounted.
    const left = `${s.root}/views/.view-left`;
    await mkdir(left);
    await mountOverlay({ type: "overlay", source: "overlay", options: [`lowerdir=${top!.path}:${base!.path}`] }, left);
    expect(await readdir(left)).toEqual(["a", "b"]);
    await s.removeStaleViews();
    expect(await isMounted(left)).toBe(false);
    expect(await readdir(`${s.root}/views`)).toEqual([]);
  });
});

describe("OverlaySnapshotter parentReady", () => {
  test("a layer unpacks before its parent exists and commits after it", async () => {
    const s = snapshotter();
    const lower = await blob([{ name: "a.txt", content: "a" }], { slow: true });
    const upper = await blob([{ name: "b.txt", content: "b" }]);
    const parent = chainId(undefined, lower.diffId);
    let applyParent!: (p: Promise<unknown>) => void;
    const parentReady = new Promise<unknown>((resolve) => (applyParent = resolve));
    // The child starts first, while its parent does not exist yet.
    const child = s.applyLayer({ parent, diffId: upper.diffId, parentReady, open: upper.open });
    applyParent(s.applyLayer({ diffId: lower.diffId, open: lower.open }));
    const info = await child;
    expect(info.chainId).toBe(chainId(parent, upper.diffId));
    expect(await s.getLayer(parent)).toBeDefined();
    expect(await readFile(`${info.path}/b.txt`, "utf8")).toBe("b");
  });

  test("a parent that fails fails the child, which leaves nothing behind", async () => {
    const s = snapshotter();
    const upper = await blob([{ name: "b.txt", content: "b" }]);
    const parent = sha256("no such layer");
    const failed = Promise.reject(new Error("the parent's download failed"));
    // As pull.ts does: the rejection is observed by applyLayer later, not left unhandled meanwhile.
    failed.catch(() => undefined);
    await expect(s.applyLayer({ parent, diffId: upper.diffId, parentReady: failed, open: upper.open })).rejects.toThrow(/parent's download failed/);
    await expect(s.applyLayer({ parent, diffId: upper.diffId, parentReady: Promise.resolve(), open: upper.open })).rejects.toThrow(/parent layer .* not found/);
    expect(await s.listLayers()).toEqual([]);
    expect((await readdir(`${s.root}/layers`)).filter((e) => e.startsWith(".tmp-"))).toEqual([]);
  });
});

describe("adoptLayer", () => {
  test("a container's upper dir becomes the layer of its chain by a rename; a chain already there wins and the dir stays", async () => {
    const s = snapshotter();
    const b = await blob([{ name: "base.txt", content: "base\n" }]);
    const lower = await s.applyLayer({ diffId: b.diffId, open: b.open });
    await s.prepare("step", [lower.chainId]);
    const merged = await s.mount("step");
    await writeFile(`${merged}/added.txt`, "added\n");
    await s.unmount("step");
    const upper = (await s.get("step"))!.upper;
    const diffId = sha256("a tar of the upper dir");
    const adopted = await s.adoptLayer({ parent: lower.chainId, diffId, size: 1234, dir: upper });
    expect(adopted).toMatchObject({ chainId: chainId(lower.chainId, diffId), parent: lower.chainId, diffId, size: 1234 });
    expect(await readdir(adopted.path)).toEqual(["added.txt"]);
    await expect(lstat(upper)).rejects.toThrow();
    // A container of the new chain sees both layers.
    await s.prepare("user", [lower.chainId, adopted.chainId]);
    expect((await readdir(await s.mount("user"))).sort()).toEqual(["added.txt", "base.txt"]);

    const again = `${base}/again-${n}`;
    await mkdir(again);
    expect((await s.adoptLayer({ parent: lower.chainId, diffId, size: 1, dir: again })).path).toBe(adopted.path);
    expect((await lstat(again)).isDirectory()).toBe(true);
    await expect(s.adoptLayer({ parent: sha256("no such parent"), diffId, size: 1, dir: again })).rejects.toThrow(/not found/);
    await s.remove("user");
    await s.remove("step");
  });
});
