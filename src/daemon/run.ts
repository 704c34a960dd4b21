// The daemon's half of `tscompose run`: a one-off container of a service,
// made as compose v2 makes it. Its name is `<project>-<service>-run-<12 hex>`,
// it carries oneoff=True (so the reconciler never plans for it, adopts it or
// calls it an orphan) and a slug label, publishes no ports unless asked, and
// has the overrides of the command line applied on top of the service.
import { randomBytes } from "node:crypto";
import { EngineError } from "../../engine/errors.js";
import type { ErrorKind } from "../../model/errors.js";
import type { ContainerInfo, ContainerSpec } from "../../engine/types.js";
import { apply } from "../../reconciler/apply.js";
import { containerSpecFor } from "../../reconciler/container-spec.js";
import { namespaceContainers } from "../../reconciler/namespace-containers.js";
import { LABEL } from "../../model/labels.js";
import type { ServiceSpec, StackSpec } from "../../model/stack.js";
import { planBuilds, planUp } from "../../reconciler/plan.js";
import type { EngineChoice, RunRequest, StreamMessage } from "./api.js";
import type { StackController } from "./controller.js";
import { clientCredentials } from "./registry-login.js";
import { progressMessage } from "./to-wire.js";
import { parseVolumeFlag } from "../stack/normalize.js";
import { checkEngineSupport } from "../stack/support.js";


/**
 * Creates the networks, volumes and image the service needs (its
 * dependencies were brought up by the CLI through /stacks/up), then the
 * container. Holds the stack's lock only while creating, not while it runs.
 */
export async function createRunContainer(
  controller: StackController,
  stack: StackSpec,
  req: RunRequest,
  emit: (m: StreamMessage) => void,
  /** Called once the lock is held; throwing aborts (a scheduled job whose stack went down meanwhile). */
  guard: () => void = () => undefined,
  /** The engine the client asked for: where a stack without a record gets its one-off. */
  asked?: EngineChoice,
): Promise<ContainerInfo> {
  const declared = stack.services[req.service];
  if (!declared) throw new Error(`no such service: ${req.service}`);
  const svc = withRunOverrides(declared, req);
  // The one-off's service in its stack: a volume of run -v that the stack declares is created (and named) as the file's.
  const runStack: StackSpec = { ...stack, services: { ...stack.services, [svc.name]: svc } };
  checkEngineSupport(stack);
  return controller.serialize(stack.name, async () => {
    guard();
    // The stack's own engine (the one asked for, when the daemon has no record of it): the one-off's image is pulled there.
    const engine = await controller.engineOf(stack.name, asked);
    const observed = await controller.observe(stack, [], asked);
    // Planned as if the service's containers were made anew: the one-off's image is pulled (per the pull policy) even while they run on an image that lost its tag.
    const plan = planUp(runStack, observed, { services: [svc.name], noDeps: true, pull: req.pull, forceRecreate: true, removeOrphans: req.removeOrphans === true });
    if (plan.errors.length > 0) throw new Error(plan.errors.join("; "));
    // As compose's run: the image of a service with build: is built when missing, and always with --build.
    const builds = planBuilds(stack, observed, { services: [svc.name], always: req.build === true, noRecreate: true }).actions;
    // An orphan's stop and remove (run --remove-orphans) are the only actions on services the stack does not have.
    const orphans = plan.actions.filter((a) => (a.kind === "stop" || a.kind === "remove") && !(a.service in stack.services));
    const prerequisites = [...builds, ...orphans, ...plan.actions.filter((a) => a.kind === "pull" || a.kind === "create-network" || a.kind === "create-volume")];
    if (prerequisites.length > 0) {
      const credentials = await clientCredentials(req.auth, (message) => emit({ type: "warning", message }));
      const result = await apply(
        { actions: prerequisites, warnings: [], errors: [] },
        { engine, stack, health: controller.health, onEvent: (e) => emit(progressMessage(e)), ...(credentials ? { credentials } : {}) },
      );
      if (!result.ok) {
        // One kind when the failures agree (a pull refused for want of credentials is "unauthorized"), else internal.
        const kinds = new Set(result.failed.map((f) => f.kind));
        throw new EngineError(kinds.size === 1 ? [...kinds][0] as ErrorKind : "internal", result.failed.map((f) => `${f.target}: ${f.error}`).join("; "));
      }
    }
    const existing = await engine.listContainers({ all: true, labels: { [LABEL.project]: stack.name, [LABEL.service]: svc.name, [LABEL.oneoff]: "True" } });
    const number = Math.max(0, ...existing.map((c) => Number(c.labels[LABEL.number]) || 0)) + 1;
    const shared = await namespaceContainers(engine, stack.name, svc);
    return engine.createContainer(runSpec(runStack, svc, number, req, shared));
  });
}

/**
 * The service as the one-off runs it: run -v's volumes (one at a target the
 * service mounts replaces that one, as a later mount would shadow it) and
 * --cap-add / --cap-drop added to the service's. A copy; the stack is left as it is.
 */
export function withRunOverrides(svc: ServiceSpec, req: Pick<RunRequest, "volumes" | "capAdd" | "capDrop">): ServiceSpec {
  const extra = (req.volumes ?? []).map(parseVolumeFlag);
  const targets = new Set(extra.map((v) => v.target));
  return {
    ...svc,
    volumes: [...svc.volumes.filter((v) => !targets.has(v.target)), ...extra],
    capAdd: [...new Set([...svc.capAdd, ...(req.capAdd ?? [])])],
    capDrop: [...new Set([...svc.capDrop, ...(req.capDrop ?? [])])],
  };
}

export function runSpec(stack: StackSpec, svc: ServiceSpec, number: number, req: RunRequest, shared: Record<string, string> = {}): ContainerSpec {
  const slug = randomBytes(32).toString("hex");
  const extraEnv: Record<string, string> = {};
  for (const e of req.env ?? []) {
    const eq = e.indexOf("=");
    if (eq > 0) extraEnv[e.slice(0, eq)] = e.slice(eq + 1);
  }
  // As compose: a new entrypoint without a command drops the service's command too.
  const command = req.command && req.command.length > 0 ? req.command : req.entrypoint !== undefined ? [] : undefined;
  const spec = containerSpecFor(stack, svc, number, {
    oneoff: true,
    name: req.name || `${stack.name}-${svc.name}-run-${slug.slice(0, 12)}`,
    command,
    entrypoint: req.entrypoint,
    extraEnv,
    namespaceContainers: shared,
  });
  spec.labels = { ...spec.labels, ...req.labels, [LABEL.slug]: slug };
  // Only its own name resolves to a one-off (compose without --use-aliases):
  // the service's name must keep reaching the service's replicas.
  if (!req.useAliases) for (const net of Object.values(spec.networks)) net.aliases = [spec.name];
  if (req.user) spec.user = req.user;
  if (req.workingDir) spec.workingDir = req.workingDir;
  spec.tty = req.tty === true;
  // The session's stdin, attached once: its end is the process's (`echo x | run svc cat` ends).
  spec.openStdin = req.interactive === true;
  spec.stdinOnce = spec.openStdin;
  const servicePorts = req.servicePorts ? svc.ports.map((p) => ({ containerPort: p.target, protocol: p.protocol, hostPort: p.published, hostIp: p.hostIp })) : [];
  spec.ports = [...servicePorts, ...(req.ports ?? [])];
  return spec;
}
