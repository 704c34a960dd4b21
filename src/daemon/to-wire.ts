// The boundary between the daemon's internals and its wire format (api.ts):
// each value the engine or the reconciler produces is copied field by field
// into its wire shape here, and only here. A field renamed or retyped inside
// is then a compile error in this file, and a field added inside stays off
// the wire until someone adds it to api.ts on purpose.
import type { BuildProgress as EngineBuildProgress, ContainerInfo, ContainerStats as EngineStats, Engine, EngineEvent as EngineEventIn, LogEntry as EngineLogEntry, PortBinding as EnginePortBinding } from "../../engine/types.js";
import { LABEL } from "../../model/labels.js";
import type { ProgressEvent } from "../../reconciler/apply.js";
import type { UpOptions } from "../../reconciler/plan.js";
import type { ScheduleSpec as ModelScheduleSpec } from "../../model/stack.js";
import type {
  BuildProgress,
  ContainerFields,
  ContainerInspect,
  ContainerStats,
  ContainerTop,
  ContainerView,
  EngineEvent,
  HealthLogEntry,
  LogEntry,
  PortBinding,
  ScheduleSpec,
  StreamMessage,
  UpRequestOptions,
} from "./api.js";
import type { StackController } from "./controller.js";

// The health monitor's values, named through the controller that owns it (wherever the monitor's module lives).
type EngineHealthStatus = ReturnType<StackController["health"]["health"]>;
type EngineHealthLogEntry = ReturnType<StackController["health"]["logOf"]>[number];

function containerFields(c: ContainerInfo): ContainerFields {
  return {
    id: c.id,
    name: c.name,
    image: c.image,
    imageId: c.imageId,
    labels: { ...c.labels },
    state: c.state,
    pid: c.pid,
    exitCode: c.exitCode,
    oomKilled: c.oomKilled,
    error: c.error,
    createdAt: c.createdAt,
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
    restartCount: c.restartCount,
    stopRequested: c.stopRequested,
    command: [...c.command],
    tty: c.tty,
    openStdin: c.openStdin,
    ports: c.ports.map((p) => ({ containerPort: p.containerPort, protocol: p.protocol, hostPort: p.hostPort, hostIp: p.hostIp })),
    networks: Object.fromEntries(
      Object.entries(c.networks).map(([name, n]) => [name, { ipAddress: n.ipAddress, aliases: [...n.aliases], macAddress: n.macAddress }]),
    ),
    volumes: c.volumes && [...c.volumes],
  };
}

/** GET /containers: a container, what its compose labels say, and its health. */
export function containerView(c: ContainerInfo, health: EngineHealthStatus): ContainerView {
  const number = c.labels[LABEL.number];
  return {
    ...containerFields(c),
    project: c.labels[LABEL.project],
    service: c.labels[LABEL.service],
    number: number !== undefined ? Number(number) : undefined,
    health,
  };
}

/** GET /containers/:id: a container with its health and its last checks. */
export function containerInspect(c: ContainerInfo, health: EngineHealthStatus, log: EngineHealthLogEntry[]): ContainerInspect {
  return { ...containerFields(c), health, healthLog: log.map(healthLogEntry) };
}

function healthLogEntry(e: EngineHealthLogEntry): HealthLogEntry {
  return { start: e.start, end: e.end, exitCode: e.exitCode, output: e.output };
}

export function containerStats(s: EngineStats): ContainerStats {
  return {
    time: s.time,
    cpuUsageNs: s.cpuUsageNs,
    systemUsageNs: s.systemUsageNs,
    onlineCpus: s.onlineCpus,
    memoryUsage: s.memoryUsage,
    memoryLimit: s.memoryLimit,
    pids: s.pids,
    blockRead: s.blockRead,
    blockWrite: s.blockWrite,
    netRx: s.netRx,
    netTx: s.netTx,
  };
}

export function containerTop(t: Awaited<ReturnType<Engine["top"]>>): ContainerTop {
  return { titles: [...t.titles], processes: t.processes.map((p) => [...p]) };
}

export function logEntry(e: EngineLogEntry): LogEntry {
  return e.partial ? { stream: e.stream, time: e.time, timestamp: e.timestamp, line: e.line, partial: true } : { stream: e.stream, time: e.time, timestamp: e.timestamp, line: e.line };
}

export function engineEvent(e: EngineEventIn): EngineEvent {
  switch (e.type) {
    case "container":
      if (e.action === "health_status") return { type: e.type, action: e.action, id: e.id, name: e.name, labels: { ...e.labels }, status: e.status, time: e.time };
      return { type: e.type, action: e.action, id: e.id, name: e.name, labels: { ...e.labels }, exitCode: e.exitCode, time: e.time };
    case "image":
      return { type: e.type, action: e.action, id: e.id, ref: e.ref, time: e.time };
    case "network":
      return { type: e.type, action: e.action, id: e.id, name: e.name, container: e.container, time: e.time };
    case "volume":
      return { type: e.type, action: e.action, name: e.name, time: e.time };
  }
}

/** An apply's progress (an action's state, a pull's layer) as a stream message. */
export function progressMessage(e: ProgressEvent): StreamMessage {
  if (e.type === "pull") {
    const p = e.progress;
    return { type: "pull", image: e.image, progress: { id: p.id, status: p.status, current: p.current, total: p.total } };
  }
  if (e.type === "build") return { type: "build", service: e.service, progress: buildProgress(e.progress) };
  return { type: "action", id: e.id, kind: e.kind, target: e.target, name: e.name, status: e.status, message: e.message };
}

export function buildProgress(p: EngineBuildProgress): BuildProgress {
  switch (p.type) {
    case "step":
      return { type: "step", id: p.id, name: p.name, state: p.state, durationMs: p.durationMs, error: p.error };
    case "output":
      return { type: "output", id: p.id, stream: p.stream, text: p.text };
    case "warning":
      return { type: "warning", message: p.message };
  }
}

export function scheduleSpec(s: ModelScheduleSpec): ScheduleSpec {
  return { cron: s.cron, timezone: s.timezone, overlap: s.overlap, history: s.history };
}

// Request side: the wire's up options and run -p ports are handed to the
// planner and the engine as they are, so each must stay exactly the internal
// shape; these fail to compile when one side changes without the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type SameFields<A, B> = Same<keyof A, keyof B> extends true ? ({ [K in keyof A & keyof B]-?: Same<A[K], B[K]> }[keyof A & keyof B] extends true ? true : false) : false;
type DaemonOnlyUpOptions = "wait" | "waitTimeoutMs" | "watch" | "mustExist" | "dryRun" | "timeoutMs";
export const REQUESTS_MATCH_INTERNALS: {
  upOptions: SameFields<Omit<UpRequestOptions, DaemonOnlyUpOptions>, UpOptions>;
  portBinding: SameFields<PortBinding, EnginePortBinding>;
} = { upOptions: true, portBinding: true };
