// `tscompose ps` and `tscompose ls`: the stack's containers as compose prints
// them (NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS), and all stacks.
import type { ContainerView, JobView, StackSummary } from "../daemon/api.js";
import type { ProjectOptions } from "../stack/load.js";
import { humanDuration, portsText, statusText, table } from "./format.js";
import { applyTemplate, formatTemplate } from "./image-format.js";
import { CliError } from "./errors.js";
import { stackNameFilter } from "./ls-filter.js";
import { daemon, projectNameLazy } from "./project-name.js";
import { isSwarmStack, printTasks } from "./swarm.js";

export interface PsFlags {
  all?: boolean;
  quiet?: boolean;
  services?: boolean;
  format?: string;
  status?: string[];
  /** --filter KEY=VALUE: compose supports only status=. */
  filter?: string[];
  /** false with --no-trunc: the whole command. */
  trunc?: boolean;
  /** false with --orphans=false: only containers of services the stack file declares. */
  orphans?: boolean;
}

/** The states ps keeps: --status values and --filter status=VALUE ones (compose's only filter); any other filter is an error. */
export function statusesOf(flags: Pick<PsFlags, "status" | "filter">): string[] {
  const out = [...(flags.status ?? [])];
  for (const f of flags.filter ?? []) {
    const eq = f.indexOf("=");
    const key = eq < 0 ? f : f.slice(0, eq);
    if (key !== "status" || eq < 0 || eq === f.length - 1) throw new CliError(`invalid filter "${f}": ps filters by status=STATE only`);
    out.push(f.slice(eq + 1));
  }
  return out;
}

export async function runPs(opts: ProjectOptions, services: string[], flags: PsFlags): Promise<number> {
  const statuses = statusesOf(flags);
  const project = await projectNameLazy(opts);
  const client = await daemon();
  let containers: ContainerView[];
  try {
    containers = await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=${flags.all ? 1 : 0}`);
  } catch (err) {
    // A stack on swarm has tasks, not containers of ours: docker stack ps's listing.
    if (isSwarmStack(err)) return printTasks(client, project, services, flags);
    throw err;
  }
  // compose's --orphans=false: the services the file declares now, read only when asked (ps otherwise needs no file).
  const declared = flags.orphans === false ? await declaredServices(opts) : undefined;
  const list = containers
    .filter((c) => services.length === 0 || services.includes(c.service ?? ""))
    .filter((c) => declared === undefined || declared.has(c.service ?? ""))
    .filter((c) => statuses.length === 0 || statuses.includes(c.state))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (flags.quiet) {
    process.stdout.write(list.map((c) => `${c.id}\n`).join(""));
  } else if (flags.services) {
    process.stdout.write([...new Set(list.map((c) => c.service ?? ""))].map((s) => `${s}\n`).join(""));
  } else if (flags.format === "json") {
    // One object per line, as compose prints it since v2.21 (docker ps's format), not an array.
    process.stdout.write(list.map((c) => `${JSON.stringify(psJson(c))}\n`).join(""));
  } else if (formatTemplate(flags.format) !== undefined) {
    const template = formatTemplate(flags.format) as string;
    process.stdout.write(list.map((c) => `${applyTemplate(template, psJson(c))}\n`).join(""));
  } else {
    const now = Date.now();
    // Scheduled services (x-tscompose schedule) have no container between runs: a row each says when they run.
    const jobs = statuses.length > 0 ? [] : await client.json<JobView[]>("GET", `/stacks/${encodeURIComponent(project)}/jobs`).catch(() => []);
    const { psScheduleStatus } = jobs.length > 0 ? await import("./jobs.js") : { psScheduleStatus: undefined };
    const scheduleRows = jobs
      .filter((j) => services.length === 0 || services.includes(j.service))
      .map((j) => [`${project}-${j.service}-job`, "", "", j.service, "", psScheduleStatus?.(j, now) ?? "", ""]);
    const rows = list.map((c) => [
      c.name,
      c.image,
      quoteCommand(c.command, flags.trunc !== false),
      c.service ?? "",
      `${humanDuration(now - Date.parse(c.createdAt))} ago`,
      statusText(c, now),
      portsText(c),
    ]);
    process.stdout.write(table(["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"], [...rows, ...scheduleRows].sort((a, b) => (a[0] ?? "").localeCompare(b[0] ?? ""))));
  }
  return 0;
}

/** The COMMAND cell: quoted, cut to docker's 20 characters unless --no-trunc. */
export function quoteCommand(cmd: string[], truncate = true): string {
  const s = cmd.join(" ");
  return `"${truncate && s.length > 20 ? `${s.slice(0, 19)}…` : s}"`;
}

async function declaredServices(opts: ProjectOptions): Promise<Set<string>> {
  const { loadProject } = await import("./project.js");
  const { stack, disabledServices } = loadProject(opts, true);
  // A service of a profile not enabled is still the project's, not an orphan (compose's AllServices).
  return new Set([...Object.keys(stack.services), ...disabledServices]);
}

/** compose's ps JSON fields, also what a --format template sees ({{.Name}}, {{json .}}). */
export function psJson(c: ContainerView, now = Date.now()): Record<string, unknown> {
  return {
    ID: c.id,
    Name: c.name,
    Image: c.image,
    Command: c.command.join(" "),
    Project: c.project,
    Service: c.service,
    Created: Math.floor(Date.parse(c.createdAt) / 1000),
    State: c.state,
    Status: statusText(c),
    Health: c.health ?? "",
    ExitCode: c.exitCode ?? 0,
    RestartCount: c.restartCount,
    Ports: portsText(c),
    RunningFor: `${humanDuration(now - Date.parse(c.createdAt))} ago`,
    Labels: Object.entries(c.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(","),
    // compose's field: the names of the container's networks (comma separated).
    Networks: Object.keys(c.networks).sort().join(","),
    Publishers: c.ports.map((p) => ({ URL: p.hostIp ?? "0.0.0.0", TargetPort: p.containerPort, PublishedPort: Number(p.hostPort), Protocol: p.protocol })),
    // Ours: the engine the container runs on (issue 19); compose's own columns stay as they are.
    Engine: c.engine ?? "",
  };
}

/** ls's ENGINE cell: the kind, with the dockerd when it is not the local socket. */
export function engineCell(s: Pick<StackSummary, "engine" | "engineHost">): string {
  return s.engineHost && s.engineHost !== "unix:///var/run/docker.sock" ? `${s.engine} (${s.engineHost})` : s.engine;
}

export async function runLs(flags: { all?: boolean; quiet?: boolean; format?: string; filter?: string[] }): Promise<number> {
  const named = stackNameFilter(flags.filter ?? []) ?? (() => true);
  const client = await daemon();
  const stacks = (await client.json<StackSummary[]>("GET", "/stacks")).filter((s) => (flags.all || s.running > 0 || s.watching || (s.jobs ?? 0) > 0) && named(s.name));
  if (flags.quiet) process.stdout.write(stacks.map((s) => `${s.name}\n`).join(""));
  else if (flags.format === "json") {
    process.stdout.write(`${JSON.stringify(stacks.map((s) => ({ Name: s.name, Status: s.status, ConfigFiles: s.configFiles.join(","), Engine: s.engine, ...(s.engineHost ? { EngineHost: s.engineHost } : {}) })))}\n`);
  } else {
    // compose's three columns first, then ours: a stack may run on the embedded engine or a dockerd.
    process.stdout.write(table(["NAME", "STATUS", "CONFIG FILES", "ENGINE"], stacks.map((s) => [s.name, s.status, s.configFiles.join(","), engineCell(s)])));
  }
  return 0;
}
