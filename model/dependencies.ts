// Which services an operation touches: a selection and what it depends on.
// Pure over the model, so the planner and the CLI (`run` brings a service's
// dependencies up first) ask the same question the same way.
import type { ServiceSpec, StackSpec } from "./stack.js";

/** The services an operation touches: the selection plus, unless noDeps, what they depend on. */
export function selectServices(stack: StackSpec, services: string[] | undefined, noDeps = false): string[] {
  if (!services || services.length === 0) return Object.keys(stack.services);
  const out = new Set<string>();
  const add = (name: string): void => {
    if (out.has(name) || !(name in stack.services)) return;
    out.add(name);
    if (noDeps) return;
    const svc = stack.services[name] as ServiceSpec;
    for (const dep of dependenciesOf(svc)) add(dep);
  };
  services.forEach(add);
  return [...out];
}

/** The services whose mounts `volumes_from` takes (`service` or `service:ro`; `container:x` is no service). */
export function volumesFromServices(svc: ServiceSpec): string[] {
  return svc.volumesFrom.filter((v) => !v.startsWith("container:")).map((v) => v.split(":")[0] as string);
}

/** depends_on plus the implicit dependencies of `network_mode`, `pid` and `ipc: service:x`, and of `volumes_from`. */
export function dependenciesOf(svc: ServiceSpec): string[] {
  const deps = Object.keys(svc.dependsOn);
  for (const shared of namespaceServicesOf(svc)) if (!deps.includes(shared)) deps.push(shared);
  for (const from of volumesFromServices(svc)) if (!deps.includes(from)) deps.push(from);
  return deps;
}

/** The services whose namespaces a service joins (`service:x` in network_mode, pid, ipc): recreated with them. */
export function namespaceServicesOf(svc: ServiceSpec): string[] {
  const out: string[] = [];
  for (const mode of [svc.networkMode, svc.pid, svc.ipc]) {
    const shared = mode?.startsWith("service:") ? mode.slice("service:".length) : undefined;
    if (shared !== undefined && !out.includes(shared)) out.push(shared);
  }
  return out;
}
