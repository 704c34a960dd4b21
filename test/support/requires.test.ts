import { afterEach, describe, expect, it, vi } from "vitest";

// requires.ts reads the environment once, at import: each case imports it afresh.
async function load(requireAll: string | undefined) {
  vi.resetModules();
  vi.stubEnv("TSCOMPOSE_TEST_REQUIRE_ALL", requireAll);
  return import("./requires.js");
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("missing()", () => {
  it("says skip when a requirement is unavailable and skips are allowed", async () => {
    const { missing } = await load(undefined);
    expect(missing("redis-server", false)).toBe(true);
    expect(missing("redis-server", true)).toBe(false);
  });

  it("fails instead under TSCOMPOSE_TEST_REQUIRE_ALL=1", async () => {
    const { missing } = await load("1");
    expect(() => missing("redis-server", false)).toThrow(/test requirement not met: redis-server/);
    expect(missing("redis-server", true)).toBe(false);
  });

  it("skipUnless skips the test, or fails it under TSCOMPOSE_TEST_REQUIRE_ALL=1", async () => {
    const skip = vi.fn();
    (await load("0")).skipUnless({ skip }, "a private dockerd", false);
    expect(skip).toHaveBeenCalledWith("a private dockerd is not available");
    const { skipUnless } = await load("1");
    expect(() => skipUnless({ skip }, "a private dockerd", false)).toThrow(/a private dockerd/);
    expect(skip).toHaveBeenCalledTimes(1);
  });
});
