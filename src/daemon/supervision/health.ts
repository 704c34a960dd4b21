// Health checks, run by the daemon (not the engine), with Docker's semantics:
// the test runs with exec inside the container every interval (start_interval
// during start_period); a run longer than timeout or exiting non-zero is a
// failure; `retries` consecutive failures make the container unhealthy; a
// success makes it healthy; failures during start_period do not count.
// A readiness probe (x-tscompose, readiness.ts) comes first when the service
// has one: the container stays `starting` until it succeeds, then turns
// healthy, and the health check (if any) takes over from there.
// The last outputs are kept for `ps`/inspect and the TUI.
import { Writable } from "node:stream";
import type { Engine, HealthcheckConfig } from "../../../engine/types.js";
import type { HealthSource } from "../../../reconciler/apply.js";
import type { Probe, ProbeResult } from "./readiness.js";

export type HealthStatus = "starting" | "healthy" | "unhealthy";

export interface HealthLogEntry {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

/** What to check: a health check, a readiness probe, or both (readiness first). */
export interface Checks {
  healthcheck?: HealthcheckConfig | undefined;
  readiness?: { probe: Probe; intervalMs: number; timeoutMs: number } | undefined;
}

interface Tracked {
  id: string;
  name: string;
  config: HealthcheckConfig | undefined;
  readiness: Checks["readiness"];
  ready: boolean;
  startedAt: number;
  status: HealthStatus;
  failingStreak: number;
  log: HealthLogEntry[];
  timer: NodeJS.Timeout | undefined;
  running: boolean;
}

const MAX_LOG = 5;
const MAX_OUTPUT = 4096;

export class HealthMonitor implements HealthSource {
  private readonly tracked = new Map<string, Tracked>();

  constructor(
    private readonly engine: Engine,
    private readonly onChange: (id: string, name: string, status: HealthStatus) => void = () => undefined,
  ) {}

  health(containerId: string): HealthStatus | undefined {
    return this.tracked.get(containerId)?.status;
  }

  logOf(containerId: string): HealthLogEntry[] {
    return this.tracked.get(containerId)?.log ?? [];
  }

  failingStreak(containerId: string): number {
    return this.tracked.get(containerId)?.failingStreak ?? 0;
  }

  /** Starts checking a running container; a no-op without checks (or NONE) or for an already tracked container. */
  track(id: string, name: string, checks: Checks, startedAt = Date.now()): void {
    const config = checks.healthcheck && checks.healthcheck.test[0] !== "NONE" && checks.healthcheck.test.length > 0 ? checks.healthcheck : undefined;
    if ((!config && !checks.readiness) || this.tracked.has(id)) {
      checks.readiness?.probe.close();
      return;
    }
    const t: Tracked = {
      id,
      name,
      config,
      readiness: checks.readiness,
      ready: !checks.readiness,
      startedAt,
      status: "starting",
      failingStreak: 0,
      log: [],
      timer: undefined,
      running: false,
    };
    this.tracked.set(id, t);
    this.schedule(t);
  }

  untrack(id: string): void {
    const t = this.tracked.get(id);
    if (t?.timer) clearTimeout(t.timer);
    t?.readiness?.probe.close();
    this.tracked.delete(id);
  }

  ids(): string[] {
    return [...this.tracked.keys()];
  }

  close(): void {
    for (const id of [...this.tracked.keys()]) this.untrack(id);
  }

  private schedule(t: Tracked): void {
    let delay: number;
    if (!t.ready) delay = t.readiness!.intervalMs;
    else if (!t.config) return; // ready, and no health check to keep running
    else {
      const inStartPeriod = Date.now() - t.startedAt < t.config.startPeriodMs;
      delay = inStartPeriod && t.status === "starting" ? t.config.startIntervalMs || t.config.intervalMs : t.config.intervalMs;
    }
    t.timer = setTimeout(() => void this.probe(t), Math.max(10, delay));
    t.timer.unref();
  }

  private async probe(t: Tracked): Promise<void> {
    if (!this.tracked.has(t.id) || t.running) return;
    t.running = true;
    const start = new Date();
    const readiness = !t.ready ? t.readiness : undefined;
    const timeoutMs = readiness ? readiness.timeoutMs : t.config!.timeoutMs || 30_000;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    let result: ProbeResult;
    try {
      result = readiness ? await readiness.probe.run(abort.signal) : await this.execCheck(t.id, t.config!, abort.signal);
      if (abort.signal.aborted) result = { exitCode: -1, output: `${result.output}\n${readiness ? "Readiness probe" : "Health check"} exceeded timeout (${timeoutMs}ms)` };
    } catch (err) {
      result = { exitCode: -1, output: (err as Error).message };
    } finally {
      clearTimeout(timer);
      t.running = false;
    }
    if (!this.tracked.has(t.id)) return;
    t.log.push({ start: start.toISOString(), end: new Date().toISOString(), exitCode: result.exitCode, output: result.output.slice(0, MAX_OUTPUT) });
    if (t.log.length > MAX_LOG) t.log.shift();
    const before = t.status;
    if (readiness) {
      // Not ready yet is not a failure: the container stays starting until it is.
      if (result.exitCode === 0) {
        t.ready = true;
        t.status = "healthy";
        readiness.probe.close();
      }
    } else if (result.exitCode === 0) {
      t.failingStreak = 0;
      t.status = "healthy";
    } else if (!(Date.now() - t.startedAt < t.config!.startPeriodMs && t.status === "starting")) {
      t.failingStreak++;
      if (t.failingStreak >= Math.max(1, t.config!.retries)) t.status = "unhealthy";
    }
    if (t.status !== before) this.onChange(t.id, t.name, t.status);
    this.schedule(t);
  }

  private async execCheck(id: string, config: HealthcheckConfig, signal: AbortSignal): Promise<ProbeResult> {
    let output = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (output.length < MAX_OUTPUT) output += chunk.toString("utf8");
        cb();
      },
    });
    const cmd = config.test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", config.test[1] ?? ""] : config.test.slice(1);
    const { exitCode } = await this.engine.exec(id, { cmd, stdout: sink, stderr: sink, signal });
    return { exitCode: signal.aborted ? -1 : exitCode, output };
  }
}
