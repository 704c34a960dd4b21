import { describe, expect, it } from "vitest";
import { isDuration, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  const valid: { input: string; ms: number }[] = [
    { input: "0", ms: 0 },
    { input: "0s", ms: 0 },
    { input: "+5s", ms: 5_000 },
    { input: "10s", ms: 10_000 },
    { input: "1.5s", ms: 1_500 },
    { input: "1.1s", ms: 1_100 }, // exact: computed in integer nanoseconds
    { input: ".5s", ms: 500 },
    { input: "1.s", ms: 1_000 },
    { input: "100ms", ms: 100 },
    { input: "10us", ms: 0.01 },
    { input: "10\u00b5s", ms: 0.01 },
    { input: "10\u03bcs", ms: 0.01 },
    { input: "1500ns", ms: 0.0015 },
    { input: "2m", ms: 120_000 },
    { input: "1h30m", ms: 5_400_000 },
    { input: "1h1m1s1ms", ms: 3_661_001 },
    { input: "1m30s500ms", ms: 90_500 },
  ];
  for (const { input, ms } of valid) {
    it(`parses ${JSON.stringify(input)}`, () => {
      expect(parseDuration(input)).toBe(ms);
      expect(isDuration(input)).toBe(true);
    });
  }

  const invalid: { input: string; wantErr: RegExp }[] = [
    { input: "", wantErr: /^invalid duration "": empty duration$/ },
    { input: "10", wantErr: /missing unit after "10"/ },
    { input: "10x", wantErr: /^invalid duration "10x": unknown unit "x"/ },
    { input: "5d", wantErr: /unknown unit "d"/ },
    { input: "1h 30m", wantErr: /unknown unit "h "/ },
    { input: "s", wantErr: /expected a number at "s"/ },
    { input: ".s", wantErr: /expected a number at "\.s"/ },
    { input: "1.2.3s", wantErr: /missing unit after "1\.2"/ },
    { input: "-1s", wantErr: /must not be negative/ },
    { input: "1S", wantErr: /unknown unit "S"/ },
    { input: "3000000h", wantErr: /too large/ },
  ];
  for (const { input, wantErr } of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      expect(() => parseDuration(input)).toThrow(wantErr);
      expect(isDuration(input)).toBe(false);
    });
  }
});
