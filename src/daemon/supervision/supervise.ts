// The supervisor: acts on container exits with the service's restart policy
// (restart-policy.ts), with backoff, showing the container as restarting
// meanwhile. It only reacts to events; what to do is decided by the pure
// functions, and stops made on purpose (by a user, or by the reconciler
// itself when it recreates or takes a stack down) are announced beforehand
// with expectStop() so that their exits are not mistaken for crashes.
//
// This folder is the daemon's supervision runtime (this supervisor, health
// checks, readiness probes): it keeps timers, sockets and log followers, so it
// lives in the daemon, not in the reconciler, which stays plan (pure) plus
// apply. The restart decisions themselves are pure and stay in
// reconciler/restart-policy.ts.
import type { Engine, EngineEvent } from "../../../engine/types.js";
import { LABEL } from "../../../model/labels.js";
import type { StackSpec } from "../../../model/stack.js";
import { decideRestart, freshRestartState, policyOf } from "../../../reconciler/restart-policy.js";
import type { RestartState } from "../../../reconciler/restart-policy.js";

export interface SupervisorHooks {
  /** The desired stack of a project, if the daemon knows it. */
  specOf(project: string): StackSpec | undefined;
  /** Whether a user stopped this container (it stays stopped). */
  stoppedByUser(project: string, containerId: string): boolean;
  log(msg: string, fields: Record<string, unknown>): void;
}

export class Supervisor {
  private readonly states = new Map<string, RestartState>();
  private readonly expected = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly engine: Engine,
    private readonly hooks: SupervisorHooks,
  ) {
    this.unsubscribe = engine.onEvent((e) => this.onEvent(e));
  }

  /** The next exit of this container is intended (stop, down, recreate): do not restart it. */
  expectStop(id: string): void {
    this.expected.add(id);
    this.cancel(id);
  }

  /** A user or the reconciler started it again: its exits count again. */
  clearExpected(id: string): void {
    this.expected.delete(id);
  }

  restartsOf(id: string): number {
    return this.states.get(id)?.restarts ?? 0;
  }

  private cancel(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  private onEvent(e: EngineEvent): void {
    if (e.type !== "container") return;
    if (e.action === "destroy") {
      this.cancel(e.id);
      this.states.delete(e.id);
      this.expected.delete(e.id);
      return;
    }
    if (e.action !== "die") return;
    void this.onDie(e.id, e.exitCode ?? 0).catch((err: unknown) => this.hooks.log("supervisor failed", { container: e.name, error: (err as Error).message }));
  }

  private async onDie(id: string, exitCode: number): Promise<void> {
    const info = await this.engine.inspectContainer(id);
    if (!info) return;
    const project = info.labels[LABEL.project];
    const spec = project ? this.hooks.specOf(project) : undefined;
    const svc = spec?.services[info.labels[LABEL.service] ?? ""];
    if (!project || !svc || info.labels[LABEL.oneoff] === "True") return;
    const onPurpose = this.expected.has(id) || this.hooks.stoppedByUser(project, id);
    this.expected.delete(id);
    const now = Date.now();
    const ranFor = info.startedAt ? now - Date.parse(info.startedAt) : 0;
    const state = this.states.get(id) ?? freshRestartState(now);
    const decision = decideRestart(policyOf(svc), exitCode, ranFor, state, now, onPurpose);
    if (!decision.restart) {
      // Logged for a stop on purpose too: it is the decision a reader (or a test) waits for
      // to know that the policy will not bring the container back.
      if (svc.restart !== "no") this.hooks.log("not restarting", { stack: project, service: svc.name, container: info.name, reason: decision.reason });
      return;
    }
    this.states.set(id, decision.next);
    await this.engine.markRestarting?.(id);
    this.hooks.log("restarting", { stack: project, service: svc.name, container: info.name, exitCode, delayMs: decision.delayMs, restarts: decision.next.restarts });
    const timer = setTimeout(() => {
      this.timers.delete(id);
      if (this.expected.has(id)) return;
      this.engine.startContainer(id).catch((err: unknown) => this.hooks.log("restart failed", { stack: project, container: info.name, error: (err as Error).message }));
    }, decision.delayMs);
    timer.unref();
    this.timers.set(id, timer);
  }

  /**
   * x-tscompose restart_on_unhealthy: a container whose health turned
   * unhealthy is stopped and started again, with the same backoff and
   * attempt limits as a crash (restarts count together), whatever its
   * restart policy. Docker leaves such containers running, unhealthy.
   */
  async restartUnhealthy(id: string): Promise<void> {
    try {
      const info = await this.engine.inspectContainer(id);
      const project = info?.labels[LABEL.project];
      const svc = project ? this.hooks.specOf(project)?.services[info?.labels[LABEL.service] ?? ""] : undefined;
      if (!info || !project || !svc?.supervision.restartOnUnhealthy || info.state !== "running") return;
      if (this.timers.has(id) || this.expected.has(id) || this.hooks.stoppedByUser(project, id)) return;
      const now = Date.now();
      const ranFor = info.startedAt ? now - Date.parse(info.startedAt) : 0;
      const policy = { ...policyOf(svc), condition: "any" as const };
      const decision = decideRestart(policy, 1, ranFor, this.states.get(id) ?? freshRestartState(now), now, false);
      if (!decision.restart) {
        this.hooks.log("not restarting unhealthy container", { stack: project, service: svc.name, container: info.name, reason: decision.reason });
        return;
      }
      this.states.set(id, decision.next);
      this.hooks.log("restarting unhealthy container", { stack: project, service: svc.name, container: info.name, delayMs: decision.delayMs, restarts: decision.next.restarts });
      // Our own stop: its exit must not also go through the restart policy.
      this.expected.add(id);
      await this.engine.stopContainer(id, { timeoutMs: svc.stopGracePeriodMs, signal: svc.stopSignal });
      await this.engine.markRestarting?.(id);
      const timer = setTimeout(() => {
        this.timers.delete(id);
        this.expected.delete(id);
        this.engine.startContainer(id).catch((err: unknown) => this.hooks.log("restart failed", { stack: project, container: info.name, error: (err as Error).message }));
      }, decision.delayMs);
      timer.unref();
      this.timers.set(id, timer);
    } catch (err) {
      this.hooks.log("restart of unhealthy container failed", { container: id, error: (err as Error).message });
    }
  }

  close(): void {
    this.unsubscribe();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
