import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanTemp, CorruptFileError, isTempName, readJsonFile, writeFileAtomic, writeFileAtomicSync } from "./atomic-file.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tscompose-test-atomic-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeFileAtomic", () => {
  it("writes with mode 0600 by default and the caller's mode when given, whatever the umask", async () => {
    const old = process.umask(0);
    try {
      await writeFileAtomic(join(dir, "a.json"), "{}");
      await writeFileAtomic(join(dir, "b"), "x", { mode: 0o644 });
      writeFileAtomicSync(join(dir, "c.json"), "{}");
    } finally {
      process.umask(old);
    }
    expect((await stat(join(dir, "a.json"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "b"))).mode & 0o777).toBe(0o644);
    expect((await stat(join(dir, "c.json"))).mode & 0o777).toBe(0o600);
  });

  it("replaces a file's mode with the one asked for (a 0644 record becomes 0600)", async () => {
    const file = join(dir, "r.json");
    await writeFile(file, "{}", { mode: 0o644 });
    await writeFileAtomic(file, '{"x":1}');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("concurrent writers of one path never corrupt it, and a reader only ever sees a whole version", async () => {
    const file = join(dir, "shared.json");
    const payloads = Array.from({ length: 24 }, (_, i) => JSON.stringify({ i, pad: String(i % 10).repeat(64 * 1024) }));
    await writeFileAtomic(file, payloads[0] ?? "");
    let stop = false;
    const seen = new Set<number>();
    const reader = (async () => {
      while (!stop) {
        const v = JSON.parse(await readFile(file, "utf8")) as { i: number; pad: string };
        expect(v.pad).toBe(String(v.i % 10).repeat(64 * 1024));
        seen.add(v.i);
        await new Promise((r) => setImmediate(r));
      }
    })();
    // Async writers interleaved in this process, and synchronous ones between them.
    await Promise.all(payloads.map((p, i) => (i % 3 === 0 ? Promise.resolve(writeFileAtomicSync(file, p)) : writeFileAtomic(file, p))));
    stop = true;
    await reader;
    const final = JSON.parse(await readFile(file, "utf8")) as { i: number };
    expect(payloads[final.i]).toBe(await readFile(file, "utf8"));
    expect(seen.size).toBeGreaterThan(0);
    expect((await readdir(dir)).filter(isTempName)).toEqual([]);
  });

  it("a writer killed at any moment (kill -9) leaves the old or the new file whole, never a torn one", async () => {
    const file = join(dir, "victim.json");
    const size = 4 << 20;
    const valid = new Set([JSON.stringify({ v: "a".repeat(size) }), JSON.stringify({ v: "b".repeat(size) })]);
    const bin = join(import.meta.dirname, "../../node_modules/.bin/vite-node");
    for (let round = 0; round < 4; round++) {
      const child = spawn(bin, [join(import.meta.dirname, "fixtures/atomic-writer.ts"), file, String(size)], { stdio: ["ignore", "pipe", "inherit"] });
      const exited = new Promise((r) => child.once("exit", r));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
        child.once("exit", (code) => reject(new Error(`writer exited early (${code})`)));
      });
      // A random moment inside the write loop (each write of 4 MiB + fsync takes some ms).
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 200)));
      child.kill("SIGKILL");
      await exited;
      expect(valid.has(await readFile(file, "utf8"))).toBe(true);
    }
    // What the killed writers left is only temp files, which cleanTemp reclaims once old enough.
    const left = (await readdir(dir)).filter((n) => n !== "victim.json");
    expect(left.every(isTempName)).toBe(true);
    for (const n of left) await utimes(join(dir, n), new Date(0), new Date(0));
    await cleanTemp(dir, 60_000);
    expect(await readdir(dir)).toEqual(["victim.json"]);
  }, 120_000);

  it("a failed write (no such directory) leaves nothing behind and throws", async () => {
    await expect(writeFileAtomic(join(dir, "missing", "x.json"), "{}")).rejects.toMatchObject({ code: "ENOENT" });
    expect(() => writeFileAtomicSync(join(dir, "missing", "x.json"), "{}")).toThrow(/ENOENT/);
  });

  it("a rename that fails (the target is a directory) keeps the old content and removes its temp file", async () => {
    const target = join(dir, "t");
    await writeFile(join(dir, "keep"), "old");
    await import("node:fs/promises").then((fs) => fs.mkdir(join(target, "inner"), { recursive: true }));
    await expect(writeFileAtomic(target, "new")).rejects.toThrow();
    expect((await readdir(dir)).filter(isTempName)).toEqual([]);
    expect(await readFile(join(dir, "keep"), "utf8")).toBe("old");
  });
});

describe("readJsonFile", () => {
  it("undefined for a missing file; a CorruptFileError naming the file for a truncated one", async () => {
    expect(await readJsonFile(join(dir, "none.json"))).toBeUndefined();
    await writeFile(join(dir, "torn.json"), '{"id": "abc", "sta');
    const err = await readJsonFile(join(dir, "torn.json")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as CorruptFileError).file).toBe(join(dir, "torn.json"));
    expect((err as Error).message).toContain(join(dir, "torn.json"));
  });
});
