// The lower pane's views as lines of tagged text: logs, config with the
// pending diff, health check outputs, events, a swarm's nodes, and the help
// screen. Pure.
import { stringify } from "yaml";
import type { HealthLogEntry, PendingChange, ServiceDetail, StackDetail, SwarmStackView } from "../daemon/api.js";
import { compactDiff, diffLines } from "./diff.js";
import { esc, fit, paint, serviceColor } from "./format.js";
import type { Style } from "./format.js";
import { renderLogLine } from "./logs.js";
import type { LogBuffer } from "./logs.js";
import type { HistoryEntry } from "./model.js";

// The wire's (GET /containers/:id healthLog), named here too for the panes' callers.
export type { HealthLogEntry };

export interface LogViewState {
  /** Index of the first line shown when not following. */
  top: number;
  follow: boolean;
  query: string;
  /** The current match's line index. */
  current: number | undefined;
  /** Show `name |` prefixes (several containers). */
  prefix: boolean;
}

/** The lines of the log pane, and the top actually used (clamped). */
export function logLines(buf: LogBuffer, st: LogViewState, height: number, style: Style): { lines: string[]; top: number } {
  const total = buf.lines.length;
  const top = st.follow ? Math.max(0, total - height) : Math.max(0, Math.min(st.top, Math.max(0, total - height)));
  const shown = buf.lines.slice(top, top + height);
  const prefixWidth = st.prefix ? Math.min(24, shown.reduce((n, l) => Math.max(n, l.source.length), 0)) : 0;
  const lines = shown.map((l, i) => renderLogLine(l, style, { prefix: st.prefix, prefixWidth, query: st.query, current: top + i === st.current }));
  if (total === 0) lines.push(paint(style, "gray", "(no log lines yet)"));
  return { lines, top };
}

const yamlLines = (v: unknown): string[] => stringify(v, { lineWidth: 0 }).trimEnd().split("\n");

/** Config view of a service: what the daemon runs, then what a reload of the files would change. */
export function configLines(stack: string, service: string | undefined, detail: StackDetail | undefined, pending: PendingChange | undefined, style: Style): string[] {
  if (!detail) return [paint(style, "gray", `the daemon has no record of stack ${stack} (not brought up through it)`)];
  const out: string[] = [];
  const pendingLines = (): string[] => {
    if (!pending) return [paint(style, "gray", "pending changes: checking…")];
    if (pending.error) return [paint(style, "red", `the stack files do not load now: ${pending.error}`)];
    if (pending.actions.length === 0) return [paint(style, "green", "pending changes: none (the stack files match what runs)")];
    return [paint(style, "yellow", `pending changes: ${pending.actions.length} action(s) on the next up`, true), ...pending.actions.map((a) => `  ${esc(a)}`)];
  };
  if (service === undefined) {
    out.push(paint(style, undefined, `stack ${stack}`, true) + paint(style, "gray", `  files: ${detail.project.files.join(", ") || "(default)"}`));
    for (const s of detail.services) out.push(`  ${paint(style, serviceColor(s.name), fit(s.name, 20))} ${s.scheduled ? "cron" : `replicas ${s.desired}`}  ${paint(style, "gray", s.configHash.slice(0, 12))}`);
    out.push(...pendingLines());
    return out;
  }
  const svc: ServiceDetail | undefined = detail.services.find((s) => s.name === service);
  if (!svc) return [paint(style, "gray", `service ${service} is not in the stack's last loaded config`)];
  out.push(...pendingLines());
  const next = pending?.services.find((s) => s.name === service);
  if (pending && !pending.error) {
    if (!next) out.push(paint(style, "red", `- service ${service} is gone from the files: its containers would be removed`));
    else if (next.configHash !== svc.configHash) {
      out.push(paint(style, "yellow", `config of ${service} changed (recreate):`, true));
      for (const d of compactDiff(diffLines(yamlLines(svc.config), yamlLines(next.config)))) {
        out.push(d.op === " " ? `  ${esc(d.text)}` : paint(style, d.op === "+" ? "green" : "red", `${d.op} ${d.text}`));
      }
    }
  }
  out.push(paint(style, undefined, `services.${service} (normalized, as running):`, true));
  out.push(...yamlLines(svc.config).map((l) => `  ${esc(l)}`));
  return out;
}

export function healthLines(container: string | undefined, log: HealthLogEntry[] | undefined, style: Style): string[] {
  if (!container) return [paint(style, "gray", "select a container to see its health checks")];
  if (!log) return [paint(style, "gray", `${container}: loading…`)];
  if (log.length === 0) return [paint(style, "gray", `${container}: no health check has run (none configured, or not running)`)];
  const out: string[] = [];
  for (const e of [...log].reverse()) {
    const ok = e.exitCode === 0;
    const t = e.start.slice(11, 19);
    out.push(`${paint(style, "gray", t)} ${paint(style, ok ? "green" : "red", ok ? "ok  " : `exit ${e.exitCode}`)} ${esc(e.output.trim().split("\n")[0] ?? "")}`);
    for (const more of e.output.trim().split("\n").slice(1, 4)) out.push(`           ${esc(more)}`);
  }
  return out;
}

export function eventLines(history: HistoryEntry[], style: Style): string[] {
  if (history.length === 0) return [paint(style, "gray", "no events since the TUI started")];
  return history.map((h) => {
    const t = new Date(h.time).toTimeString().slice(0, 8);
    const who = h.container ?? (h.service ? `${h.project}/${h.service}` : (h.project ?? ""));
    const color = h.level === "error" ? "red" : h.level === "warn" ? "yellow" : undefined;
    return `${paint(style, "gray", t)} ${paint(style, h.service ? serviceColor(h.service) : undefined, fit(who, 22))} ${paint(style, color, h.text)}`;
  });
}

/** The nodes view: the swarm's nodes as docker node ls has them (and each one's role), with the selected stack's tasks on each. */
export function nodesLines(stack: string | undefined, view: SwarmStackView | undefined, isSwarm: boolean, style: Style): string[] {
  if (!stack || !isSwarm) return [paint(style, "gray", "select a stack on the swarm engine: its swarm's nodes show here")];
  if (!view) return [paint(style, "gray", `${stack}: asking its manager…`)];
  const cols: [string, number][] = [
    ["HOSTNAME", 14],
    ["ROLE", 8],
    ["STATUS", 8],
    ["AVAILABILITY", 13],
    ["MANAGER STATUS", 15],
  ];
  const out = [paint(style, undefined, `${cols.map(([t, w]) => fit(t, w)).join("")}TASKS of ${stack}`, true)];
  const prefix = `${stack}_`;
  for (const n of view.nodes) {
    const tasks = n.tasks.map((t) => (t.startsWith(prefix) ? t.slice(prefix.length) : t));
    out.push(
      [
        paint(style, undefined, fit(n.hostname, 14), n.role === "manager"),
        esc(fit(n.role, 8)),
        paint(style, n.status === "ready" ? "green" : "red", fit(n.status, 8)),
        paint(style, n.availability === "active" ? undefined : "yellow", fit(n.availability, 13)),
        esc(fit(n.managerStatus, 15)),
        `${tasks.length}${tasks.length > 0 ? `  ${esc(tasks.join(" "))}` : ""}`,
      ].join(""),
    );
  }
  out.push(paint(style, "gray", `manager: ${view.manager}`));
  return out;
}

/** The help screen: every binding, grouped so that it fits 80x24. */
export const HELP: readonly [keys: string, what: string][] = [
  ["↑ ↓ j k PgUp PgDn g G", "move in the table, or scroll the pane (tab switches)"],
  ["← → enter", "collapse / expand a stack or service"],
  ["s", "start, or stop when running: container, service or whole stack"],
  ["r   p", "restart;  pause, or unpause when paused"],
  ["x", "remove (asks first; running containers are stopped)"],
  ["e", "exec a shell in the container; exit it to come back"],
  ["+ -   =", "scale the service up or down by one;  to N (asks)"],
  ["F   R", "swarm service: update --force;  roll back (ask first)"],
  ["u   D", "up: converge the stack (or bring it back);  down (asks first)"],
  ["/", "filter the table; in the log pane: search the logs"],
  ["n N", "next / previous search match"],
  ["o", "sort: name, state, cpu, mem, restarts, uptime"],
  ["1 2 3 4 5", "pane: logs, config + diff, health, events, swarm nodes"],
  ["f space", "logs: pause / resume following"],
  ["z", "layout: split, table only, pane only"],
  ["esc", "clear the filter or search"],
  ["? h   q", "this help;  quit"],
];

export function helpLines(style: Style): string[] {
  const out = [paint(style, undefined, "tscompose tui — keys", true)];
  for (const [keys, what] of HELP) out.push(`  ${paint(style, "cyan", fit(keys, 22))} ${esc(what)}`);
  out.push("Mouse: click a row to select it, click the pane to focus it; the wheel scrolls.");
  out.push(paint(style, "gray", "any key closes this help"));
  return out;
}
