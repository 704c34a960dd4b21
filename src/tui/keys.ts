// The key bindings: one table drives the footer and the dispatch, so what
// the footer shows is what works (panes.ts HELP says the same, grouped).

export type Command =
  | "up"
  | "down"
  | "pageUp"
  | "pageDown"
  | "home"
  | "end"
  | "collapse"
  | "expand"
  | "toggle"
  | "focus"
  | "startStop"
  | "restart"
  | "pause"
  | "remove"
  | "exec"
  | "scaleUp"
  | "scaleDown"
  | "scaleTo"
  | "forceUpdate"
  | "rollback"
  | "stackUp"
  | "stackDown"
  | "filter"
  | "sort"
  | "viewLogs"
  | "viewConfig"
  | "viewHealth"
  | "viewEvents"
  | "viewNodes"
  | "followLogs"
  | "nextMatch"
  | "prevMatch"
  | "zoom"
  | "help"
  | "escape"
  | "quit";

export interface Binding {
  keys: string[];
  command: Command;
  /** Shown in the footer and help as "label"; undefined: help only. */
  label: string;
  help: string;
  footer?: boolean;
  /** Whose footer shows it: a container engine's rows, or a swarm stack's; undefined: both (the footer follows the selected row). */
  scope?: "containers" | "swarm";
}

export const BINDINGS: readonly Binding[] = [
  { keys: ["up", "k"], command: "up", label: "↑/k", help: "previous row (or scroll the pane up)" },
  { keys: ["down", "j"], command: "down", label: "↓/j", help: "next row (or scroll the pane down)" },
  { keys: ["pageup", "C-b"], command: "pageUp", label: "PgUp", help: "page up" },
  { keys: ["pagedown", "C-f"], command: "pageDown", label: "PgDn", help: "page down" },
  { keys: ["home", "g"], command: "home", label: "g", help: "first row / oldest log line" },
  { keys: ["end", "G"], command: "end", label: "G", help: "last row / newest log line (follow again)" },
  { keys: ["left"], command: "collapse", label: "←", help: "collapse the stack or service (or go to its parent)" },
  { keys: ["right"], command: "expand", label: "→", help: "expand the stack or service" },
  { keys: ["enter"], command: "toggle", label: "enter", help: "collapse or expand" },
  { keys: ["tab"], command: "focus", label: "tab", help: "switch between the table and the pane below" },
  { keys: ["s"], command: "startStop", label: "s", help: "start, or stop when running (the selected container, service or stack)", footer: true, scope: "containers" },
  { keys: ["r"], command: "restart", label: "r", help: "restart", footer: true, scope: "containers" },
  { keys: ["p"], command: "pause", label: "p", help: "pause, or unpause when paused", footer: true, scope: "containers" },
  { keys: ["x"], command: "remove", label: "x", help: "remove (asks first; running containers are stopped)", footer: true, scope: "containers" },
  { keys: ["e"], command: "exec", label: "e", help: "exec a shell in the container (the terminal is handed over; exit to come back)", footer: true, scope: "containers" },
  { keys: ["="], command: "scaleTo", label: "=", help: "scale the service to N replicas (asks for N, then to confirm)", footer: true, scope: "swarm" },
  { keys: ["F"], command: "forceUpdate", label: "F", help: "swarm: update --force the service (its tasks replaced; asks first)", footer: true, scope: "swarm" },
  { keys: ["R"], command: "rollback", label: "R", help: "swarm: roll the service back to its previous spec (asks first)", footer: true, scope: "swarm" },
  { keys: ["5"], command: "viewNodes", label: "5", help: "nodes view: the swarm's nodes (role, availability, status, the stack's tasks on each)", footer: true, scope: "swarm" },
  { keys: ["+"], command: "scaleUp", label: "+/-", help: "scale the service up by one", footer: true, scope: "containers" },
  { keys: ["-"], command: "scaleDown", label: "-", help: "scale the service down by one" },
  { keys: ["u"], command: "stackUp", label: "u/D", help: "up: converge the whole stack (also brings back one taken down)", footer: true },
  { keys: ["D"], command: "stackDown", label: "D", help: "down: stop and remove the whole stack (asks first)" },
  { keys: ["/"], command: "filter", label: "/", help: "filter the table; in the log pane: search the logs", footer: true },
  { keys: ["o"], command: "sort", label: "o", help: "sort by name, state, cpu, mem, restarts, uptime", footer: true },
  { keys: ["1", "l"], command: "viewLogs", label: "1-5", help: "pane: 1 logs, 2 config and pending diff, 3 health checks, 4 events, 5 swarm nodes", footer: true },
  { keys: ["2", "c"], command: "viewConfig", label: "2", help: "config view: the service's normalized config and the diff a pending change would make" },
  { keys: ["3"], command: "viewHealth", label: "3", help: "health view: the last health check outputs" },
  { keys: ["4", "v"], command: "viewEvents", label: "4", help: "events view: starts, exits, restarts, health, cron runs" },
  { keys: ["f", "space"], command: "followLogs", label: "f", help: "logs: pause / resume following" },
  { keys: ["n"], command: "nextMatch", label: "n/N", help: "logs: next / previous search match" },
  { keys: ["N"], command: "prevMatch", label: "N", help: "logs: previous search match" },
  { keys: ["z"], command: "zoom", label: "z", help: "layout: split, table only, pane only" },
  { keys: ["?", "h"], command: "help", label: "?", help: "this help", footer: true },
  { keys: ["escape"], command: "escape", label: "esc", help: "clear the filter or search, close help" },
  { keys: ["q", "C-c"], command: "quit", label: "q", help: "quit", footer: true },
];

const byKey = new Map<string, Command>(BINDINGS.flatMap((b) => b.keys.map((k) => [k, b.command] as [string, Command])));

/** blessed names keys "S-x" for capitals on some terminals; ours are plain characters. */
export function commandOf(full: string, ch: string | undefined): Command | undefined {
  return byKey.get(full) ?? (ch !== undefined ? byKey.get(ch) : undefined);
}

const FOOTER_NAMES: Partial<Record<Command, string>> = {
  startStop: "start/stop",
  restart: "restart",
  pause: "pause",
  remove: "rm",
  exec: "exec",
  scaleUp: "scale",
  scaleTo: "scale",
  forceUpdate: "update --force",
  rollback: "rollback",
  viewNodes: "nodes",
  stackUp: "up/down",
  filter: "filter",
  sort: "sort",
  viewLogs: "views",
  help: "help",
  quit: "quit",
};

/** The footer's items for the selected row (on a swarm stack or not), most useful first: the screen shows as many as fit. */
export function footerItems(swarm = false): { key: string; name: string }[] {
  return BINDINGS.filter((b) => b.footer && b.scope !== (swarm ? "containers" : "swarm")).map((b) => ({ key: b.label, name: FOOTER_NAMES[b.command] ?? b.command }));
}
