import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { LocalContentStore } from "../content/store.js";
import type { Digest } from "../content/types.js";
import { TeeWriter } from "./tee.js";

const sha = (b: Buffer): Digest => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function write(w: TeeWriter, data: Buffer, chunk: number): Promise<void> {
  for (let i = 0; i < data.length; i += chunk) {
    if (!w.stream.write(data.subarray(i, i + chunk))) await new Promise((r) => w.stream.once("drain", r));
  }
}

let dir: string;
let store: LocalContentStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tscompose-test-tee-"));
  store = await LocalContentStore.open(dir, { sync: false });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("TeeWriter", () => {
  test("a reader attaching mid-download gets every byte, and the end only after the commit", async () => {
    const data = Buffer.alloc(3 << 20, 7);
    const tee = new TeeWriter(await store.writer(sha(data), data.length));
    await write(tee, data.subarray(0, 1 << 20), 64 << 10);
    const reader = tee.attach()!;
    expect(tee.attach()).toBeUndefined();
    const read = readAll(reader);
    await write(tee, data.subarray(1 << 20), 64 << 10);
    await tee.commit();
    expect((await read).equals(data)).toBe(true);
    expect(await store.has(sha(data))).toBe(true);
  });

  test("past the buffer limit, or after the commit, nobody can attach: read the store instead", async () => {
    const data = Buffer.alloc(200_000, 1);
    const tee = new TeeWriter(await store.writer(sha(data), data.length), { bufferLimit: 100_000 });
    await write(tee, data, 50_000);
    expect(tee.attach()).toBeUndefined();
    await tee.commit();
    const small = Buffer.from("small");
    const done = new TeeWriter(await store.writer(sha(small), small.length));
    await write(done, small, 5);
    await done.commit();
    expect(done.attach()).toBeUndefined();
  });

  test("a digest mismatch fails the reader, and nothing is stored", async () => {
    const data = Buffer.alloc(100_000, 2);
    const wrong = sha(Buffer.from("other"));
    const tee = new TeeWriter(await store.writer(wrong, data.length));
    const reader = tee.attach()!;
    const read = readAll(reader).then(
      () => "ended",
      (e: Error) => e.message,
    );
    await write(tee, data, 10_000);
    await expect(tee.commit()).rejects.toThrow(/digest mismatch/);
    expect(await read).toMatch(/digest mismatch/);
    expect(await store.list()).toEqual([]);
  });
});
