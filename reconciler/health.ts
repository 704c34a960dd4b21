// Health checks, run by the daemon (not the engine), with Docker's semantics:
// the test runs with exec inside the container every interval (start_interval
// during start_period); a run longer than timeout or exiting non-zero is a
// failure; `retries` consecutive failures make the container unhealthy; a
// success makes it healthy; failures during start_period do not count.
// The last outputs are kept for `ps`/inspect and the TUI.
import { Writable } from "node:stream";
import type { Engine, HealthcheckConfig } from "../engine/types.js";
import type { HealthSource } from "./apply.js";

export type HealthStatus = "starting" | "healthy" | "unhealthy";

export interface HealthLogEntry {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

interface Tracked {
  id: string;
  name: string;
  config: HealthcheckConfig;
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

  /** Starts checking a running container; a no-op for NONE or an already tracked container. */
  track(id: string, name: string, config: HealthcheckConfig, startedAt = Date.now()): void {
    if (config.test[0] === "NONE" || config.test.length === 0 || this.tracked.has(id)) return;
    const t: Tracked = { id, name, config, startedAt, status: "starting", failingStreak: 0, log: [], timer: undefined, running: false };
    this.tracked.set(id, t);
    this.schedule(t);
  }

  untrack(id: string): void {
    const t = this.tracked.get(id);
    if (t?.timer) clearTimeout(t.timer);
    this.tracked.delete(id);
  }

  ids(): string[] {
    return [...this.tracked.keys()];
  }

  close(): void {
    for (const id of [...this.tracked.keys()]) this.untrack(id);
  }

  private schedule(t: Tracked): void {
    const inStartPeriod = Date.now() - t.startedAt < t.config.startPeriodMs;
    const delay = inStartPeriod && t.status === "starting" ? t.config.startIntervalMs || t.config.intervalMs : t.config.intervalMs;
    t.timer = setTimeout(() => void this.probe(t), Math.max(10, delay));
    t.timer.unref();
  }

  private async probe(t: Tracked): Promise<void> {
    if (!this.tracked.has(t.id) || t.running) return;
    t.running = true;
    const start = new Date();
    let output = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (output.length < MAX_OUTPUT) output += chunk.toString("utf8");
        cb();
      },
    });
    const cmd = t.config.test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", t.config.test[1] ?? ""] : t.config.test.slice(1);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), t.config.timeoutMs || 30_000);
    let exitCode: number;
    try {
      exitCode = (await this.engine.exec(t.id, { cmd, stdout: sink, stderr: sink, signal: abort.signal })).exitCode;
      if (abort.signal.aborted) {
        exitCode = -1;
        output += `\nHealth check exceeded timeout (${t.config.timeoutMs}ms)`;
      }
    } catch (err) {
      exitCode = -1;
      output += (err as Error).message;
    } finally {
      clearTimeout(timer);
      t.running = false;
    }
    if (!this.tracked.has(t.id)) return;
    t.log.push({ start: start.toISOString(), end: new Date().toISOString(), exitCode, output: output.slice(0, MAX_OUTPUT) });
    if (t.log.length > MAX_LOG) t.log.shift();
    const before = t.status;
    if (exitCode === 0) {
      t.failingStreak = 0;
      t.status = "healthy";
    } else if (!(Date.now() - t.startedAt < t.config.startPeriodMs && t.status === "starting")) {
      t.failingStreak++;
      if (t.failingStreak >= Math.max(1, t.config.retries)) t.status = "unhealthy";
    }
    if (t.status !== before) this.onChange(t.id, t.name, t.status);
    this.schedule(t);
  }
}
