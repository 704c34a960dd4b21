import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { testDigest, testRecord } from "./testing.js";
import { ImageStore, refKey } from "./store.js";

const id = testDigest;
const record = testRecord;

let dir: string;
let store: ImageStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tscompose-test-imagestore-"));
  store = await ImageStore.open(dir, { sync: false });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("refKey", () => {
  test("normalizes like docker; a digest wins over a tag", () => {
    expect(refKey("busybox")).toBe("docker.io/library/busybox:latest");
    expect(refKey("user/app:1")).toBe("docker.io/user/app:1");
    expect(refKey("localhost:5000/x")).toBe("localhost:5000/x:latest");
    expect(refKey(`busybox:1@${id("a")}`)).toBe(`docker.io/library/busybox@${id("a")}`);
  });
});

describe("ImageStore", () => {
  test("records and references survive reopening; setRef returns what the ref named before", async () => {
    await store.put(record(id("a")));
    await store.put(record(id("b")));
    expect(await store.setRef("busybox", id("a"))).toBeUndefined();
    expect(await store.setRef("docker.io/library/busybox:latest", id("b"))).toBe(id("a"));
    await store.setRef(`busybox@${id("c")}`, id("b"));
    const again = await ImageStore.open(dir);
    expect(await again.getRef("busybox:latest")).toBe(id("b"));
    const entries = await again.entries();
    expect(entries.find((e) => e.record.id === id("b"))).toMatchObject({ tags: ["docker.io/library/busybox:latest"], digests: [`docker.io/library/busybox@${id("c")}`] });
    expect(entries.find((e) => e.record.id === id("a"))).toMatchObject({ tags: [], digests: [] });
    expect(await again.deleteRef("busybox")).toBe(id("b"));
    expect(await again.deleteRef("busybox")).toBeUndefined();
  });

  test("lookup by reference, full ID, hex, or a unique prefix; an ambiguous prefix is an error", async () => {
    await store.put(record(`sha256:ab${"1".repeat(62)}`));
    await store.put(record(`sha256:ac${"2".repeat(62)}`));
    await store.setRef("app:1", `sha256:ab${"1".repeat(62)}`);
    expect(await store.lookup("app:1")).toEqual({ id: `sha256:ab${"1".repeat(62)}`, ref: "docker.io/library/app:1" });
    expect(await store.lookup(`sha256:ac${"2".repeat(62)}`)).toEqual({ id: `sha256:ac${"2".repeat(62)}` });
    expect(await store.lookup("ab1")).toEqual({ id: `sha256:ab${"1".repeat(62)}` });
    await expect(store.lookup("a")).rejects.toThrow(/more than one image/);
    expect(await store.lookup("nothing")).toBeUndefined();
  });

  test("concurrent tag updates of many references lose none; temp files of dead writers are reclaimed", async () => {
    await store.put(record(id("a")));
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.setRef(`app:${i}`, id("a"))));
    expect((await store.refs()).size).toBe(40);
    await writeFile(join(dir, "refs", ".tmp-left-by-kill"), "{");
    expect((await store.refs()).size).toBe(40);
    expect((await readdir(join(dir, "refs"))).filter((n) => n.startsWith(".tmp-"))).toHaveLength(1);
  });
});
