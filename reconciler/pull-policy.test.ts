import { describe, expect, it } from "vitest";
import { mustPull, refreshAfterMs } from "./pull-policy.js";

const HOUR = 3_600_000;
const now = Date.parse("2026-01-10T12:00:00Z");

describe("refreshAfterMs", () => {
  it("reads daily, weekly, refresh and every_<duration> (w, d, h, m, s summed)", () => {
    expect(refreshAfterMs("daily")).toBe(24 * HOUR);
    expect(refreshAfterMs("weekly")).toBe(7 * 24 * HOUR);
    expect(refreshAfterMs("refresh")).toBe(0);
    expect(refreshAfterMs("every_12h")).toBe(12 * HOUR);
    expect(refreshAfterMs("every_1w2d")).toBe(9 * 24 * HOUR);
    expect(refreshAfterMs("every_1h30m15s")).toBe(HOUR + 30 * 60_000 + 15_000);
    expect(refreshAfterMs("missing")).toBeUndefined();
    expect(refreshAfterMs("always")).toBeUndefined();
  });
});

describe("mustPull", () => {
  const cases: [string, Parameters<typeof mustPull>[0], boolean, number | undefined, boolean][] = [
    ["always pulls a present image", "always", true, now, true],
    ["never leaves a missing one", "never", false, undefined, false],
    ["build never pulls", "build", false, undefined, false],
    ["missing pulls an absent image", "missing", false, undefined, true],
    ["missing keeps a present one however old", "missing", true, now - 1000 * HOUR, false],
    ["if_not_present is missing", "if_not_present", true, now - 1000 * HOUR, false],
    ["daily keeps an image pulled 23h ago", "daily", true, now - 23 * HOUR, false],
    ["daily pulls one pulled 25h ago", "daily", true, now - 25 * HOUR, true],
    ["daily pulls an absent one", "daily", false, undefined, true],
    ["weekly keeps one pulled 6 days ago", "weekly", true, now - 6 * 24 * HOUR, false],
    ["every_2h pulls one pulled 3h ago", "every_2h", true, now - 3 * HOUR, true],
    ["every_2h keeps one pulled 1h ago", "every_2h", true, now - HOUR, false],
    ["refresh pulls a present image", "refresh", true, now - 1, true],
    ["a present image without a pull time is refreshed", "daily", true, undefined, true],
  ];
  for (const [name, policy, present, pulledAtMs, want] of cases) {
    it(name, () => expect(mustPull(policy, { present, pulledAtMs }, now)).toBe(want));
  }
});
