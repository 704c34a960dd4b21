// The TUI's view model: what the daemon told us (snapshots of stacks and
// containers, the event stream, stats samples, swarm stacks' services and
// tasks) folded into one state, and the rows a person sees (stacks ->
// services -> containers, or on swarm stacks -> services -> tasks, with
// totals), sorted and filtered. No I/O and no clock of its own: every input carries
// its time, so tests feed events and read rows.
import type { ContainerStats } from "../daemon/api.js";
import { LABEL } from "../../model/labels.js";
import type { ContainerView, DaemonEvent, ServiceDetail, StackDetail, StackSummary, StatsSample, SwarmServiceView, SwarmStackView, TaskView } from "../daemon/api.js";


/** One line of the event/history view. */
export interface HistoryEntry {
  time: number;
  project: string | undefined;
  service: string | undefined;
  container: string | undefined;
  text: string;
  level: "info" | "warn" | "error";
}

export type SortKey = "name" | "state" | "cpu" | "mem" | "restarts" | "uptime";
export const SORT_KEYS: readonly SortKey[] = ["name", "state", "cpu", "mem", "restarts", "uptime"];

export interface ViewOptions {
  sort: SortKey;
  /** Case-insensitive text matched against stack, service, container name, image and state. */
  filter: string;
  /** Keys of collapsed stack and service rows. */
  collapsed: ReadonlySet<string>;
}

export interface StackRow {
  kind: "stack";
  key: string;
  stack: string;
  running: number;
  desired: number;
  total: number;
  unhealthy: number;
  restarting: number;
  /** Taken down (the TUI remembers it, so that it can be brought up again). */
  down: boolean;
  collapsed: boolean;
  /** The engine it runs on ("embedded", "docker"), as ls says. */
  engine?: string | undefined;
}

export interface ServiceRow {
  kind: "service";
  key: string;
  stack: string;
  service: string;
  running: number;
  desired: number;
  scheduled: boolean;
  image: string | undefined;
  collapsed: boolean;
  /** A service of a stack on the swarm engine: its tasks are the rows below it. */
  swarm?: SwarmServiceView | undefined;
}

/** A task of a swarm service (docker service ps's row). */
export interface TaskRow {
  kind: "task";
  key: string;
  stack: string;
  service: string;
  t: TaskView;
  /** An older task of the same slot (or node), drawn `\_` as docker service ps does. */
  history: boolean;
}

export interface ContainerRow {
  kind: "container";
  key: string;
  stack: string;
  service: string;
  c: ContainerView;
  /** undefined until two samples came in (or it does not run). */
  cpu: number | undefined;
  memUsage: number | undefined;
  memLimit: number | undefined;
}

export type Row = StackRow | ServiceRow | ContainerRow | TaskRow;

export interface Totals {
  stacks: number;
  running: number;
  desired: number;
  containers: number;
  unhealthy: number;
}

const HISTORY_MAX = 1000;

export const stackKey = (stack: string): string => `s:${stack}`;
export const serviceKey = (stack: string, service: string): string => `v:${stack}/${service}`;
export const containerKey = (id: string): string => `c:${id}`;
export const taskKey = (id: string): string => `t:${id}`;

/** Docker's CPU %: the container's share of the host's CPU time between two samples, times the CPUs. */
export function cpuPercent(cur: ContainerStats, prev: ContainerStats | undefined): number | undefined {
  if (!prev) return undefined;
  const cpuDelta = cur.cpuUsageNs - prev.cpuUsageNs;
  const systemDelta = cur.systemUsageNs - prev.systemUsageNs;
  if (systemDelta <= 0 || cpuDelta < 0) return 0;
  return (cpuDelta / systemDelta) * cur.onlineCpus * 100;
}

export class ViewModel {
  readonly containers = new Map<string, ContainerView>();
  readonly summaries = new Map<string, StackSummary>();
  readonly details = new Map<string, StackDetail>();
  /** Stacks on the swarm engine, as their manager last said (GET /stacks/:name/swarm). */
  readonly swarm = new Map<string, SwarmStackView>();
  private readonly stats = new Map<string, { cur: ContainerStats; prev: ContainerStats | undefined }>();
  readonly history: HistoryEntry[] = [];
  /** Bumped on every change: a screen renders only when it moved. */
  version = 0;
  /** Set by events that a snapshot must complete (a new container: its image and ports; a stack's change). */
  needsSnapshot = false;
  /** Containers to read again (after a die the supervisor may mark it restarting): cheaper than a snapshot. */
  readonly stale = new Set<string>();

  /** A full list from GET /containers?all=1 (and /stacks): replaces what we had. */
  applySnapshot(containers: ContainerView[], summaries?: StackSummary[]): void {
    const seen = new Set<string>();
    for (const c of containers) {
      seen.add(c.id);
      this.containers.set(c.id, c);
    }
    for (const id of [...this.containers.keys()]) if (!seen.has(id)) this.containers.delete(id);
    for (const id of [...this.stats.keys()]) if (!seen.has(id)) this.stats.delete(id);
    if (summaries) {
      this.summaries.clear();
      for (const s of summaries) this.summaries.set(s.name, s);
      for (const name of [...this.swarm.keys()]) if (this.summaries.get(name)?.engine !== "swarm") this.swarm.delete(name);
    }
    this.needsSnapshot = false;
    this.stale.clear();
    this.version++;
  }

  /** One container read again (GET /containers/:id); undefined: it is gone. */
  applyContainer(id: string, c: Omit<ContainerView, "project" | "service" | "number"> | undefined): void {
    this.stale.delete(id);
    this.version++;
    if (!c) {
      this.containers.delete(id);
      return;
    }
    const n = c.labels[LABEL.number];
    this.containers.set(id, { ...c, project: c.labels[LABEL.project], service: c.labels[LABEL.service], number: n !== undefined ? Number(n) : undefined });
  }

  /** A swarm stack's services, tasks and nodes; undefined: it is gone (or no longer on swarm). */
  applySwarm(stack: string, view: SwarmStackView | undefined): void {
    if (view) this.swarm.set(stack, view);
    else this.swarm.delete(stack);
    this.version++;
  }

  /** Whether a stack runs on the swarm engine (as ls says, or its manager answered). */
  isSwarm(stack: string): boolean {
    return this.swarm.has(stack) || this.summaries.get(stack)?.engine === "swarm";
  }

  applyDetail(detail: StackDetail): void {
    this.details.set(detail.name, detail);
    this.version++;
  }

  /** Stats of running containers at one moment (GET /stats). */
  applyStats(samples: StatsSample[]): void {
    for (const s of samples) {
      const had = this.stats.get(s.id);
      this.stats.set(s.id, { cur: s.stats, prev: had?.cur });
    }
    this.version++;
  }

  /** One message of GET /events. */
  applyEvent(e: DaemonEvent): void {
    this.version++;
    if (e.type === "stack") {
      this.record({ time: e.time, project: e.project, service: undefined, container: undefined, text: `stack ${e.action}${e.message ? `: ${e.message}` : ""}`, level: e.action === "error" ? "error" : "info" });
      this.needsSnapshot = true;
      return;
    }
    if (e.type === "job") {
      const run = e.run;
      const what =
        e.action === "finish"
          ? `${run.status}${run.exitCode !== undefined ? ` (exit ${run.exitCode})` : ""}`
          : e.action === "skip"
            ? `skipped${run.reason ? `: ${run.reason}` : ""}`
            : e.action === "queue"
              ? "queued"
              : "started";
      this.record({
        time: e.time,
        project: e.project,
        service: e.service,
        container: run.container,
        text: `cron run ${run.id} ${what}`,
        level: e.action === "finish" && run.status === "failed" ? "error" : e.action === "skip" ? "warn" : "info",
      });
      return;
    }
    if (e.type !== "container") return;
    const known = this.containers.get(e.id);
    const labels = known?.labels ?? e.labels;
    const project = labels[LABEL.project];
    const service = labels[LABEL.service];
    if (project === undefined) return;
    const entry = (text: string, level: HistoryEntry["level"] = "info"): void =>
      this.record({ time: e.time, project, service, container: e.name, text, level });
    const iso = new Date(e.time).toISOString();
    switch (e.action) {
      case "create":
        if (!known) {
          this.containers.set(e.id, {
            id: e.id,
            name: e.name,
            image: "",
            imageId: "",
            labels: e.labels,
            state: "created",
            pid: undefined,
            exitCode: undefined,
            oomKilled: false,
            error: undefined,
            createdAt: iso,
            startedAt: undefined,
            finishedAt: undefined,
            restartCount: 0,
            command: [],
            tty: false,
            openStdin: false,
            ports: [],
            networks: {},
            project,
            service,
            number: e.labels[LABEL.number] !== undefined ? Number(e.labels[LABEL.number]) : undefined,
            health: undefined,
          });
        }
        this.needsSnapshot = true;
        entry("created");
        return;
      case "start":
        // A start after an exit is the supervisor's restart (or a user's start): compose counts those as restarts too.
        this.patch(e.id, (c) => ({ ...c, state: "running", startedAt: iso, exitCode: undefined, finishedAt: undefined, health: undefined }));
        entry("started");
        return;
      case "die":
        this.patch(e.id, (c) => ({ ...c, state: "exited", exitCode: e.exitCode, finishedAt: iso, health: undefined, pid: undefined }));
        this.stats.delete(e.id);
        entry(`exited with code ${e.exitCode ?? "?"}`, e.exitCode ? "error" : "info");
        // The supervisor decides right after a die whether it restarts it (state "restarting"): reading it again tells.
        this.stale.add(e.id);
        return;
      case "pause":
        this.patch(e.id, (c) => ({ ...c, state: "paused" }));
        entry("paused");
        return;
      case "unpause":
        this.patch(e.id, (c) => ({ ...c, state: "running" }));
        entry("unpaused");
        return;
      case "restart":
        this.patch(e.id, (c) => ({ ...c, state: "restarting", restartCount: c.restartCount + 1 }));
        entry("restarting", "warn");
        return;
      case "destroy":
        this.containers.delete(e.id);
        this.stats.delete(e.id);
        entry("removed");
        return;
      case "oom":
        entry("killed: out of memory", "error");
        return;
      case "stop":
      case "kill":
        entry(e.action === "stop" ? "stopped" : "killed");
        return;
      case "health_status":
        this.patch(e.id, (c) => ({ ...c, health: e.status }));
        entry(`health: ${e.status}`, e.status === "unhealthy" ? "error" : "info");
        return;
    }
  }

  private patch(id: string, fn: (c: ContainerView) => ContainerView): void {
    const c = this.containers.get(id);
    if (c) this.containers.set(id, fn(c));
    else this.needsSnapshot = true;
  }

  private record(h: HistoryEntry): void {
    this.history.push(h);
    if (this.history.length > HISTORY_MAX) this.history.splice(0, this.history.length - HISTORY_MAX);
  }

  /** Stack names: known to the daemon, seen with containers, or remembered (a stack taken down here can be brought up again). */
  stackNames(): string[] {
    const names = new Set<string>([...this.summaries.keys(), ...this.details.keys()]);
    for (const c of this.containers.values()) if (c.project) names.add(c.project);
    return [...names].sort();
  }

  cpuOf(id: string): number | undefined {
    const s = this.stats.get(id);
    return s ? cpuPercent(s.cur, s.prev) : undefined;
  }

  memOf(id: string): { usage: number; limit: number } | undefined {
    const s = this.stats.get(id)?.cur;
    return s ? { usage: s.memoryUsage, limit: s.memoryLimit } : undefined;
  }

  totals(): Totals {
    const t: Totals = { stacks: 0, running: 0, desired: 0, containers: 0, unhealthy: 0 };
    for (const name of this.stackNames()) {
      const s = this.stackTotals(name);
      t.stacks++;
      t.running += s.running;
      t.desired += s.desired;
      t.containers += s.total;
      t.unhealthy += s.unhealthy;
    }
    return t;
  }

  private stackTotals(stack: string): { running: number; desired: number; total: number; unhealthy: number; restarting: number } {
    if (this.isSwarm(stack)) return this.swarmTotals(stack);
    let running = 0;
    let total = 0;
    let unhealthy = 0;
    let restarting = 0;
    let services = 0;
    for (const c of this.containers.values()) {
      if (c.project !== stack) continue;
      total++;
      if (c.labels[LABEL.oneoff] === "True") continue;
      services++;
      if (c.state === "running") running++;
      if (c.state === "restarting") restarting++;
      if (c.health === "unhealthy") unhealthy++;
    }
    const detail = this.details.get(stack);
    const desired = detail ? detail.services.reduce((n, s) => n + Math.max(0, s.desired - this.completed(stack, s)), 0) : services;
    return { running, desired, total, unhealthy, restarting };
  }

  /** A swarm stack's tasks running and wanted; ls's counts until its manager answered. */
  private swarmTotals(stack: string): { running: number; desired: number; total: number; unhealthy: number; restarting: number } {
    const view = this.swarm.get(stack);
    if (!view) {
      const s = this.summaries.get(stack);
      return { running: s?.running ?? 0, desired: s?.total ?? 0, total: s?.total ?? 0, unhealthy: 0, restarting: 0 };
    }
    const running = view.services.reduce((n, s) => n + s.running, 0);
    const desired = view.services.reduce((n, s) => n + s.desired, 0);
    const total = view.services.reduce((n, s) => n + s.tasks.filter((t) => t.desiredState !== "shutdown" && t.desiredState !== "remove").length, 0);
    return { running, desired, total, unhealthy: 0, restarting: 0 };
  }

  /** One-shot containers that finished well (exit 0, restart "no"): done, not down. */
  private completed(stack: string, s: ServiceDetail): number {
    if ((s.config.restart ?? "no") !== "no") return 0;
    let n = 0;
    for (const c of this.containers.values()) if (c.project === stack && c.service === s.name && c.state === "exited" && c.exitCode === 0 && c.labels[LABEL.oneoff] !== "True") n++;
    return n;
  }

  /** The rows to show, in order. */
  rows(opts: ViewOptions): Row[] {
    const filter = opts.filter.trim().toLowerCase();
    const byStack = new Map<string, Map<string, ContainerView[]>>();
    for (const name of this.stackNames()) byStack.set(name, new Map());
    for (const c of this.containers.values()) {
      const stack = c.project ?? "";
      const service = c.service ?? "";
      const services = byStack.get(stack) ?? new Map<string, ContainerView[]>();
      byStack.set(stack, services);
      const list = services.get(service) ?? [];
      list.push(c);
      services.set(service, list);
    }
    for (const [stack, detail] of this.details) {
      const services = byStack.get(stack);
      if (!services) continue;
      for (const s of detail.services) if (!services.has(s.name) && (s.desired > 0 || s.scheduled)) services.set(s.name, []);
    }

    const stackBlocks: { sortValue: number | string; rows: Row[] }[] = [];
    for (const [stack, services] of byStack) {
      const detail = this.details.get(stack);
      const stackMatches = filter === "" || stack.toLowerCase().includes(filter);
      const serviceBlocks: { sortValue: number | string; rows: Row[] }[] = this.isSwarm(stack) ? swarmBlocks(stack, this.swarm.get(stack), stackMatches, filter, opts.collapsed) : [];
      for (const [service, list] of this.isSwarm(stack) ? [] : services) {
        const sd = detail?.services.find((s) => s.name === service);
        const serviceMatches = stackMatches || service.toLowerCase().includes(filter);
        const containers = list.filter((c) => serviceMatches || matches(c, filter)).map((c) => this.containerRow(stack, service, c));
        if (!serviceMatches && containers.length === 0) continue;
        containers.sort(compareContainers(opts.sort));
        const running = list.filter((c) => c.state === "running" && c.labels[LABEL.oneoff] !== "True").length;
        const key = serviceKey(stack, service);
        const collapsed = opts.collapsed.has(key);
        const row: ServiceRow = {
          kind: "service",
          key,
          stack,
          service,
          running,
          desired: sd ? Math.max(0, sd.desired - this.completed(stack, sd)) : list.filter((c) => c.labels[LABEL.oneoff] !== "True").length,
          scheduled: sd?.scheduled ?? false,
          image: sd?.image ?? list[0]?.image,
          collapsed,
        };
        serviceBlocks.push({ sortValue: aggregate(opts.sort, containers, service), rows: [row, ...(collapsed ? [] : containers)] });
      }
      if (!stackMatches && serviceBlocks.length === 0) continue;
      serviceBlocks.sort(compareBlocks(opts.sort));
      const key = stackKey(stack);
      const collapsed = opts.collapsed.has(key);
      const t = this.stackTotals(stack);
      const row: StackRow = { kind: "stack", key, stack, ...t, down: !this.summaries.has(stack) && t.total === 0, collapsed, engine: this.summaries.get(stack)?.engine };
      const all = serviceBlocks.flatMap((b) => b.rows.filter((r): r is ContainerRow => r.kind === "container"));
      stackBlocks.push({ sortValue: aggregate(opts.sort, all, stack), rows: [row, ...(collapsed ? [] : serviceBlocks.flatMap((b) => b.rows))] });
    }
    stackBlocks.sort(compareBlocks(opts.sort));
    return stackBlocks.flatMap((b) => b.rows);
  }

  private containerRow(stack: string, service: string, c: ContainerView): ContainerRow {
    const mem = this.memOf(c.id);
    const live = c.state === "running" || c.state === "paused";
    return { kind: "container", key: containerKey(c.id), stack, service, c, cpu: live ? this.cpuOf(c.id) : undefined, memUsage: live ? mem?.usage : undefined, memLimit: live ? mem?.limit : undefined };
  }

  /** History entries that concern a row (all of them for no row), oldest first. */
  historyOf(row: Row | undefined): HistoryEntry[] {
    if (!row) return this.history;
    return this.history.filter((h) => {
      if (h.project !== row.stack) return false;
      if (row.kind === "stack") return true;
      if (h.service !== row.service) return false;
      return row.kind === "service" || h.container === (row.kind === "container" ? row.c.name : row.t.name);
    });
  }
}

/** A swarm stack's service rows, each with its tasks (as the manager orders them: by slot, the newest first). */
function swarmBlocks(stack: string, view: SwarmStackView | undefined, stackMatches: boolean, filter: string, collapsed: ReadonlySet<string>): { sortValue: string; rows: Row[] }[] {
  if (!view) return [];
  return view.services.flatMap((svc) => {
    const serviceMatches = stackMatches || svc.service.toLowerCase().includes(filter);
    let previous = "";
    const tasks = svc.tasks.map((t): TaskRow => {
      const slot = t.slot !== undefined ? String(t.slot) : t.node;
      const row: TaskRow = { kind: "task", key: taskKey(t.id), stack, service: svc.service, t, history: slot === previous };
      previous = slot;
      return row;
    });
    const shown = tasks.filter((r) => serviceMatches || taskMatches(r.t, filter));
    if (!serviceMatches && shown.length === 0) return [];
    const key = serviceKey(stack, svc.service);
    const row: ServiceRow = {
      kind: "service",
      key,
      stack,
      service: svc.service,
      running: svc.running,
      desired: svc.desired,
      scheduled: false,
      image: svc.image,
      collapsed: collapsed.has(key),
      swarm: svc,
    };
    return [{ sortValue: svc.service, rows: [row, ...(row.collapsed ? [] : shown)] }];
  });
}

function taskMatches(t: TaskView, filter: string): boolean {
  return [t.name, t.node, t.state, t.error].some((s) => s.toLowerCase().includes(filter));
}

function matches(c: ContainerView, filter: string): boolean {
  if (filter === "") return true;
  return [c.name, c.image, c.state, c.health ?? ""].some((s) => s.toLowerCase().includes(filter));
}

/** Worst first when sorting by state: what needs a person's eyes comes to the top. */
const STATE_RANK: Record<string, number> = { dead: 0, restarting: 1, exited: 2, created: 3, paused: 4, removing: 5, running: 6 };

function stateRank(c: ContainerView): number {
  if (c.state === "exited" && c.exitCode === 0) return 3.5;
  if (c.state === "running" && c.health === "unhealthy") return 0.5;
  return STATE_RANK[c.state] ?? 9;
}

function sortValue(key: SortKey, r: ContainerRow): number | string {
  switch (key) {
    case "name":
      return r.c.name;
    case "state":
      return stateRank(r.c);
    case "cpu":
      return -(r.cpu ?? -1);
    case "mem":
      return -(r.memUsage ?? -1);
    case "restarts":
      return -r.c.restartCount;
    case "uptime":
      // Longest running first; stopped ones last.
      return r.c.state === "running" && r.c.startedAt ? Date.parse(r.c.startedAt) : Number.MAX_SAFE_INTEGER;
  }
}

function compareValues(a: number | string, b: number | string): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

function compareContainers(key: SortKey): (a: ContainerRow, b: ContainerRow) => number {
  return (a, b) => compareValues(sortValue(key, a), sortValue(key, b)) || a.c.name.localeCompare(b.c.name);
}

/** A group's sort value: its name, or the most telling of its containers (busiest, worst state). */
function aggregate(key: SortKey, rows: ContainerRow[], name: string): number | string {
  if (key === "name" || rows.length === 0) return key === "name" ? name : Number.MAX_SAFE_INTEGER;
  return rows.map((r) => sortValue(key, r) as number).reduce((a, b) => Math.min(a, b));
}

function compareBlocks(key: SortKey): (a: { sortValue: number | string; rows: Row[] }, b: { sortValue: number | string; rows: Row[] }) => number {
  const name = (b: { rows: Row[] }): string => {
    const r = b.rows[0];
    return r?.kind === "stack" ? r.stack : r?.kind === "service" ? r.service : "";
  };
  return (a, b) => (key === "name" ? 0 : compareValues(a.sortValue, b.sortValue)) || name(a).localeCompare(name(b));
}
