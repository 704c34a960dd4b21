import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { committedDurations, longestFirst } from "./sequencer.js";

const root = join(import.meta.dirname, "../..");

describe("the test run's order", () => {
  it("starts the longest known files first, then unknown ones larger first, stable on ties", () => {
    const secs: Record<string, number | undefined> = { a: 5, b: 300, c: undefined, d: 5, e: undefined, f: 40 };
    const size: Record<string, number> = { a: 1, b: 1, c: 10, d: 1, e: 900, f: 1 };
    expect(longestFirst(Object.keys(secs), (f) => secs[f], (f) => size[f] ?? 0)).toEqual(["b", "f", "a", "d", "e", "c"]);
  });

  it("is read from a table of test files that exist", () => {
    const table = committedDurations();
    const entries = Object.entries(table);
    expect(entries.length).toBeGreaterThan(10);
    const stale = entries.filter(([f]) => !f.endsWith(".test.ts") || !existsSync(join(root, f))).map(([f]) => f);
    expect(stale).toEqual([]);
    for (const [f, s] of entries) expect(s, f).toBeGreaterThan(0);
  });
});
