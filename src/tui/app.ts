// The TUI's screen: a header with totals and the daemon's status, the table
// of stacks -> services -> containers (a swarm stack's: services -> tasks), a
// pane below it (logs, config and pending diff, health checks, events, a
// swarm's nodes) and a footer with the keys. Owns the
// interaction state (selection, focus, filter, prompts) and turns keys into
// daemon requests. Draws at most every 50 ms however fast events come, and
// only when something changed.
import type { ContainerView, PendingChange } from "../daemon/api.js";
import type { DaemonClient } from "../daemon/client.js";
import { Actions } from "./actions.js";
import { Connection, LogFollower } from "./connection.js";
import { esc, paint } from "./format.js";
import type { Style } from "./format.js";
import { commandOf } from "./keys.js";
import type { Command } from "./keys.js";
import { LogBuffer, nextMatch } from "./logs.js";
import { SORT_KEYS, ViewModel } from "./model.js";
import type { ContainerRow, Row, SortKey } from "./model.js";
import { configLines, eventLines, healthLines, helpLines, logLines, nodesLines } from "./panes.js";
import type { HealthLogEntry, LogViewState } from "./panes.js";
import { footerText, headerText, paneTitle, tableText } from "./screen.js";
import type { DaemonStatus, Focus, View } from "./screen.js";
import { treeChange } from "./tree-keys.js";
import type { Key, Pane, Term } from "./term.js";

/** At most 20 frames a second: a burst of events makes one frame, and a key shows within 50 ms. */
const FRAME_MS = 50;

export interface AppOptions {
  color: boolean;
  /** Argv prefix that runs the tscompose CLI (for exec): [node, bin/tscompose]. */
  cli: string[];
  env: NodeJS.ProcessEnv;
  /** For tests and the bench: no daemon connection. */
  offline?: boolean;
}

interface Prompt {
  label: string;
  value: string;
  onChange?: (v: string) => void;
  onSubmit: (v: string) => void;
  onCancel?: () => void;
}

export class App {
  readonly model = new ViewModel();
  readonly logs = new LogBuffer();
  private readonly style: Style;
  private readonly conn: Connection;
  private readonly follower: LogFollower;
  private readonly actions: Actions;
  private readonly header: Pane;
  private readonly table: Pane;
  private readonly pane: Pane;
  private readonly footer: Pane;
  private readonly help: Pane;

  private rows: Row[] = [];
  private rowsVersion = -1;
  private rowsKey = "";
  private selected = 0;
  private selectedKey: string | undefined;
  private tableTop = 0;
  private tableHeight = 1;
  private paneHeight = 1;
  private focus: Focus = "table";
  private view: View = "logs";
  private zoom: 0 | 1 | 2 = 0;
  private showHelp = false;
  private sort: SortKey = "name";
  private filter = "";
  private readonly collapsed = new Set<string>();
  private prompt: Prompt | undefined;
  private confirm: { text: string; onYes: () => void } | undefined;
  private message: { text: string; level: "info" | "error"; until: number } | undefined;
  private status: DaemonStatus = { connected: false, error: undefined, everConnected: false };
  private readonly logState: LogViewState = { top: 0, follow: true, query: "", current: undefined, prefix: false };
  private logTarget = "";
  private logTimer: NodeJS.Timeout | undefined;
  private paneScroll = 0;
  private readonly pending = new Map<string, { at: number; value: PendingChange | undefined }>();
  private readonly healthLogs = new Map<string, HealthLogEntry[]>();
  private drawTimer: NodeJS.Timeout | undefined;
  private lastDraw = 0;
  private quit: (() => void) | undefined;
  /** Frame times in ms, for the bench. */
  readonly frameTimes: number[] = [];

  constructor(
    private readonly term: Term,
    private readonly client: DaemonClient,
    private readonly opts: AppOptions,
  ) {
    this.style = { color: opts.color };
    this.header = term.pane();
    this.table = term.pane();
    this.pane = term.pane();
    this.footer = term.pane();
    this.help = term.pane();
    this.help.setVisible(false);
    this.follower = new LogFollower(client, this.logs, () => this.scheduleDraw());
    this.actions = new Actions(client, term, opts, {
      details: this.model.details,
      say: (text, level) => this.say(text, level),
      confirm: (text, onYes) => (this.confirm = { text, onYes }),
      ask: (label, onSubmit) => (this.prompt = { label, value: "", onSubmit }),
      beforeHandOver: () => {
        this.follower.stop();
        this.logTarget = "";
      },
      redraw: () => this.draw(),
      changed: () => this.model.version++,
      refresh: () => this.conn.requestSnapshot(),
      refreshSwarm: () => this.conn.refreshSwarm(),
    });
    this.conn = new Connection(client, {
      onStatus: (connected, error, retryInMs) => {
        this.status = { connected, error: error && retryInMs !== undefined ? `${error}; retrying in ${(retryInMs / 1000).toFixed(1)}s` : error, everConnected: this.status.everConnected || connected };
        if (connected) this.logTarget = ""; // streams broke with the connection: follow again
        this.scheduleDraw();
      },
      onSnapshot: (containers, summaries, details) => {
        for (const d of details) this.model.applyDetail(d);
        this.model.applySnapshot(containers, summaries);
        this.scheduleDraw();
      },
      onEvent: (e) => {
        this.model.applyEvent(e);
        if (this.model.needsSnapshot) this.conn.requestSnapshot();
        else if (this.model.stale.size > 0) {
          this.conn.requestRefresh(this.model.stale);
          this.model.stale.clear();
        }
        if (e.type === "container" && e.action === "health_status") this.healthLogs.delete(e.id);
        if (e.type === "stack") this.pending.clear();
        this.scheduleDraw();
      },
      onContainer: (id, c) => {
        this.model.applyContainer(id, c);
        this.scheduleDraw();
      },
      onStats: (samples) => {
        this.model.applyStats(samples);
        this.scheduleDraw();
      },
      onSwarm: (stack, view) => {
        this.model.applySwarm(stack, view);
        this.scheduleDraw();
      },
    });
    this.table.onClick((y) => {
      this.focus = "table";
      if (y >= 1) this.select(this.tableTop + y - 1);
      this.scheduleDraw();
    });
    this.table.onWheel((d) => {
      this.select(this.selected + d);
      this.scheduleDraw();
    });
    this.pane.onClick(() => {
      this.focus = "pane";
      this.scheduleDraw();
    });
    this.pane.onWheel((d) => {
      this.scrollPane(d);
      this.scheduleDraw();
    });
    this.header.onClick(() => this.conn.retryNow());
    term.onKey((k) => this.onKey(k));
    term.onResize(() => this.draw());
  }

  /** Runs until the user quits. */
  async run(): Promise<void> {
    const done = new Promise<void>((resolve) => (this.quit = resolve));
    this.draw();
    if (!this.opts.offline) void this.conn.run();
    await done;
    this.conn.stop();
    this.follower.stop();
    clearTimeout(this.drawTimer);
    clearTimeout(this.logTimer);
  }

  stop(): void {
    this.quit?.();
  }

  // ---- drawing ------------------------------------------------------------

  scheduleDraw(): void {
    if (this.drawTimer) return;
    const wait = Math.max(0, this.lastDraw + FRAME_MS - Date.now());
    this.drawTimer = setTimeout(() => {
      this.drawTimer = undefined;
      this.draw();
    }, wait);
  }

  private currentRows(): Row[] {
    const key = `${this.sort}\0${this.filter}\0${[...this.collapsed].join(",")}`;
    if (this.rowsVersion !== this.model.version || this.rowsKey !== key) {
      this.rows = this.model.rows({ sort: this.sort, filter: this.filter, collapsed: this.collapsed });
      this.rowsVersion = this.model.version;
      this.rowsKey = key;
      // Keep the selection on the same stack, service or container when rows move.
      const at = this.selectedKey ? this.rows.findIndex((r) => r.key === this.selectedKey) : -1;
      this.selected = at >= 0 ? at : Math.max(0, Math.min(this.selected, this.rows.length - 1));
      this.selectedKey = this.rows[this.selected]?.key;
    }
    return this.rows;
  }

  selectedRow(): Row | undefined {
    return this.currentRows()[this.selected];
  }

  private select(i: number): void {
    const rows = this.currentRows();
    this.selected = Math.max(0, Math.min(i, rows.length - 1));
    this.selectedKey = rows[this.selected]?.key;
    this.paneScroll = 0;
  }

  draw(): void {
    const t0 = performance.now();
    this.lastDraw = Date.now();
    const W = Math.max(20, this.term.width);
    const H = Math.max(6, this.term.height);
    const avail = H - 2;
    const tableBlock = this.zoom === 1 ? avail : this.zoom === 2 ? 0 : Math.max(3, Math.floor(avail / 2));
    const paneBlock = avail - tableBlock;
    this.tableHeight = Math.max(1, tableBlock - 1);
    this.paneHeight = Math.max(1, paneBlock - 1);

    this.header.place(0, 0, W, 1);
    this.header.setContent(this.headerText(W));
    this.table.setVisible(tableBlock > 0);
    if (tableBlock > 0) {
      this.table.place(1, 0, W, tableBlock);
      this.table.setContent(this.tableText(W));
    }
    this.pane.setVisible(paneBlock > 0);
    if (paneBlock > 0) {
      this.pane.place(1 + tableBlock, 0, W, paneBlock);
      this.pane.setContent(this.paneText(W));
    }
    this.footer.place(H - 1, 0, W, 1);
    this.footer.setContent(this.footerText(W));
    this.help.setVisible(this.showHelp);
    if (this.showHelp) {
      this.help.place(1, 0, W, H - 2);
      this.help.setContent(helpLines(this.style).join("\n"));
    }
    this.term.render();
    this.updateLogTarget();
    const ms = performance.now() - t0;
    this.frameTimes.push(ms);
    if (this.frameTimes.length > 10_000) this.frameTimes.splice(0, 5000);
  }

  private headerText(W: number): string {
    return headerText(W, this.model.totals(), this.status, this.filter, this.sort, this.style);
  }

  private tableText(W: number): string {
    const rows = this.currentRows();
    const state = { rows, selected: this.selected, top: this.tableTop, height: this.tableHeight, focus: this.focus, status: this.status, filter: this.filter, socket: this.client.socket, now: Date.now() };
    const { text, top } = tableText(W, state, this.style);
    this.tableTop = top;
    return text;
  }

  private paneTitle(W: number, extra: string): string {
    return paneTitle(W, this.view, this.focus, extra, this.style);
  }

  private paneText(W: number): string {
    const row = this.selectedRow();
    const h = this.paneHeight;
    const scope = row ? (row.kind === "stack" ? row.stack : row.kind === "service" ? `${row.stack}/${row.service}` : row.kind === "task" ? row.t.name : row.c.name) : "";
    if (this.view === "logs") {
      const { lines, top } = logLines(this.logs, this.logState, h, this.style);
      if (!this.logState.follow) this.logState.top = top;
      const matches = this.logState.query ? this.logs.search(this.logState.query) : [];
      const at = this.logState.current !== undefined ? matches.indexOf(this.logState.current) + 1 : 0;
      const info = [
        esc(scope),
        this.logState.follow ? paint(this.style, "green", "following") : paint(this.style, "yellow", "paused (f: follow)"),
        this.logState.query ? `search "${esc(this.logState.query)}" ${at}/${matches.length}` : "",
      ].filter((x) => x !== "");
      return [this.paneTitle(W, info.join("  ")), ...lines].join("\n");
    }
    let lines: string[];
    if (this.view === "config") {
      const stack = row?.stack;
      const detail = stack ? this.model.details.get(stack) : undefined;
      lines = stack ? configLines(stack, row.kind === "stack" ? undefined : row.service, detail, this.pendingOf(stack), this.style) : [];
    } else if (this.view === "nodes") {
      lines = nodesLines(row?.stack, row ? this.model.swarm.get(row.stack) : undefined, row ? this.model.isSwarm(row.stack) : false, this.style);
    } else if (this.view === "health") {
      const c = this.healthTarget(row);
      lines = healthLines(c?.name, c ? this.healthOf(c.id) : undefined, this.style);
    } else {
      const history = this.model.historyOf(row);
      lines = eventLines(history.slice(-500), this.style);
      // Newest at the bottom, like logs: scrolled to the end unless scrolled back.
      if (this.paneScroll === 0) return [this.paneTitle(W, esc(scope)), ...lines.slice(-h)].join("\n");
    }
    this.paneScroll = Math.max(0, Math.min(this.paneScroll, Math.max(0, lines.length - h)));
    return [this.paneTitle(W, esc(scope)), ...lines.slice(this.paneScroll, this.paneScroll + h)].join("\n");
  }

  private footerText(W: number): string {
    const row = this.selectedRow();
    return footerText(W, { prompt: this.prompt, confirm: this.confirm, message: this.message, now: Date.now(), swarm: row ? this.model.isSwarm(row.stack) : false }, this.style);
  }

  private say(text: string, level: "info" | "error" = "info"): void {
    this.message = { text, level, until: Date.now() + (level === "error" ? 8000 : 4000) };
    setTimeout(() => this.scheduleDraw(), (level === "error" ? 8000 : 4000) + 10).unref();
    this.scheduleDraw();
  }

  // ---- the pane's sources -------------------------------------------------

  /** Follows the logs of what is selected. */
  private updateLogTarget(): void {
    if (this.view !== "logs" || this.zoom === 1 || !this.status.connected) return;
    const row = this.selectedRow();
    if (row && this.model.isSwarm(row.stack)) return this.followSwarmLogs(row);
    const targets = this.containersOf(row).slice(0, 30);
    this.followLogs(targets.map((c) => c.id).join(","), targets.length > 1, () => this.follower.follow(targets.map((c) => ({ id: c.id, name: c.name, service: c.service ?? "" }))));
  }

  /** A swarm row's logs: its service's (docker service logs), a task's lines only, or every service of the stack. */
  private followSwarmLogs(row: Row): void {
    const services = row.kind === "stack" ? (this.model.swarm.get(row.stack)?.services.map((s) => s.service) ?? []) : [row.service];
    const task = row.kind === "task" ? row.t.name : undefined;
    this.followLogs(`swarm:${row.stack}:${services.join(",")}:${task ?? ""}`, task === undefined, () => this.follower.followServices(row.stack, services, task));
  }

  /** Starts `follow` for the pane unless `key` is what it already follows; debounced, so scrolling through rows opens no streams. */
  private followLogs(key: string, prefix: boolean, follow: () => void): void {
    if (key === this.logTarget) return;
    this.logTarget = key;
    clearTimeout(this.logTimer);
    this.logTimer = setTimeout(() => {
      this.logState.follow = true;
      this.logState.current = undefined;
      this.logState.prefix = prefix;
      follow();
      this.scheduleDraw();
    }, 150);
  }

  private pendingOf(stack: string): PendingChange | undefined {
    const had = this.pending.get(stack);
    if (had && Date.now() - had.at < 5000) return had.value;
    if (!had || Date.now() - had.at >= 5000) {
      this.pending.set(stack, { at: Date.now(), value: had?.value });
      this.client
        .json<PendingChange>("GET", `/stacks/${encodeURIComponent(stack)}/pending`)
        .then((p) => this.pending.set(stack, { at: Date.now(), value: p }))
        .catch((err: unknown) => this.pending.set(stack, { at: Date.now(), value: { error: (err as Error).message, services: [], actions: [] } }))
        .finally(() => this.scheduleDraw());
    }
    return had?.value;
  }

  private healthTarget(row: Row | undefined): ContainerView | undefined {
    if (row?.kind === "container") return row.c;
    return this.containersOf(row).find((c) => c.state === "running");
  }

  private healthOf(id: string): HealthLogEntry[] | undefined {
    const had = this.healthLogs.get(id);
    if (had) return had;
    this.healthLogs.set(id, []);
    this.client
      .json<{ healthLog?: HealthLogEntry[] }>("GET", `/containers/${encodeURIComponent(id)}`)
      .then((c) => this.healthLogs.set(id, c.healthLog ?? []))
      .catch(() => this.healthLogs.delete(id))
      .finally(() => this.scheduleDraw());
    return undefined;
  }

  /** The containers a row stands for: itself, its service's or its stack's. */
  private containersOf(row: Row | undefined): ContainerView[] {
    if (!row || row.kind === "task") return [];
    if (row.kind === "container") return [row.c];
    return [...this.model.containers.values()]
      .filter((c) => c.project === row.stack && (row.kind === "stack" || c.service === row.service))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  // ---- keys ---------------------------------------------------------------

  onKey(k: Key): void {
    if (this.prompt) return this.promptKey(k);
    if (this.confirm) {
      const c = this.confirm;
      this.confirm = undefined;
      if (k.ch === "y" || k.ch === "Y") c.onYes();
      this.scheduleDraw();
      return;
    }
    if (this.showHelp) {
      this.showHelp = false;
      this.scheduleDraw();
      return;
    }
    const cmd = commandOf(k.full, k.ch);
    if (cmd) this.run_(cmd);
    this.scheduleDraw();
  }

  private promptKey(k: Key): void {
    const p = this.prompt as Prompt;
    if (k.full === "escape") {
      this.prompt = undefined;
      p.onCancel?.();
    } else if (k.full === "enter" || k.full === "return") {
      this.prompt = undefined;
      p.onSubmit(p.value);
    } else if (k.full === "backspace") {
      p.value = p.value.slice(0, -1);
      p.onChange?.(p.value);
    } else if (k.full === "C-u") {
      p.value = "";
      p.onChange?.(p.value);
    } else if (k.ch !== undefined) {
      p.value += k.ch;
      p.onChange?.(p.value);
    }
    this.scheduleDraw();
  }

  private run_(cmd: Command): void {
    const inPane = this.focus === "pane" && this.zoom !== 1;
    switch (cmd) {
      case "quit":
        return this.stop();
      case "help":
        this.showHelp = true;
        return;
      case "escape":
        if (this.view === "logs" && this.logState.query) {
          this.logState.query = "";
          this.logState.current = undefined;
        } else this.filter = "";
        return;
      case "up":
      case "down":
      case "pageUp":
      case "pageDown": {
        const page = inPane ? this.paneHeight : this.tableHeight;
        const d = cmd === "up" ? -1 : cmd === "down" ? 1 : cmd === "pageUp" ? -page : page;
        if (inPane) this.scrollPane(d);
        else this.select(this.selected + d);
        return;
      }
      case "home":
      case "end":
        if (inPane) {
          if (this.view === "logs") {
            this.logState.follow = cmd === "end";
            this.logState.top = 0;
          } else this.paneScroll = cmd === "home" ? 0 : Number.MAX_SAFE_INTEGER;
        } else this.select(cmd === "home" ? 0 : this.currentRows().length - 1);
        return;
      case "collapse":
      case "expand":
      case "toggle": {
        const change = treeChange(cmd, this.selectedRow(), this.rows, this.collapsed);
        if (change === undefined) return;
        if ("select" in change) this.select(change.select);
        else if ("collapse" in change) this.collapsed.add(change.collapse);
        else this.collapsed.delete(change.expand);
        return;
      }
      case "focus":
        this.focus = this.focus === "table" ? "pane" : "table";
        return;
      case "zoom":
        this.zoom = ((this.zoom + 1) % 3) as 0 | 1 | 2;
        this.focus = this.zoom === 2 ? "pane" : this.zoom === 1 ? "table" : this.focus;
        return;
      case "viewLogs":
      case "viewConfig":
      case "viewHealth":
      case "viewEvents":
      case "viewNodes":
        this.view = cmd === "viewLogs" ? "logs" : cmd === "viewConfig" ? "config" : cmd === "viewHealth" ? "health" : cmd === "viewNodes" ? "nodes" : "events";
        this.paneScroll = 0;
        if (this.view === "config") this.pending.clear();
        if (this.view === "health") this.healthLogs.clear();
        if (this.view === "logs") this.logTarget = "";
        return;
      case "followLogs":
        if (this.view !== "logs") return;
        this.logState.follow = !this.logState.follow;
        return;
      case "nextMatch":
      case "prevMatch":
        return this.jumpMatch(cmd === "nextMatch");
      case "filter":
        if (inPane && this.view === "logs") {
          this.prompt = {
            label: "search logs:",
            value: "",
            onSubmit: (v) => {
              this.logState.query = v;
              this.logState.current = this.logs.lines.length;
              this.jumpMatch(false);
            },
          };
        } else {
          const before = this.filter;
          // A new filter each time, as the table shows it while typing; esc puts the old one back.
          this.filter = "";
          this.prompt = { label: "filter:", value: "", onChange: (v) => (this.filter = v), onSubmit: (v) => (this.filter = v), onCancel: () => (this.filter = before) };
        }
        return;
      case "sort":
        this.sort = SORT_KEYS[(SORT_KEYS.indexOf(this.sort) + 1) % SORT_KEYS.length] as SortKey;
        return;
      case "startStop":
      case "restart":
      case "pause":
      case "remove":
      case "exec": {
        const row = this.selectedRow();
        // Swarm runs the tasks on its nodes: none of them is a container of the daemon's to act on.
        if (row && this.model.isSwarm(row.stack)) return this.say("on swarm, the manager runs the tasks: = scale, F update --force, R rollback, D down", "error");
        if (cmd === "exec") return void this.actions.exec(this.containersOf(row));
        return this.actions.lifecycle(cmd, row, this.containersOf(row));
      }
      case "scaleTo":
        return this.actions.askScale(this.selectedRow());
      case "forceUpdate":
      case "rollback":
        return this.actions.confirmSwarm(cmd === "forceUpdate" ? "update" : "rollback", this.selectedRow());
      case "scaleUp":
      case "scaleDown":
        void this.actions.scale(cmd === "scaleUp" ? 1 : -1, this.selectedRow());
        return;
      case "stackUp":
        void this.actions.stackUp(this.selectedRow());
        return;
      case "stackDown": {
        const row = this.selectedRow();
        if (!row) return;
        this.confirm = { text: `down: stop and remove every container of stack ${row.stack}?`, onYes: () => void this.actions.stackDown(row.stack) };
        return;
      }
    }
  }

  private scrollPane(d: number): void {
    if (this.view === "logs") {
      if (d < 0 && this.logState.follow) {
        this.logState.follow = false;
        this.logState.top = Math.max(0, this.logs.lines.length - this.paneHeight);
      }
      this.logState.top = Math.max(0, this.logState.top + d);
      if (this.logState.top >= this.logs.lines.length - this.paneHeight) this.logState.follow = true;
    } else {
      // Events are drawn from the end: scrolling back starts from there.
      if (this.view === "events" && this.paneScroll === 0) this.paneScroll = Math.max(0, this.model.historyOf(this.selectedRow()).slice(-500).length - this.paneHeight);
      this.paneScroll = Math.max(0, this.paneScroll + d);
    }
  }

  private jumpMatch(forward: boolean): void {
    if (!this.logState.query) return;
    const matches = this.logs.search(this.logState.query);
    const from = this.logState.current ?? (forward ? -1 : this.logs.lines.length);
    const to = nextMatch(matches, from, forward);
    if (to === undefined) {
      this.say(`no match for "${this.logState.query}"`, "error");
      return;
    }
    this.logState.current = to;
    this.logState.follow = false;
    this.logState.top = Math.max(0, to - Math.floor(this.paneHeight / 2));
  }

  /** For tests: rows as shown. */
  visibleRows(): ContainerRow[] {
    return this.currentRows().filter((r): r is ContainerRow => r.kind === "container");
  }
}
