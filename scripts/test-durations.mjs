#!/usr/bin/env node
// Writes test/durations.json: how long each test file took in the last runs
// (setup and teardown included), from vitest's own cache of them. The test
// run's sequencer (test/support/sequencer.ts) starts the longest files first
// from it, so a fresh clone (CI: no cache) does not leave a 5-minute file for
// the end of the run while the other workers sit idle. Run it after a full
// test run when suites were added or grew; files under MIN_SECONDS are left
// out (they fill the gaps whatever their order).
/* global process, console */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const MIN_SECONDS = 3;
const root = resolve(import.meta.dirname, "..");
const cacheDir = join(root, "node_modules/.vite/vitest");
if (!existsSync(cacheDir)) {
  console.error(`no vitest cache in ${cacheDir}: run the tests first`);
  process.exit(1);
}
/** @type {Record<string, number>} */
const durations = {};
for (const hash of readdirSync(cacheDir)) {
  const file = join(cacheDir, hash, "results.json");
  if (!existsSync(file)) continue;
  /** @type {unknown} */
  const parsed = JSON.parse(readFileSync(file, "utf8"));
  const cache = /** @type {{ results: [string, { duration: number }][] }} */ (parsed);
  for (const [key, { duration }] of cache.results) {
    // Keys are "<project>:<path relative to the root>".
    const path = key.slice(key.indexOf(":") + 1);
    const seconds = Math.round(duration / 1000);
    if (seconds >= MIN_SECONDS && existsSync(join(root, path))) durations[path] = Math.max(durations[path] ?? 0, seconds);
  }
}
const sorted = Object.fromEntries(Object.entries(durations).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
writeFileSync(join(root, "test/durations.json"), `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`test/durations.json: ${Object.keys(sorted).length} files of ${MIN_SECONDS} s or more`);
