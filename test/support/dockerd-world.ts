// The world of a suite on the docker engine: the test registry with busybox,
// a private dockerd that mirrors it (networks in the suite's own pool), and a
// test daemon using that registry as its mirror. Stopped daemon first, then
// dockerd and registry, even when the daemon leaked: what leaked is returned.
import { startMirroringDockerd, type PrivateDockerd } from "../fixtures/dockerd.js";
import { pushTestImage } from "../fixtures/push.js";
import { startRegistry, type TestRegistry } from "../fixtures/registry.js";
import { buildOnce, cleanupDir, leaks, testDaemon, type TestDaemon } from "./daemon.js";
import { poolOctet, type PoolName } from "./pools.js";

export interface DockerdWorld {
  registry: TestRegistry;
  dockerd: PrivateDockerd;
  d: TestDaemon;
}

/** defaultEngine: the daemon's default is that dockerd (TSCOMPOSE_ENGINE=docker, DOCKER_HOST), else the embedded engine and `--engine docker -H` picks it. */
export async function startDockerdWorld(pool: PoolName, opts: { defaultEngine?: boolean; dockerdArgs?: string[] } = {}): Promise<DockerdWorld> {
  buildOnce();
  const world: Partial<DockerdWorld> = {};
  try {
    world.registry = await startRegistry();
    await pushTestImage(world.registry, "busybox");
    world.dockerd = await startMirroringDockerd(world.registry.url, poolOctet(pool), { args: opts.dockerdArgs ?? [] });
    world.d = testDaemon({ mirror: world.registry.url });
    if (opts.defaultEngine) Object.assign(world.d.env, { TSCOMPOSE_ENGINE: "docker", DOCKER_HOST: world.dockerd.host });
    await world.d.start();
    return world as DockerdWorld;
  } catch (err) {
    await stopDockerdWorld(world);
    throw err;
  }
}

/** Stops what started, the daemon first, then dockerd and the registry; returns what the daemon left on the host (leaks()). */
export async function stopDockerdWorld(w: Partial<DockerdWorld> | undefined): Promise<string[]> {
  let left: string[] = [];
  if (w?.d) {
    await w.d.stop();
    left = leaks(w.d);
    cleanupDir(w.d);
  }
  await w?.dockerd?.stop();
  await w?.registry?.stop();
  return left;
}
