// Output conventions shared by the commands, following docker compose:
// left-aligned tables with three spaces between columns, human durations
// ("Up 3 minutes", "Exited (0) 2 seconds ago"), ports as
// "0.0.0.0:8080->80/tcp", and colours only on a TTY without NO_COLOR.
import type { ContainerView } from "../daemon/api.js";

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return "Less than a second";
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? "About a minute" : `${m} minutes`;
  const h = Math.round(m / 60);
  if (h < 48) return h === 1 ? "About an hour" : `${h} hours`;
  const d = Math.round(h / 24);
  return `${d} days`;
}

export function statusText(c: ContainerView, now = Date.now()): string {
  const since = (t: string | undefined): number => (t ? now - Date.parse(t) : 0);
  const health = c.health ? ` (${c.health === "starting" ? "health: starting" : c.health})` : "";
  switch (c.state) {
    case "running":
      return `Up ${humanDuration(since(c.startedAt))}${health}`;
    case "paused":
      return `Up ${humanDuration(since(c.startedAt))} (Paused)`;
    case "restarting":
      // The restart count, not only the last exit code: a crash loop shows as it grows.
      return `Restarting (${c.restartCount}) exit ${c.exitCode ?? 0}, ${humanDuration(since(c.finishedAt))} ago`;
    case "exited":
      return `Exited (${c.exitCode ?? 0}) ${humanDuration(since(c.finishedAt))} ago`;
    case "created":
      return "Created";
    case "dead":
      return "Dead";
    case "removing":
      return "Removal In Progress";
  }
}

export function portsText(c: ContainerView): string {
  return c.ports
    .map((p) => `${p.hostIp ?? "0.0.0.0"}:${p.hostPort}->${p.containerPort}/${p.protocol}`)
    .join(", ");
}

const COLORS = [36, 33, 32, 35, 34, 91, 96, 93, 92, 95, 94];

export function useColor(stream: NodeJS.WriteStream = process.stdout, noColorFlag = false): boolean {
  return !noColorFlag && stream.isTTY === true && !process.env.NO_COLOR;
}

/** A stable colour per name, as compose gives each service its own. */
export function colorize(name: string, text: string, enabled: boolean): string {
  if (!enabled) return text;
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `\x1b[${COLORS[h % COLORS.length]}m${text}\x1b[0m`;
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}
