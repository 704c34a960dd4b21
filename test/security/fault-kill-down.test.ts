// A down cut short by kill -9 must stay done (test/security/fault-kill.ts);
// and the campaign's shard files add up to the whole campaign.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SHARDS, downCutShortSuite, shardRuns } from "./fault-kill.js";

downCutShortSuite();

describe("the fault campaign's shards", () => {
  it("are the files fault-kill-1 ... fault-kill-SHARDS, whose kills add up to TSCOMPOSE_FAULT_RUNS", () => {
    for (let k = 1; k <= SHARDS + 1; k++) expect(existsSync(join(import.meta.dirname, `fault-kill-${k}.test.ts`)), `fault-kill-${k}`).toBe(k <= SHARDS);
    for (const total of [0, 1, 7, 100, 101]) {
      const parts = Array.from({ length: SHARDS }, (_, i) => shardRuns(total, i + 1, SHARDS));
      expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
      expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
    }
  });
});
