import { describe, expect, it } from "vitest";
import { EngineError } from "../errors.js";
import { retryOutOfSequence } from "./deployer.js";

describe("updates of a swarm service", () => {
  it("a stale version (update out of sequence) is tried once more, with the service read again", async () => {
    const versions = [10, 11];
    const sent: number[] = [];
    const result = await retryOutOfSequence(() => {
      const version = versions.shift() as number;
      sent.push(version);
      if (version === 10) return Promise.reject(new EngineError("internal", "update service s_web: rpc error: code = Unknown desc = update out of sequence"));
      return Promise.resolve(version);
    });
    expect(result).toBe(11);
    expect(sent).toEqual([10, 11]);
  });

  it("only once: a second stale answer is the caller's error", async () => {
    let tries = 0;
    const stale = retryOutOfSequence(() => {
      tries++;
      return Promise.reject(new EngineError("internal", "update out of sequence"));
    });
    await expect(stale).rejects.toThrow(/out of sequence/);
    expect(tries).toBe(2);
  });

  it("any other error is not retried", async () => {
    let tries = 0;
    const refused = retryOutOfSequence(() => {
      tries++;
      return Promise.reject(new EngineError("invalid", "service web is global"));
    });
    await expect(refused).rejects.toThrow(/global/);
    expect(tries).toBe(1);
  });
});
