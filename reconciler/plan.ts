// plan(desired, observed) -> the actions that converge one stack.
//
// Pure and level-triggered: no clock, no I/O, no memory of what happened
// before. It looks at what is, compares it with what should be, and returns a
// graph of actions (each names the actions it must wait for). Planning again
// after the actions were applied returns no actions: that is the contract the
// daemon's loop relies on, and what the table tests check.
//
// Shape of the graph for one service S with a dependency D:
//   pull(image) ─┐
//   network(n) ──┼─> create(S,1) ─> start(S,1) ─> wait(S, condition) -> start of S's dependants
//   volume(v) ───┘                    ▲
//   stop(old) -> remove(old) ─────────┘ (the old container of the same number, when recreating)
//   wait(D, condition) ──────────────┘
// Containers are created early and in parallel; only starting waits on
// dependencies, as docker compose does.
import type { DependsOnCondition, ServiceSpec, StackSpec } from "../model/stack.js";
import { dependenciesOf, namespaceServicesOf, selectServices, volumesFromServices } from "../model/dependencies.js";
import { handoverKey } from "../model/labels.js";
import type { ObservedContainer, ObservedStack } from "./observed.js";
import { mustPull } from "./pull-policy.js";

// The daemon asks for a selection as the planner makes it.
export { selectServices };

export type Action =
  | { kind: "pull"; id: string; after: string[]; image: string; service: string; platform?: string }
  | { kind: "build"; id: string; after: string[]; image: string; service: string }
  | { kind: "create-network"; id: string; after: string[]; network: string }
  | { kind: "create-volume"; id: string; after: string[]; volume: string }
  | {
      kind: "create";
      id: string;
      after: string[];
      service: string;
      number: number;
      reason: "missing" | "recreate" | "scale";
      /** Recreate: the replaced container's anonymous volumes, mounted again (unless up -V). */
      inheritVolumes?: { name: string; target: string }[];
    }
  | { kind: "start"; id: string; after: string[]; service: string; number: number; containerId: string | undefined }
  | { kind: "restart"; id: string; after: string[]; service: string; containerId: string; name: string }
  | { kind: "stop"; id: string; after: string[]; service: string; containerId: string; name: string }
  | {
      kind: "remove";
      id: string;
      after: string[];
      service: string;
      containerId: string;
      name: string;
      volumes?: boolean;
      /** A recreate: the container's anonymous volumes are labelled for its replacement first (Engine.removeContainer). */
      handOver?: string;
    }
  | { kind: "wait"; id: string; after: string[]; service: string; condition: DependsOnCondition; required: boolean }
  | { kind: "remove-network"; id: string; after: string[]; network: string }
  /** `volume` is a key of the stack's volumes, or with `anonymous` the engine's name of a handed-over anonymous volume (down -v). */
  | { kind: "remove-volume"; id: string; after: string[]; volume: string; anonymous?: boolean }
  /** down --rmi: an image the stack's services use, removed once the containers are gone (unless another container still uses it). */
  | { kind: "remove-image"; id: string; after: string[]; image: string };

export type ActionKind = Action["kind"];

export interface Plan {
  actions: Action[];
  warnings: string[];
  /** Problems that make the plan impossible (an external network that does not exist). */
  errors: string[];
}

export interface UpOptions {
  /** Only these services (and, unless noDeps, what they depend on). */
  services?: string[];
  noDeps?: boolean;
  forceRecreate?: boolean;
  noRecreate?: boolean;
  /**
   * Recreate the dependencies of the services named (up --always-recreate-deps):
   * as compose, forceRecreate is for the services named (all when none is) and
   * their dependencies are recreated only when they changed, or with this.
   */
  alwaysRecreateDeps?: boolean;
  /** Replicas per service, overriding the stack (up --scale). */
  scale?: Record<string, number>;
  removeOrphans?: boolean;
  /** Pull policy for every service; default: each service's pull_policy. */
  pull?: "always" | "missing" | "never";
  /**
   * Start containers that are created or exited (`tscompose up`, as compose
   * does). The daemon's resync leaves them to the restart policy instead.
   * A one-shot container that exited 0 with restart "no" counts as done
   * either way, so that `up` twice does not run a migration twice.
   */
  startStopped?: boolean;
  /** Create what is missing or changed, start nothing (tscompose create); a later `up` starts them. */
  noStart?: boolean;
  /** up -V: a recreated container gets new anonymous volumes instead of its predecessor's. */
  renewAnonVolumes?: boolean;
  /** up --build ("always": build every selected service with build:) and --no-build ("never"); default: build what is missing or changed (planBuilds). */
  build?: "always" | "never";
}

export interface BuildPlanOptions {
  services?: string[];
  /** Also the services the named ones depend on (build --with-dependencies; up always). */
  withDependencies?: boolean;
  always?: boolean;
  noRecreate?: boolean;
}

/**
 * The builds that come before an up (or make a `tscompose build`): a service
 * with build: is built when asked to (always), when its image is absent, or
 * when its containers carry another config hash, which covers its build
 * inputs (the daemon folds them in): an edited Dockerfile or context is
 * rebuilt before the container is recreated.
 */
export function planBuilds(stack: StackSpec, observed: ObservedStack, opts: BuildPlanOptions = {}): Plan {
  const actions: Action[] = [];
  const images = new Set<string>();
  for (const name of selectServices(stack, opts.services, !(opts.withDependencies ?? false))) {
    const svc = stack.services[name] as ServiceSpec;
    if (svc.build === undefined) continue;
    const image = imageOf(stack, svc);
    if (images.has(image)) continue;
    const changed = !opts.noRecreate && observed.containers.some((c) => c.service === name && !c.oneoff && c.configHash !== svc.configHash);
    if (opts.always || !observed.images.includes(image) || changed) {
      images.add(image);
      actions.push({ kind: "build", id: `build:${name}`, after: [], image, service: name });
    }
  }
  return { actions, warnings: [], errors: [] };
}

const isRunning = (c: ObservedContainer): boolean => c.state === "running" || c.state === "paused" || c.state === "restarting";

/** The images a service's `type: image` volumes mount. */
export function imageVolumesOf(svc: ServiceSpec): string[] {
  return [...new Set(svc.volumes.flatMap((v) => (v.type === "image" && v.source !== undefined ? [v.source] : [])))];
}

export function imageOf(stack: StackSpec, svc: ServiceSpec): string {
  return svc.image ?? `${stack.name}-${svc.name}`;
}

export function planUp(stack: StackSpec, observed: ObservedStack, opts: UpOptions = {}): Plan {
  const actions: Action[] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  const selected = selectServices(stack, opts.services, opts.noDeps);
  const byService = groupContainers(observed.containers.filter((c) => !c.oneoff));

  // Networks and volumes the selected services need.
  const networkAction = new Map<string, string>();
  const volumeAction = new Map<string, string>();
  for (const name of selected) {
    const svc = stack.services[name] as ServiceSpec;
    for (const key of Object.keys(svc.networks)) {
      const net = stack.networks[key];
      if (!net || networkAction.has(key) || observed.networks.includes(net.name)) continue;
      if (net.external) {
        errors.push(`network ${net.name} declared as external, but could not be found`);
        continue;
      }
      const id = `network:${key}`;
      networkAction.set(key, id);
      actions.push({ kind: "create-network", id, after: [], network: key });
    }
    for (const v of svc.volumes) {
      if (v.type !== "volume" || v.source === undefined) continue;
      const vol = stack.volumes[v.source];
      if (!vol || volumeAction.has(v.source) || observed.volumes.includes(vol.name)) continue;
      if (vol.external) {
        errors.push(`external volume "${vol.name}" not found`);
        continue;
      }
      const id = `volume:${v.source}`;
      volumeAction.set(v.source, id);
      actions.push({ kind: "create-volume", id, after: [], volume: v.source });
    }
  }

  // Which services get new containers: changed config, or forced, then
  // whatever shares the network namespace of a recreated service.
  const recreated = new Set<string>();
  for (const name of selected) {
    const svc = stack.services[name] as ServiceSpec;
    const existing = byService.get(name) ?? [];
    // A built image that changed since the container was made (a build, up --build) recreates it, as compose does.
    const current = svc.build !== undefined ? observed.imageIds?.[imageOf(stack, svc)] : undefined;
    const rebuilt = (c: ObservedContainer): boolean => current !== undefined && c.imageId !== undefined && c.imageId !== current;
    const named = !opts.services || opts.services.length === 0 || opts.services.includes(name);
    const forced = named ? opts.forceRecreate : !opts.noRecreate && opts.alwaysRecreateDeps;
    if (existing.some((c) => forced || c.state === "dead" || (!opts.noRecreate && (c.configHash !== svc.configHash || rebuilt(c))))) {
      recreated.add(name);
    }
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of selected) {
      const svc = stack.services[name] as ServiceSpec;
      const joinsRecreated = namespaceServicesOf(svc).some((shared) => recreated.has(shared));
      if (joinsRecreated && !recreated.has(name) && (byService.get(name)?.length ?? 0) > 0) {
        recreated.add(name);
        changed = true;
      }
    }
  }

  // Per service: what happens to each container number.
  const startIds = new Map<string, string[]>(); // service -> ids of actions after which it is (re)started
  const pulls = new Map<string, string>();
  const pending: { svc: ServiceSpec; start: Extract<Action, { kind: "start" | "restart" }> }[] = [];
  for (const name of selected) {
    const svc = stack.services[name] as ServiceSpec;
    // A scheduled service (x-tscompose schedule) runs as one-off job containers made by the daemon's scheduler: up keeps none.
    const scheduled = isScheduled(svc);
    const want = scheduled ? 0 : (opts.scale?.[name] ?? svc.replicas);
    const existing = [...(byService.get(name) ?? [])].sort((a, b) => a.number - b.number);
    const started: string[] = [];
    const image = imageOf(stack, svc);
    // A service with build: gets its image from planBuilds, never from a registry (up --no-build: it must be there).
    const policy = svc.build !== undefined ? "never" : (opts.pull ?? svc.pullPolicy);
    // The service's image, and the images its image volumes mount, pulled per its pull_policy (as compose does).
    const pullOne = (ref: string, platform: string | undefined): string[] => {
      const local = { present: observed.images.includes(ref), pulledAtMs: observed.imagePulledAt?.[ref] };
      if (!mustPull(policy, local, observed.observedAtMs ?? Date.now())) return [];
      let id = pulls.get(ref);
      if (!id) {
        id = `pull:${ref}`;
        pulls.set(ref, id);
        actions.push({ kind: "pull", id, after: [], image: ref, service: name, ...(platform ? { platform } : {}) });
      }
      return [id];
    };
    const pullFor = (): string[] => [
      ...pullOne(image, svc.platform),
      ...imageVolumesOf(svc).flatMap((ref) => (ref === image ? [] : pullOne(ref, undefined))),
    ];
    const prerequisites = (): string[] => [
      ...new Set(pullFor()),
      ...Object.keys(svc.networks).flatMap((k) => (networkAction.has(k) ? [networkAction.get(k) as string] : [])),
      ...svc.volumes.flatMap((v) => (v.type !== "image" && v.source !== undefined && volumeAction.has(v.source) ? [volumeAction.get(v.source) as string] : [])),
    ];
    const createAndStart = (number: number, after: string[], reason: "missing" | "recreate" | "scale", replaced?: ObservedContainer): void => {
      const createId = `create:${name}:${number}`;
      // A replaced container's volumes, or those a recreate cut short by a crash handed over for this number.
      const handed = (observed.handedOver ?? []).filter((h) => h.service === name && h.number === number).map((h) => ({ name: h.name, target: h.target }));
      const inherit = opts.renewAnonVolumes ? undefined : (replaced?.anonymousVolumes ?? (handed.length > 0 ? handed : undefined));
      actions.push({ kind: "create", id: createId, after: [...prerequisites(), ...after], service: name, number, reason, ...(inherit ? { inheritVolumes: inherit } : {}) });
      if (opts.noStart) return;
      const start = { kind: "start" as const, id: `start:${name}:${number}`, after: [createId], service: name, number, containerId: undefined };
      actions.push(start);
      pending.push({ svc, start });
      started.push(start.id);
    };

    const seen = new Set<number>();
    for (const c of existing) {
      const surplus = c.number > want || seen.has(c.number);
      seen.add(c.number);
      if (surplus) {
        stopAndRemove(actions, c, name);
        continue;
      }
      if (recreated.has(name)) {
        const handOver = !opts.renewAnonVolumes && c.anonymousVolumes ? handoverKey(observed.project, name, c.number) : undefined;
        const removeId = stopAndRemove(actions, c, name, handOver);
        createAndStart(c.number, [removeId], "recreate", c);
      } else if (!opts.noStart && !isRunning(c) && ((opts.startStopped && !isCompleted(c, svc)) || (c.state === "created" && !c.stoppedByUser))) {
        // "created" means never started: an `up` was cut off between create and start, so finish it.
        const start = { kind: "start" as const, id: `start:${name}:${c.number}`, after: [], service: name, number: c.number, containerId: c.id };
        actions.push(start);
        pending.push({ svc, start });
        started.push(start.id);
      }
    }
    for (let n = 1; n <= want; n++) {
      if (!seen.has(n)) createAndStart(n, [], existing.length > 0 ? "scale" : "missing");
    }
    // Its image is pulled by up all the same, so the first run does not wait for a pull (or fail on one).
    if (scheduled) pullFor();
    startIds.set(name, started);
  }

  // Restart dependants that asked for it (depends_on.restart: true) when a dependency is recreated.
  for (const name of opts.noStart ? [] : selected) {
    if (recreated.has(name)) continue;
    const svc = stack.services[name] as ServiceSpec;
    const restartOn = Object.entries(svc.dependsOn).filter(([dep, d]) => d.restart && recreated.has(dep));
    if (restartOn.length === 0) continue;
    for (const c of byService.get(name) ?? []) {
      if (!isRunning(c) || c.number > (opts.scale?.[name] ?? svc.replicas)) continue;
      const restart = { kind: "restart" as const, id: `restart:${c.id}`, after: [], service: name, containerId: c.id, name: c.name };
      actions.push(restart);
      pending.push({ svc, start: restart });
    }
  }

  // Starting waits for each dependency's condition, when that dependency is part of this plan.
  const waits = new Map<string, string>();
  for (const { svc, start } of pending) {
    for (const dep of dependenciesOf(svc)) {
      // A scheduled dependency never "starts" as a service: nothing waits for it.
      if (!selected.includes(dep) || isScheduled(stack.services[dep])) continue;
      const d = svc.dependsOn[dep] ?? { condition: "service_started" as const, required: true, restart: false };
      const id = `wait:${dep}:${d.condition}`;
      if (!waits.has(id)) {
        waits.set(id, id);
        actions.push({ kind: "wait", id, after: startIds.get(dep) ?? [], service: dep, condition: d.condition, required: d.required });
      }
      start.after.push(id);
      // Joining a namespace (network_mode, pid, ipc: service:x) needs x's container running at create already.
      if (namespaceServicesOf(svc).includes(dep)) {
        const create = actions.find((a) => a.kind === "create" && start.after.includes(a.id));
        if (create && !create.after.includes(id)) create.after.push(id);
      }
    }
  }

  // volumes_from reads the other service's container when this one is created: create after it.
  for (const a of actions) {
    if (a.kind !== "create") continue;
    const from = volumesFromServices(stack.services[a.service] as ServiceSpec);
    for (const b of actions) if (b.kind === "create" && from.includes(b.service) && !a.after.includes(b.id)) a.after.push(b.id);
  }

  // A static address (ipv4_address, ipv6_address) is taken when its container is created: a
  // service that asks for no address at all is created after the services that ask for one on
  // its networks, or it could be handed that address first (docker/awesome-compose's pihole
  // sample: cloudflared asks for 172.20.0.2, pihole takes the next free one). Only when it
  // closes no cycle (a volumes_from the other way).
  const hasStatic = (svc: ServiceSpec | undefined, net?: string): boolean =>
    Object.entries(svc?.networks ?? {}).some(([k, n]) => (net === undefined || k === net) && (n?.ipv4Address !== undefined || n?.ipv6Address !== undefined));
  const byId = new Map(actions.map((x) => [x.id, x]));
  const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
    from === to || (!seen.has(from) && (seen.add(from), (byId.get(from)?.after ?? []).some((x) => reaches(x, to, seen))));
  for (const a of actions) {
    if (a.kind !== "create") continue;
    const svc = stack.services[a.service];
    if (svc === undefined || hasStatic(svc)) continue;
    for (const net of Object.keys(svc.networks)) {
      for (const b of actions) {
        if (b.kind === "create" && b.service !== a.service && hasStatic(stack.services[b.service], net) && !a.after.includes(b.id) && !reaches(b.id, a.id)) a.after.push(b.id);
      }
    }
  }

  // Containers of services no longer in the stack.
  const orphans = observed.containers.filter((c) => !c.oneoff && !(c.service in stack.services));
  if (orphans.length > 0) {
    if (opts.removeOrphans) for (const c of orphans) stopAndRemove(actions, c, c.service);
    else {
      warnings.push(
        `Found orphan containers ([${orphans.map((c) => c.name).join(" ")}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
      );
    }
  }
  // Waits that nothing depends on and that follow no action are no-ops: drop them, so a converged stack plans nothing.
  const needed = new Set(actions.flatMap((a) => a.after));
  return { actions: actions.filter((a) => a.kind !== "wait" || needed.has(a.id)), warnings, errors };
}

/** Run on a cron schedule by the daemon rather than kept up. (Specs persisted before `supervision` existed lack it.) */
export function isScheduled(svc: ServiceSpec | undefined): boolean {
  return svc?.supervision?.schedule !== undefined;
}

/**
 * A one-shot that finished well: exited 0 by itself and not meant to restart.
 * A server that exits 0 on SIGTERM after a stop has not completed anything:
 * a recreate or down cut short between its stop and its removal leaves it so.
 */
function isCompleted(c: ObservedContainer, svc: ServiceSpec): boolean {
  return c.state === "exited" && c.exitCode === 0 && svc.restart === "no" && c.stopRequested !== true;
}

function stopAndRemove(actions: Action[], c: ObservedContainer, service: string, handOver?: string): string {
  const after: string[] = [];
  if (isRunning(c)) {
    const stopId = `stop:${c.id}`;
    actions.push({ kind: "stop", id: stopId, after: [], service, containerId: c.id, name: c.name });
    after.push(stopId);
  }
  const removeId = `remove:${c.id}`;
  actions.push({ kind: "remove", id: removeId, after, service, containerId: c.id, name: c.name, ...(handOver ? { handOver } : {}) });
  return removeId;
}

function groupContainers(containers: ObservedContainer[]): Map<string, ObservedContainer[]> {
  const out = new Map<string, ObservedContainer[]>();
  for (const c of containers) {
    const list = out.get(c.service) ?? [];
    list.push(c);
    out.set(c.service, list);
  }
  return out;
}

export interface DownOptions {
  removeVolumes?: boolean;
  removeOrphans?: boolean;
  /** Only stop (tscompose stop): keep containers, networks and volumes. */
  stopOnly?: boolean;
  services?: string[];
  /** down --rmi: "local" the images built under the default name (`<project>-<service>`, no `image:`), "all" every service's image. */
  removeImages?: "local" | "all";
}

/**
 * Stopping and removing a stack: each container stops after every container
 * that depends on it has stopped (reverse dependency order), all else in
 * parallel; networks and volumes go once no container is left on them.
 */
export function planDown(stack: StackSpec, observed: ObservedStack, opts: DownOptions = {}): Plan {
  const actions: Action[] = [];
  const selected = new Set(opts.services && opts.services.length > 0 ? opts.services : Object.keys(stack.services));
  const inScope = (c: ObservedContainer): boolean =>
    selected.has(c.service) || (!(c.service in stack.services) && (opts.removeOrphans === true || !opts.services)) || c.oneoff;
  const containers = observed.containers.filter(inScope);
  const stopsOf = new Map<string, string[]>();
  for (const c of containers) {
    if (!isRunning(c)) continue;
    const list = stopsOf.get(c.service) ?? [];
    list.push(`stop:${c.id}`);
    stopsOf.set(c.service, list);
  }
  const dependants = (service: string): string[] =>
    Object.values(stack.services)
      .filter((s) => dependenciesOf(s).includes(service))
      .map((s) => s.name);
  const removes: string[] = [];
  for (const c of containers) {
    let stopId: string | undefined;
    if (isRunning(c)) {
      stopId = `stop:${c.id}`;
      actions.push({ kind: "stop", id: stopId, after: dependants(c.service).flatMap((d) => stopsOf.get(d) ?? []), service: c.service, containerId: c.id, name: c.name });
    }
    if (!opts.stopOnly) {
      const removeId = `remove:${c.id}`;
      // down -v: the containers' anonymous volumes go with them, as compose removes them.
      const volumes = opts.removeVolumes === true ? { volumes: true } : {};
      actions.push({ kind: "remove", id: removeId, after: stopId ? [stopId] : [], service: c.service, containerId: c.id, name: c.name, ...volumes });
      removes.push(removeId);
    }
  }
  if (!opts.stopOnly && !opts.services) {
    for (const [key, net] of Object.entries(stack.networks)) {
      if (net.external || !observed.networks.includes(net.name)) continue;
      actions.push({ kind: "remove-network", id: `remove-network:${key}`, after: removes, network: key });
    }
    if (opts.removeVolumes) {
      for (const [key, vol] of Object.entries(stack.volumes)) {
        if (vol.external || !observed.volumes.includes(vol.name)) continue;
        actions.push({ kind: "remove-volume", id: `remove-volume:${key}`, after: removes, volume: key });
      }
      // Data a recreate cut short handed over and nothing took: -v removes it like any anonymous volume.
      for (const h of observed.handedOver ?? []) actions.push({ kind: "remove-volume", id: `remove-volume:${h.name}`, after: removes, volume: h.name, anonymous: true });
    }
  }
  if (!opts.stopOnly && opts.removeImages) {
    const images = new Set<string>();
    for (const name of selected) {
      const svc = stack.services[name];
      if (!svc || (opts.removeImages === "local" && svc.image !== undefined)) continue;
      images.add(imageOf(stack, svc));
    }
    for (const image of images) actions.push({ kind: "remove-image", id: `remove-image:${image}`, after: removes, image });
  }
  return { actions, warnings: [], errors: [] };
}

/**
 * The plan's actions in an order apply could run them one at a time: each after
 * everything it waits for, otherwise in the planner's order. What a dry run prints.
 */
export function topological(plan: Plan): Action[] {
  const done = new Set<string>();
  const out: Action[] = [];
  let remaining = [...plan.actions];
  while (remaining.length > 0) {
    const ready = remaining.filter((a) => a.after.every((d) => done.has(d)));
    if (ready.length === 0) throw new Error(`cycle among ${remaining.map((a) => a.id).join(", ")}`);
    for (const a of ready) {
      out.push(a);
      done.add(a.id);
    }
    remaining = remaining.filter((a) => !done.has(a.id));
  }
  return out;
}
