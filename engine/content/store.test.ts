import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { contentStoreSuite } from "../testsuite/content.js";
import { sha256Digest } from "./digest.js";
import { LocalContentStore } from "./store.js";
import { ContentError } from "./types.js";

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), "tscompose-test-content-"));
}

contentStoreSuite("LocalContentStore", async () => {
  const root = await tempRoot();
  const store = await LocalContentStore.open(root);
  return { store, cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe("LocalContentStore on disk", () => {
  let root: string;
  let store: LocalContentStore;
  const ingestFiles = (): Promise<string[]> => readdir(join(root, "ingest"));

  beforeEach(async () => {
    root = await tempRoot();
    store = await LocalContentStore.open(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("keeps committed blobs read-only at blobs/sha256/<hex>", async () => {
    const data = Buffer.from("layout");
    const { digest } = await store.put(data);
    const expected = join(root, "blobs", "sha256", digest.slice("sha256:".length));
    expect(store.path(digest)).toBe(expected);
    expect((await readFile(expected)).equals(data)).toBe(true);
    expect((await stat(expected)).mode & 0o777).toBe(0o444);
    expect(await ingestFiles()).toEqual([]);
  });

  it("writes through an ingest file that disappears on commit", async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const writer = await store.writer(sha256Digest(data), data.length);
    writer.stream.write(data);
    expect(await ingestFiles()).toHaveLength(1);
    await writer.commit();
    expect(await ingestFiles()).toEqual([]);
  });

  it("leaves no ingest file behind after a digest or size mismatch", async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const wrongDigest = await store.writer(sha256Digest("other"), data.length);
    wrongDigest.stream.end(data);
    await expect(wrongDigest.commit()).rejects.toBeInstanceOf(ContentError);

    const short = await store.writer(sha256Digest(data), data.length + 10);
    short.stream.end(data);
    await expect(short.commit()).rejects.toThrow(/size mismatch/);

    const long = await store.writer(sha256Digest(data), 10);
    long.stream.write(data);
    await expect(long.commit()).rejects.toThrow(/size mismatch/);

    expect(await ingestFiles()).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  it("removes the ingest file of a writer torn down or aborted midway", async () => {
    const data = randomBytes(4 * 1024 * 1024);
    const torn = await store.writer(sha256Digest(data), data.length);
    torn.stream.write(data.subarray(0, 3 * 1024 * 1024));
    torn.stream.destroy();
    await expect(torn.commit()).rejects.toThrow();

    const aborted = await store.writer(sha256Digest(data), data.length);
    aborted.stream.write(data.subarray(0, 3 * 1024 * 1024));
    await aborted.abort();

    expect(await ingestFiles()).toEqual([]);
  });

  it("leaves no ingest file when two writers race for one blob", async () => {
    const data = randomBytes(1024 * 1024);
    const digest = sha256Digest(data);
    const writers = await Promise.all([1, 2, 3].map(() => store.writer(digest, data.length)));
    for (const writer of writers) writer.stream.end(data);
    await Promise.all(writers.map((writer) => writer.commit()));
    expect(await ingestFiles()).toEqual([]);
    expect((await store.readBytes(digest)).equals(data)).toBe(true);
  });

  it("cleanIngest removes stale files by age but never a live writer's", async () => {
    const stale = join(root, "ingest", "0123456789abcdef");
    await writeFile(stale, "left by a dead process");
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(stale, hourAgo, hourAgo);

    const live = await store.writer(sha256Digest("live"));
    live.stream.write("li");
    expect(await ingestFiles()).toHaveLength(2);

    expect(await store.cleanIngest(2 * 3600_000)).toBe(0);
    expect(await store.cleanIngest(60_000)).toBe(1);
    expect(existsSync(stale)).toBe(false);
    // A live writer survives even an age of zero, from any store on the root.
    const sameRoot = await LocalContentStore.open(root);
    expect(await sameRoot.cleanIngest(0)).toBe(0);
    live.stream.end("ve");
    expect(await live.commit()).toEqual({ digest: sha256Digest("live"), size: 4 });
  });

  it("can skip fsync for throwaway roots", async () => {
    const fast = await LocalContentStore.open(join(root, "nosync"), { sync: false });
    const data = randomBytes(100_000);
    const info = await fast.put(data);
    expect((await fast.readBytes(info.digest)).equals(data)).toBe(true);
  });

  it("rejects a negative or fractional size", async () => {
    await expect(store.writer(sha256Digest("x"), -1)).rejects.toBeInstanceOf(RangeError);
    await expect(store.writer(sha256Digest("x"), 1.5)).rejects.toBeInstanceOf(RangeError);
  });
});

describe("LocalContentStore and a writer killed with SIGKILL", () => {
  let dir: string;
  let child: ChildProcess | undefined;
  beforeEach(async () => {
    dir = await tempRoot();
  });
  afterEach(async () => {
    // Never leave the child behind when the test failed before killing it.
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  it("never shows the half-written blob, and a fresh write succeeds", async () => {
    await buildStoreForNode(join(dir, "lib"));
    const data = randomBytes(8 * 1024 * 1024);
    const digest = sha256Digest(data);
    const half = data.length / 2;
    const root = join(dir, "store");
    await writeFile(join(dir, "data"), data);
    await writeFile(join(dir, "child.mjs"), CHILD);

    const writerProcess = spawn(process.execPath, [join(dir, "child.mjs"), root, digest, join(dir, "data")], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = writerProcess;
    let stderr = "";
    writerProcess.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => writerProcess.once("exit", (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      writerProcess.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("HALF")) resolve();
      });
      void exited.then(() => reject(new Error(`child exited before writing half the blob: ${stderr}`)));
    });
    writerProcess.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    // The killed writer left its partial ingest file, and nothing else.
    const ingest = await readdir(join(root, "ingest"));
    expect(ingest).toHaveLength(1);
    expect((await stat(join(root, "ingest", ingest[0]!))).size).toBe(half);

    const store = await LocalContentStore.open(root);
    expect(await store.has(digest)).toBe(false);
    expect(existsSync(store.path(digest))).toBe(false);
    expect(await store.list()).toEqual([]);

    const writer = await store.writer(digest, data.length);
    writer.stream.end(data);
    expect(await writer.commit()).toEqual({ digest, size: data.length });
    expect((await store.readBytes(digest)).equals(data)).toBe(true);

    // The orphan is fresh, so a reasonable age keeps it; age zero reclaims it.
    expect(await store.cleanIngest(3600_000)).toBe(0);
    expect(await store.cleanIngest(0)).toBe(1);
    expect(await readdir(join(root, "ingest"))).toEqual([]);
  });
});

// Runs in a separate node process: writes the first half of the blob, waits
// until those bytes are in the ingest file, says so, then idles until killed.
const CHILD = `
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { LocalContentStore } from "./lib/store.js";

const [root, digest, dataPath] = process.argv.slice(2);
const data = readFileSync(dataPath);
const half = data.length / 2;
const store = await LocalContentStore.open(root);
const writer = await store.writer(digest, data.length);
for (let offset = 0; offset < half; offset += 64 * 1024) {
  writer.stream.write(data.subarray(offset, Math.min(offset + 64 * 1024, half)));
}
const onDisk = () => readdirSync(join(root, "ingest")).map((name) => statSync(join(root, "ingest", name)).size);
const poll = setInterval(() => {
  if (onDisk().some((size) => size === half)) {
    clearInterval(poll);
    process.stdout.write("HALF\\n");
    setInterval(() => {}, 1000);
  }
}, 5);
`;

// The child process cannot load TypeScript, so the store and the modules it
// imports are transpiled (types stripped, nothing else) into plain ESM.
async function buildStoreForNode(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, "package.json"), '{"type":"module"}');
  for (const name of ["store", "digest", "types"]) {
    const source = await readFile(new URL(`./${name}.ts`, import.meta.url), "utf8");
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    await writeFile(join(outDir, `${name}.js`), outputText);
  }
}
