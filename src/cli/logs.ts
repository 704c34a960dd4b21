// `tscompose logs`: the logs of a stack's containers with compose's
// `name  | line` prefixes, one colour per service, merged as they arrive.
import type { ContainerInspect, ContainerView, JobView, LogEntry } from "../daemon/api.js";
import type { DaemonClient } from "../daemon/client.js";
import type { ProjectOptions } from "../stack/load.js";
import { colorize, useColor } from "./format.js";
import { daemon, projectNameLazy } from "./project-name.js";
import { isSwarmStack, printServiceLogs } from "./swarm.js";

export interface LogsFlags {
  follow?: boolean;
  timestamps?: boolean;
  /** Parsed by commander (flag-values.ts). */
  tail?: number | "all";
  /** ms since the epoch, parsed by commander (flag-values.ts). */
  since?: number;
  /** --until: ms since the epoch. */
  until?: number;
  /** --index: only container #index of each service. */
  index?: number;
  color?: boolean;
  prefix?: boolean;
}

export interface FollowOptions {
  follow: boolean;
  tail?: number;
  sinceMs?: number;
  /** Entries after this (ms since the epoch) are not shown; a container's stream ends at the first. */
  untilMs?: number;
  timestamps?: boolean;
  color: boolean;
  prefix?: boolean;
  signal?: AbortSignal;
  /** Print nothing, only watch for exits (onExit): up's containers whose output is not attached. */
  silent?: boolean;
  onExit?: (c: ContainerView, exitCode: number) => void;
}

export async function followLogs(client: DaemonClient, containers: ContainerView[], opts: FollowOptions): Promise<void> {
  const color = useColor(process.stdout, !opts.color);
  const width = Math.max(0, ...containers.map((c) => shortName(c).length));
  await Promise.all(
    containers.map(async (c) => {
      const label = colorize(c.service ?? c.name, `${shortName(c).padEnd(width)}  | `, color);
      const q = new URLSearchParams();
      if (opts.follow) q.set("follow", "1");
      if (opts.tail !== undefined) q.set("tail", String(opts.tail));
      if (opts.sinceMs !== undefined) q.set("since", String(Math.max(0, Math.floor(opts.sinceMs))));
      // A line longer than 16 KiB comes in partial entries: printed as the one line it was, prefixed once.
      let midLine = false;
      let ended = false;
      try {
        for await (const e of client.stream<LogEntry | { type: "error"; message: string }>("GET", `/containers/${c.id}/logs?${q.toString()}`, undefined, opts.signal)) {
          if ("type" in e) {
            process.stderr.write(`${c.name}: ${e.message}\n`);
            continue;
          }
          if (pastUntil(e.timestamp, opts.untilMs)) {
            ended = true;
            break;
          }
          if (opts.silent) continue;
          const ts = opts.timestamps ? `${e.timestamp} ` : "";
          const out = e.stream === "stderr" && !opts.follow ? process.stderr : process.stdout;
          out.write(`${midLine ? "" : `${opts.prefix === false ? "" : label}${ts}`}${e.line}${e.partial ? "" : "\n"}`);
          midLine = e.partial === true;
        }
        // The output ends mid-line (it never printed its newline): end the line here, as compose does.
        if (midLine && !opts.silent) process.stdout.write("\n");
      } catch (err) {
        if (!opts.signal?.aborted) process.stderr.write(`${c.name}: ${(err as Error).message}\n`);
        return;
      }
      if (opts.follow && !ended && !opts.signal?.aborted) {
        const info = await client.json<ContainerInspect>("GET", `/containers/${c.id}`).catch(() => undefined);
        const code = info?.exitCode ?? 0;
        if (!opts.silent) process.stdout.write(`${colorize(c.service ?? c.name, shortName(c), color)} exited with code ${code}\n`);
        opts.onExit?.(c, code);
      }
    }),
  );
}

/** --until: an entry logged after untilMs (its RFC 3339 nano timestamp, to the millisecond). */
export function pastUntil(timestamp: string, untilMs: number | undefined): boolean {
  if (untilMs === undefined) return false;
  const t = Date.parse(timestamp);
  return !Number.isNaN(t) && t > untilMs;
}

/** compose v2 prefixes logs with the container name minus the project: `web-1`. */
function shortName(c: ContainerView): string {
  return c.project && c.name.startsWith(`${c.project}-`) ? c.name.slice(c.project.length + 1) : c.name;
}

export async function runLogs(opts: ProjectOptions, services: string[], flags: LogsFlags): Promise<number> {
  const project = await projectNameLazy(opts);
  const client = await daemon();
  let all: ContainerView[];
  try {
    all = await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`);
  } catch (err) {
    // A stack on swarm: its services' logs, as docker service logs gives them.
    if (!isSwarmStack(err)) throw err;
    const abort = new AbortController();
    process.once("SIGINT", () => abort.abort());
    return printServiceLogs(client, project, services, flags, abort.signal);
  }
  const containers = all
    .filter((c) => (services.length === 0 || services.includes(c.service ?? "")) && (flags.index === undefined || c.number === flags.index))
    .sort((a, b) => a.name.localeCompare(b.name));
  // A scheduled service (x-tscompose schedule) has a container only while a run runs: say
  // where its runs' output is kept rather than print nothing.
  const idle = services.filter((s) => !containers.some((c) => c.service === s));
  if (idle.length > 0) {
    const jobs = await client.json<JobView[]>("GET", `/stacks/${encodeURIComponent(project)}/jobs`).catch(() => []);
    for (const j of jobs.filter((j) => idle.includes(j.service))) {
      process.stderr.write(`${j.service} is a scheduled service with no run in progress; the output of its runs: tscompose jobs logs ${j.service} [RUN]\n`);
    }
  }
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  await followLogs(client, containers, {
    follow: flags.follow === true,
    tail: flags.tail === "all" ? undefined : flags.tail,
    sinceMs: flags.since,
    untilMs: flags.until,
    timestamps: flags.timestamps,
    color: flags.color !== false,
    prefix: flags.prefix,
    signal: abort.signal,
  });
  return 0;
}

