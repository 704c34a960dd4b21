// Output conventions shared by the commands, following docker compose and
// the docker CLI: tabwriter tables (3 spaces of padding, cells at least 10
// wide), go-units human durations
// ("Up 3 minutes", "Exited (0) 2 seconds ago"), ports as
// "0.0.0.0:8080->80/tcp", and colours only on a TTY without NO_COLOR.
import type { ContainerView } from "../daemon/api.js";

/**
 * A table laid out like Go's tabwriter as the docker CLI and docker compose
 * configure it: every cell but the last padded to its column's widest cell
 * plus 3 spaces, and at least 10 wide.
 */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(10, h.length + 3, ...rows.map((r) => (r[i] ?? "").length + 3)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

/** go-units HumanDuration, as docker ps and docker compose ps print ages ("Up 3 minutes", "2 weeks ago"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

const SIZE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/** Docker's units.HumanSizeWithPrecision: decimal units, `precision` significant digits, "1.049MB". */
export function humanSize(bytes: number, precision = 4): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < SIZE_UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${parseFloat(size.toPrecision(precision))}${SIZE_UNITS[unit]}`;
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

/** A published host address and port as docker prints them: `0.0.0.0:8080`, `[::]:8080`. */
export function hostAddressText(hostIp: string | undefined, hostPort: string | number): string {
  const ip = hostIp ?? "0.0.0.0";
  return `${ip.includes(":") ? `[${ip}]` : ip}:${hostPort}`;
}

export function portsText(c: ContainerView): string {
  return c.ports.map((p) => `${hostAddressText(p.hostIp, p.hostPort)}->${p.containerPort}/${p.protocol}`).join(", ");
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
