import { describe, expect, it } from "vitest";
import type { Engine } from "../../../engine/types.js";
import { StopAnnouncingEngine } from "./stop-announcing-engine.js";

// A recording stand-in for the few methods exercised here (FakeEngine, from the conformance work, can replace it).
function recording(extra: Partial<Engine> = {}): { engine: Engine; calls: string[] } {
  const calls: string[] = [];
  const done = (name: string) => (...args: unknown[]) => {
    calls.push(`${name} ${JSON.stringify(args)}`);
    return Promise.resolve();
  };
  const engine = {
    kind: "embedded",
    startContainer: done("start"),
    stopContainer: done("stop"),
    killContainer: done("kill"),
    removeContainer: done("remove"),
    pauseContainer: done("pause"),
    ...extra,
  } as Partial<Engine> as Engine;
  return { engine, calls };
}

function expectations(calls: string[]): { expectStop(id: string): void; clearExpected(id: string): void } {
  return { expectStop: (id) => calls.push(`expectStop ${id}`), clearExpected: (id) => calls.push(`clearExpected ${id}`) };
}

describe("StopAnnouncingEngine", () => {
  it("announces stops, kills and removals to the supervisor before making them", async () => {
    const { engine, calls } = recording();
    const wrapped = new StopAnnouncingEngine(engine, expectations(calls));
    await wrapped.stopContainer("a", { timeoutMs: 5 });
    await wrapped.killContainer("b", "SIGTERM");
    await wrapped.removeContainer("c", { force: true });
    expect(calls).toEqual(['expectStop a', 'stop ["a",{"timeoutMs":5}]', "expectStop b", 'kill ["b","SIGTERM"]', "expectStop c", 'remove ["c",{"force":true}]']);
  });

  it("makes a started container's exits count again, and passes other calls through untouched", async () => {
    const { engine, calls } = recording();
    const wrapped = new StopAnnouncingEngine(engine, expectations(calls));
    await wrapped.startContainer("a");
    await wrapped.pauseContainer("a");
    expect(calls).toEqual(["clearExpected a", 'start ["a"]', 'pause ["a"]']);
    expect(wrapped.kind).toBe("embedded");
  });

  it("has an optional method exactly when the wrapped engine has it", async () => {
    const bare = new StopAnnouncingEngine(recording().engine, expectations([]));
    expect(bare.markRestarting).toBeUndefined();
    expect(bare.pruneImages).toBeUndefined();
    const { engine, calls } = recording({
      markRestarting(this: unknown, id: string) {
        calls.push(`markRestarting ${id} on the wrapped engine: ${String(this === engine)}`);
        return Promise.resolve();
      },
    });
    const wrapped = new StopAnnouncingEngine(engine, expectations(calls));
    await wrapped.markRestarting?.("x");
    expect(calls).toEqual(["markRestarting x on the wrapped engine: true"]);
  });
});
