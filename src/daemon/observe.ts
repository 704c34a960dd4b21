// What runs of a stack, as the planner needs it: its containers (by the
// project label), the networks, volumes and images present, the containers'
// health and which of them a user stopped. Observed afresh for every plan.
import type { Engine } from "../../engine/types.js";
import type { HealthSource } from "../../reconciler/apply.js";
import { LABEL } from "../../model/labels.js";
import { observeStack } from "../../reconciler/observed.js";
import type { ObservedStack } from "../../reconciler/observed.js";
import { imageOf } from "../../reconciler/plan.js";
import type { StackSpec } from "../../model/stack.js";

export async function observe(engine: Engine, health: HealthSource, spec: StackSpec, stoppedByUser: string[] = []): Promise<ObservedStack> {
  const [containers, networks, volumes] = await Promise.all([
    engine.listContainers({ all: true, labels: { [LABEL.project]: spec.name } }),
    engine.listNetworks(),
    engine.listVolumes(),
  ]);
  const images: string[] = [];
  for (const svc of Object.values(spec.services)) {
    const image = imageOf(spec, svc);
    if (!images.includes(image) && (await engine.inspectImage(image))) images.push(image);
  }
  return observeStack(spec.name, containers, networks, volumes, images, {
    health: (id) => health.health(id),
    stoppedByUser: (id) => stoppedByUser.includes(id),
  });
}
