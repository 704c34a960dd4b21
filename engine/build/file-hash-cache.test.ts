import { lstatSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BuildContext } from "./context.js";
import { FileHashCache, fileStamp } from "./file-hash-cache.js";

const dir = mkdtempSync(join(tmpdir(), "tscompose-test-hashcache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");
const later = (): number => Date.now() + 60_000;

async function hashes(cache: FileHashCache): Promise<Record<string, string>> {
  const ctx = await BuildContext.open(dir, { hashCache: cache });
  await ctx.hashAll();
  const out: Record<string, string> = {};
  for (const e of ctx.entries) if (e.type === "file") out[e.path] = await ctx.contentHash(e.path);
  return out;
}

describe("FileHashCache", () => {
  it("gives a hash back only for the same stamp; a file changed within the racy window is not kept", () => {
    const file = join(dir, "unit.txt");
    writeFileSync(file, "one");
    const stamp = fileStamp(lstatSync(file));
    const settled = new FileHashCache(10, later);
    settled.set(file, stamp, "h1");
    expect(settled.get(file, stamp)).toBe("h1");
    expect(settled.get(file, { ...stamp, key: `${stamp.key}x` })).toBeUndefined();
    expect(settled.get(join(dir, "other"), stamp)).toBeUndefined();
    // Just written: a same-size rewrite inside the file system's timestamp tick would keep the stamp.
    const racy = new FileHashCache(10, Date.now);
    racy.set(file, stamp, "h1");
    expect(racy.get(file, stamp)).toBeUndefined();
    expect(racy.size).toBe(0);
  });

  it("starts over past its size limit", () => {
    const cache = new FileHashCache(2, later);
    const stamp = { key: "k", ctimeMs: 0 };
    cache.set("/a", stamp, "1");
    cache.set("/b", stamp, "2");
    cache.set("/b", stamp, "2b");
    expect(cache.size).toBe(2);
    cache.set("/c", stamp, "3");
    expect(cache.size).toBe(1);
    expect(cache.get("/c", stamp)).toBe("3");
  });

  it("a context read with the cache hashes as without it, and an edit of the same size is seen", async () => {
    writeFileSync(join(dir, "a.txt"), "alpha");
    writeFileSync(join(dir, "b.txt"), "bravo");
    const cache = new FileHashCache(100, later);
    const first = await hashes(cache);
    expect(first["a.txt"]).toBe(sha("alpha"));
    expect(cache.size).toBe(3);
    // From the cache now: same answers.
    expect(await hashes(cache)).toEqual(first);
    writeFileSync(join(dir, "a.txt"), "ALPHA");
    const edited = await hashes(cache);
    expect(edited["a.txt"]).toBe(sha("ALPHA"));
    expect(edited["b.txt"]).toBe(sha("bravo"));
    // The real clock: the edit is within the racy window, so it is hashed again, not remembered.
    const real = new FileHashCache();
    writeFileSync(join(dir, "a.txt"), "alpha");
    expect((await hashes(real))["a.txt"]).toBe(sha("alpha"));
    writeFileSync(join(dir, "a.txt"), "omega");
    expect((await hashes(real))["a.txt"]).toBe(sha("omega"));
  });
});
