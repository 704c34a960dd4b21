// Builds dist/ once before any test file runs. End-to-end suites run the
// built bin/tscompose; building per file would rewrite dist/ while other
// files' CLIs are executing it (and fail them with half-written modules).
// TSCOMPOSE_TEST_NO_BUILD=1 uses dist/ as it is (several people sharing one
// working tree, each building when their own code is ready).
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

export default function setup(): void {
  if (process.env.TSCOMPOSE_TEST_NO_BUILD === "1") return;
  execFileSync("npm", ["run", "--silent", "build"], { cwd: resolve(import.meta.dirname, ".."), stdio: "inherit" });
}
