// Supervision wired to the daemon's stacks: health checks and readiness
// probes started for each running container of a known stack, restart
// policies by the supervisor, and the engine apply sees (its stops announced
// to the supervisor first). The runtime itself is in ./supervision/; this
// module says which container gets which checks.
import type { ContainerInfo, Engine, HealthcheckConfig } from "../../engine/types.js";
import { healthcheckFor } from "../../reconciler/container-spec.js";
import { LABEL } from "../../model/labels.js";
import type { StackSpec } from "../../model/stack.js";
import { HealthMonitor } from "./supervision/health.js";
import type { HealthStatus } from "./supervision/health.js";
import { readinessProbe } from "./supervision/readiness.js";
import { StopAnnouncingEngine } from "./supervision/stop-announcing-engine.js";
import { Supervisor } from "./supervision/supervise.js";
import type { Logger } from "./log.js";

export interface StackSupervisionHooks {
  /** The desired stack of a project, if the daemon knows it. */
  specOf(project: string): StackSpec | undefined;
  /** Whether a user stopped this container (it stays stopped). */
  stoppedByUser(project: string, id: string): boolean;
  onHealth(id: string, name: string, status: HealthStatus): void;
}

export class StackSupervision {
  readonly health: HealthMonitor;
  readonly supervisor: Supervisor;

  constructor(
    private readonly engine: Engine,
    private readonly hooks: StackSupervisionHooks,
    log: Logger,
  ) {
    this.health = new HealthMonitor(engine, (id, name, status) => {
      log.info("health status changed", { container: name, status });
      hooks.onHealth(id, name, status);
      if (status === "unhealthy") void this.supervisor.restartUnhealthy(id);
    });
    this.supervisor = new Supervisor(engine, {
      specOf: (project) => hooks.specOf(project),
      stoppedByUser: (project, id) => hooks.stoppedByUser(project, id),
      log: (msg, fields) => log.info(msg, fields),
    });
    // Health checks start with the container, not after the whole apply: a
    // dependant waiting on service_healthy must see its dependency's checks run.
    engine.onEvent((e) => {
      if (e.type !== "container") return;
      if (e.action === "start") void this.trackOne(e.id).catch(() => undefined);
      else if (e.action === "die" || e.action === "destroy") this.health.untrack(e.id);
    });
  }

  /** A stack's engine as apply sees it: every stop it makes is announced to the supervisor first. */
  applyEngine(engine: Engine): Engine {
    return new StopAnnouncingEngine(engine, this.supervisor);
  }

  /** Starts health checks for the stack's running containers that have one. */
  async trackHealth(spec: StackSpec): Promise<void> {
    const containers = await this.engine.listContainers({ labels: { [LABEL.project]: spec.name } });
    for (const c of containers) if (c.state === "running") await this.trackContainer(spec, c);
  }

  private async trackOne(id: string): Promise<void> {
    const c = await this.engine.inspectContainer(id);
    const project = c?.labels[LABEL.project];
    const spec = project ? this.hooks.specOf(project) : undefined;
    if (!c || !spec || c.state !== "running") return;
    await this.trackContainer(spec, c);
  }

  /** Starts the container's health check and readiness probe, if its service has either. */
  private async trackContainer(spec: StackSpec, c: ContainerInfo): Promise<void> {
    const svc = spec.services[c.labels[LABEL.service] ?? ""];
    if (!svc || this.health.ids().includes(c.id)) return;
    const healthcheck = await this.healthcheckOf(spec, svc.name, c);
    const r = svc.supervision.readiness;
    const readiness = r ? { probe: readinessProbe(this.engine, c, r.probe, svc.networkMode), intervalMs: r.intervalMs, timeoutMs: r.timeoutMs } : undefined;
    this.health.track(c.id, c.name, { healthcheck, readiness }, c.startedAt ? Date.parse(c.startedAt) : Date.now());
  }

  /** The stack's healthcheck, or the image's with the stack's overrides; none for NONE. */
  private async healthcheckOf(spec: StackSpec, service: string, c: ContainerInfo): Promise<HealthcheckConfig | undefined> {
    const svc = spec.services[service];
    if (!svc) return undefined;
    // Only the healthcheck: the whole container spec needs the containers whose namespaces it joins.
    const fromStack = healthcheckFor(svc);
    const fromImage = (await this.engine.inspectImage(c.image))?.config.healthcheck;
    if (fromStack?.test[0] === "NONE") return undefined;
    if (fromStack && svc.healthcheck?.test !== undefined) return fromStack;
    if (!fromImage) return undefined;
    return {
      test: fromImage.test,
      intervalMs: svc.healthcheck?.intervalMs ?? fromImage.intervalMs ?? 30_000,
      timeoutMs: svc.healthcheck?.timeoutMs ?? fromImage.timeoutMs ?? 30_000,
      retries: svc.healthcheck?.retries ?? fromImage.retries ?? 3,
      startPeriodMs: svc.healthcheck?.startPeriodMs ?? fromImage.startPeriodMs ?? 0,
      startIntervalMs: svc.healthcheck?.startIntervalMs ?? 5_000,
    };
  }
}
