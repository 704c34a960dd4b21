// Read-only views of a stack for clients that show more than `ps` (the TUI):
// what the daemon wants (each service's normalized config and replicas), what
// a reload of the stack files would change (the plan, not applied), and the
// stats of many containers in one answer.
import { isScheduled, planUp } from "../../reconciler/plan.js";
import type { Action } from "../../reconciler/plan.js";
import { renderService } from "../stack/render.js";
import { addBuildInputs } from "./build-inputs.js";
import { loadStack } from "../stack/load.js";
import type { PendingChange, ServiceDetail, StackDetail, StatsSample } from "./api.js";
import type { StackController } from "./controller.js";
import { containerStats } from "./to-wire.js";

/** GET /stacks/:name/detail; undefined when the daemon has no record of the stack. */
export function stackDetail(controller: StackController, name: string): StackDetail | undefined {
  const record = controller.stacks.get(name);
  if (!record) return undefined;
  const scale = record.options.scale ?? {};
  const services: ServiceDetail[] = Object.values(record.spec.services).map((s) => ({
    name: s.name,
    desired: isScheduled(s) ? 0 : (scale[s.name] ?? s.replicas),
    scheduled: isScheduled(s),
    image: s.image,
    configHash: s.configHash,
    config: renderService(s),
  }));
  return { name, project: record.project, options: record.options, services };
}

/** GET /stacks/:name/pending: loads the stack files again and plans against what runs, without applying. */
export async function pendingChange(controller: StackController, name: string): Promise<PendingChange | undefined> {
  const record = controller.stacks.get(name);
  if (!record) return undefined;
  let spec;
  try {
    spec = loadStack({ ...record.project }).stack;
    // As up hashes them, or every built service would look changed.
    await addBuildInputs(spec);
  } catch (err) {
    return { error: (err as Error).message, services: [], actions: [] };
  }
  const observed = await controller.observe(spec, record.stoppedByUser);
  const plan = planUp(spec, observed, { ...record.options, services: undefined, forceRecreate: false, startStopped: false, pull: "never" });
  return {
    error: plan.errors.length > 0 ? plan.errors.join("; ") : undefined,
    services: Object.values(spec.services).map((s) => ({ name: s.name, configHash: s.configHash, config: renderService(s) })),
    actions: plan.actions.map(describeAction),
  };
}

function describeAction(a: Action): string {
  switch (a.kind) {
    case "pull":
      return `pull ${a.image} (${a.service})`;
    case "create-network":
      return `create network ${a.network}`;
    case "remove-network":
      return `remove network ${a.network}`;
    case "create-volume":
      return `create volume ${a.volume}`;
    case "remove-volume":
      return `remove volume ${a.volume}`;
    case "remove-image":
      return `remove image ${a.image}`;
    case "create":
      return `create ${a.service}-${a.number} (${a.reason})`;
    case "start":
      return `start ${a.service}-${a.number}`;
    case "wait":
      return `wait for ${a.service} (${a.condition})`;
    case "build":
      return `build ${a.image}`;
    default:
      return `${a.kind} ${a.name}`;
  }
}

/** GET /stats: one sample per running or paused container (of one project, or of every stack). */
export async function statsOf(controller: StackController, project: string | undefined): Promise<StatsSample[]> {
  const list = await controller.containers(project, false);
  const samples = await Promise.all(
    list
      .filter((c) => c.state === "running" || c.state === "paused")
      .map(async (c): Promise<StatsSample | undefined> => {
        try {
          return { id: c.id, stats: containerStats(await controller.engine.stats(c.id)) };
        } catch {
          // It stopped between the list and the read: no sample this time.
          return undefined;
        }
      }),
  );
  return samples.filter((s): s is StatsSample => s !== undefined);
}
