// The screen's text, state in and blessed-tagged text out: the header line,
// the table (with the selection and its scrolling), the pane's title bar and
// the footer. Pure, so each can be tested without a terminal; app.ts holds the
// state, places the panes and calls these on every frame.
import { esc, fit, headerLine, layout, paint, plainRowLine, rowLine } from "./format.js";
import type { Style } from "./format.js";
import { footerItems } from "./keys.js";
import type { Row, SortKey, Totals } from "./model.js";

export type View = "logs" | "config" | "health" | "events" | "nodes";
export const VIEW_TITLES: Record<View, string> = { logs: "1 Logs", config: "2 Config", health: "3 Health", events: "4 Events", nodes: "5 Nodes" };

export type Focus = "table" | "pane";

export interface DaemonStatus {
  connected: boolean;
  error: string | undefined;
  everConnected: boolean;
}

export function headerText(W: number, totals: Totals, status: DaemonStatus, filter: string, sort: SortKey, s: Style): string {
  const right = status.connected ? paint(s, "green", "● daemon") : paint(s, "red", "✖ no daemon", true);
  // Most important first: what does not fit is left out from the end.
  const parts = [
    paint(s, undefined, " tscompose", true),
    paint(s, totals.running === totals.desired ? "green" : "yellow", `${totals.running}/${totals.desired} running`),
    totals.unhealthy > 0 ? paint(s, "red", `${totals.unhealthy} unhealthy`, true) : "",
    filter ? paint(s, "cyan", `filter:${esc(fit(filter, 20))}`) : "",
    `${totals.stacks} stack${totals.stacks === 1 ? "" : "s"}`,
    `sort:${sort}`,
  ].filter((x) => x !== "");
  while (parts.length > 1 && visibleLength(parts.join("  ")) + visibleLength(right) + 2 > W) parts.pop();
  const leftText = parts.join("  ");
  const pad = Math.max(1, W - visibleLength(leftText) - visibleLength(right) - 1);
  return `${leftText}${" ".repeat(pad)}${right}`;
}

export interface TableState {
  rows: readonly Row[];
  selected: number;
  /** First row shown before this frame; tableText returns where it is now. */
  top: number;
  /** Rows that fit below the column titles. */
  height: number;
  focus: Focus;
  status: DaemonStatus;
  filter: string;
  /** The daemon's socket, named while waiting for it. */
  socket: string;
  now: number;
}

/** The table, scrolled so that the selected row shows. */
export function tableText(W: number, t: TableState, s: Style): { text: string; top: number } {
  // A gutter column marks the selected row, so it shows without colours or attributes too.
  const l = layout(W - 1);
  const { rows, selected, height: h } = t;
  const lines: string[] = [];
  if (!t.status.connected && t.status.error) lines.push(paint(s, "red", fit(`✖ ${t.status.error}`, W), true));
  else lines.push(` ${headerLine(l, s)}`);
  let top = t.top;
  if (selected < top) top = selected;
  if (selected >= top + h) top = selected - h + 1;
  top = Math.max(0, Math.min(top, Math.max(0, rows.length - h)));
  for (let i = top; i < Math.min(rows.length, top + h); i++) {
    const r = rows[i] as Row;
    if (i === selected) {
      const text = esc(fit(plainRowLine(l, r, t.now), W - 1));
      lines.push(t.focus === "table" ? `{bold}›{/bold}{inverse}${text}{/inverse}` : `›{underline}${text}{/underline}`);
    } else lines.push(` ${rowLine(l, r, t.now, s)}`);
  }
  if (rows.length === 0) {
    if (!t.status.everConnected) lines.push(paint(s, "gray", ` waiting for the tscompose daemon at ${t.socket} (start it with \`tscompose daemon\`, or any stack command)`));
    else if (t.filter) lines.push(paint(s, "gray", ` nothing matches "${t.filter}" (esc clears the filter)`));
    else lines.push(paint(s, "gray", " no stacks: `tscompose up -d` one and it shows here"));
  }
  return { text: lines.join("\n"), top };
}

/** The pane's title bar: the view tabs, then `extra` (already tagged). */
export function paneTitle(W: number, view: View, focus: Focus, extra: string, s: Style): string {
  const tabs = (Object.keys(VIEW_TITLES) as View[]).map((v) => (v === view ? paint(s, undefined, `[${VIEW_TITLES[v]}]`, true) : paint(s, "gray", ` ${VIEW_TITLES[v]} `))).join("");
  const text = `${tabs} ${extra}`;
  const fill = Math.max(0, W - visibleLength(text) - 1);
  const line = `${text} ${"─".repeat(fill)}`;
  return focus === "pane" ? `{bold}${line}{/bold}` : line;
}

export interface FooterState {
  prompt: { label: string; value: string } | undefined;
  confirm: { text: string } | undefined;
  message: { text: string; level: "info" | "error"; until: number } | undefined;
  now: number;
  /** The selected row is on a swarm stack: the footer shows the swarm keys. */
  swarm?: boolean;
}

/** A prompt, else a question, else a message still due, else the keys that fit. */
export function footerText(W: number, f: FooterState, s: Style): string {
  if (f.prompt) return `${paint(s, "cyan", f.prompt.label, true)} ${esc(f.prompt.value)}█  ${paint(s, "gray", "enter: ok  esc: cancel")}`;
  if (f.confirm) return paint(s, "yellow", `${f.confirm.text} [y/N]`, true);
  if (f.message && f.message.until > f.now) return paint(s, f.message.level === "error" ? "red" : "green", fit(f.message.text, W));
  let out = "";
  let used = 0;
  for (const item of footerItems(f.swarm)) {
    const plain = ` ${item.key} ${item.name} `;
    if (used + plain.length > W) break;
    out += `${paint(s, "cyan", ` ${item.key}`, true)} ${esc(item.name)} `;
    used += plain.length;
  }
  return out;
}

/** Width of tagged text as shown. */
export function visibleLength(tagged: string): number {
  return tagged.replace(/\{\/?[a-z-]+\}/g, (t) => (t === "{open}" || t === "{close}" ? "x" : "")).length;
}
