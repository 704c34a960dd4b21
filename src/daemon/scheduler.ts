// Scheduled jobs: services with an `x-tscompose` schedule run as one-off
// containers on their cron schedule, never kept up by `up`.
//
// The timer is node-cron (one task per scheduled service); what happens on a
// tick is decided here by small pure functions (decideTick, addToHistory),
// and carried out by a JobRunner (jobs-runner.ts: the engine) with the state
// persisted by a JobStore (jobs-store.ts) after every change, synchronously.
//
// Crash safety, the order of a run: (1) the slot is recorded as the latest
// one acted on, with a "running" record naming the container to be, and
// persisted; (2) the container is created (under the stack's lock) and
// started; (3) when it exits, its exit code and log tail go to the history,
// persisted; (4) only then is the container removed. A daemon killed at any
// point finds, when it starts again: a record without a container (it never
// ran: recorded as interrupted, not run late), a record with a container
// (adopted: its exit is recorded once, whether it is still running or
// finished meanwhile), or a recorded run's container (removed). A slot at or
// before the latest one acted on never runs again, and slots that passed
// while the daemon was down are not caught up: node-cron only fires future
// ones.
import { createTask } from "node-cron";
import type { ContainerState } from "../../engine/types.js";
import type { ScheduleSpec, StackSpec } from "../../model/stack.js";
import type { JobEvent, JobRun, JobView } from "./api.js";
import type { StackJobs } from "./controller.js";
import { scheduleSpec } from "./to-wire.js";

/** Per scheduled service, what survives a daemon restart. */
export interface JobState {
  /** The latest cron slot acted on (ms since epoch): run, queued or skipped. Slots at or before it never run. */
  lastTick: number | undefined;
  /** Runs started (or about to be) and not yet finished. */
  running: JobRun[];
  /** A slot waiting for the running run to end (overlap: queue). */
  queued: number | undefined;
  /** Finished and skipped runs, newest first. */
  history: JobRun[];
}

export const emptyJobState = (): JobState => ({ lastTick: undefined, running: [], queued: undefined, history: [] });

/** Lines of output kept per run, and characters per line. */
export const LOG_TAIL_LINES = 50;
export const LOG_LINE_MAX = 1000;

export type TickDecision = { kind: "run" } | { kind: "queue" } | { kind: "skip"; reason: string } | { kind: "duplicate" };

/** What a cron slot does, given the job's state and its overlap policy. */
export function decideTick(state: JobState, overlap: ScheduleSpec["overlap"], tick: number): TickDecision {
  if (state.lastTick !== undefined && tick <= state.lastTick) return { kind: "duplicate" };
  if (state.running.length === 0 || overlap === "allow") return { kind: "run" };
  const busy = `run ${state.running.map((r) => r.id).join(", ")} still running`;
  if (overlap === "queue") return state.queued === undefined ? { kind: "queue" } : { kind: "skip", reason: `${busy} and another queued` };
  return { kind: "skip", reason: busy };
}

/** Adds a run (newest first by slot), keeping at most `keep` runs and `keep` skipped entries. */
export function addToHistory(history: JobRun[], run: JobRun, keep: number): JobRun[] {
  return trimHistory([run, ...history.filter((h) => h.id !== run.id)], keep);
}

/** Newest first; at most `keep` runs and `keep` skipped entries, so that skips never push the runs' exit codes and logs out. */
export function trimHistory(history: JobRun[], keep: number): JobRun[] {
  let runs = 0;
  let skips = 0;
  return [...history].sort((a, b) => Date.parse(b.tick) - Date.parse(a.tick)).filter((h) => (h.status === "skipped" ? ++skips : ++runs) <= keep);
}

/** A run's id: its slot in UTC, `YYYYMMDD-HHMMSS`. Unique per service (cron slots are whole seconds). */
export function runId(tick: number): string {
  const iso = new Date(tick).toISOString();
  return `${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19).replaceAll(":", "")}`;
}

export function newRun(tick: number, status: JobRun["status"], over: Partial<JobRun> = {}): JobRun {
  return {
    id: runId(tick),
    tick: new Date(tick).toISOString(),
    status,
    container: undefined,
    containerId: undefined,
    startedAt: undefined,
    finishedAt: undefined,
    exitCode: undefined,
    reason: undefined,
    log: undefined,
    ...over,
  };
}

/** The state as loaded after a restart: a queued run did not get to run, and will not. */
export function restoredState(state: JobState, keep: number, now: number): JobState {
  const out: JobState = { lastTick: state.lastTick, running: [...state.running], queued: undefined, history: [...state.history] };
  if (state.queued !== undefined) {
    const lost = newRun(state.queued, "interrupted", { finishedAt: new Date(now).toISOString(), reason: "the daemon stopped while this run was queued" });
    out.history = addToHistory(out.history, lost, keep);
  }
  return out;
}

// ---- the moving parts, injected so that tests drive them

export interface JobTimer {
  stop(): void;
  nextRun(): Date | undefined;
}

/** Calls onTick with each cron slot (the scheduled time, whole seconds) as it comes. */
export type TimerFactory = (schedule: ScheduleSpec, onTick: (slot: Date) => void) => JobTimer;

/** A job container as found on the engine. */
export interface JobContainer {
  id: string;
  name: string;
  service: string;
  runId: string;
  tick: string | undefined;
  state: ContainerState;
  exitCode: number | undefined;
  startedAt: string | undefined;
  finishedAt: string | undefined;
}

export interface JobRunner {
  containerName(project: string, service: string, runId: string): string;
  /** Creates the run's container under the stack's lock; `stillWanted` is asked once the lock is held, and false aborts. */
  create(project: string, service: string, run: JobRun, stillWanted: () => boolean): Promise<{ id: string; name: string }>;
  /**
   * Starts it under the stack's lock too (so that down either sees it running
   * or never lets it start); `stillWanted` false aborts. A failure carries the
   * container's exit code when it has one (126/127: the command cannot run).
   */
  start(project: string, id: string, stillWanted: () => boolean): Promise<void>;
  /** Resolves when it is not running any more, with the engine's times when it has them. */
  wait(id: string): Promise<{ exitCode: number; startedAt?: string | undefined; finishedAt?: string | undefined }>;
  logTail(id: string, lines: number): Promise<string[]>;
  /** Removes it under the stack's lock (so that it never vanishes under a down that listed it). */
  remove(project: string, id: string): Promise<void>;
  /** The project's job containers, running or not. */
  list(project: string): Promise<JobContainer[]>;
}

export interface PersistedJobs {
  project: string;
  services: Record<string, JobState>;
}

export interface JobStoreLike {
  load(project: string): PersistedJobs | undefined;
  save(jobs: PersistedJobs): void;
  delete(project: string): void;
}

export interface SchedulerDeps {
  runner: JobRunner;
  store: JobStoreLike;
  timer: TimerFactory;
  publish(e: JobEvent): void;
  log: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void };
  now?: () => number;
}

interface Job {
  service: string;
  schedule: ScheduleSpec;
  state: JobState;
  timer: JobTimer | undefined;
  /** No longer scheduled: dropped once its running runs are recorded. */
  retired: boolean;
}

interface ProjectJobs {
  project: string;
  /** Taken down (or the daemon stopping): nothing is started, recorded or published for it any more. */
  closed: boolean;
  jobs: Map<string, Job>;
}

const errorOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class JobScheduler implements StackJobs {
  private readonly projects = new Map<string, ProjectJobs>();
  private closed = false;
  /** Runs in flight, so that tests (and a graceful stop) can wait for them. */
  private readonly inflight = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(private readonly deps: SchedulerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Follows the stack's schedules: on up, watch-mode reload and daemon start.
   * The first time a project is seen in this process, its persisted state is
   * loaded and the job containers left from before are adopted. Returns a
   * line per scheduled service for the CLI. `only`: the services an `up
   * SERVICE...` selected; as compose leaves the other services alone, a job
   * outside the selection is neither scheduled anew nor changed nor stopped.
   */
  sync(spec: StackSpec, only?: ReadonlySet<string>): string[] {
    if (this.closed) return [];
    let p = this.projects.get(spec.name);
    let restored = false;
    if (!p) {
      p = { project: spec.name, closed: false, jobs: new Map() };
      this.projects.set(spec.name, p);
      for (const [service, state] of Object.entries(this.deps.store.load(spec.name)?.services ?? {})) {
        const schedule = spec.services[service]?.supervision?.schedule;
        const keep = schedule?.history ?? state.history.length;
        p.jobs.set(service, { service, schedule: schedule ?? placeholderSchedule(keep), state: restoredState(state, keep, this.now()), timer: undefined, retired: true });
      }
      restored = true;
    }
    const lines: string[] = [];
    const scheduled = new Set<string>();
    for (const svc of Object.values(spec.services)) {
      const schedule = svc.supervision?.schedule;
      if (!schedule) continue;
      if (only && !only.has(svc.name)) {
        if (p.jobs.get(svc.name)?.retired === false) scheduled.add(svc.name);
        continue;
      }
      scheduled.add(svc.name);
      let job = p.jobs.get(svc.name);
      if (!job) {
        job = { service: svc.name, schedule, state: emptyJobState(), timer: undefined, retired: false };
        p.jobs.set(svc.name, job);
      }
      job.retired = false;
      const sameTimer = job.timer && job.schedule.cron === schedule.cron && job.schedule.timezone === schedule.timezone;
      job.schedule = schedule;
      job.state.history = trimHistory(job.state.history, schedule.history);
      if (!sameTimer) {
        job.timer?.stop();
        const j = job;
        const project = p;
        try {
          job.timer = this.deps.timer(schedule, (slot) => this.onTick(project, j, slot.getTime()));
          this.deps.log.info("job scheduled", { stack: spec.name, service: svc.name, cron: schedule.cron, timezone: schedule.timezone, next: job.timer.nextRun()?.toISOString() });
        } catch (err) {
          // The loader validates schedules; a spec persisted by an older daemon may not have been.
          job.timer = undefined;
          this.deps.log.warn("cannot schedule job", { stack: spec.name, service: svc.name, cron: schedule.cron, error: errorOf(err) });
        }
      }
      const next = job.timer?.nextRun();
      lines.push(`${svc.name}: scheduled "${schedule.cron}"${schedule.timezone ? ` (${schedule.timezone})` : ""}, next run ${next ? next.toISOString() : "never"}`);
    }
    for (const job of p.jobs.values()) {
      if (scheduled.has(job.service)) continue;
      job.timer?.stop();
      job.timer = undefined;
      job.retired = true;
      job.state.queued = undefined;
    }
    this.dropRetired(p);
    this.persist(p);
    if (restored) this.track(this.adopt(p));
    return lines;
  }

  /** down: no more runs, nothing more recorded, the history forgotten. The containers are down's to remove. */
  stop(project: string): void {
    const p = this.projects.get(project);
    if (p) {
      p.closed = true;
      for (const job of p.jobs.values()) job.timer?.stop();
      this.projects.delete(project);
      // The decision a test (and an operator reading the log) can see: from here no slot of this stack is handled.
      this.deps.log.info("jobs unscheduled", { stack: project, services: [...p.jobs.keys()] });
    }
    this.deps.store.delete(project);
  }

  view(project: string): JobView[] {
    const p = this.projects.get(project);
    if (!p) {
      // Not loaded in this process (yet): what was persisted, without a next run.
      const saved = this.deps.store.load(project);
      return Object.entries(saved?.services ?? {}).map(([service, state]) => ({
        project,
        service,
        schedule: scheduleSpec(placeholderSchedule(state.history.length)),
        nextRun: undefined,
        running: state.running,
        queued: state.queued === undefined ? undefined : new Date(state.queued).toISOString(),
        history: state.history,
      }));
    }
    return [...p.jobs.values()]
      .sort((a, b) => a.service.localeCompare(b.service))
      .map((job) => ({
        project,
        service: job.service,
        schedule: scheduleSpec(job.schedule),
        nextRun: job.timer?.nextRun()?.toISOString(),
        running: job.state.running.map((r) => ({ ...r })),
        queued: job.state.queued === undefined ? undefined : new Date(job.state.queued).toISOString(),
        history: job.state.history.map((r) => ({ ...r })),
      }));
  }

  /** Daemon shutdown: timers stop; running containers keep running, to be adopted by the next daemon. */
  close(): void {
    this.closed = true;
    for (const p of this.projects.values()) for (const job of p.jobs.values()) job.timer?.stop();
  }

  /** Resolves when every run in flight has been recorded (tests). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  // ---- internals

  private live(p: ProjectJobs): boolean {
    return !this.closed && !p.closed;
  }

  private track(work: Promise<void>): void {
    const p = work.catch((err: unknown) => this.deps.log.warn("job scheduler failed", { error: errorOf(err) }));
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private persist(p: ProjectJobs): void {
    if (!this.live(p)) return;
    const services: Record<string, JobState> = {};
    for (const job of p.jobs.values()) services[job.service] = job.state;
    this.deps.store.save({ project: p.project, services });
  }

  private publish(p: ProjectJobs, job: Job, action: JobEvent["action"], run: JobRun): void {
    if (this.live(p)) this.deps.publish({ type: "job", action, project: p.project, service: job.service, run: { ...run, log: undefined }, time: this.now() });
  }

  private onTick(p: ProjectJobs, job: Job, tick: number): void {
    if (!this.live(p) || job.retired) return;
    const d = decideTick(job.state, job.schedule.overlap, tick);
    const fields = { stack: p.project, service: job.service, tick: new Date(tick).toISOString() };
    switch (d.kind) {
      case "duplicate":
        this.deps.log.info("job slot already handled", fields);
        return;
      case "run":
        this.track(this.launch(p, job, tick));
        return;
      case "queue": {
        job.state.lastTick = tick;
        job.state.queued = tick;
        this.persist(p);
        this.publish(p, job, "queue", newRun(tick, "running"));
        this.deps.log.info("job run queued", fields);
        return;
      }
      case "skip": {
        job.state.lastTick = tick;
        const run = newRun(tick, "skipped", { reason: d.reason, finishedAt: new Date(this.now()).toISOString() });
        job.state.history = addToHistory(job.state.history, run, job.schedule.history);
        this.persist(p);
        this.publish(p, job, "skip", run);
        this.deps.log.info("job run skipped", { ...fields, reason: d.reason });
        return;
      }
    }
  }

  private async launch(p: ProjectJobs, job: Job, tick: number): Promise<void> {
    const { runner } = this.deps;
    const run = newRun(tick, "running");
    run.container = runner.containerName(p.project, job.service, run.id);
    const wanted = (): boolean => this.live(p) && !job.retired;
    // (1) The slot is taken, and the run recorded, before anything exists on the engine.
    job.state.lastTick = Math.max(job.state.lastTick ?? tick, tick);
    job.state.running.push(run);
    this.persist(p);
    try {
      const created = await runner.create(p.project, job.service, run, wanted);
      run.containerId = created.id;
      run.container = created.name;
      this.persist(p);
    } catch (err) {
      if (!this.live(p)) return;
      this.finish(p, job, run, { status: job.retired ? "interrupted" : "failed", reason: errorOf(err) });
      return;
    }
    const id = run.containerId;
    try {
      await runner.start(p.project, id, wanted);
    } catch (err) {
      if (!this.live(p)) return;
      const exitCode = (err as { exitCode?: number }).exitCode;
      const log = await runner.logTail(id, LOG_TAIL_LINES).catch(() => []);
      this.finish(p, job, run, { status: "failed", exitCode, reason: errorOf(err), log: [...log, errorOf(err)].slice(-LOG_TAIL_LINES) });
      await this.removeContainer(p, run);
      return;
    }
    run.startedAt = new Date(this.now()).toISOString();
    this.persist(p);
    this.publish(p, job, "start", run);
    this.deps.log.info("job run started", { stack: p.project, service: job.service, run: run.id, container: run.container });
    await this.follow(p, job, run);
  }

  /** Waits for a run's container to exit, records it, then removes the container. */
  private async follow(p: ProjectJobs, job: Job, run: JobRun): Promise<void> {
    const { runner } = this.deps;
    const id = run.containerId as string;
    let exited: { exitCode: number | undefined; startedAt?: string | undefined; finishedAt?: string | undefined } = { exitCode: undefined };
    let reason: string | undefined;
    try {
      exited = await runner.wait(id);
    } catch (err) {
      reason = errorOf(err);
    }
    const { exitCode, startedAt, finishedAt } = exited;
    // A stopping daemon leaves the container to the next one, which adopts it.
    if (!this.live(p)) return;
    const log = await runner.logTail(id, LOG_TAIL_LINES).catch(() => undefined);
    this.finish(p, job, run, { status: exitCode === 0 ? "succeeded" : "failed", exitCode, reason, log, startedAt, finishedAt });
    await this.removeContainer(p, run);
  }

  private async removeContainer(p: ProjectJobs, run: JobRun): Promise<void> {
    if (!run.containerId) return;
    await this.deps.runner.remove(p.project, run.containerId).catch((err: unknown) => {
      if (this.live(p)) this.deps.log.warn("cannot remove a job container", { stack: p.project, container: run.container, error: errorOf(err) });
    });
  }

  private finish(p: ProjectJobs, job: Job, run: JobRun, result: Partial<JobRun>): void {
    job.state.running = job.state.running.filter((r) => r.id !== run.id);
    for (const [key, value] of Object.entries(result)) if (value !== undefined) Object.assign(run, { [key]: value });
    run.finishedAt = result.finishedAt ?? new Date(this.now()).toISOString();
    if (run.log) run.log = run.log.map((l) => (l.length > LOG_LINE_MAX ? `${l.slice(0, LOG_LINE_MAX)}…` : l));
    job.state.history = addToHistory(job.state.history, run, job.schedule.history);
    if (!this.live(p)) return;
    this.persist(p);
    this.publish(p, job, "finish", run);
    this.deps.log.info("job run finished", { stack: p.project, service: job.service, run: run.id, status: run.status, exitCode: run.exitCode, reason: run.reason });
    const queued = job.state.queued;
    if (queued !== undefined && job.state.running.length === 0 && !job.retired) {
      job.state.queued = undefined;
      this.track(this.launch(p, job, queued));
    }
    this.dropRetired(p);
  }

  private dropRetired(p: ProjectJobs): void {
    let dropped = false;
    for (const [name, job] of p.jobs) {
      if (job.retired && job.state.running.length === 0) {
        p.jobs.delete(name);
        dropped = true;
      }
    }
    if (dropped) this.persist(p);
  }

  /** After a daemon restart: settles every run recorded as running, and job containers left from before. */
  private async adopt(p: ProjectJobs): Promise<void> {
    const { runner } = this.deps;
    if (p.jobs.size === 0) return;
    const restored = new Map<Job, JobRun[]>([...p.jobs.values()].map((job) => [job, [...job.state.running]]));
    const containers = await runner.list(p.project);
    for (const [job, runs] of restored) {
      for (const run of runs) {
        if (!this.live(p)) return;
        const c = containers.find((x) => x.service === job.service && x.runId === run.id);
        if (!c) {
          this.finish(p, job, run, { status: "interrupted", reason: "the daemon stopped before its container was created" });
          continue;
        }
        run.containerId = c.id;
        run.container = c.name;
        await this.settle(p, job, run, c);
      }
    }
    // Containers no record claims: already recorded (the daemon died before removing them), or from a lost state file.
    for (const c of containers) {
      const job = p.jobs.get(c.service);
      if (!job || !this.live(p)) continue;
      const claimed = (restored.get(job) ?? []).some((r) => r.id === c.runId) || job.state.running.some((r) => r.id === c.runId || r.containerId === c.id);
      if (claimed) continue;
      const run = newRun(c.tick ? Date.parse(c.tick) : this.now(), "running", { id: c.runId, container: c.name, containerId: c.id, startedAt: c.startedAt });
      if (job.state.history.some((h) => h.id === c.runId && h.status !== "running")) {
        await this.removeContainer(p, run);
        continue;
      }
      job.state.running.push(run);
      await this.settle(p, job, run, c);
    }
  }

  /** A recorded run whose container exists: adopted while it runs, recorded (once) when it has finished. */
  private async settle(p: ProjectJobs, job: Job, run: JobRun, c: JobContainer): Promise<void> {
    if (c.state === "created") {
      this.finish(p, job, run, { status: "interrupted", reason: "the daemon stopped before its container was started" });
      await this.removeContainer(p, run);
    } else if (c.state === "running" || c.state === "paused" || c.state === "restarting") {
      run.startedAt ??= c.startedAt;
      this.persist(p);
      this.deps.log.info("job run adopted", { stack: p.project, service: job.service, run: run.id, container: c.name });
      this.track(this.follow(p, job, run));
    } else {
      const log = await this.deps.runner.logTail(c.id, LOG_TAIL_LINES).catch(() => undefined);
      this.finish(p, job, run, { status: c.exitCode === 0 ? "succeeded" : "failed", exitCode: c.exitCode, startedAt: run.startedAt ?? c.startedAt, finishedAt: c.finishedAt, log });
      await this.removeContainer(p, run);
    }
  }
}

/** A stand-in for a job whose schedule is no longer in the stack (shown until its last run is recorded). */
function placeholderSchedule(history: number): ScheduleSpec {
  return { cron: "", timezone: undefined, overlap: "skip", history: Math.max(1, history) };
}

/** node-cron as the timer: the task's callback only hands the slot over, so node-cron's own overlap handling never applies. */
export const cronTimer: TimerFactory = (schedule, onTick) => {
  const task = createTask(schedule.cron, (ctx) => onTick(ctx.date), { timezone: schedule.timezone, unref: true, suppressMissedWarning: true });
  void task.start();
  return {
    stop: () => void task.destroy(),
    nextRun: () => task.getNextRun() ?? undefined,
  };
};
