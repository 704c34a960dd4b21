// Stacks on the swarm engine, as the daemon runs them: one SwarmDeployer
// (engine/swarm/deployer.ts) per manager, opened when a stack first needs it.
// The controller (controller.ts) keeps a swarm stack's record as it keeps any
// other (EngineTarget kind "swarm" + the manager's host) and sends up, down,
// ps, logs and ls here. Swarm schedules, restarts and health-checks the tasks
// itself: no supervisor, health monitor, scheduler or re-sync of the daemon
// looks at these stacks, and a command that works on a container of ours
// (exec, attach, cp ...) gets swarmStackError.
import { engineKey, type EngineTarget } from "../../engine/index.js";
import { SwarmDeployer, type SwarmNode, type SwarmProgress, type SwarmServiceInfo, type SwarmTask, type SwarmUpdateResult } from "../../engine/swarm/deployer.js";
import type { Locate } from "../../engine/swarm/support.js";
import type { StackSpec } from "../../model/stack.js";
import { SWARM_STACK, type LogEntry, type SwarmStackView, type SwarmUpdateAnswer, type TaskView, type UpRequest } from "./api.js";
import type { Logger } from "./log.js";
import type { Emit } from "./plan-run.js";

export type SwarmTarget = Extract<EngineTarget, { kind: "swarm" }>;

export function isSwarm(t: EngineTarget | undefined): t is SwarmTarget {
  return t?.kind === "swarm";
}

/** What a container command answers for a stack on swarm; the CLI names its command in front of it (SWARM_STACK). */
export function swarmStackError(project: string): Error {
  // A plain Error: an EngineError's `code` is its kind.
  return Object.assign(
    new Error(`project "${project}" runs on the swarm engine, which schedules its containers itself on its nodes: there is no container here to reach (on swarm: up, ps, logs, scale, down, ls)`),
    { code: SWARM_STACK, kind: "invalid" as const },
  );
}

/** The stack up deploys: the stack's replicas with up's --scale (and `scale`) over them. */
export function scaledStack(spec: StackSpec, scale: Record<string, number> | undefined): StackSpec {
  if (!scale || Object.keys(scale).length === 0) return spec;
  const services = Object.fromEntries(Object.entries(spec.services).map(([name, s]) => [name, scale[name] === undefined ? s : { ...s, replicas: scale[name] }]));
  return { ...spec, services };
}

/**
 * The replicas an up on swarm deploys over the file's, as docker compose
 * decides them (it resets a service's scale on `up` since 1.13; docker stack
 * deploy does too): the services an up names (`up web`, `scale web=3`) get
 * the file's count or --scale's, and so does every service on a plain `up`;
 * the others keep what an earlier `scale`, `up --scale` or the TUI's `=` set,
 * since an up on swarm deploys the whole stack and they were not asked about.
 */
export function swarmScale(kept: Record<string, number> | undefined, named: readonly string[] | undefined, asked: Record<string, number> | undefined): Record<string, number> {
  const others = named && named.length > 0 ? Object.fromEntries(Object.entries(kept ?? {}).filter(([s]) => !named.includes(s))) : {};
  return { ...others, ...(asked ?? {}) };
}

/** One line per step, as up's lines: ` Service web  Created`; a service's waiting line only when its counts change. */
export function progressLines(): (e: SwarmProgress) => string | undefined {
  const last = new Map<string, string>();
  const word = (a: string): string => a.charAt(0).toUpperCase() + a.slice(1);
  return (e) => {
    switch (e.kind) {
      case "network":
        return ` Network ${e.name}  ${word(e.action)}`;
      case "config":
      case "secret":
        return ` ${word(e.kind)} ${e.name}  ${word(e.action)}`;
      case "service":
        return ` Service ${e.service}  ${word(e.action)}`;
      case "waiting": {
        const line = ` Service ${e.service}  Waiting ${e.running}/${e.wanted} running${e.completed > 0 ? `, ${e.completed} completed` : ""}${e.error ? `: ${e.error}` : ""}`;
        if (last.get(e.service) === line) return undefined;
        last.set(e.service, line);
        return line;
      }
      case "converged":
        return ` Service ${e.service}  Converged`;
      case "warning":
        return ` Service ${e.service}  Warning: ${e.message}`;
    }
  };
}

export function taskView(t: SwarmTask): TaskView {
  return { id: t.id, name: t.name, service: t.service, image: t.image, node: t.node ?? "", desiredState: t.desiredState, state: t.state, error: t.error ?? "", since: t.since, slot: t.slot };
}

/** A task that should run (or complete): not one swarm shut down or is removing. */
const wanted = (t: TaskView): boolean => t.desiredState !== "shutdown" && t.desiredState !== "remove";

/** GET /stacks/:name/swarm's answer from what the manager said: each service with its tasks, each node with the stack's tasks on it. */
export function swarmStackView(manager: string, services: readonly SwarmServiceInfo[], tasks: readonly SwarmTask[], nodes: readonly SwarmNode[]): SwarmStackView {
  const views = tasks.map(taskView);
  return {
    manager,
    services: services.map((s) => ({
      id: s.id,
      name: s.name,
      service: s.service,
      mode: s.mode,
      running: s.running,
      desired: s.wanted,
      image: s.image,
      version: s.version,
      updateState: s.updateState ?? "",
      tasks: views.filter((t) => t.service === s.service),
    })),
    nodes: nodes.map((n) => ({
      id: n.id,
      hostname: n.hostname,
      role: n.role,
      availability: n.availability,
      status: n.status,
      managerStatus: n.managerStatus,
      tasks: views.filter((t) => wanted(t) && t.node === n.hostname).map((t) => t.name),
    })),
  };
}

const answer = (service: string, r: SwarmUpdateResult): SwarmUpdateAnswer => ({ service, version: r.version, warnings: r.warnings });

/** ls's status of a swarm stack: its tasks that should run, by state (`running(3)`), as ls counts containers. */
export function swarmStatus(tasks: readonly TaskView[]): { status: string; running: number; total: number } {
  const current = tasks.filter((t) => t.desiredState !== "shutdown" && t.desiredState !== "remove");
  const counts = new Map<string, number>();
  for (const t of current) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  return { status: [...counts].map(([s, n]) => `${s}(${n})`).join(", ") || "empty", running: counts.get("running") ?? 0, total: current.length };
}

export class SwarmStacks {
  private readonly managers = new Map<string, Promise<SwarmDeployer>>();

  constructor(private readonly log: Logger) {}

  /** The manager's deployer, connected on first use; a failed connect is tried again next time. */
  deployer(target: SwarmTarget): Promise<SwarmDeployer> {
    const key = engineKey(target);
    const known = this.managers.get(key);
    if (known) return known;
    const p = SwarmDeployer.connect({ host: target.host, tls: target.tls });
    this.managers.set(key, p);
    p.then(
      () => this.log.info("swarm manager reached", { engine: key }),
      () => this.managers.delete(key),
    );
    return p;
  }

  /** `digests`: the images up built and pushed (controller.ts buildForSwarm), deployed pinned to them. */
  async up(spec: StackSpec, target: SwarmTarget, options: UpRequest["options"], locate: Locate | undefined, emit: Emit, digests: Record<string, string> = {}): Promise<boolean> {
    const swarm = await this.deployer(target);
    const lines = progressLines();
    await swarm.deploy(scaledStack(spec, options.scale), {
      digests,
      // docker stack deploy returns at once; tscompose waits unless told not to (--no-wait, or -d without --wait).
      wait: options.wait !== false,
      timeoutMs: options.waitTimeoutMs,
      removeOrphans: options.removeOrphans === true,
      locate,
      onProgress: (e) => {
        if (e.kind === "warning") return emit({ type: "warning", message: e.message });
        const line = lines(e);
        if (line !== undefined) emit({ type: "info", message: line });
      },
    });
    return true;
  }

  async down(project: string, target: SwarmTarget, emit: Emit): Promise<void> {
    const lines = progressLines();
    await (await this.deployer(target)).remove(project, {
      onProgress: (e) => {
        const line = lines(e);
        if (line !== undefined) emit({ type: "info", message: line });
      },
    });
  }

  /** The stack's services with their tasks, and the swarm's nodes (the TUI's view). */
  async view(project: string, target: SwarmTarget): Promise<SwarmStackView> {
    const swarm = await this.deployer(target);
    const [services, tasks, nodes] = await Promise.all([swarm.services(project), swarm.ps(project), swarm.nodes()]);
    return swarmStackView(target.host, services, tasks, nodes);
  }

  /** docker service scale, without waiting for the tasks (the caller keeps the replicas in the stack's record, for the next up). */
  async scale(project: string, target: SwarmTarget, service: string, replicas: number): Promise<SwarmUpdateAnswer> {
    return answer(service, await (await this.deployer(target)).scale(project, service, replicas));
  }

  /** docker service update --force: every task replaced, as update_config says. */
  async forceUpdate(project: string, target: SwarmTarget, service: string): Promise<SwarmUpdateAnswer> {
    return answer(service, await (await this.deployer(target)).forceUpdate(project, service));
  }

  /** docker service rollback: the service's previous spec put back. */
  async rollback(project: string, target: SwarmTarget, service: string): Promise<SwarmUpdateAnswer> {
    return answer(service, await (await this.deployer(target)).rollback(project, service));
  }

  async tasks(project: string, target: SwarmTarget): Promise<TaskView[]> {
    return (await (await this.deployer(target)).ps(project)).map(taskView);
  }

  /** A service's logs (docker service logs): each line with its task's name. */
  async *logs(project: string, target: SwarmTarget, service: string, opts: { follow?: boolean; tail?: number; since?: number; signal?: AbortSignal }): AsyncGenerator<LogEntry & { task: string }> {
    for await (const e of (await this.deployer(target)).logs(project, service, opts)) {
      yield { stream: e.stream, time: e.time, timestamp: e.timestamp, line: e.line, task: e.task };
    }
  }
}
