// The Engine conformance suite (engine/testsuite/engine.ts) against the Docker
// engine (engine/docker/): a private dockerd (Debian's docker.io 20.10, API
// 1.41) with the real local registry as docker.io's mirror, its registry
// traffic sent to a dead proxy unless it goes to loopback, and an address
// pool of its own. Afterwards dockerd must hold no container, volume or
// network of ours, and it is stopped.
import { mkdtemp, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { createEngine } from "../engine/index.js";
import { baseSpec } from "../engine/runtime/testing.js";
import { engineConformance } from "../engine/testsuite/engine.js";
import { startMirroringDockerd } from "./fixtures/dockerd.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry } from "./fixtures/registry.js";
import { isRoot, missing } from "./support/requires.js";
import { poolOctet } from "./support/pools.js";

const root = !missing("root", isRoot);

engineConformance(
  "docker",
  async () => {
    const registry = await startRegistry();
    const stops: (() => Promise<void>)[] = [() => registry.stop()];
    const stopAll = async (): Promise<void> => {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    };
    try {
      await pushTestImage(registry, "busybox");
      const dockerd = await startMirroringDockerd(registry.url, poolOctet("engine-conformance-docker"));
      stops.push(() => dockerd.stop());
      // Opened as the daemon opens engines (engine/index.ts).
      const engine = await createEngine({ kind: "docker", host: dockerd.host });
      stops.push(() => engine.close());
      const hostDir = await mkdtemp(join(tmpdir(), "tsc-dockerc-"));
      stops.push(() => rm(hostDir, { recursive: true, force: true }));
      const prefix = `tscd${randomBytes(2).toString("hex")}`;
      let n = 0;
      return {
        engine,
        hostDir,
        spec: (over) => baseSpec({ name: `${prefix}-c${++n}`, image: "busybox", stopTimeoutMs: 2000, ...over }),
        name: (base) => `${prefix}-${base}${++n}`,
        async cleanup() {
          try {
            const lines = async (args: string[]): Promise<string[]> => (await dockerd.docker(args)).stdout.split("\n").filter(Boolean);
            const left = [
              ...(await lines(["ps", "-aq"])).map((c) => `container ${c}`),
              ...(await lines(["volume", "ls", "-q"])).map((v) => `volume ${v}`),
              ...(await lines(["network", "ls", "-q", "--filter", "type=custom"])).map((x) => `network ${x}`),
            ];
            expect(left).toEqual([]);
          } finally {
            await stopAll();
          }
        },
      };
    } catch (e) {
      await stopAll();
      throw e;
    }
  },
  { skip: !root },
);
