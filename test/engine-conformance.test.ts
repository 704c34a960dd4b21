// The Engine conformance suite (engine/testsuite/engine.ts) against the
// embedded engine: root, runc under conmon, busybox pulled from a real local
// registry acting as docker.io's mirror, kernel objects under a unique prefix.
// The same tests run against the FakeEngine in engine/testsuite/fake-engine.test.ts;
// afterwards the engine must have left nothing on the host.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { engineConformance } from "../engine/testsuite/engine.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry } from "./fixtures/registry.js";
import { engineWorld } from "./support/engine.js";
import { isRoot, missing } from "./support/requires.js";
import { poolOctet } from "./support/pools.js";

const root = !missing("root", isRoot);

engineConformance(
  "embedded",
  async () => {
    const registry = await startRegistry();
    try {
      await pushTestImage(registry, "busybox");
      const w = await engineWorld({ mirror: registry.url, poolOctet: poolOctet("engine-conformance") });
      const hostDir = join(w.dir, "host");
      await mkdir(hostDir, { recursive: true });
      let n = 0;
      return {
        engine: w.engine,
        hostDir,
        spec: (over) => w.spec(over),
        name: (base) => `${w.prefix}-${base}${++n}`,
        async cleanup() {
          try {
            expect(await w.cleanupAndFindLeaks()).toEqual([]);
          } finally {
            await registry.stop();
          }
        },
      };
    } catch (e) {
      await registry.stop();
      throw e;
    }
  },
  { skip: !root },
);
