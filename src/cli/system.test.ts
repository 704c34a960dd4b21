import { describe, expect, it } from "vitest";
import { reclaimableText } from "./system.js";

describe("system df's RECLAIMABLE", () => {
  it("is the size with its share of the total in whole percent, as docker prints it", () => {
    expect(reclaimableText({ type: "Images", total: 2, active: 1, size: 3_000_000, reclaimable: 1_000_000 })).toBe("1MB (33%)");
    expect(reclaimableText({ type: "Local Volumes", total: 1, active: 1, size: 4096, reclaimable: 0 })).toBe("0B (0%)");
  });
  it("is the size alone when there is nothing to measure against", () => {
    expect(reclaimableText({ type: "Build Cache", total: 0, active: 0, size: 0, reclaimable: 0 })).toBe("0B");
  });
});
