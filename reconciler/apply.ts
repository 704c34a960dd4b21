// apply(plan) -> side effects on an Engine, with bounded parallelism.
//
// Every action whose `after` actions all succeeded runs at once (up to the
// parallelism limit); a failed action fails its dependants with a message that
// names the root cause, and everything independent carries on, so one broken
// service never takes the rest of the stack down. Progress is reported as
// events, never printed: the CLI and the TUI decide how it looks.
import { kindOf } from "../model/errors.js";
import type { ErrorKind } from "../model/errors.js";
import type { BuildProgress, ContainerInfo, Engine, PullProgress, RegistryLogin } from "../engine/types.js";
import { normalizedName, parseReference } from "../engine/content/reference.js";
import { buildRequestOf, type BuildFlags } from "./build-request.js";
import { containerNameFor, containerSpecFor } from "./container-spec.js";
import { startWithHooks, stopWithHooks } from "./hooks.js";
import { namespaceContainers } from "./namespace-containers.js";
import { LABEL } from "../model/labels.js";
import type { ServiceSpec, StackSpec } from "../model/stack.js";
import type { Action, Plan } from "./plan.js";

export type ProgressEvent =
  | {
      type: "action";
      id: string;
      kind: Action["kind"];
      target: string;
      /** The object's name as users see it (container, network or volume name; image; service), so a client can print progress without loading the stack. */
      name: string;
      status: "started" | "done" | "failed" | "skipped";
      message?: string;
    }
  | { type: "pull"; image: string; progress: PullProgress }
  | { type: "build"; service: string; progress: BuildProgress };

export interface HealthSource {
  /** Current health of a container: undefined when it has no health check. */
  health(containerId: string): "starting" | "healthy" | "unhealthy" | undefined;
}

export interface ApplyOptions {
  engine: Engine;
  stack: StackSpec;
  parallelism?: number;
  onEvent?: (e: ProgressEvent) => void;
  health?: HealthSource;
  signal?: AbortSignal;
  /** How long a wait for a dependency's condition may take before failing. */
  waitTimeoutMs?: number;
  /** Poll interval while waiting for conditions. */
  pollMs?: number;
  /** The command line's build flags (tscompose build --no-cache ...). */
  build?: BuildFlags;
  /** The logins of the user who asked (their docker config.json): pulls use them before the engine's own. */
  credentials?: RegistryLogin;
  /** up -t: how long each stop (and restart) waits before SIGKILL, instead of the service's stop_grace_period. */
  stopTimeoutMs?: number;
}

export interface ApplyResult {
  ok: boolean;
  /** kind: the error's (engine/errors.ts); a skipped dependant has its root cause's. */
  failed: { id: string; target: string; error: string; kind: ErrorKind }[];
  /** Containers created by this apply, by `service:number`. */
  created: Map<string, string>;
}

export function targetOf(a: Action): string {
  switch (a.kind) {
    case "pull":
    case "remove-image":
      return a.image;
    case "create-network":
    case "remove-network":
      return a.network;
    case "create-volume":
    case "remove-volume":
      return a.volume;
    case "create":
    case "start":
      return `${a.service}-${a.number}`;
    case "wait":
    case "build":
      return a.service;
    default:
      return a.name;
  }
}

/** The name users know an action's object by: the real network/volume name, the container name. */
export function displayNameOf(a: Action, stack: StackSpec): string {
  switch (a.kind) {
    case "create-network":
    case "remove-network":
      return stack.networks[a.network]?.name ?? a.network;
    case "create-volume":
      return stack.volumes[a.volume]?.name ?? a.volume;
    case "remove-volume":
      return a.anonymous ? a.volume : (stack.volumes[a.volume]?.name ?? a.volume);
    case "create":
    case "start": {
      const svc = stack.services[a.service];
      return svc ? containerNameFor(stack, svc, a.number) : targetOf(a);
    }
    default:
      return targetOf(a);
  }
}

export async function apply(plan: Plan, opts: ApplyOptions): Promise<ApplyResult> {
  const limit = Math.max(1, opts.parallelism ?? 8);
  const emit = opts.onEvent ?? (() => undefined);
  const created = new Map<string, string>();
  const status = new Map<string, "done" | "failed">();
  const failure = new Map<string, { message: string; kind: ErrorKind }>();
  const failed: ApplyResult["failed"] = [];
  const pending = new Set(plan.actions.map((a) => a.id));
  const running = new Map<string, Promise<void>>();
  // Actions that mostly wait (a stop waiting out its grace period, a wait for
  // health, a pull waiting on the network) do not hold one of the `limit`
  // slots, which bound the work that uses CPU here (process launches, mounts):
  // 100 stops of -t 10 then take ~10 s, not 100/limit x 10 s, and services
  // waiting on their dependencies' health never stall the others' creation.
  const waits = (a: Action): boolean => a.kind === "stop" || a.kind === "wait" || a.kind === "pull" || a.kind === "build";
  let busy = 0;
  const byId = new Map(plan.actions.map((a) => [a.id, a]));

  const run = async (a: Action): Promise<void> => {
    const target = targetOf(a);
    const name = displayNameOf(a, opts.stack);
    emit({ type: "action", id: a.id, kind: a.kind, target, name, status: "started" });
    try {
      const note = await execute(a, opts, created);
      status.set(a.id, "done");
      emit({ type: "action", id: a.id, kind: a.kind, target, name, status: "done", ...(note !== undefined ? { message: note } : {}) });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      status.set(a.id, "failed");
      const kind = kindOf(err);
      failure.set(a.id, { message, kind });
      failed.push({ id: a.id, target, error: message, kind });
      emit({ type: "action", id: a.id, kind: a.kind, target, name, status: "failed", message });
    }
  };

  while (pending.size > 0 || running.size > 0) {
    if (opts.signal?.aborted) throw new Error("apply aborted");
    for (const id of [...pending]) {
      const a = byId.get(id) as Action;
      if (busy >= limit && !waits(a)) continue;
      const blocked = a.after.find((d) => status.get(d) === "failed");
      if (blocked !== undefined) {
        pending.delete(id);
        const root = failure.get(blocked) ?? { message: "failed", kind: "internal" };
        const message = `dependency ${targetOf(byId.get(blocked) as Action)} failed: ${root.message.replace(/^dependency .* failed: /, "")}`;
        status.set(id, "failed");
        failure.set(id, { message, kind: root.kind });
        failed.push({ id, target: targetOf(a), error: message, kind: root.kind });
        emit({ type: "action", id, kind: a.kind, target: targetOf(a), name: displayNameOf(a, opts.stack), status: "skipped", message });
        continue;
      }
      if (a.after.every((d) => status.get(d) === "done")) {
        pending.delete(id);
        const counted = !waits(a);
        if (counted) busy++;
        running.set(
          id,
          run(a).finally(() => {
            running.delete(id);
            if (counted) busy--;
          }),
        );
      }
    }
    if (running.size === 0 && pending.size > 0) {
      // Nothing runnable and nothing running: an `after` names an action outside the plan.
      for (const id of pending) failed.push({ id, target: targetOf(byId.get(id) as Action), error: "waits for an action that is not in the plan", kind: "internal" });
      break;
    }
    if (running.size > 0) await Promise.race(running.values());
  }
  return { ok: failed.length === 0, failed, created };
}

/** Runs one action; what it returns is a note on a success that did less than asked (an image kept because it is in use). */
async function execute(a: Action, opts: ApplyOptions, created: Map<string, string>): Promise<string | undefined> {
  const { engine, stack } = opts;
  const svcOf = (name: string): ServiceSpec => {
    const s = stack.services[name];
    if (!s) throw new Error(`no such service: ${name}`);
    return s;
  };
  switch (a.kind) {
    case "pull":
      await engine.pullImage(a.image, {
        ...(a.platform ? { platform: a.platform } : {}),
        ...(opts.credentials ? { credentials: opts.credentials } : {}),
        onProgress: (progress) => opts.onEvent?.({ type: "pull", image: a.image, progress }),
        signal: opts.signal,
      });
      return;
    case "build":
      await engine.buildImage({
        ...buildRequestOf(stack, svcOf(a.service), opts.build),
        signal: opts.signal,
        onProgress: (progress) => opts.onEvent?.({ type: "build", service: a.service, progress }),
      });
      return;
    case "create-network": {
      const net = stack.networks[a.network];
      if (!net) throw new Error(`no such network: ${a.network}`);
      const existing = await engine.inspectNetwork(net.name);
      if (existing) return;
      // One IPv4 entry (or none: a subnet from the pool) and, with enable_ipv6, one IPv6 entry.
      // (Only IPv6 text has a colon; the loader has checked both forms.)
      const v4 = net.ipam.config.find((c) => c.subnet?.includes(":") !== true);
      const v6 = net.ipam.config.find((c) => c.subnet?.includes(":") === true);
      await engine.createNetwork({
        name: net.name,
        labels: { ...net.labels, [LABEL.project]: stack.name, [LABEL.network]: a.network },
        driver: net.driver,
        internal: net.internal,
        subnet: v4?.subnet,
        gateway: v4?.gateway,
        ipRange: v4?.ipRange,
        auxAddresses: v4?.auxAddresses,
        options: net.driverOpts,
        ...(net.enableIpv6 ? { enableIpv6: true, subnet6: v6?.subnet, gateway6: v6?.gateway } : {}),
      });
      return;
    }
    case "create-volume": {
      const vol = stack.volumes[a.volume];
      if (!vol) throw new Error(`no such volume: ${a.volume}`);
      if (await engine.inspectVolume(vol.name)) return;
      await engine.createVolume({ name: vol.name, labels: { ...vol.labels, [LABEL.project]: stack.name, [LABEL.volume]: a.volume }, driver: vol.driver, driverOpts: vol.driverOpts });
      return;
    }
    case "create": {
      const svc = svcOf(a.service);
      const shared = await namespaceContainers(engine, stack.name, svc);
      const volumesFrom = await resolveVolumesFrom(engine, stack.name, svc.volumesFrom);
      const spec = containerSpecFor(stack, svc, a.number, { namespaceContainers: shared, inheritVolumes: a.inheritVolumes, volumesFrom });
      // compose's label of the image ID the container was made from (docker compose reads it to see a re-pulled image).
      const image = await engine.inspectImage(spec.image);
      if (image) spec.labels[LABEL.image] = image.id;
      const info = await engine.createContainer(spec);
      created.set(`${a.service}:${a.number}`, info.id);
      return;
    }
    case "start": {
      const id = a.containerId ?? created.get(`${a.service}:${a.number}`);
      if (!id) throw new Error(`no container was created for ${a.service}-${a.number}`);
      await startWithHooks(engine, id, stack.services[a.service]);
      return;
    }
    case "restart": {
      const svc = svcOf(a.service);
      await stopWithHooks(engine, a.containerId, svc, { timeoutMs: opts.stopTimeoutMs ?? svc.stopGracePeriodMs });
      await startWithHooks(engine, a.containerId, svc);
      return;
    }
    case "stop": {
      const svc = stack.services[a.service];
      await stopWithHooks(engine, a.containerId, svc, { timeoutMs: opts.stopTimeoutMs ?? svc?.stopGracePeriodMs ?? 10_000 }).catch(goneIsFine);
      return;
    }
    case "remove":
      // Already gone (a user's rm, a job container finishing) is what remove wanted.
      await engine.removeContainer(a.containerId, { force: true, volumes: a.volumes === true, ...(a.handOver ? { handOver: a.handOver } : {}) }).catch(goneIsFine);
      return;
    case "remove-network": {
      const net = stack.networks[a.network];
      if (net && (await engine.inspectNetwork(net.name))) await engine.removeNetwork(net.name);
      return;
    }
    case "remove-volume": {
      const name = a.anonymous ? a.volume : stack.volumes[a.volume]?.name;
      if (name !== undefined && (await engine.inspectVolume(name))) await engine.removeVolume(name);
      return;
    }
    case "remove-image":
      return removeImageUnlessUsed(engine, a.image);
    case "wait":
      await waitFor(a, opts);
      return;
  }
}

/**
 * down --rmi: an image goes unless a container (another stack's, a service
 * left up) still uses it by that name, or uses it at all while the name is
 * its last one, which compose reports as "Resource is still in use". Checked
 * here rather than left to the engine's conflict: an engine untags an image
 * that has other tags even while a container was made by that name.
 */
async function removeImageUnlessUsed(engine: Engine, image: string): Promise<string | undefined> {
  const info = await engine.inspectImage(image);
  if (!info) return undefined;
  const key = sameRef(image);
  const lastName = info.repoTags.filter((t) => sameRef(t) !== key).length === 0;
  const user = (await engine.listContainers({ all: true })).find((c) => c.imageId === info.id && (lastName || sameRef(c.image) === key));
  if (user) return `Resource is still in use (container ${user.name})`;
  await engine.removeImage(image).catch(goneIsFine);
  return undefined;
}

/** A reference's one spelling ("busybox" and "docker.io/library/busybox:latest" are the same); an ID or a name that does not parse stays as it is. */
function sameRef(ref: string): string {
  try {
    return normalizedName(parseReference(ref));
  } catch {
    return ref;
  }
}

/** For stop and remove: a container that no longer exists needs neither, whichever layer said so. */
function goneIsFine(err: unknown): void {
  if (kindOf(err) !== "not-found") throw err;
}

/**
 * volumes_from as compose resolves it: `service[:mode]` is that service's first
 * container (running or not), `container:NAME[:mode]` a container by name.
 */
async function resolveVolumesFrom(engine: Engine, project: string, entries: string[]): Promise<{ container: string; mode?: "ro" | "rw" }[]> {
  const out: { container: string; mode?: "ro" | "rw" }[] = [];
  for (const entry of entries) {
    const isContainer = entry.startsWith("container:");
    const [name, mode] = (isContainer ? entry.slice("container:".length) : entry).split(":") as [string, "ro" | "rw" | undefined];
    let container = name;
    if (!isContainer) {
      const list = await engine.listContainers({ all: true, labels: { [LABEL.project]: project, [LABEL.service]: name, [LABEL.oneoff]: "False" } });
      const first = list.sort((x, y) => Number(x.labels[LABEL.number]) - Number(y.labels[LABEL.number]))[0];
      if (!first) throw new Error(`volumes_from: service "${name}" has no container`);
      container = first.id;
    }
    out.push({ container, ...(mode ? { mode } : {}) });
  }
  return out;
}

/** Waits until every container of a service meets a depends_on condition. */
async function waitFor(a: Extract<Action, { kind: "wait" }>, opts: ApplyOptions): Promise<void> {
  const deadline = Date.now() + (opts.waitTimeoutMs ?? 10 * 60_000);
  const poll = opts.pollMs ?? 100;
  for (;;) {
    const containers = await opts.engine.listContainers({
      all: true,
      labels: { [LABEL.project]: opts.stack.name, [LABEL.service]: a.service, [LABEL.oneoff]: "False" },
    });
    const verdict = conditionMet(a, containers, opts.health);
    if (verdict === true) return;
    if (typeof verdict === "string") {
      if (!a.required) return;
      throw new Error(verdict);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${a.service} to be ${a.condition.replace("service_", "")}`);
    if (opts.signal?.aborted) throw new Error("apply aborted");
    await new Promise((r) => setTimeout(r, poll));
  }
}

const HEALTH_GRACE_MS = 5_000;

/** true: met; a string: can never be met (the reason); false: not yet. */
export function conditionMet(a: { service: string; condition: string }, containers: ContainerInfo[], health?: HealthSource): boolean | string {
  if (containers.length === 0) return false;
  for (const c of containers) {
    switch (a.condition) {
      case "service_started":
        if (c.state === "created") return false;
        break;
      case "service_healthy": {
        if (c.state === "exited" || c.state === "dead") return `container ${c.name} exited (${c.exitCode ?? "?"}) before becoming healthy`;
        const h = health?.health(c.id);
        if (h === undefined) {
          // Checks begin a moment after the start event; only a container that has run a while without any is truly unchecked.
          const age = c.startedAt ? Date.now() - Date.parse(c.startedAt) : Infinity;
          if (c.state === "running" && age < HEALTH_GRACE_MS) return false;
          return `container ${c.name} has no healthcheck configured`;
        }
        if (h === "unhealthy") return `container ${c.name} is unhealthy`;
        if (h !== "healthy") return false;
        break;
      }
      case "service_completed_successfully":
        if (c.state === "exited" || c.state === "dead") {
          if (c.exitCode !== 0) return `service "${a.service}" didn't complete successfully: exit ${c.exitCode ?? "?"}`;
        } else return false;
        break;
    }
  }
  return true;
}
