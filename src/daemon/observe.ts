// What runs of a stack, as the planner needs it: its containers (by the
// project label), the networks, volumes and images present, the containers'
// health and which of them a user stopped. Observed afresh for every plan.
import type { Engine } from "../../engine/types.js";
import type { HealthSource } from "../../reconciler/apply.js";
import { LABEL } from "../../model/labels.js";
import { observeStack } from "../../reconciler/observed.js";
import type { ObservedStack } from "../../reconciler/observed.js";
import { imageOf, imageVolumesOf } from "../../reconciler/plan.js";
import type { StackSpec } from "../../model/stack.js";

export async function observe(engine: Engine, health: HealthSource, spec: StackSpec, stoppedByUser: string[] = []): Promise<ObservedStack> {
  const [containers, networks, volumes] = await Promise.all([
    engine.listContainers({ all: true, labels: { [LABEL.project]: spec.name } }),
    engine.listNetworks(),
    engine.listVolumes(),
  ]);
  const images: string[] = [];
  const imagePulledAt: Record<string, number> = {};
  const imageIds: Record<string, string> = {};
  for (const image of new Set(Object.values(spec.services).flatMap((svc) => [imageOf(spec, svc), ...imageVolumesOf(svc)]))) {
    const info = await engine.inspectImage(image);
    if (!info) continue;
    images.push(image);
    imageIds[image] = info.id;
    if (info.pulledAt !== undefined && !Number.isNaN(Date.parse(info.pulledAt))) imagePulledAt[image] = Date.parse(info.pulledAt);
  }
  return {
    ...observeStack(spec.name, containers, networks, volumes, images, {
      health: (id) => health.health(id),
      stoppedByUser: (id) => stoppedByUser.includes(id),
    }),
    imagePulledAt,
    imageIds,
  };
}
