// Normalizes tscompose's own per-service extension (`x-tscompose`) and the
// compose-spec `develop` section into typed specs. The schema stage already
// checked their shapes (schema/compose-spec.json, x_tscompose_service); here
// values are parsed (durations, ports, regexes) and errors name the key.
import { createRequire } from "node:module";
import { resolve } from "node:path";
import type { NodeCron } from "node-cron";
import type { DevelopSpec, ReadinessSpec, ScheduleSpec, SupervisionSpec } from "../../model/stack.js";
import type { Fail } from "./normalize.js";
import type { PathSegment } from "./parse.js";
import { isDict, type Dict } from "./dict.js";
import { normalizeHook } from "./lifecycle.js";

/** The schema stage let only scalars through where this is used. */
const scalar = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** Readiness probes poll every second with a 1 s timeout unless told otherwise. */
export const READINESS_DEFAULTS = { intervalMs: 1000, timeoutMs: 1000 };
/** A scheduled job keeps the last 10 runs unless told otherwise. */
export const SCHEDULE_DEFAULT_HISTORY = 10;

export function normalizeSupervision(
  raw: unknown,
  path: PathSegment[],
  fail: Fail,
  duration: (v: unknown, p: PathSegment[]) => number | undefined,
): SupervisionSpec {
  const x = isDict(raw) ? raw : {};
  const rou = x.restart_on_unhealthy;
  if (typeof rou === "string" && rou !== "true" && rou !== "false") fail([...path, "restart_on_unhealthy"], `must be true or false, got "${rou}"`);
  return {
    restartOnUnhealthy: rou === true || rou === "true",
    readiness: x.readiness === undefined ? undefined : normalizeReadiness(x.readiness as Dict, [...path, "readiness"], fail, duration),
    schedule: x.schedule === undefined ? undefined : normalizeSchedule(x.schedule, [...path, "schedule"], fail),
  };
}

function port(v: unknown, path: PathSegment[], fail: Fail): number {
  const n = typeof v === "number" ? v : /^\d+$/.test(String(v)) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(path, `must be a port number from 1 to 65535, got ${JSON.stringify(v)}`);
  return n;
}

function normalizeReadiness(
  r: Dict,
  path: PathSegment[],
  fail: Fail,
  duration: (v: unknown, p: PathSegment[]) => number | undefined,
): ReadinessSpec {
  const kinds = (["tcp", "http", "log"] as const).filter((k) => r[k] !== undefined);
  if (kinds.length !== 1) fail(path, `needs exactly one of tcp, http or log, got ${kinds.length === 0 ? "none" : kinds.join(" and ")}`);
  const timing = {
    intervalMs: duration(r.interval, [...path, "interval"]) ?? READINESS_DEFAULTS.intervalMs,
    timeoutMs: duration(r.timeout, [...path, "timeout"]) ?? READINESS_DEFAULTS.timeoutMs,
  };
  if (timing.intervalMs <= 0) fail([...path, "interval"], "must be more than 0");
  const kind = kinds[0]!;
  if (kind === "tcp") return { probe: { kind, port: port(r.tcp, [...path, "tcp"], fail) }, ...timing };
  if (kind === "http") {
    // `http: 8080` or `http: "8080/healthz"` or `http: { port, path }`.
    if (isDict(r.http)) {
      const p = r.http.path === undefined ? "/" : scalar(r.http.path);
      if (!p.startsWith("/")) fail([...path, "http", "path"], `must start with "/", got "${p}"`);
      return { probe: { kind, port: port(r.http.port, [...path, "http", "port"], fail), path: p }, ...timing };
    }
    const m = /^(\d+)(\/.*)?$/.exec(String(r.http));
    if (!m) return fail([...path, "http"], `must be a port, "port/path" or { port, path }, got ${JSON.stringify(r.http)}`);
    return { probe: { kind, port: port(m[1], [...path, "http"], fail), path: m[2] ?? "/" }, ...timing };
  }
  const pattern = String(r.log);
  try {
    new RegExp(pattern);
  } catch (e) {
    fail([...path, "log"], `is not a valid regular expression: ${(e as Error).message}`);
  }
  return { probe: { kind, pattern }, ...timing };
}

/** node-cron, loaded only when a stack has a schedule: most stacks never pay for it. */
let nodeCron: NodeCron | undefined;
const cronLib = (): NodeCron => (nodeCron ??= createRequire(import.meta.url)("node-cron") as NodeCron);

/** Whether Intl (with full ICU, as Node ships) knows an IANA time zone. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function normalizeSchedule(s: unknown, path: PathSegment[], fail: Fail): ScheduleSpec {
  const d: Dict = isDict(s) ? s : { cron: s };
  const history = d.history === undefined ? SCHEDULE_DEFAULT_HISTORY : Number(d.history);
  if (!Number.isInteger(history) || history < 1) fail([...path, "history"], `must be a whole number of runs, at least 1, got ${JSON.stringify(d.history)}`);
  const cron = scalar(d.cron).trim();
  const cronPath = isDict(s) ? [...path, "cron"] : path;
  const checked = cronLib().validateDetailed(cron);
  if (!checked.valid) {
    const why = checked.errors.map((e) => e.message).join("; ") || "not a cron expression";
    fail(cronPath, `invalid cron expression "${cron}": ${why} (5 fields: minute hour day month weekday, or 6 with seconds first)`);
  }
  const timezone = d.timezone === undefined ? undefined : scalar(d.timezone);
  if (timezone !== undefined && !isTimeZone(timezone)) fail([...path, "timezone"], `unknown time zone "${timezone}" (an IANA name such as Europe/Paris or UTC)`);
  return {
    cron,
    timezone,
    overlap: (d.overlap as ScheduleSpec["overlap"] | undefined) ?? "skip",
    history,
  };
}

/** compose-spec `develop.watch`: paths made absolute against the project directory. */
export function normalizeDevelop(
  raw: unknown,
  workingDir: string,
  path: PathSegment[],
  fail: Fail,
  lookupEnv: (name: string) => string | undefined,
): DevelopSpec | undefined {
  if (!isDict(raw) || !Array.isArray(raw.watch)) return undefined;
  return {
    watch: raw.watch.map((item, i) => {
      const w = isDict(item) ? item : {};
      const action = w.action as DevelopSpec["watch"][number]["action"];
      if (action === "sync+exec" && !isDict(w.exec)) {
        fail([...path, "watch", i, "action"], `can't watch with action "sync+exec" on service ${String(path[1])} without a command (exec)`);
      }
      return {
        path: resolve(workingDir, String(w.path)),
        action,
        target: w.target === undefined ? undefined : scalar(w.target),
        ignore: w.ignore === undefined ? [] : Array.isArray(w.ignore) ? w.ignore.map(scalar) : [scalar(w.ignore)],
        exec: isDict(w.exec) ? normalizeHook(w.exec, [...path, "watch", i, "exec"], fail, lookupEnv) : undefined,
        initialSync: w.initial_sync === true,
      };
    }),
  };
}
