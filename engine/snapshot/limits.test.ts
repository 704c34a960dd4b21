// The unpacker's bounds on one layer: uncompressed size, inflation ratio
// (a gzip bomb), number of entries. Each hostile layer is refused with a
// "limit" error naming the daemon.json key, and what reached the disk before
// the refusal stays within the bound.
import { mkdir, rm } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { execFileAsync as run, buildTar, gzipBomb, streamOf, tmpDir } from "./testing.js";
import { unpackLayer } from "./unpack.js";

let base: string;
let counter = 0;

beforeAll(async () => {
  base = await tmpDir("limits");
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function fresh(): Promise<string> {
  const d = `${base}/l${counter++}`;
  await mkdir(d);
  return d;
}

/** Bytes the directory takes on disk (du), so a test sees what really reached it. */
async function diskUsage(dir: string): Promise<number> {
  const { stdout } = await run("du", ["-s", "-B1", dir]);
  return Number(stdout.split("\t")[0]);
}

const MiB = 1 << 20;

describe("layer limits", () => {
  test("a layer larger than maxSize is refused, and no more than that reaches the disk", async () => {
    const dest = await fresh();
    const bomb = await gzipBomb(64 * MiB);
    const err = await unpackLayer(streamOf(bomb), dest, { limits: { maxSize: 4 * MiB } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "UnpackError", code: "limit", message: "layer unpacks to more than the 4 MiB limit (x-tscompose-max-layer-size in daemon.json)" });
    expect(await diskUsage(dest)).toBeLessThan(5 * MiB);
  });

  test("a gzip bomb is refused by its inflation ratio once past the floor", async () => {
    const dest = await fresh();
    const bomb = await gzipBomb(64 * MiB);
    expect(bomb.length).toBeLessThan(128 * 1024);
    const err = await unpackLayer(streamOf(bomb), dest, { limits: { ratioFloor: 2 * MiB } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "UnpackError", code: "limit" });
    expect((err as Error).message).toMatch(/^layer inflates more than 100 times \([\d.]+ MiB from [\d.]+ KiB so far\), a compression bomb\? \(limit: x-tscompose-max-layer-ratio in daemon.json\)$/);
    // The compressed bytes read ahead of the inflater count too: at most 100 times the whole blob gets through.
    expect(await diskUsage(dest)).toBeLessThan(100 * bomb.length + MiB);
  });

  test("below the ratio floor, a layer that compresses well is fine; an uncompressed one has no ratio", async () => {
    const small = await unpackLayer(streamOf(await gzipBomb(2 * MiB)), await fresh(), { limits: { ratioFloor: 4 * MiB } });
    expect(small.size).toBeGreaterThan(2 * MiB);
    const tarball = await buildTar([{ name: "zeros", content: Buffer.alloc(3 * MiB) }]);
    const plain = await unpackLayer(streamOf(tarball), await fresh(), { limits: { ratioFloor: MiB } });
    expect(plain.size).toBe(tarball.length);
  });

  test("more entries than maxEntries are refused, naming the entry", async () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, content: "" }));
    const layer = gzipSync(await buildTar(items));
    const err = await unpackLayer(streamOf(layer), await fresh(), { limits: { maxEntries: 10 } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "limit", entry: "f10", message: "layer has more than the limit of 10 entries (x-tscompose-max-layer-entries in daemon.json)" });
    // Exactly at the limit is fine.
    const ok = await unpackLayer(streamOf(gzipSync(await buildTar(items.slice(0, 10)))), await fresh(), { limits: { maxEntries: 10 } });
    expect(ok.warnings).toEqual([]);
  });
});
