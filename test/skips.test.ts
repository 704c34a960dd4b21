// Suites that need root skip only through test/support/requires.ts, where
// TSCOMPOSE_TEST_REQUIRE_ALL=1 (CI, scripts/test.sh as root) turns a skip into
// a failure. A suite testing `getuid() === 0` itself would skip silently in a
// CI run that lost root, and nobody would notice it stopped running.
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, it } from "vitest";

const repo = join(import.meta.dirname, "..");
const ROOT_CHECK = /getuid\??\.?\(\)\s*===\s*0/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules" || e.name.startsWith(".") || e.name.startsWith("dist")) return [];
    const p = join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return /\.test\.ts$|\/testing\.ts$|\/test\/support\/[^/]+\.ts$/.test(p) ? [p] : [];
  });
}

it("no test decides by itself whether it runs as root (requires.ts does)", () => {
  const files = ["engine", "src", "reconciler", "model", "test"].flatMap((d) => testFiles(join(repo, d)));
  expect(files.length).toBeGreaterThan(50); // the walk found the suites
  const own = files.filter((f) => !f.endsWith("support/requires.ts") && f !== import.meta.filename && ROOT_CHECK.test(readFileSync(f, "utf8"))).map((f) => relative(repo, f));
  expect(own).toEqual([]);
  // The pattern does match the check it is meant to find.
  expect(ROOT_CHECK.test("const root = process.getuid?.() === 0;")).toBe(true);
});
