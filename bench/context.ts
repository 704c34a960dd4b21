// Reading a build context of 5,000 files (a source tree's mix: many small
// files, a few large), in one run:
//   BuildContext.open + hashAll (walk, lstat, .dockerignore, sha256 per file)
//   vs  `tar -c . | sha256sum` of the same directory (what sending a context
//   to a builder costs at least: every byte read once and hashed once).
// Also the lazy case: walk only, then hash the files of one COPY (a tenth);
// and the daemon's digest of an unchanged context at each `up`
// (src/daemon/build-inputs.ts contextDigest) without and with its file hash
// cache (engine/build/file-hash-cache.ts: an lstat per file, no read).
// Contenders alternate round by round; medians and ratios are printed.
import { spawnSync } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BuildContext } from "../engine/build/context.js";
import { FileHashCache } from "../engine/build/file-hash-cache.js";
import { contextDigest } from "../src/daemon/build-inputs.js";
import { report, timeAsync, type Sample } from "./harness.js";

const rounds = Number(process.env.ROUNDS ?? 7);
const FILES = 5000;

function bytes(seed: number, n: number): Buffer {
  const key = createHash("sha256").update(String(seed)).digest().subarray(0, 16);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

async function makeContext(dir: string): Promise<number> {
  let total = 0;
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, `pkg${i % 50}`, `mod${i % 7}`);
    await mkdir(sub, { recursive: true });
    // Mostly 1-16 KiB files, one in 500 of 1 MiB: about 60 MB in all.
    const size = i % 500 === 0 ? 1 << 20 : 1024 * (1 + (i % 16));
    await writeFile(join(sub, `file${i}.ts`), bytes(i, size));
    total += size;
  }
  await writeFile(join(dir, ".dockerignore"), "**/*.log\n!keep.log\n");
  return total;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tscompose-bench-context-"));
  try {
    const total = await makeContext(dir);
    console.log(`context: ${FILES} files, ${(total / 1e6).toFixed(1)} MB, ${rounds} rounds`);
    // The cache does not trust a file changed in the last 2 s (file-hash-cache.ts): a context being edited right now.
    await new Promise((r) => setTimeout(r, 2100));
    const cache = new FileHashCache();
    const contenders: { name: string; run: () => Promise<unknown> }[] = [
      {
        name: "tar -c . | sha256sum",
        run: () => {
          const r = spawnSync("sh", ["-c", "tar -cf - . | sha256sum"], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
          if (r.status !== 0) throw new Error(`tar | sha256sum failed: ${r.stderr.toString()}`);
          return Promise.resolve();
        },
      },
      {
        name: "BuildContext open + hashAll",
        run: async () => {
          const ctx = await BuildContext.open(dir);
          await ctx.hashAll();
        },
      },
      {
        name: "BuildContext open (walk only)",
        run: () => BuildContext.open(dir),
      },
      {
        name: "BuildContext open + one COPY (1/10)",
        run: async () => {
          const ctx = await BuildContext.open(dir);
          await ctx.copyCacheKey(["pkg1", "pkg2", "pkg3", "pkg4", "pkg5"]);
        },
      },
      { name: "contextDigest (each up), no cache", run: () => contextDigest(dir, undefined, {}) },
      { name: "contextDigest (each up), file hash cache", run: () => contextDigest(dir, undefined, { hashCache: cache }) },
    ];
    for (const c of contenders) await c.run();
    const samples: Sample[] = contenders.map((c) => ({ name: c.name, times: [] }));
    for (let i = 0; i < rounds; i++) {
      for (const [j, c] of contenders.entries()) (samples[j] as Sample).times.push(await timeAsync(c.run));
    }
    report("walk + hash of a 5,000-file context (warm page cache)", samples, "tar -c . | sha256sum");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
