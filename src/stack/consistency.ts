// Stage: cross-reference checks on a normalized stack, as compose-go's
// checkConsistency: every name a service refers to must exist, and depends_on
// must not loop. Each failure names the service and the key path.
import type { StackSpec } from "../../model/stack.js";
import type { Fail } from "./normalize.js";

export function checkConsistency(stack: StackSpec, fail: Fail): void {
  const services = stack.services;
  for (const [name, svc] of Object.entries(services)) {
    // Before depends_on, which holds every linked service too: the error then names the link as written.
    svc.links.forEach((link, i) => {
      const target = link.split(":")[0] ?? link;
      if (!(target in services)) fail(["services", name, "links", i], `service "${name}" links to undefined service "${target}"`);
      else if (target === name) fail(["services", name, "links", i], `service "${name}" links to itself`);
    });
    for (const dep of Object.keys(svc.dependsOn)) {
      if (dep === name) fail(["services", name, "depends_on", dep], `service "${name}" depends on itself`);
      if (!(dep in services)) {
        fail(["services", name, "depends_on", dep], `service "${name}" depends on undefined service "${dep}"`);
      }
    }
    for (const net of Object.keys(svc.networks)) {
      if (!(net in stack.networks)) {
        fail(["services", name, "networks", net], `service "${name}" refers to undefined network "${net}"`);
      }
    }
    const joins = [
      ["network_mode", svc.networkMode, "network stack"],
      ["pid", svc.pid, "pid namespace"],
      ["ipc", svc.ipc, "ipc namespace"],
    ] as const;
    for (const [key, mode, what] of joins) {
      if (!mode?.startsWith("service:")) continue;
      const target = mode.slice("service:".length);
      if (!(target in services)) fail(["services", name, key], `service "${name}" uses the ${what} of undefined service "${target}"`);
      if (target === name) fail(["services", name, key], `service "${name}" cannot share its own ${what}`);
    }
    svc.volumes.forEach((v, i) => {
      if (v.type === "volume" && v.source !== undefined && !(v.source in stack.volumes)) {
        fail(["services", name, "volumes", i], `service "${name}" refers to undefined volume "${v.source}"`);
      }
    });
    svc.volumesFrom.forEach((v, i) => {
      const [source, mode, more] = v.startsWith("container:") ? [v, ...v.slice("container:".length).split(":").slice(1)] : v.split(":");
      if (more !== undefined || (mode !== undefined && mode !== "ro" && mode !== "rw")) fail(["services", name, "volumes_from", i], `invalid volumes_from "${v}": the mode is ro or rw`);
      if (!v.startsWith("container:") && !((source as string) in services)) fail(["services", name, "volumes_from", i], `service "${name}" takes the volumes of undefined service "${source}"`);
    });
    svc.secrets.forEach((s, i) => {
      if (!(s.source in stack.secrets)) fail(["services", name, "secrets", i], `service "${name}" refers to undefined secret "${s.source}"`);
    });
    svc.configs.forEach((c, i) => {
      if (!(c.source in stack.configs)) fail(["services", name, "configs", i], `service "${name}" refers to undefined config "${c.source}"`);
    });
  }
  const cycle = findDependencyCycle(stack);
  if (cycle) {
    const [first, second] = cycle as [string, string];
    fail(["services", first, "depends_on", second], `dependency cycle detected: ${cycle.join(" -> ")}`);
  }
}

/** Returns one depends_on cycle as a path `a -> b -> a`, or undefined. Also orders nothing: graph.ts does that. */
export function findDependencyCycle(stack: StackSpec): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stackPath: string[] = [];
  const visit = (name: string): string[] | undefined => {
    const s = state.get(name);
    if (s === "done") return undefined;
    if (s === "visiting") return [...stackPath.slice(stackPath.indexOf(name)), name];
    state.set(name, "visiting");
    stackPath.push(name);
    for (const dep of Object.keys(stack.services[name]?.dependsOn ?? {})) {
      const found = visit(dep);
      if (found) return found;
    }
    stackPath.pop();
    state.set(name, "done");
    return undefined;
  };
  for (const name of Object.keys(stack.services).sort()) {
    const found = visit(name);
    if (found) return found;
  }
  return undefined;
}
