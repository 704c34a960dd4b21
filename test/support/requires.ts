// Suites that need root or an optional tool skip where they cannot run (a
// developer's machine without them). CI runs everything as root with every
// tool scripts/install-deps.sh installs, and there a skip would mean a suite
// silently stopped running: with TSCOMPOSE_TEST_REQUIRE_ALL=1 (set by
// scripts/test.sh when run as root, and by .ci/run) a missing requirement
// fails instead of skipping. Conditions of the machine's kind rather than of
// its set-up (the CPU architecture, the cgroup version) still skip.
// No vitest import: engine/*/testing.ts use this at import time.

export const isRoot = process.getuid?.() === 0;

export const requireAll = process.env.TSCOMPOSE_TEST_REQUIRE_ALL === "1";

/**
 * For describe.skipIf / it.skipIf: true when `what` is not available and the
 * suite should be skipped; throws (failing the file) under TSCOMPOSE_TEST_REQUIRE_ALL=1.
 */
export function missing(what: string, available: boolean): boolean {
  if (available) return false;
  if (requireAll) throw new Error(`test requirement not met: ${what} (TSCOMPOSE_TEST_REQUIRE_ALL=1 turns skips into failures)`);
  return true;
}

/** Inside a test: skips it when `what` is not available, or fails it under TSCOMPOSE_TEST_REQUIRE_ALL=1. */
export function skipUnless(ctx: { skip(note?: string): void }, what: string, available: boolean): void {
  if (missing(what, available)) ctx.skip(`${what} is not available`);
}
