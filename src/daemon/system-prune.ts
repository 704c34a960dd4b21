// `system prune`, in docker's order: stopped containers, then the networks and
// (with volumes) the anonymous volumes no container uses any more, then
// dangling images (all: every image no container uses). A running, paused or
// restarting container, and what it uses, always stays.
import type { SystemPruneResult } from "./api.js";
import type { StackController } from "./controller.js";
import type { Engine } from "../../engine/types.js";
import type { ObjectService } from "./objects.js";

const STOPPED = new Set(["created", "exited", "dead"]);

/** On `engine`: the request's (--engine, -H), else the controller's, which spans every open engine. */
export async function systemPrune(controller: StackController, { engine, objects }: { engine: Engine; objects: ObjectService }, opts: { all: boolean; volumes: boolean }): Promise<SystemPruneResult> {
  const result: SystemPruneResult = { containers: [], networks: [], volumes: [], images: [], reclaimedBytes: 0 };
  const written = (await engine.containerSizes?.()) ?? {};
  for (const c of await engine.listContainers({ all: true })) {
    if (!STOPPED.has(c.state)) continue;
    // As DELETE /containers/:id: the supervisor must not bring back what a user removed.
    controller.health.untrack(c.id);
    controller.intendStop(c.id);
    await engine.removeContainer(c.id, { volumes: false });
    result.containers.push(c.id);
    result.reclaimedBytes += written[c.id] ?? 0;
  }
  result.networks = (await objects.pruneNetworks([])).deleted;
  if (opts.volumes) {
    const v = await objects.pruneVolumes(false, []);
    result.volumes = v.deleted;
    result.reclaimedBytes += v.reclaimedBytes;
  }
  const images = await engine.pruneImages?.({ all: opts.all });
  if (images) {
    result.images = images.report;
    result.reclaimedBytes += images.reclaimed;
  }
  return result;
}
