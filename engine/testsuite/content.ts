// The conformance suite every ContentStore implementation runs (in the spirit
// of containerd's ContentSuite): it checks the lifecycle documented in
// engine/content/types.ts through the interface alone, so a fake store used by
// other tests is held to the same contract as the real one.
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Digest } from "../content/digest.js";
import { ContentError } from "../content/types.js";
import type { ContentStore, Digest } from "../content/types.js";

export interface ContentStoreHarness {
  store: ContentStore;
  /** Removes everything the store created. */
  cleanup(): Promise<void>;
}

/** Registers the conformance tests for the stores `create` makes, one fresh store per test. */
export function contentStoreSuite(name: string, create: () => Promise<ContentStoreHarness>): void {
  describe(`ContentStore conformance: ${name}`, () => {
    let harness: ContentStoreHarness;
    let store: ContentStore;
    beforeEach(async () => {
      harness = await create();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    it("put then read returns the same bytes", async () => {
      const data = Buffer.from('{"schemaVersion":2}');
      const info = await store.put(data);
      expect(info).toEqual({ digest: sha256Digest(data), size: data.length });
      expect(await store.has(info.digest)).toBe(true);
      expect(await store.info(info.digest)).toEqual(info);
      expect((await store.readBytes(info.digest)).equals(data)).toBe(true);
      expect((await readAll(store.read(info.digest))).equals(data)).toBe(true);
    });

    it("put twice is harmless", async () => {
      const data = randomBytes(1000);
      const first = await store.put(data);
      expect(await store.put(data, first.digest)).toEqual(first);
      expect(await store.list()).toEqual([first]);
    });

    it("put checks the expected digest and stores nothing on mismatch", async () => {
      const data = Buffer.from("payload");
      const wrong = sha256Digest("something else");
      const error = await rejection(store.put(data, wrong));
      expectContentError(error, "digest-mismatch");
      expect(error.message).toContain(wrong);
      expect(error.message).toContain(sha256Digest(data));
      expect(await store.has(wrong)).toBe(false);
      expect(await store.has(sha256Digest(data))).toBe(false);
    });

    it("streams a multi-megabyte blob written in small chunks", async () => {
      const data = randomBytes(5 * 1024 * 1024 + 123);
      const digest = sha256Digest(data);
      const writer = await store.writer(digest, data.length);
      await pipeline(Readable.from(chunks(data, 64 * 1024)), writer.stream);
      expect(writer.written).toBe(data.length);
      expect(await store.has(digest)).toBe(false);
      expect(await writer.commit()).toEqual({ digest, size: data.length });
      expect(await store.has(digest)).toBe(true);
      expect((await readAll(store.read(digest))).equals(data)).toBe(true);
    });

    it("accepts a blob whose size is not known in advance", async () => {
      const data = randomBytes(300_000);
      const digest = sha256Digest(data);
      const writer = await store.writer(digest);
      for (const chunk of chunks(data, 7777)) writer.stream.write(chunk);
      expect(await writer.commit()).toEqual({ digest, size: data.length });
      expect((await store.readBytes(digest)).equals(data)).toBe(true);
    });

    it("stores the empty blob", async () => {
      const digest = sha256Digest(Buffer.alloc(0));
      const writer = await store.writer(digest, 0);
      writer.stream.end();
      expect(await writer.commit()).toEqual({ digest, size: 0 });
      expect((await store.readBytes(digest)).equals(Buffer.alloc(0))).toBe(true);
    });

    it("commit rejects a digest mismatch naming both digests, and nothing becomes visible", async () => {
      const data = randomBytes(100_000);
      const expected = sha256Digest("not these bytes");
      const writer = await store.writer(expected, data.length);
      writer.stream.end(data);
      const error = await rejection(writer.commit());
      expectContentError(error, "digest-mismatch");
      expect(error.message).toContain(`expected ${expected}`);
      expect(error.message).toContain(sha256Digest(data));
      expect(await store.has(expected)).toBe(false);
      expect(await store.list()).toEqual([]);
    });

    it("commit rejects a blob shorter than announced", async () => {
      const data = randomBytes(1000);
      const writer = await store.writer(sha256Digest(data), data.length + 1);
      writer.stream.end(data);
      expectContentError(await rejection(writer.commit()), "size-mismatch");
      expect(await store.has(sha256Digest(data))).toBe(false);
    });

    it("fails a writer as soon as the source sends more than announced", async () => {
      const data = randomBytes(1000);
      const writer = await store.writer(sha256Digest(data), 500);
      expectContentError(await rejection(pipeline(Readable.from([data]), writer.stream)), "size-mismatch");
      expectContentError(await rejection(writer.commit()), "size-mismatch");
      expect(await store.list()).toEqual([]);
    });

    it("lets two concurrent writers of the same blob both succeed", async () => {
      const data = randomBytes(2 * 1024 * 1024);
      const digest = sha256Digest(data);
      const [a, b] = await Promise.all([store.writer(digest, data.length), store.writer(digest, data.length)]);
      // Interleave the two writers chunk by chunk.
      for (const chunk of chunks(data, 100_000)) {
        a.stream.write(chunk);
        b.stream.write(chunk);
      }
      const results = await Promise.all([a.commit(), b.commit()]);
      expect(results).toEqual([
        { digest, size: data.length },
        { digest, size: data.length },
      ]);
      expect((await store.readBytes(digest)).equals(data)).toBe(true);
      expect(await store.list()).toEqual([{ digest, size: data.length }]);
    });

    it("abort discards a half-written blob; a new writer then succeeds", async () => {
      const data = randomBytes(1024 * 1024);
      const digest = sha256Digest(data);
      const writer = await store.writer(digest, data.length);
      writer.stream.write(data.subarray(0, data.length / 2));
      await writer.abort();
      await writer.abort();
      expect(await store.has(digest)).toBe(false);
      await expect(writer.commit()).rejects.toThrow();
      expect(await store.has(digest)).toBe(false);

      const again = await store.writer(digest, data.length);
      again.stream.end(data);
      expect(await again.commit()).toEqual({ digest, size: data.length });
    });

    it("a writer whose stream is torn down midway publishes nothing", async () => {
      const data = randomBytes(1024 * 1024);
      const digest = sha256Digest(data);
      const writer = await store.writer(digest, data.length);
      writer.stream.write(data.subarray(0, 1000));
      writer.stream.destroy(new Error("connection reset"));
      await expect(writer.commit()).rejects.toThrow("connection reset");
      expect(await store.has(digest)).toBe(false);
      expect(await store.list()).toEqual([]);
    });

    it("a writer simply abandoned midway publishes nothing and does not block another", async () => {
      const data = randomBytes(1024 * 1024);
      const digest = sha256Digest(data);
      const abandoned = await store.writer(digest, data.length);
      abandoned.stream.write(data.subarray(0, data.length / 3));
      expect(await store.has(digest)).toBe(false);
      expect(await store.list()).toEqual([]);
      const other = await store.writer(digest, data.length);
      other.stream.end(data);
      expect(await other.commit()).toEqual({ digest, size: data.length });
      await abandoned.abort();
      expect((await store.readBytes(digest)).equals(data)).toBe(true);
    });

    it("deletes blobs, and reports missing ones as not-found", async () => {
      const info = await store.put(Buffer.from("to be deleted"));
      await store.delete(info.digest);
      expect(await store.has(info.digest)).toBe(false);
      expect(await store.info(info.digest)).toBeUndefined();
      expectContentError(await rejection(store.delete(info.digest)), "not-found");
      expectContentError(await rejection(store.readBytes(info.digest)), "not-found");
      expectContentError(await rejection(readAll(store.read(info.digest))), "not-found");
    });

    it("lists exactly the committed blobs", async () => {
      expect(await store.list()).toEqual([]);
      const infos = await Promise.all(["a", "bb", "ccc"].map((text) => store.put(Buffer.from(text))));
      const pending = await store.writer(sha256Digest("pending"));
      pending.stream.write("pend");
      const listed = await store.list();
      expect(sortByDigest(listed)).toEqual(sortByDigest(infos));
      await pending.abort();
    });

    it("rejects malformed and unsupported digests before touching storage", async () => {
      const bad = [
        "sha256:../../../../etc/passwd",
        "sha256:ABCDEF0000000000000000000000000000000000000000000000000000000000",
        `sha512:${"a".repeat(128)}`,
        "nonsense",
      ] as Digest[];
      for (const digest of bad) {
        expectContentError(await rejection(store.has(digest)), "invalid-digest");
        expectContentError(await rejection(store.writer(digest)), "invalid-digest");
        expectContentError(await rejection(store.put(Buffer.from("x"), digest)), "invalid-digest");
      }
    });
  });
}

function* chunks(data: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream as AsyncIterable<Buffer>) parts.push(part);
  return Buffer.concat(parts);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error("expected a rejection");
}

function expectContentError(error: Error, code: ContentError["code"]): void {
  expect(error).toBeInstanceOf(ContentError);
  expect((error as ContentError).code).toBe(code);
}

function sortByDigest<T extends { digest: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => a.digest.localeCompare(b.digest));
}
