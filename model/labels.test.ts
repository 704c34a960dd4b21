// Label keys are written in one module: a key retyped elsewhere drifts (a typo
// is a label nobody reads). Tests may spell keys out, to pin what other tools see.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, test } from "vitest";
import { COMPOSE_LABEL_PREFIX, JOB_LABEL, LABEL, VOLUME_LABEL } from "./labels.js";

const root = join(import.meta.dirname, "..");
const LABEL_LITERAL = /["'`](com\.docker\.compose\.|com\.docker\.volume\.|io\.tscompose\.)/;

function sources(): string[] {
  return ["engine", "src", "reconciler", "model", "bench"].flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
      // testing.ts files and the conformance suite are test code too (left out of the build).
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.endsWith("testing.ts") && !f.startsWith("testsuite/") && !f.includes("node_modules"))
      .map((f) => join(root, dir, f)),
  );
}

describe("label keys", () => {
  test("no source outside model/labels.ts spells a label key", () => {
    const offenders = sources()
      .filter((f) => relative(root, f) !== join("model", "labels.ts"))
      .flatMap((f) =>
        readFileSync(f, "utf8")
          .split("\n")
          .map((line, i) => ({ line, at: `${relative(root, f)}:${i + 1}` }))
          .filter(({ line }) => !line.trimStart().startsWith("//") && LABEL_LITERAL.test(line))
          .map(({ at }) => at),
      );
    expect(offenders).toEqual([]);
  });

  test("the keys are compose's (under its prefix) and tscompose's own, all distinct", () => {
    const compose = Object.values(LABEL);
    for (const key of compose) expect(key.startsWith(COMPOSE_LABEL_PREFIX)).toBe(true);
    for (const key of Object.values(JOB_LABEL)) expect(key).toMatch(/^io\.tscompose\./);
    expect(VOLUME_LABEL.carriedFrom).toMatch(/^io\.tscompose\./);
    const all = [...compose, ...Object.values(JOB_LABEL), ...Object.values(VOLUME_LABEL)];
    expect(new Set(all).size).toBe(all.length);
  });
});
