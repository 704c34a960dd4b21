import { defineConfig } from "vitest/config";

// Unit tests sit beside the code (*.test.ts under src/, reconciler/, engine/);
// end-to-end suites that start real registries and containers live in test/.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "model/**/*.test.ts", "reconciler/**/*.test.ts", "engine/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    globalSetup: ["test/global-setup.ts"],
  },
});
