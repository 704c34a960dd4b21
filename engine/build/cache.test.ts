import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { STEP_CACHE_VERSION, StepCache } from "./cache.js";

describe("StepCache.key", () => {
  it("depends on the builder's semantics version, so an older builder's steps miss", () => {
    const parts = ["sha256:parent", { cmd: ["RUN", "true"] }];
    // What the key was before the version was part of it: the parts alone.
    const unversioned = createHash("sha256");
    for (const p of parts) {
      const s = JSON.stringify(p);
      unversioned.update(`${Buffer.byteLength(s)}:${s}`);
    }
    expect(StepCache.key(parts)).not.toBe(unversioned.digest("hex"));
    expect(STEP_CACHE_VERSION).toBeGreaterThanOrEqual(2);
  });

  it("tells apart lists of parts that concatenate the same", () => {
    expect(StepCache.key(["ab", "c"])).not.toBe(StepCache.key(["a", "bc"]));
    expect(StepCache.key(["ab", "c"])).toBe(StepCache.key(["ab", "c"]));
  });
});
