import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { LongestFirstSequencer } from "./test/support/sequencer.js";

// Files run in parallel forks. vitest's default (cores - 1) is one fork on a
// 2-core machine: the whole run in series, with the cores mostly waiting on
// containers, registries and daemons. The end-to-end suites keep apart by
// their unique names, prefixes and address pools (test/support/pools.ts), so
// three forks on two cores; TSCOMPOSE_TEST_WORKERS sets another number.
const workers = Number.parseInt(process.env.TSCOMPOSE_TEST_WORKERS ?? "", 10) || Math.max(3, availableParallelism() + 1);

// Unit tests sit beside the code (*.test.ts under src/, reconciler/, engine/);
// end-to-end suites that start real registries and containers live in test/.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "model/**/*.test.ts", "reconciler/**/*.test.ts", "engine/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    poolOptions: { forks: { minForks: 1, maxForks: workers } },
    // Longest files first (test/durations.json), so that no long file starts last and runs alone.
    sequence: { sequencer: LongestFirstSequencer },
    globalSetup: ["test/global-setup.ts"],
  },
});
