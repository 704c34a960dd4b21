// `tscompose jobs [SERVICE]`: the stack's scheduled services (x-tscompose
// schedule) with their next run and last runs' exit codes; with a service,
// its run history. `tscompose jobs logs SERVICE [RUN]`: the output kept of a
// run (default the latest that ran). Read from the daemon
// (GET /stacks/:name/jobs); `--format json` prints what the API returns.
import type { JobRun, JobView, LogEntry } from "../daemon/api.js";
import type { ProjectOptions } from "../stack/load.js";
import { CliError } from "./errors.js";
import { humanDuration, table } from "./format.js";
import { daemon as daemonClient, projectNameLazy } from "./project-name.js";

export interface JobsFlags {
  format?: string;
}

async function fetchJobs(opts: ProjectOptions): Promise<{ project: string; jobs: JobView[] }> {
  const project = await projectNameLazy(opts);
  const client = await daemonClient();
  return { project, jobs: await client.json<JobView[]>("GET", `/stacks/${encodeURIComponent(project)}/jobs`) };
}

export async function runJobs(opts: ProjectOptions, service: string | undefined, flags: JobsFlags): Promise<number> {
  const { project, jobs } = await fetchJobs(opts);
  const selected = service === undefined ? jobs : jobs.filter((j) => j.service === service);
  if (service !== undefined && selected.length === 0) throw new CliError(`no scheduled service ${service} in ${project}${jobs.length > 0 ? ` (scheduled: ${jobs.map((j) => j.service).join(", ")})` : ""}`);
  if (flags.format === "json") {
    process.stdout.write(`${JSON.stringify(selected)}\n`);
    return 0;
  }
  const now = Date.now();
  if (service === undefined) {
    process.stdout.write(
      table(
        ["SERVICE", "SCHEDULE", "OVERLAP", "NEXT RUN", "RUNNING", "LAST RUNS"],
        selected.map((j) => [j.service, scheduleText(j), j.schedule.overlap, nextText(j, now), runningText(j, now), lastRuns(j)]),
      ),
    );
    return 0;
  }
  const job = selected[0] as JobView;
  process.stdout.write(`${job.service}: ${scheduleText(job)}, overlap ${job.schedule.overlap}, keeps ${job.schedule.history} runs; next run ${nextText(job, now)}\n`);
  const runs = [...job.running, ...job.history];
  const queued = job.queued ? [[runIdOf(job.queued), "queued", "-", "-", "-", "-", "runs when the running one ends"]] : [];
  process.stdout.write(table(["RUN", "STATUS", "EXIT CODE", "STARTED", "DURATION", "CONTAINER", "NOTE"], [...queued, ...runs.map((r) => runRow(r, now))]));
  return 0;
}

export async function runJobLogs(opts: ProjectOptions, service: string, run: string | undefined): Promise<number> {
  const { project, jobs } = await fetchJobs(opts);
  const job = jobs.find((j) => j.service === service);
  if (!job) throw new CliError(`no scheduled service ${service} in ${project}`);
  const runs = [...job.running, ...job.history].filter((r) => r.status !== "skipped");
  const chosen = run === undefined ? (job.history.find((r) => r.status !== "skipped") ?? job.running[0]) : runs.find((r) => r.id === run || r.id.endsWith(run) || r.container === run);
  if (!chosen) throw new CliError(run === undefined ? `${service} has not run yet` : `no run ${run} of ${service} (runs: ${runs.map((r) => r.id).join(", ") || "none"})`);
  if (chosen.status === "running" && chosen.containerId) {
    // Still running: its container's log so far.
    const client = await daemonClient();
    for await (const e of client.stream<LogEntry | { type: "error"; message: string }>("GET", `/containers/${chosen.containerId}/logs`)) {
      if ("line" in e) (e.stream === "stderr" ? process.stderr : process.stdout).write(`${e.line}\n`);
    }
    return 0;
  }
  for (const line of chosen.log ?? []) process.stdout.write(`${line}\n`);
  if (chosen.reason) process.stderr.write(`(${chosen.status}: ${chosen.reason})\n`);
  return 0;
}

/** The run id of a slot, as the daemon names runs (UTC `YYYYMMDD-HHMMSS`). */
function runIdOf(iso: string): string {
  return `${iso.slice(0, 10).replaceAll("-", "")}-${iso.slice(11, 19).replaceAll(":", "")}`;
}

function scheduleText(j: JobView): string {
  return `${j.schedule.cron}${j.schedule.timezone ? ` (${j.schedule.timezone})` : ""}`;
}

export function nextText(j: JobView, now: number): string {
  if (!j.nextRun) return "-";
  const at = Date.parse(j.nextRun);
  return `${j.nextRun.replace("T", " ").replace(/\.\d+Z$/, "Z")} (in ${humanDuration(at - now).toLowerCase()})`;
}

function runningText(j: JobView, now: number): string {
  const parts = j.running.map((r) => `${r.id}${r.startedAt ? ` (${humanDuration(now - Date.parse(r.startedAt)).toLowerCase()})` : ""}`);
  if (j.queued) parts.push("1 queued");
  return parts.join(", ") || "-";
}

/** The last runs, newest first: exit codes, `skip` for skipped slots, `int` for interrupted ones. */
export function lastRuns(j: JobView, n = 5): string {
  return (
    j.history
      .slice(0, n)
      .map((r) => (r.status === "skipped" ? "skip" : r.status === "interrupted" ? "int" : r.exitCode !== undefined ? String(r.exitCode) : "err"))
      .join(" ") || "-"
  );
}

function runRow(r: JobRun, now: number): string[] {
  const started = r.startedAt ? `${humanDuration(now - Date.parse(r.startedAt))} ago` : "-";
  const duration = r.startedAt && r.finishedAt ? `${((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1)}s` : r.status === "running" ? "running" : "-";
  return [r.id, r.status, r.exitCode !== undefined ? String(r.exitCode) : "-", started, duration, r.container ?? "-", r.reason ?? ""];
}

/** ps's row for a scheduled service: its schedule, next run and last exit, beside the rows of its running job containers. */
export function psScheduleStatus(j: JobView, now: number): string {
  const last = j.history.find((r) => r.status !== "skipped");
  const next = j.nextRun ? `next in ${humanDuration(Date.parse(j.nextRun) - now).toLowerCase()}` : "not scheduled";
  const lastText = !last
    ? ""
    : last.exitCode !== undefined
      ? `, last exited (${last.exitCode}) ${humanDuration(now - Date.parse(last.finishedAt ?? last.tick))} ago`
      : `, last ${last.status}`;
  return `Scheduled${j.schedule.cron ? ` ${JSON.stringify(j.schedule.cron)}` : ""}, ${next}${j.running.length > 0 ? `, ${j.running.length} running` : ""}${lastText}`;
}
