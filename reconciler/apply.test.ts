// apply's scheduling: which actions share the bounded slots. The engine here
// only counts how many calls of each kind are in flight at once (the real
// engine is exercised by the e2e suites; this is about apply's own logic).
import { describe, expect, it } from "vitest";
import { EngineError } from "../engine/types.js";
import type { Engine } from "../engine/types.js";
import { apply } from "./apply.js";
import { planDown } from "./plan.js";
import { container, observed, service, stackOf } from "./testing.js";

function countingEngine(): { engine: Engine; peak: Record<string, number> } {
  const inFlight: Record<string, number> = {};
  const peak: Record<string, number> = {};
  const hold = (kind: string) => async (): Promise<void> => {
    inFlight[kind] = (inFlight[kind] ?? 0) + 1;
    peak[kind] = Math.max(peak[kind] ?? 0, inFlight[kind]);
    // Each call lasts a turn of the event loop, so that concurrent ones overlap.
    await new Promise((r) => setImmediate(r));
    inFlight[kind]--;
  };
  const engine = { stopContainer: hold("stop"), removeContainer: hold("remove"), inspectNetwork: () => Promise.resolve(undefined) } as unknown as Engine;
  return { engine, peak };
}

describe("apply's parallelism", () => {
  it("stops every container at once (each waits out its own grace), while removals share the bounded slots", async () => {
    const services = Array.from({ length: 40 }, (_, i) => service(`s${i}`));
    const stack = stackOf(services);
    const obs = observed({ containers: services.map((s) => container(s.name, 1)) });
    const plan = planDown(stack, obs);
    const { engine, peak } = countingEngine();
    const result = await apply(plan, { engine, stack, parallelism: 4 });
    expect(result.ok).toBe(true);
    expect(peak.stop).toBe(40);
    expect(peak.remove).toBeLessThanOrEqual(4);
    expect(peak.remove).toBeGreaterThan(1);
  });
});

describe("apply's stop and remove", () => {
  it("take a container that is already gone as done, and still fail on other errors", async () => {
    const stack = stackOf([service("a"), service("b")]);
    const plan = planDown(stack, observed({ containers: [container("a", 1), container("b", 1)] }));
    const gone = (): Promise<never> => Promise.reject(new EngineError("not-found", "no such container"));
    const engine = { stopContainer: gone, removeContainer: gone, inspectNetwork: () => Promise.resolve(undefined) } as unknown as Engine;
    expect((await apply(plan, { engine, stack })).ok).toBe(true);
    const broken = { ...engine, removeContainer: () => Promise.reject(new EngineError("internal", "umount failed")) } as unknown as Engine;
    const result = await apply(plan, { engine: broken, stack });
    expect(result.ok).toBe(false);
    expect(result.failed.map((f) => f.error)).toContain("umount failed");
  });
});
