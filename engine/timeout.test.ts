import { describe, expect, it } from "vitest";
import { checkTimeoutMs } from "./timeout.js";
import { EngineError } from "./types.js";

describe("checkTimeoutMs", () => {
  it("lets undefined (the default) and finite non-negative values through", () => {
    for (const ok of [undefined, 0, 1, 10_000, 2 ** 31 - 1]) expect(() => checkTimeoutMs(ok, "stop timeout")).not.toThrow();
  });
  it("refuses NaN (no timer at all), negatives and what a timer cannot hold, as EngineError invalid", () => {
    for (const bad of [NaN, Infinity, -1, 2 ** 31, null as unknown as number]) {
      let caught: unknown;
      try {
        checkTimeoutMs(bad, "stop timeout");
      } catch (err) {
        caught = err;
      }
      expect(caught, String(bad)).toBeInstanceOf(EngineError);
      expect((caught as EngineError).code).toBe("invalid");
      expect((caught as Error).message).toMatch(/^invalid stop timeout: /);
    }
  });
});
