// The TUI's link to the daemon: the event stream first (so nothing is
// missed), then a snapshot of stacks and containers, then stats once a
// second for all running containers in one request. A snapshot is taken
// again only when events ask for one (a new container, a die the supervisor
// may turn into "restarting"), debounced, plus a slow resync. Stacks on the
// swarm engine send no events (their manager schedules the tasks): their
// services, tasks and nodes are asked for every 2 s instead. When the
// daemon goes away it says so and reconnects with backoff (250 ms doubling
// to 5 s); the screen keeps the last state meanwhile.
import { setMaxListeners } from "node:events";
import type { ContainerInspect, ContainerView, DaemonEvent, LogEntry, StackDetail, StackSummary, StatsSample, SwarmStackView } from "../daemon/api.js";
import { DaemonError } from "../daemon/client.js";
import type { DaemonClient } from "../daemon/client.js";
import type { LogBuffer } from "./logs.js";

export interface ConnectionHandlers {
  onStatus(connected: boolean, error: string | undefined, retryInMs: number | undefined): void;
  onSnapshot(containers: ContainerView[], summaries: StackSummary[], details: StackDetail[]): void;
  onEvent(e: DaemonEvent): void;
  /** A container read again; undefined: it is gone. */
  onContainer(id: string, c: ContainerInspect | undefined): void;
  onStats(samples: StatsSample[]): void;
  /** A swarm stack's services, tasks and nodes; undefined: the daemon has no such swarm stack (any more). */
  onSwarm(stack: string, view: SwarmStackView | undefined): void;
}

export interface ConnectionOptions {
  statsIntervalMs?: number;
  resyncIntervalMs?: number;
  snapshotDebounceMs?: number;
  swarmIntervalMs?: number;
}

export class Connection {
  private stopped = false;
  private abort: AbortController | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly staleIds = new Set<string>();
  private statsTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private swarmTimer: NodeJS.Timeout | undefined;
  /** The stacks on the swarm engine, as the last snapshot's ls said. */
  private swarmStacks: string[] = [];
  private wake: (() => void) | undefined;
  connected = false;

  constructor(
    readonly client: DaemonClient,
    private readonly h: ConnectionHandlers,
    private readonly opts: ConnectionOptions = {},
  ) {}

  /** Runs until stop(): connect, follow events, reconnect. */
  async run(): Promise<void> {
    let backoff = 250;
    while (!this.stopped) {
      const abort = new AbortController();
      this.abort = abort;
      try {
        const events = this.client.stream<DaemonEvent>("GET", "/events", undefined, abort.signal);
        // The first next() sends the request: subscribed before the snapshot is read.
        const first = events.next();
        first.catch(() => undefined); // awaited below; a failure before that must not count as unhandled
        await this.snapshot();
        this.connected = true;
        backoff = 250;
        this.h.onStatus(true, undefined, undefined);
        this.startTimers();
        let r = await first;
        while (!r.done) {
          this.h.onEvent(r.value);
          r = await events.next();
        }
        if (!this.stopped) throw new Error("the daemon closed the event stream");
      } catch (err) {
        if (this.stopped) break;
        this.connected = false;
        this.stopTimers();
        abort.abort();
        this.h.onStatus(false, describe(err, this.client.socket), backoff);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, backoff);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** Reconnect now instead of after the backoff (a key press). */
  retryNow(): void {
    this.wake?.();
  }

  stop(): void {
    this.stopped = true;
    this.stopTimers();
    this.abort?.abort();
    this.wake?.();
  }

  /** A snapshot soon: several requests in a burst of events make one. */
  requestSnapshot(): void {
    if (this.snapshotTimer || !this.connected) return;
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = undefined;
      this.snapshot().catch(() => undefined);
    }, this.opts.snapshotDebounceMs ?? 300);
  }

  /** Reads some containers again soon (debounced); many at once make a snapshot instead. */
  requestRefresh(ids: Iterable<string>): void {
    for (const id of ids) this.staleIds.add(id);
    if (this.refreshTimer || !this.connected) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      const ids = [...this.staleIds];
      this.staleIds.clear();
      if (ids.length > 10) return this.requestSnapshot();
      for (const id of ids) {
        this.client
          .json<ContainerInspect>("GET", `/containers/${encodeURIComponent(id)}`)
          .then((c) => this.h.onContainer(id, c))
          .catch((err: unknown) => {
            if (err instanceof DaemonError && err.kind === "not-found") this.h.onContainer(id, undefined);
          });
      }
    }, this.opts.snapshotDebounceMs ?? 300);
  }

  async snapshot(): Promise<void> {
    const [containers, summaries] = await Promise.all([
      this.client.json<ContainerView[]>("GET", "/containers?all=1"),
      this.client.json<StackSummary[]>("GET", "/stacks"),
    ]);
    const details = await Promise.all(summaries.map((s) => this.client.json<StackDetail>("GET", `/stacks/${encodeURIComponent(s.name)}/detail`).catch(() => undefined)));
    this.h.onSnapshot(containers, summaries, details.filter((d): d is StackDetail => d !== undefined));
    const swarm = summaries.filter((s) => s.engine === "swarm").map((s) => s.name);
    const added = swarm.some((name) => !this.swarmStacks.includes(name));
    this.swarmStacks = swarm;
    if (added && this.connected) this.refreshSwarm();
  }

  /** Asks the managers of the swarm stacks now (after an action), then every swarmIntervalMs. */
  refreshSwarm(): void {
    clearTimeout(this.swarmTimer);
    this.swarmTimer = undefined;
    if (!this.connected) return;
    void Promise.all(
      this.swarmStacks.map((name) =>
        this.client
          .json<SwarmStackView>("GET", `/stacks/${encodeURIComponent(name)}/swarm`)
          .then((v) => this.h.onSwarm(name, v))
          .catch((err: unknown) => {
            // A manager that does not answer leaves the last view; a stack gone (or moved off swarm) goes.
            if (err instanceof DaemonError && err.kind === "not-found") this.h.onSwarm(name, undefined);
          }),
      ),
    ).finally(() => {
      if (this.connected && !this.stopped && this.swarmStacks.length > 0 && !this.swarmTimer) this.swarmTimer = setTimeout(() => this.refreshSwarm(), this.opts.swarmIntervalMs ?? 2000);
    });
  }

  private startTimers(): void {
    this.stopTimers();
    const statsTick = (): void => {
      this.statsTimer = undefined;
      this.client
        .json<StatsSample[]>("GET", "/stats")
        .then((s) => this.h.onStats(s))
        .catch(() => undefined)
        .finally(() => {
          if (this.connected && !this.stopped) this.statsTimer = setTimeout(statsTick, this.opts.statsIntervalMs ?? 1000);
        });
    };
    statsTick();
    this.refreshSwarm();
    this.resyncTimer = setInterval(() => this.requestSnapshot(), this.opts.resyncIntervalMs ?? 15_000);
  }

  private stopTimers(): void {
    clearTimeout(this.statsTimer);
    clearTimeout(this.snapshotTimer);
    clearTimeout(this.refreshTimer);
    clearInterval(this.resyncTimer);
    clearTimeout(this.swarmTimer);
    this.swarmTimer = undefined;
    this.statsTimer = undefined;
    this.snapshotTimer = undefined;
    this.refreshTimer = undefined;
    this.staleIds.clear();
    this.resyncTimer = undefined;
  }
}

function describe(err: unknown, socket: string): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "ENOENT" || e.code === "ECONNREFUSED") return `daemon not reachable at ${socket} (${e.code})`;
  if (e.code === "ECONNRESET" || e.message === "aborted") return "daemon not reachable: it closed the connection";
  return `daemon not reachable: ${e.message}`;
}

/** Follows the logs of some containers into a buffer, until the next follow() or stop(). */
export class LogFollower {
  private abort: AbortController | undefined;

  constructor(
    private readonly client: DaemonClient,
    private readonly buffer: LogBuffer,
    private readonly onLine: () => void,
  ) {}

  follow(targets: { id: string; name: string; service: string }[], tail = 200): void {
    this.stop();
    this.buffer.clear();
    const abort = new AbortController();
    // One signal for every stream of a stack's containers: more listeners than Node's warning expects.
    setMaxListeners(0, abort.signal);
    this.abort = abort;
    const perContainer = Math.max(20, Math.floor(tail / Math.max(1, targets.length)));
    for (const t of targets) {
      void (async () => {
        try {
          for await (const m of this.client.stream<{ stream: "stdout" | "stderr"; time: number; line: string; type?: string }>(
            "GET",
            `/containers/${encodeURIComponent(t.id)}/logs?follow=1&tail=${perContainer}`,
            undefined,
            abort.signal,
          )) {
            if (m.type === "error") continue;
            this.buffer.push({ time: m.time, source: t.name, service: t.service, stream: m.stream, text: m.line });
            this.onLine();
          }
        } catch {
          // The container went away or the daemon did: the pane keeps what it has.
        }
      })();
    }
  }

  /** Follows service logs of a swarm stack (docker service logs), each line with its task's name; with `task`, that task's lines only. */
  followServices(stack: string, services: string[], task?: string, tail = 200): void {
    this.stop();
    this.buffer.clear();
    const abort = new AbortController();
    setMaxListeners(0, abort.signal);
    this.abort = abort;
    const perService = Math.max(20, Math.floor(tail / Math.max(1, services.length)));
    for (const service of services) {
      void (async () => {
        try {
          for await (const m of this.client.stream<(LogEntry & { task: string }) | { type: "error"; message: string }>(
            "GET",
            `/stacks/${encodeURIComponent(stack)}/services/${encodeURIComponent(service)}/logs?follow=1&tail=${perService}`,
            undefined,
            abort.signal,
          )) {
            if ("type" in m || (task !== undefined && m.task !== task)) continue;
            this.buffer.push({ time: m.time, source: m.task, service, stream: m.stream, text: m.line });
            this.onLine();
          }
        } catch {
          // The service went away, or its manager or the daemon did: the pane keeps what it has.
        }
      })();
    }
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
  }
}
