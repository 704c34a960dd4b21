// ps and logs of a stack on the swarm engine: the daemon answers a container
// listing of such a stack with SWARM_STACK (there is no container of ours),
// and these print its tasks (docker stack ps's columns) and its services'
// logs (docker service logs' `<task>@<node>    | line`, here `<task>  | line`).
import type { LogEntry, TaskView } from "../daemon/api.js";
import { SWARM_STACK } from "../daemon/api.js";
import type { DaemonClient } from "../daemon/client.js";
import { DaemonError } from "../daemon/client.js";
import { colorize, humanDuration, table, useColor } from "./format.js";
import { applyTemplate, formatTemplate } from "./image-format.js";
import type { LogsFlags } from "./logs.js";
import type { PsFlags } from "./ps.js";

/** The daemon said the stack runs on swarm. */
export function isSwarmStack(err: unknown): boolean {
  return err instanceof DaemonError && err.code === SWARM_STACK;
}

const capital = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** docker stack ps's CURRENT STATE: `Running 5 minutes ago`. */
export function currentState(t: TaskView, now = Date.now()): string {
  const since = Date.parse(t.since);
  return Number.isNaN(since) ? capital(t.state) : `${capital(t.state)} ${humanDuration(Math.max(0, now - since))} ago`;
}

/** `ps --format json` of a task: docker stack ps's fields, and `State` as compose's ps has it. */
export function taskJson(t: TaskView, now = Date.now()): Record<string, unknown> {
  return { ID: t.id, Name: t.name, Service: t.service, Image: t.image, Node: t.node, DesiredState: capital(t.desiredState), CurrentState: currentState(t, now), State: t.state, Error: t.error, Ports: "" };
}

export async function printTasks(client: DaemonClient, project: string, services: string[], flags: PsFlags): Promise<number> {
  const tasks = (await client.json<TaskView[]>("GET", `/stacks/${encodeURIComponent(project)}/tasks`))
    .filter((t) => services.length === 0 || services.includes(t.service))
    // As docker stack ps: the tasks that should run, unless --all (the shut-down history too).
    .filter((t) => flags.all || t.desiredState !== "shutdown")
    .filter((t) => !flags.status || flags.status.length === 0 || flags.status.includes(t.state));
  const now = Date.now();
  if (flags.quiet) process.stdout.write(tasks.map((t) => `${t.id}\n`).join(""));
  else if (flags.services) process.stdout.write([...new Set(tasks.map((t) => t.service))].map((s) => `${s}\n`).join(""));
  else if (flags.format === "json") process.stdout.write(tasks.map((t) => `${JSON.stringify(taskJson(t, now))}\n`).join(""));
  else if (formatTemplate(flags.format) !== undefined) {
    const template = formatTemplate(flags.format) as string;
    process.stdout.write(tasks.map((t) => `${applyTemplate(template, taskJson(t, now))}\n`).join(""));
  } else {
    const rows = tasks.map((t) => [t.id.slice(0, 12), t.name, t.image, t.node, capital(t.desiredState), currentState(t, now), t.error]);
    process.stdout.write(table(["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR"], rows));
  }
  return 0;
}

export async function printServiceLogs(client: DaemonClient, project: string, services: string[], flags: LogsFlags, signal: AbortSignal): Promise<number> {
  const wanted = services.length > 0 ? services : [...new Set((await client.json<TaskView[]>("GET", `/stacks/${encodeURIComponent(project)}/tasks`)).map((t) => t.service))].sort();
  const color = useColor(process.stdout, flags.color === false);
  const q = new URLSearchParams();
  if (flags.follow) q.set("follow", "1");
  if (typeof flags.tail === "number") q.set("tail", String(flags.tail));
  if (flags.since !== undefined) q.set("since", String(Math.max(0, Math.floor(flags.since))));
  let failed = false;
  await Promise.all(
    wanted.map(async (service) => {
      try {
        for await (const e of client.stream<(LogEntry & { task: string }) | { type: "error"; message: string }>("GET", `/stacks/${encodeURIComponent(project)}/services/${encodeURIComponent(service)}/logs?${q.toString()}`, undefined, signal)) {
          if ("type" in e) {
            process.stderr.write(`${service}: ${e.message}\n`);
            continue;
          }
          const prefix = flags.prefix === false ? "" : colorize(service, `${e.task}  | `, color);
          const ts = flags.timestamps ? `${e.timestamp} ` : "";
          (e.stream === "stderr" && !flags.follow ? process.stderr : process.stdout).write(`${prefix}${ts}${e.line}\n`);
        }
      } catch (err) {
        if (signal.aborted) return;
        failed = true;
        process.stderr.write(`${(err as Error).message}\n`);
      }
    }),
  );
  return failed ? 1 : 0;
}
