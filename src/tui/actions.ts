// What the keys do to the daemon: lifecycle requests on the selected
// container or all of a service's or stack's, exec (the terminal handed to
// `tscompose exec` and back), scale, up/down of a whole stack with its
// progress in the footer, and on a swarm stack's service: scale, update
// --force and rollback (docker service scale/update/rollback).
import type { ContainerView, StackDetail, StreamMessage, SwarmScaleRequest, SwarmUpdateAnswer, UpRequest } from "../daemon/api.js";
import type { DaemonClient } from "../daemon/client.js";
import type { Row } from "./model.js";
import type { Term } from "./term.js";

export type LifecycleCommand = "startStop" | "restart" | "pause" | "remove";

/** The daemon requests a lifecycle key stands for: one per container. */
export interface LifecycleRequest {
  /** What the footer says while it runs: "stop web-1". */
  label: string;
  method: "POST" | "DELETE";
  paths: string[];
  /** Asked first, when set. */
  confirm?: string;
}

/**
 * What a lifecycle key does to the selected row's containers (`targets`):
 * start or stop, restart, pause or unpause, remove; or why it does nothing.
 */
export function lifecycleRequest(cmd: LifecycleCommand, row: Row | undefined, targets: readonly ContainerView[]): LifecycleRequest | { error: string } {
  if (!row || targets.length === 0) return { error: "nothing selected to act on" };
  const what = row.kind === "container" ? row.c.name : row.kind === "service" ? `${row.stack}/${row.service} (${targets.length})` : `${row.stack} (${targets.length})`;
  const each = (cs: readonly ContainerView[], path: (id: string) => string): string[] => cs.map((c) => path(encodeURIComponent(c.id)));
  if (cmd === "remove") {
    return { label: `remove ${what}`, method: "DELETE", paths: each(targets, (id) => `/containers/${id}?force=1`), confirm: `remove ${what}? running containers are stopped first` };
  }
  if (cmd === "restart") return { label: `restart ${what}`, method: "POST", paths: each(targets, (id) => `/containers/${id}/restart`) };
  if (cmd === "startStop") {
    const running = targets.filter((c) => c.state === "running" || c.state === "paused" || c.state === "restarting");
    if (running.length > 0) return { label: `stop ${what}`, method: "POST", paths: each(running, (id) => `/containers/${id}/stop`) };
    return { label: `start ${what}`, method: "POST", paths: each(targets, (id) => `/containers/${id}/start`) };
  }
  const paused = targets.filter((c) => c.state === "paused");
  if (paused.length > 0) return { label: `unpause ${what}`, method: "POST", paths: each(paused, (id) => `/containers/${id}/unpause`) };
  const running = targets.filter((c) => c.state === "running");
  if (running.length === 0) return { error: `${what}: nothing running to pause` };
  return { label: `pause ${what}`, method: "POST", paths: each(running, (id) => `/containers/${id}/pause`) };
}

export type SwarmCommand = "scale" | "update" | "rollback";

/** A daemon request on a swarm service (POST /stacks/:name/services/:service/<verb>). */
export interface SwarmRequest {
  /** What the footer says: "scale shop/web=3". */
  label: string;
  path: string;
  body: SwarmScaleRequest | undefined;
  confirm: string;
}

/** The service a row of a swarm stack stands for: a service row's, or a task's. */
export function swarmServiceOf(row: Row | undefined): { stack: string; service: string; desired: number } | undefined {
  if (row?.kind === "service" && row.swarm) return { stack: row.stack, service: row.service, desired: row.swarm.desired };
  if (row?.kind === "task") return { stack: row.stack, service: row.service, desired: NaN };
  return undefined;
}

/** What F (update --force), R (rollback) and = (scale to `replicas`) ask of the daemon on the selected row; or why nothing. */
export function swarmRequest(cmd: SwarmCommand, row: Row | undefined, replicas?: number): SwarmRequest | { error: string } {
  const svc = swarmServiceOf(row);
  const verb = cmd === "update" ? "update --force" : cmd;
  if (!svc) return { error: `${verb}: select a service (or a task) of a stack on the swarm engine` };
  const path = `/stacks/${encodeURIComponent(svc.stack)}/services/${encodeURIComponent(svc.service)}/${cmd}`;
  const what = `${svc.stack}/${svc.service}`;
  if (cmd === "scale") {
    if (replicas === undefined || !Number.isInteger(replicas) || replicas < 0) return { error: "scale: the number of replicas is a whole number, 0 or more" };
    const from = Number.isNaN(svc.desired) ? "" : ` from ${svc.desired}`;
    return { label: `scale ${what}=${replicas}`, path, body: { replicas }, confirm: `scale ${what}${from} to ${replicas} replica${replicas === 1 ? "" : "s"}?` };
  }
  if (cmd === "update") return { label: `update --force ${what}`, path, body: undefined, confirm: `update --force ${what}: replace every task of it?` };
  return { label: `rollback ${what}`, path, body: undefined, confirm: `rollback ${what} to its previous spec?` };
}

/** A whole number typed at a prompt ("3"); undefined for anything else ("", "3.5", "-1", "x"). */
export function replicasOf(text: string): number | undefined {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : undefined;
}

/** What the actions need of the screen. */
export interface ActionHost {
  details: ReadonlyMap<string, StackDetail>;
  say(text: string, level?: "info" | "error"): void;
  confirm(text: string, onYes: () => void): void;
  /** A line of text asked for in the footer. */
  ask(label: string, onSubmit: (value: string) => void): void;
  /** Before the terminal is handed over: stop what streams into the screen. */
  beforeHandOver(): void;
  redraw(): void;
  /** The view model changed here (an optimistic update). */
  changed(): void;
  /** Ask the daemon for a fresh snapshot. */
  refresh(): void;
  /** Ask the swarm stacks' managers again now. */
  refreshSwarm(): void;
}

export class Actions {
  private busy = false;

  constructor(
    private readonly client: DaemonClient,
    private readonly term: Term,
    private readonly opts: { cli: string[]; env: NodeJS.ProcessEnv },
    private readonly host: ActionHost,
  ) {}

  lifecycle(cmd: LifecycleCommand, row: Row | undefined, targets: ContainerView[]): void {
    const req = lifecycleRequest(cmd, row, targets);
    if ("error" in req) return this.host.say(req.error, "error");
    if (req.confirm !== undefined) return this.host.confirm(req.confirm, () => void this.act(req));
    return void this.act(req);
  }

  private async act({ label, method, paths }: LifecycleRequest): Promise<void> {
    this.host.say(`${label}…`);
    const results = await Promise.allSettled(paths.map((path) => this.client.json(method, path)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length > 0) this.host.say(`${label}: ${(failed[0]?.reason as Error).message}`, "error");
    else this.host.say(`${label}: done`);
  }

  async exec(targets: ContainerView[]): Promise<void> {
    const c = targets.find((x) => x.state === "running");
    if (!c || !c.project || !c.service) return this.host.say("exec: select a running container", "error");
    const [file, ...prefix] = this.opts.cli;
    const shell = "command -v bash >/dev/null 2>&1 && exec bash || exec sh";
    const args = [...prefix, "-p", c.project, "exec", "--index", String(c.number ?? 1), c.service, "sh", "-c", shell];
    this.host.beforeHandOver();
    const code = await this.term.handOver(file as string, args, this.opts.env);
    this.host.say(`exec in ${c.name} ended${code !== null ? ` with code ${code}` : ""}`, code === 0 ? "info" : "error");
    this.host.redraw();
  }

  private detailOf(stack: string): StackDetail | undefined {
    return this.host.details.get(stack);
  }

  async scale(delta: number, row: Row | undefined): Promise<void> {
    if (!row || row.kind === "stack") return this.host.say("scale: select a service", "error");
    const swarm = swarmServiceOf(row);
    if (swarm) {
      if (Number.isNaN(swarm.desired)) return this.host.say("scale: select the service", "error");
      const req = swarmRequest("scale", row, Math.max(0, swarm.desired + delta));
      return "error" in req ? this.host.say(req.error, "error") : this.swarm(req);
    }
    const svc = this.detailOf(row.stack)?.services.find((s) => s.name === row.service);
    if (!svc) return this.host.say(`scale: the daemon has no config of ${row.stack}/${row.service}`, "error");
    await this.scaleTo(Math.max(0, svc.desired + delta), row);
  }

  /** = : asks for N, then (on swarm, after a confirmation) scales the service to it. */
  askScale(row: Row | undefined): void {
    if (!row || row.kind === "stack" || (row.kind === "task" && !swarmServiceOf(row))) return this.host.say("scale: select a service", "error");
    this.host.ask(`scale ${row.stack}/${row.service} to:`, (text) => {
      const n = replicasOf(text);
      if (n === undefined) return this.host.say(`scale: "${text}" is not a number of replicas`, "error");
      if (!swarmServiceOf(row)) return void this.scaleTo(n, row);
      this.confirmSwarm("scale", row, n);
    });
  }

  /** F, R and = on a swarm service: asks first, then sends it; the answer (or error) in the footer. */
  confirmSwarm(cmd: SwarmCommand, row: Row | undefined, replicas?: number): void {
    const req = swarmRequest(cmd, row, replicas);
    if ("error" in req) return this.host.say(req.error, "error");
    this.host.confirm(req.confirm, () => void this.swarm(req));
  }

  private async swarm(req: SwarmRequest): Promise<void> {
    this.host.say(`${req.label}…`);
    try {
      const a = await this.client.json<SwarmUpdateAnswer>("POST", req.path, req.body);
      this.host.say(`${req.label}: sent (service version ${a.version})${a.warnings.length > 0 ? `; warning: ${a.warnings.join("; ")}` : ""}`);
    } catch (err) {
      this.host.say(`${req.label}: ${(err as Error).message}`, "error");
    }
    this.host.refreshSwarm();
  }

  private async scaleTo(n: number, row: Row & { service: string }): Promise<void> {
    const detail = this.detailOf(row.stack);
    const svc = detail?.services.find((s) => s.name === row.service);
    if (!detail || !svc) return this.host.say(`scale: the daemon has no config of ${row.stack}/${row.service}`, "error");
    if (svc.scheduled) return this.host.say(`scale: ${row.service} runs on a schedule`, "error");
    svc.desired = n; // shown at once; the next snapshot brings the daemon's word
    this.host.changed();
    await this.upStack(detail, { ...detail.options, scale: { ...detail.options.scale, [row.service]: n } }, `scale ${row.stack}/${row.service}=${n}`);
  }

  async stackUp(row: Row | undefined): Promise<void> {
    if (!row) return;
    const detail = this.detailOf(row.stack);
    if (!detail) return this.host.say(`up: the daemon has no record of how ${row.stack} was loaded; run \`tscompose up -d\` in its directory`, "error");
    await this.upStack(detail, { ...detail.options, services: undefined, wait: false, watch: detail.options.watch }, `up ${row.stack}`);
  }

  private async upStack(detail: StackDetail, options: UpRequest["options"], label: string): Promise<void> {
    if (this.busy) return this.host.say("another stack operation is running", "error");
    this.busy = true;
    this.host.say(`${label}…`);
    try {
      const body: UpRequest = { project: detail.project, options };
      const ok = await this.followStream(this.client.stream<StreamMessage>("POST", "/stacks/up", body), label);
      this.host.refresh();
      if (ok) this.host.say(`${label}: done`);
    } catch (err) {
      this.host.say(`${label}: ${(err as Error).message}`, "error");
    } finally {
      this.busy = false;
    }
  }

  async stackDown(stack: string): Promise<void> {
    if (this.busy) return this.host.say("another stack operation is running", "error");
    this.busy = true;
    this.host.say(`down ${stack}…`);
    try {
      const ok = await this.followStream(this.client.stream<StreamMessage>("POST", "/stacks/down", { projectName: stack, options: {} }), `down ${stack}`);
      this.host.refresh();
      if (ok) this.host.say(`down ${stack}: done`);
    } catch (err) {
      this.host.say(`down ${stack}: ${(err as Error).message}`, "error");
    } finally {
      this.busy = false;
    }
  }

  /** Shows a stack operation's progress in the footer; true when it succeeded. */
  private async followStream(stream: AsyncGenerator<StreamMessage>, label: string): Promise<boolean> {
    let ok = true;
    for await (const m of stream) {
      if (m.type === "error") {
        ok = false;
        this.host.say(`${label}: ${m.message}`, "error");
      } else if (m.type === "result") {
        if (!m.ok) {
          ok = false;
          this.host.say(`${label} failed: ${m.failed.map((f) => `${f.target}: ${f.error}`).join("; ") || "see the daemon log"}`, "error");
        }
      } else if (m.type === "action" && m.status === "started") this.host.say(`${label}: ${m.kind} ${m.target}…`);
    }
    return ok;
  }
}
