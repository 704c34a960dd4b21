// `network_mode`, `pid` and `ipc: service:x` join the namespaces of x's first
// container, as compose does: the caller looks those containers up once
// before creating, and containerSpecFor turns each `service:x` into
// `container:<id>`.
import type { Engine } from "../engine/types.js";
import { namespaceServicesOf } from "../model/dependencies.js";
import { LABEL } from "../model/labels.js";
import type { ServiceSpec } from "../model/stack.js";

/** Service name -> id of its first running (non one-off) container, for every service whose namespaces svc joins. */
export async function namespaceContainers(engine: Engine, project: string, svc: ServiceSpec): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const service of namespaceServicesOf(svc)) {
    const list = await engine.listContainers({ labels: { [LABEL.project]: project, [LABEL.service]: service, [LABEL.oneoff]: "False" } });
    const first = list.sort((a, b) => Number(a.labels[LABEL.number]) - Number(b.labels[LABEL.number]))[0];
    if (first) out[service] = first.id;
  }
  return out;
}
