// The setting of the suites that put a tscompose daemon beside a private
// dockerd: the test registry with busybox, a dockerd whose docker.io is that
// registry (its networks in the suite's pool octet), and a test daemon that
// mirrors the same registry, on its embedded engine or on that dockerd.
import { startMirroringDockerd, type PrivateDockerd } from "../fixtures/dockerd.js";
import { pushTestImage } from "../fixtures/push.js";
import { startRegistry, type TestRegistry } from "../fixtures/registry.js";
import { buildOnce, cleanupDir, testDaemon, type TestDaemon } from "./daemon.js";

export interface DockerWorld {
  registry: TestRegistry;
  dockerd: PrivateDockerd;
  daemon: TestDaemon;
}

/** `onDockerd`: the daemon's engine is the dockerd (TSCOMPOSE_ENGINE=docker); otherwise its embedded one. */
export async function startDockerWorld(poolOctet: number, opts: { onDockerd?: boolean } = {}): Promise<DockerWorld> {
  buildOnce();
  const world: Partial<DockerWorld> = {};
  try {
    world.registry = await startRegistry();
    await pushTestImage(world.registry, "busybox");
    world.dockerd = await startMirroringDockerd(world.registry.url, poolOctet);
    world.daemon = testDaemon({ mirror: world.registry.url });
    if (opts.onDockerd) {
      world.daemon.env.TSCOMPOSE_ENGINE = "docker";
      world.daemon.env.DOCKER_HOST = world.dockerd.host;
    }
    await world.daemon.start();
    return world as DockerWorld;
  } catch (err) {
    await stopDockerWorld(world);
    throw err;
  }
}

/** Stops what started, daemon first; the daemon's dir goes too. */
export async function stopDockerWorld(world: Partial<DockerWorld> | undefined): Promise<void> {
  await world?.daemon?.stop();
  if (world?.daemon) cleanupDir(world.daemon);
  await world?.dockerd?.stop();
  await world?.registry?.stop();
}
