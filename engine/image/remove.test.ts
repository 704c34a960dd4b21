// Which images `image prune` and `rmi` take, as dockerd's ImagesPrune: an image store
// with build chains (records with parents, no layers: the selection is under
// test here; the layers' collection is collectGarbage's, exercised by the
// e2e suites).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { ContentStore } from "../content/types.js";
import type { Snapshotter } from "../snapshot/types.js";
import { FileLock } from "../sys/flock.js";
import { Leases } from "./leases.js";
import { pruneImages, removeImage, type RemoveContext } from "./remove.js";
import { testDigest, testRecord } from "./testing.js";
import { ImageStore } from "./store.js";

const id = testDigest;
const record = testRecord;

let dir: string;
let ctx: RemoveContext;
let store: ImageStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tscompose-test-prune-"));
  store = await ImageStore.open(join(dir, "images"), { sync: false });
  // No layers and no blobs to collect: deleting a blob nobody stored is "not found" and skipped.
  const content = { delete: () => Promise.resolve() } as unknown as ContentStore;
  const snapshotter = { getLayer: () => Promise.resolve(undefined) } as unknown as Snapshotter;
  ctx = { content, snapshotter, store, leases: await Leases.open(join(dir, "leases")), storeLock: new FileLock(join(dir, "store.lock"), "the test's image store") };
});
afterEach(async () => {
  await ctx.storeLock.close();
  await rm(dir, { recursive: true, force: true });
});

/** base (pulled, tagged) <- a <- b <- app:1 (tagged), and a <- c (a failed build's last good step) */
async function buildChains(): Promise<void> {
  await store.put(record(id("0")));
  await store.setRef("busybox:latest", id("0"));
  await store.put(record(id("a"), id("0")));
  await store.put(record(id("b"), id("a")));
  await store.put(record(id("1"), id("b")));
  await store.setRef("app:1", id("1"));
  await store.put(record(id("c"), id("a")));
}

const left = async (): Promise<string[]> => (await store.list()).map((r) => r.id.slice(7, 8)).sort();
const unused = (): Promise<boolean> => Promise.resolve(false);

describe("pruneImages", () => {
  test("without all: only dangling images (untagged, no child) go; the steps a tagged image descends from stay", async () => {
    await buildChains();
    const { report } = await pruneImages(ctx, { inUse: unused });
    expect(report).toEqual([`Deleted: ${id("c")}`]);
    expect(await left()).toEqual(["0", "1", "a", "b"]);
  });

  test("a dangling image's untagged ancestors left without a child go with it", async () => {
    await store.put(record(id("0")));
    await store.setRef("busybox:latest", id("0"));
    await store.put(record(id("a"), id("0")));
    await store.put(record(id("b"), id("a")));
    const { report } = await pruneImages(ctx, { inUse: unused });
    expect(report).toEqual([`Deleted: ${id("b")}`, `Deleted: ${id("a")}`]);
    expect(await left()).toEqual(["0"]);
  });

  test("an image a container uses stays, and so do its ancestors", async () => {
    await buildChains();
    const { report } = await pruneImages(ctx, { inUse: (image) => Promise.resolve(image === id("c")) });
    expect(report).toEqual([]);
    expect(await left()).toEqual(["0", "1", "a", "b"].concat("c").sort());
  });

  test("a digest reference alone does not keep an image", async () => {
    await store.put(record(id("d")));
    await store.setRef(`busybox@${id("9")}`, id("d"));
    const { report } = await pruneImages(ctx, { inUse: unused });
    expect(report).toEqual([`Untagged: busybox@${id("9")}`, `Deleted: ${id("d")}`]);
    expect(await left()).toEqual([]);
  });

  test("with all: every unused image goes; a tagged one with children is untagged and goes with its last child", async () => {
    await buildChains();
    await pruneImages(ctx, { all: true, inUse: unused });
    expect(await left()).toEqual([]);
    expect([...(await store.refs()).keys()]).toEqual([]);
  });

  test("with all: what a used image descends from loses its tags and stays as intermediate images", async () => {
    await buildChains();
    await pruneImages(ctx, { all: true, inUse: (image) => Promise.resolve(image === id("1")) });
    expect(await left()).toEqual(["0", "1", "a", "b"]);
    expect([...(await store.refs()).keys()]).toEqual(["docker.io/library/app:1"]);
  });
});

describe("removeImage", () => {
  test("rmi of a tag deletes the image with its untagged ancestors left without a child", async () => {
    await buildChains();
    const report = await removeImage(ctx, "app:1", { inUse: unused });
    // a stays: c was built on it too.
    expect(report).toEqual(["Untagged: app:1", `Deleted: ${id("1")}`, `Deleted: ${id("b")}`]);
    expect(await left()).toEqual(["0", "a", "c"]);
  });

  test("untagged, an image something was built on stays; by ID it is a conflict even forced", async () => {
    await buildChains();
    expect(await removeImage(ctx, "busybox", { inUse: unused })).toEqual(["Untagged: busybox:latest"]);
    expect(await left()).toEqual(["0", "1", "a", "b", "c"]);
    await expect(removeImage(ctx, id("a"), { inUse: unused, force: true })).rejects.toThrow(/unable to delete aaaaaaaaaaaa \(cannot be forced\) - image has dependent child images/);
    expect(await left()).toEqual(["0", "1", "a", "b", "c"]);
  });
});
