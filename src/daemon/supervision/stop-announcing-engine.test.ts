import { describe, expect, it } from "vitest";
import { FakeEngine } from "../../../engine/testsuite/fake-engine.js";
import { baseSpec } from "../../../engine/runtime/testing.js";
import type { Engine } from "../../../engine/types.js";
import { StopAnnouncingEngine } from "./stop-announcing-engine.js";

/** The in-memory FakeEngine with a running busybox container, every lifecycle call recorded (after the announcements, if the wrapper makes them first). */
async function recording(): Promise<{ engine: FakeEngine; calls: string[]; id: string }> {
  const engine = new FakeEngine();
  const calls: string[] = [];
  for (const name of ["startContainer", "stopContainer", "killContainer", "removeContainer", "pauseContainer"] as const) {
    engine.intercept(name, (args, next) => {
      calls.push(`${name} ${JSON.stringify(args)}`);
      return next();
    });
  }
  await engine.pullImage("busybox");
  const { id } = await engine.createContainer(baseSpec({ name: "sae", image: "busybox", cmd: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"] }));
  await engine.startContainer(id);
  calls.length = 0;
  return { engine, calls, id };
}

function expectations(calls: string[]): { expectStop(id: string): void; clearExpected(id: string): void } {
  return { expectStop: (id) => calls.push(`expectStop ${id}`), clearExpected: (id) => calls.push(`clearExpected ${id}`) };
}

describe("StopAnnouncingEngine", () => {
  it("announces stops, kills and removals to the supervisor before making them", async () => {
    const { engine, calls, id } = await recording();
    const wrapped = new StopAnnouncingEngine(engine, expectations(calls));
    await wrapped.stopContainer(id, { timeoutMs: 5 });
    await wrapped.startContainer(id);
    await wrapped.killContainer(id, "SIGKILL");
    await wrapped.removeContainer(id, { force: true });
    expect(calls).toEqual([
      `expectStop ${id}`,
      `stopContainer ${JSON.stringify([id, { timeoutMs: 5 }])}`,
      `clearExpected ${id}`,
      `startContainer ${JSON.stringify([id])}`,
      `expectStop ${id}`,
      `killContainer ${JSON.stringify([id, "SIGKILL"])}`,
      `expectStop ${id}`,
      `removeContainer ${JSON.stringify([id, { force: true }])}`,
    ]);
    expect(await engine.inspectContainer(id)).toBeUndefined();
  });

  it("makes a started container's exits count again, and passes other calls through untouched", async () => {
    const { engine, calls, id } = await recording();
    const wrapped = new StopAnnouncingEngine(engine, expectations(calls));
    await wrapped.pauseContainer(id);
    expect(calls).toEqual([`pauseContainer ${JSON.stringify([id])}`]);
    expect((await wrapped.inspectContainer(id))?.state).toBe("paused");
    expect(wrapped.kind).toBe("embedded");
  });

  // An Engine without its optional methods: the FakeEngine has them all, so this one case is a bare object.
  it("has an optional method exactly when the wrapped engine has it", async () => {
    const bare = new StopAnnouncingEngine({ kind: "embedded" } as Partial<Engine> as Engine, expectations([]));
    expect(bare.markRestarting).toBeUndefined();
    expect(bare.pruneImages).toBeUndefined();
    const { engine, calls, id } = await recording();
    engine.intercept("markRestarting", (args, next) => {
      calls.push(`markRestarting ${String(args[0])}`);
      return next();
    });
    const wrapped = new StopAnnouncingEngine(engine, expectations(calls));
    await wrapped.markRestarting?.(id);
    expect(calls).toEqual([`markRestarting ${id}`]);
  });
});
