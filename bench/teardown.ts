// The end of every bench that runs our engine against a private dockerd: both
// stopped, what our engine left behind printed (a bench's leak is a bug too),
// the registry stopped and the scratch dir removed. Each step runs even when
// one before it failed, as a bench's `finally` must.
import { rm } from "node:fs/promises";
import type { TestRegistry } from "../test/fixtures/registry.js";
import type { EngineWorld } from "../test/support/engine.js";
import { eventually } from "../test/support/wait.js";
import type { BenchDockerd } from "./dockerd.js";

export async function tearDownBench(parts: { dockerd?: BenchDockerd | undefined; world?: EngineWorld | undefined; registry?: TestRegistry | undefined; work: string }): Promise<void> {
  await parts.dockerd?.stop().catch((e: unknown) => console.error(`stopping dockerd: ${String(e)}`));
  const world = parts.world;
  if (world) {
    await world.cleanup().catch((e: unknown) => console.error(`engine cleanup: ${String(e)}`));
    // conmon writes the exit file and then exits: the last monitors may still be on their way out.
    const left = await eventually(() => world.leaks(), (l) => l.length === 0, 3000, "no leftovers", 100).catch(() => world.leaks());
    if (left.length > 0) console.error(`left behind:\n  ${left.join("\n  ")}`);
  }
  await parts.registry?.stop();
  await rm(parts.work, { recursive: true, force: true });
}
