// Builds dist/ once before any test file runs. End-to-end suites run the
// built bin/tscompose; building per file would rewrite dist/ while other
// files' CLIs are executing it (and fail them with half-written modules).
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

export default function setup(): void {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: resolve(import.meta.dirname, ".."), stdio: "inherit" });
}
