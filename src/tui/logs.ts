// The log pane's model: a bounded buffer of lines from one or more
// containers, compose-style prefixes coloured per service, and search
// (matches as line indices, highlighted where they occur). Pure.
import { esc, paint, serviceColor } from "./format.js";
import type { Style } from "./format.js";

export interface LogLine {
  time: number;
  /** Container name (the prefix when the pane follows several). */
  source: string;
  service: string;
  stream: "stdout" | "stderr";
  text: string;
}

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|[\x00-\x08\x0b-\x1f\x7f]/g;

/** A log line as text a terminal widget can show: no escape sequences of its own, tabs expanded. */
export function cleanLine(s: string): string {
  return s.replace(/\t/g, "    ").replace(ANSI, "");
}

export class LogBuffer {
  readonly lines: LogLine[] = [];
  /** Lines dropped from the front so far: indices shift by this much. */
  dropped = 0;
  version = 0;

  constructor(readonly max = 5000) {}

  /** Appends, or inserts in time order: several containers' tails arrive interleaved. */
  push(line: LogLine): void {
    const clean = { ...line, text: cleanLine(line.text) };
    let at = this.lines.length;
    while (at > 0 && (this.lines[at - 1] as LogLine).time > clean.time) at--;
    if (at === this.lines.length) this.lines.push(clean);
    else this.lines.splice(at, 0, clean);
    if (this.lines.length > this.max) {
      const n = this.lines.length - this.max;
      this.lines.splice(0, n);
      this.dropped += n;
    }
    this.version++;
  }

  clear(): void {
    this.lines.length = 0;
    this.dropped = 0;
    this.version++;
  }

  /** Indices of lines containing the query (case-insensitive), oldest first. */
  search(query: string): number[] {
    const q = query.toLowerCase();
    if (q === "") return [];
    const out: number[] = [];
    this.lines.forEach((l, i) => {
      if (l.text.toLowerCase().includes(q) || l.source.toLowerCase().includes(q)) out.push(i);
    });
    return out;
  }
}

/** The match to go to from line `from` (n: forward, N: backward), wrapping around. */
export function nextMatch(matches: number[], from: number, forward: boolean): number | undefined {
  if (matches.length === 0) return undefined;
  if (forward) return matches.find((i) => i > from) ?? matches[0];
  return [...matches].reverse().find((i) => i < from) ?? matches[matches.length - 1];
}

/** One line for the pane: `name | text`, the prefix in its service's colour, matches highlighted. */
export function renderLogLine(l: LogLine, style: Style, opts: { prefix: boolean; prefixWidth: number; query: string; current: boolean }): string {
  const prefix = opts.prefix ? `${paint(style, serviceColor(l.service), l.source.padEnd(opts.prefixWidth))} | ` : "";
  const body = highlight(l.text, opts.query, style, opts.current);
  return prefix + (l.stream === "stderr" && style.color ? `{light-red-fg}${body}{/light-red-fg}` : body);
}

function highlight(text: string, query: string, style: Style, current: boolean): string {
  if (query === "") return esc(text);
  const lower = text.toLowerCase();
  const q = query.toLowerCase();
  let out = "";
  let at = 0;
  for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, i + q.length)) {
    out += esc(text.slice(at, i));
    const m = esc(text.slice(i, i + q.length));
    out += style.color ? `{${current ? "yellow" : "blue"}-bg}{black-fg}${m}{/black-fg}{/${current ? "yellow" : "blue"}-bg}` : `{inverse}${m}{/inverse}`;
    at = i + q.length;
  }
  return out + esc(text.slice(at));
}
