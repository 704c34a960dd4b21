#!/usr/bin/env node
// The engine's perl helpers (engine/**/*.pl, see engine/sys/perl.ts and
// docs/perl-helpers.md) are plain files read at run time, not TypeScript:
//
//   node scripts/perl-programs.mjs check   perl -cw on each (npm run lint)
//   node scripts/perl-programs.mjs copy [OUT]  copy each into OUT/ (dist/)
//                                          beside its compiled module (npm run
//                                          build; build:dev names dist-dev)
/* global process, console */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const programs = readdirSync(join(root, "engine"), { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".pl"))
  .map((f) => join("engine", f))
  .sort();

const mode = process.argv[2];
if (programs.length === 0) {
  console.error("perl-programs: no engine/**/*.pl found");
  process.exit(1);
}
if (mode === "check") {
  let failed = 0;
  for (const p of programs) {
    // -c compiles without running, -w reports what looks wrong (a misspelt variable used once, a
    // bad comparison). perl exits 0 on warnings, so anything besides "syntax OK" fails the check.
    const r = spawnSync("perl", ["-cw", p], { cwd: root, encoding: "utf8" });
    const said = r.stderr.trim();
    if (r.status !== 0 || said !== `${p} syntax OK`) {
      failed++;
      console.error(said || `${p}: perl exited ${String(r.status)}`);
    }
  }
  if (failed > 0) process.exit(1);
  console.log(`perl -cw: ${programs.length} programs OK`);
} else if (mode === "copy") {
  // dist/ (npm run build) by default; dist-dev/ for the benches' build, which compiles engine modules too.
  const out = process.argv[3] ?? "dist";
  for (const p of programs) {
    mkdirSync(dirname(join(root, out, p)), { recursive: true });
    copyFileSync(join(root, p), join(root, out, p));
  }
} else {
  console.error("usage: perl-programs.mjs check|copy [OUT]");
  process.exit(2);
}
