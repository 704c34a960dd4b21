// What `npm run build` ships (dist/) is what a user runs. Test harnesses and
// fixtures live beside the code they test (engine/*/testing.ts, fixtures/,
// crash children, the conformance suite) and tsconfig.build.json leaves them
// out; but tsc compiles whatever a shipped file imports, so one stray import
// would put them back. This asks tsc which files the build compiles.
import { execFileSync } from "node:child_process";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const repo = join(import.meta.dirname, "..");
const testOnly = /\.test\.ts$|(^|\/)testing\.ts$|(^|\/)fixtures\/|(^|\/)crash-child\.ts$|^engine\/testsuite\/|^test\/|^bench\//;

function compiledBy(tsconfig: string): string[] {
  const tsc = join(repo, "node_modules", ".bin", "tsc");
  const out = execFileSync(tsc, ["-p", join(repo, tsconfig), "--listFilesOnly"], { cwd: repo, encoding: "utf8" });
  return out
    .split("\n")
    .filter((f) => f !== "" && !f.includes("/node_modules/"))
    .map((f) => relative(repo, f));
}

describe("npm run build", () => {
  it("compiles the CLI, daemon and engine and no test harness or fixture", () => {
    const files = compiledBy("tsconfig.build.json");
    expect(files).toContain("src/cli/main.ts");
    expect(files).toContain("engine/index.ts");
    expect(files.filter((f) => testOnly.test(f))).toEqual([]);
  });
});
