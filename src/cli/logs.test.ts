import { describe, expect, it } from "vitest";
import { pastUntil } from "./logs.js";

describe("pastUntil (logs --until)", () => {
  it("compares the entry's nanosecond timestamp with --until, to the millisecond", () => {
    const until = Date.parse("2026-01-02T03:04:05.500Z");
    expect(pastUntil("2026-01-02T03:04:05.499999999Z", until)).toBe(false);
    expect(pastUntil("2026-01-02T03:04:05.500000000Z", until)).toBe(false);
    expect(pastUntil("2026-01-02T03:04:05.501000000Z", until)).toBe(true);
    expect(pastUntil("2026-01-02T04:04:05.501000000+01:00", until)).toBe(true);
    expect(pastUntil("2026-01-02T03:04:05.501Z", undefined)).toBe(false);
  });
});
