// The FakeEngine held to the Engine conformance suite, as the embedded engine
// is in test/engine-conformance.test.ts.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { baseSpec } from "../runtime/testing.js";
import { engineConformance } from "./engine.js";
import { FakeEngine } from "./fake-engine.js";

engineConformance("FakeEngine", async () => {
  const engine = new FakeEngine();
  const hostDir = await mkdtemp(join(tmpdir(), "tsc-fake-engine-"));
  let n = 0;
  return {
    engine,
    hostDir,
    spec: (over) => baseSpec({ name: `fake-c${++n}`, image: "busybox", stopTimeoutMs: 2000, ...over }),
    name: (base) => `fake-${base}${++n}`,
    async cleanup() {
      await engine.close();
      await rm(hostDir, { recursive: true, force: true });
    },
  };
});
