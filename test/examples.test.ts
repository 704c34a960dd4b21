// Every example stack loads cleanly, with the services its comments promise.
import { readdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStack } from "../src/stack/load.js";

const examples = resolve(import.meta.dirname, "../examples");
const expected: Record<string, string[]> = {
  webapp: ["redis", "web", "worker"],
  "health-gated": ["api", "db", "migrate"],
  profiles: ["app"],
};

describe("examples", () => {
  const dirs = readdirSync(examples).filter((d) => existsSync(join(examples, d, "compose.yaml")));
  it("are all covered by this test", () => {
    expect(dirs.sort()).toEqual(Object.keys(expected).sort());
  });
  for (const dir of dirs) {
    it(`${dir} loads without warnings`, () => {
      const r = loadStack({ files: [], envFiles: [], profiles: [], env: {}, cwd: join(examples, dir) });
      expect(r.warnings).toEqual([]);
      expect(Object.keys(r.stack.services).sort()).toEqual(expected[dir]);
    });
  }
});
