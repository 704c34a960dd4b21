// Turning rows into text: cells, colours (blessed tags, or none under
// NO_COLOR) and a column layout that fits the terminal's width. Pure, so the
// bench and tests can render without a terminal.
import type { ContainerView, SwarmServiceView, TaskView } from "../daemon/api.js";
import type { ContainerRow, Row, ServiceRow, StackRow, TaskRow } from "./model.js";

export type Color = "red" | "green" | "yellow" | "blue" | "magenta" | "cyan" | "white" | "gray" | "light-red" | "light-green" | "light-blue" | "light-magenta" | "light-cyan" | "light-yellow";

export interface Style {
  color: boolean;
}

/** Text with blessed's tag characters made literal. */
export function esc(s: string): string {
  return s.replace(/[{}]/g, (ch) => (ch === "{" ? "{open}" : "{close}"));
}

export function paint(style: Style, color: Color | undefined, text: string, bold = false): string {
  const t = esc(text);
  if (!style.color || !color) return bold && style.color ? `{bold}${t}{/bold}` : t;
  return bold ? `{bold}{${color}-fg}${t}{/${color}-fg}{/bold}` : `{${color}-fg}${t}{/${color}-fg}`;
}

/** Cut or pad to exactly n columns. */
export function fit(s: string, n: number, right = false): string {
  if (n <= 0) return "";
  if (s.length > n) return n === 1 ? "…" : `${s.slice(0, n - 1)}…`;
  return right ? s.padStart(n) : s.padEnd(n);
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined) return "-";
  const units = ["B", "K", "M", "G", "T"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)}${units[i]}`;
}

export function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? `${m % 60}m` : ""}`;
  return `${Math.floor(h / 24)}d`;
}

export function stateText(c: ContainerView): string {
  if (c.state === "exited") return `exited (${c.exitCode ?? "?"})`;
  return c.state;
}

export function stateColor(c: ContainerView): Color {
  switch (c.state) {
    case "running":
      return "green";
    case "paused":
      return "yellow";
    case "restarting":
      return "magenta";
    case "created":
      return "cyan";
    case "exited":
      return c.exitCode === 0 ? "gray" : "red";
    default:
      return "red";
  }
}

export function healthColor(h: ContainerView["health"]): Color | undefined {
  return h === "healthy" ? "green" : h === "unhealthy" ? "red" : h === "starting" ? "yellow" : undefined;
}

export function fmtPorts(c: ContainerView): string {
  return c.ports.map((p) => `${p.hostPort}->${p.containerPort}${p.protocol === "tcp" ? "" : `/${p.protocol}`}`).join(",");
}

/** Image names without docker.io's noise. */
export function shortImage(image: string | undefined): string {
  if (!image) return "";
  return image.replace(/^docker\.io\/(library\/)?/, "");
}

const SERVICE_COLORS: readonly Color[] = ["cyan", "yellow", "green", "magenta", "blue", "light-cyan", "light-yellow", "light-green", "light-magenta", "light-blue"];

/** A service's colour for log prefixes: stable for its name, as compose does per service. */
export function serviceColor(name: string): Color {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return SERVICE_COLORS[h % SERVICE_COLORS.length] as Color;
}

interface Column {
  id: "name" | "state" | "health" | "restarts" | "uptime" | "cpu" | "mem" | "ports" | "image";
  title: string;
  width: number;
  right?: boolean;
  /** Columns are dropped in this order when the terminal is narrow (higher first); 0 never. */
  drop: number;
}

const COLUMNS: readonly Column[] = [
  { id: "name", title: "NAME", width: 0, drop: 0 },
  { id: "state", title: "STATE", width: 12, drop: 0 },
  { id: "health", title: "HEALTH", width: 9, drop: 3 },
  { id: "restarts", title: "RST", width: 3, right: true, drop: 4 },
  { id: "uptime", title: "UP", width: 6, right: true, drop: 5 },
  { id: "cpu", title: "CPU%", width: 6, right: true, drop: 2 },
  { id: "mem", title: "MEM", width: 11, right: true, drop: 1 },
  { id: "ports", title: "PORTS", width: 13, drop: 6 },
  { id: "image", title: "IMAGE", width: 16, drop: 7 },
];

const NAME_MIN = 18;

export interface Layout {
  columns: Column[];
  width: number;
}

/** The columns that fit in `width`, NAME taking what is left. */
export function layout(width: number): Layout {
  const cols = COLUMNS.map((c) => ({ ...c }));
  const used = (): number => cols.reduce((n, c) => n + (c.id === "name" ? NAME_MIN : c.width) + 1, 0);
  while (used() > width) {
    const victim = cols.filter((c) => c.drop > 0).sort((a, b) => b.drop - a.drop)[0];
    if (!victim) break;
    cols.splice(cols.indexOf(victim), 1);
  }
  const name = cols.find((c) => c.id === "name") as Column;
  name.width = Math.max(NAME_MIN, width - (used() - NAME_MIN));
  // Wide terminals: let the image column have some of the room too.
  const image = cols.find((c) => c.id === "image");
  if (image && name.width > 40) {
    const extra = Math.min(name.width - 40, 24);
    image.width += extra;
    name.width -= extra;
  }
  return { columns: cols, width };
}

export function headerLine(l: Layout, style: Style): string {
  const text = l.columns.map((c) => fit(c.title, c.width, c.right)).join(" ");
  return paint(style, undefined, text, true);
}

type Cells = Partial<Record<Column["id"], { text: string; color?: Color | undefined; bold?: boolean }>>;

function line(l: Layout, cells: Cells, style: Style): string {
  return l.columns
    .map((col) => {
      const cell = cells[col.id];
      const text = fit(cell?.text ?? "", col.width, col.right);
      return cell ? paint(style, cell.color, text, cell.bold) : text;
    })
    .join(" ");
}

function stackCells(r: StackRow): Cells {
  const ok = r.running === r.desired && r.restarting === 0;
  return {
    name: { text: `${r.collapsed ? "▸" : "▾"} ${r.stack}`, bold: true },
    state: r.down ? { text: "down", color: "gray", bold: true } : { text: `${r.running}/${r.desired} up`, color: ok ? "green" : r.running === 0 && r.desired > 0 ? "red" : "yellow", bold: true },
    health: r.unhealthy > 0 ? { text: `${r.unhealthy} unhlthy`, color: "red", bold: true } : { text: "" },
    restarts: r.restarting > 0 ? { text: `${r.restarting}`, color: "magenta" } : undefined,
    // The image column is the services'; on a stack's row it says where the stack runs.
    image: r.engine ? { text: `engine: ${r.engine}`, color: "gray" } : undefined,
  };
}

function serviceCells(r: ServiceRow): Cells {
  const ok = r.running === r.desired;
  return {
    name: { text: `  ${r.collapsed ? "▸" : "▾"} ${r.service}`, color: serviceColor(r.service) },
    state: r.scheduled ? { text: "cron", color: "blue" } : { text: `${r.running}/${r.desired}`, color: ok ? "green" : r.running === 0 ? "red" : "yellow" },
    image: { text: shortImage(r.image), color: "gray" },
  };
}

function containerCells(r: ContainerRow, now: number): Cells {
  const c = r.c;
  const up = c.state === "running" && c.startedAt ? fmtDuration(now - Date.parse(c.startedAt)) : "";
  return {
    name: { text: `    ${c.name}` },
    state: { text: stateText(c), color: stateColor(c), bold: c.state !== "running" && c.state !== "exited" },
    health: { text: c.health ?? "", color: healthColor(c.health) },
    restarts: { text: String(c.restartCount), color: c.restartCount > 0 ? "yellow" : undefined },
    uptime: { text: up },
    cpu: { text: r.cpu === undefined ? (c.state === "running" ? "…" : "") : r.cpu.toFixed(1), color: r.cpu !== undefined && r.cpu > 80 ? "red" : undefined },
    mem: { text: r.memUsage === undefined ? "" : `${fmtBytes(r.memUsage)}/${r.memLimit && r.memLimit < 2 ** 60 ? fmtBytes(r.memLimit) : "-"}` },
    ports: { text: fmtPorts(c) },
    image: { text: shortImage(c.image), color: "gray" },
  };
}

/** A swarm task's state colour: running green, on its way yellow, failed red, shut down or done gray. */
export function taskStateColor(t: TaskView): Color {
  if (t.state === "running") return "green";
  if (t.state === "failed" || t.state === "rejected" || t.state === "orphaned") return "red";
  if (t.state === "complete" || t.state === "shutdown" || t.state === "remove") return "gray";
  return "yellow";
}

/** UpdateStatus.State in a few words, and how it looks: an update or rollback under way, paused (it failed), done. */
function updateSpan(state: string): Span | undefined {
  switch (state) {
    case "":
      return undefined;
    case "updating":
    case "rollback_started":
      return { text: state === "updating" ? "updating" : "rolling back", color: "yellow", bold: true };
    case "paused":
    case "rollback_paused":
      return { text: state === "paused" ? "update paused" : "rollback paused", color: "red", bold: true };
    case "rollback_completed":
      return { text: "rolled back", color: "magenta" };
    default:
      return { text: state === "completed" ? "updated" : state, color: "gray" };
  }
}

interface Span {
  text: string;
  color?: Color | undefined;
  bold?: boolean;
}

/**
 * A swarm row: the NAME and STATE columns as every row has them, then free
 * text in the rest of the line (a service's mode, update and image; a task's
 * node, desired state, age and error): the container columns (CPU, MEM ...)
 * have nothing to say about a task on another machine.
 */
function swarmLine(l: Layout, cells: Cells, tail: Span[], style: Style): string {
  const head: Layout = { columns: l.columns.filter((c) => c.id === "name" || c.id === "state"), width: l.width };
  let room = l.width - head.columns.reduce((n, c) => n + c.width + 1, 0);
  const parts: string[] = [];
  for (const span of tail) {
    if (room <= 0 || span.text === "") continue;
    const text = fit(span.text, Math.min(room, span.text.length));
    parts.push(paint(style, span.color, text, span.bold));
    room -= text.length + 2;
  }
  return `${line(head, cells, style)} ${parts.join("  ")}`.trimEnd();
}

function swarmServiceLine(l: Layout, r: ServiceRow & { swarm: SwarmServiceView }, style: Style): string {
  const s = r.swarm;
  const ok = s.running === s.desired;
  const cells: Cells = {
    name: { text: `  ${r.collapsed ? "▸" : "▾"} ${r.service}`, color: serviceColor(r.service) },
    state: { text: `${s.running}/${s.desired}`, color: ok ? "green" : s.running === 0 ? "red" : "yellow" },
  };
  const update = updateSpan(s.updateState);
  return swarmLine(l, cells, [{ text: s.mode, color: "gray" }, ...(update ? [update] : []), { text: `v${s.version}`, color: "gray" }, { text: shortImage(s.image.replace(/@sha256:[0-9a-f]+$/, "")), color: "gray" }], style);
}

function taskLine(l: Layout, r: TaskRow, now: number, style: Style): string {
  const t = r.t;
  const since = Date.parse(t.since);
  const cells: Cells = {
    name: { text: `    ${r.history ? "\\_ " : ""}${t.name}`, color: r.history ? "gray" : undefined },
    state: { text: t.state, color: taskStateColor(t), bold: t.state !== "running" && t.state !== "shutdown" && t.state !== "complete" },
  };
  return swarmLine(
    l,
    cells,
    [
      { text: t.node ? `node ${t.node}` : "no node", color: t.node ? undefined : "yellow" },
      { text: `desired ${t.desiredState}`, color: "gray" },
      { text: Number.isNaN(since) ? "" : `${fmtDuration(now - since)} ago`, color: "gray" },
      { text: t.error, color: "red" },
    ],
    style,
  );
}

/** One row as a line of the table. */
export function rowLine(l: Layout, r: Row, now: number, style: Style): string {
  if (r.kind === "task") return taskLine(l, r, now, style);
  if (r.kind === "service" && r.swarm) return swarmServiceLine(l, { ...r, swarm: r.swarm }, style);
  const cells = r.kind === "stack" ? stackCells(r) : r.kind === "service" ? serviceCells(r) : containerCells(r, now);
  return line(l, cells, style);
}

/** The same line without colours, for a selected row drawn in inverse. */
export function plainRowLine(l: Layout, r: Row, now: number): string {
  return rowLine(l, r, now, { color: false }).replace(/\{open\}/g, "{").replace(/\{close\}/g, "}");
}
