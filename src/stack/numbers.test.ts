import { describe, expect, it } from "vitest";
import { parseInteger, parseSeconds, parseTail, parseTimestamp } from "./numbers.js";

describe("parseInteger", () => {
  it("takes base-10 integers only", () => {
    expect(parseInteger("10")).toBe(10);
    expect(parseInteger("-3")).toBe(-3);
    for (const bad of ["", " 1", "1 ", "10s", "abc", "1.5", "1e3", "0x10", "NaN", "Infinity"]) expect(() => parseInteger(bad), bad).toThrow(/is not an integer/);
  });
  it("checks the range", () => {
    expect(() => parseInteger("-1", { min: 0 })).toThrow("-1 is out of range (0 to 9007199254740991)");
    expect(() => parseInteger("99999999999999999999")).toThrow(/out of range/);
  });
});

describe("parseSeconds (-t, --wait-timeout)", () => {
  it("is an integer number of seconds, as compose's int flags", () => {
    expect(parseSeconds("0")).toBe(0);
    expect(parseSeconds("30")).toBe(30);
    expect(() => parseSeconds("abc")).toThrow('"abc" is not an integer');
    expect(() => parseSeconds("10s")).toThrow('"10s" is not an integer');
    expect(() => parseSeconds("-1")).toThrow(/out of range/);
  });
  it("stays within what a timer can hold (a longer one would fire at once)", () => {
    expect(parseSeconds("2147483")).toBe(2147483);
    expect(() => parseSeconds("2147484")).toThrow(/out of range/);
  });
});

describe("parseTail", () => {
  it('is "all" or a count', () => {
    expect(parseTail("all")).toBe("all");
    expect(parseTail("0")).toBe(0);
    expect(parseTail("20")).toBe(20);
    expect(() => parseTail("ten")).toThrow('"ten" is neither "all" nor a number of lines');
    expect(() => parseTail("-5")).toThrow(/neither/);
  });
});

describe("parseTimestamp (--since)", () => {
  const now = Date.UTC(2026, 0, 10, 12, 0, 0);
  it("takes Go durations before now", () => {
    expect(parseTimestamp("42m", now)).toBe(now - 42 * 60_000);
    expect(parseTimestamp("1h30m", now)).toBe(now - 90 * 60_000);
    expect(parseTimestamp("2.5s", now)).toBe(now - 2500);
  });
  it("takes RFC 3339 times and Unix seconds", () => {
    expect(parseTimestamp("2026-01-10T11:00:00Z", now)).toBe(Date.UTC(2026, 0, 10, 11));
    expect(parseTimestamp("2026-01-10T11:00:00.250+01:00", now)).toBe(Date.UTC(2026, 0, 10, 10, 0, 0, 250));
    expect(parseTimestamp("2026-01-10T11:00Z", now)).toBe(Date.UTC(2026, 0, 10, 11));
    expect(parseTimestamp("2026-01-10", now)).toBe(new Date(2026, 0, 10).getTime());
    expect(parseTimestamp("1700000000", now)).toBe(1_700_000_000_000);
    expect(parseTimestamp("1700000000.5", now)).toBe(1_700_000_000_500);
  });
  it("refuses the rest, where Date.parse guessed", () => {
    for (const bad of ["1 hour", "yesterday", "abc", "2013-02-31", "2013-13-01T00:00:00Z", "-5m", ""]) {
      expect(() => parseTimestamp(bad, now), bad).toThrow();
    }
  });
});
