import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lendCacheDir } from "./cache-mounts.js";

const owner = { mode: 0o750, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

describe("cache mount directories by sharing mode (BuildKit's shared, locked, private)", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "tscompose-cache-mounts-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("shared: every user gets the id's directory at once, made with the mount's mode", async () => {
    const base = join(root, "id");
    const a = await lendCacheDir(base, "shared", owner);
    const b = await lendCacheDir(base, "shared", owner);
    expect([a.dir, b.dir]).toEqual([base, base]);
    expect((await stat(base)).mode & 0o777).toBe(0o750);
    a.release();
    b.release();
  });

  it("locked: the second user waits until the first releases; the order of who holds it is the order of asking", async () => {
    const base = join(root, "id");
    const events: string[] = [];
    const first = await lendCacheDir(base, "locked", owner);
    events.push("first in");
    const second = lendCacheDir(base, "locked", owner).then((l) => {
      events.push("second in");
      return l;
    });
    // Positive control of the wait: a shared user of the same directory is not held up meanwhile.
    const shared = await lendCacheDir(base, "shared", owner);
    events.push("shared in");
    shared.release();
    await new Promise((r) => setImmediate(r));
    events.push("first out");
    first.release();
    (await second).release();
    expect(events).toEqual(["first in", "shared in", "first out", "second in"]);
  });

  it("private: a user finding the directory in use gets another, which a later user gets again once free", async () => {
    const base = join(root, "id");
    const a = await lendCacheDir(base, "private", owner);
    const b = await lendCacheDir(base, "private", owner);
    const c = await lendCacheDir(base, "private", owner);
    expect([a.dir, b.dir, c.dir]).toEqual([base, `${base}.1`, `${base}.2`]);
    b.release();
    b.release(); // a second release is a no-op: the count stays right
    const d = await lendCacheDir(base, "private", owner);
    expect(d.dir).toBe(`${base}.1`);
    for (const l of [a, c, d]) l.release();
    expect((await lendCacheDir(base, "private", owner)).dir).toBe(base);
  });
});
