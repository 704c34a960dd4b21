// start, stop, restart, kill, pause, unpause and rm on a stack's containers
// (all of them, or those of the services named), as compose does them:
// every container in parallel, one line per container.
import type { ContainerView } from "../daemon/api.js";
import type { ProjectOptions } from "../stack/load.js";
import { LABEL } from "../../model/labels.js";
import { findStackFiles } from "../stack/load.js";
import { CliError } from "./errors.js";
import { DRY_RUN_PREFIX } from "./progress.js";
import { daemon, projectNameLazy } from "./project-name.js";

export type LifecycleVerb = "start" | "stop" | "restart" | "kill" | "pause" | "unpause" | "rm";

const PAST: Record<LifecycleVerb, [string, string]> = {
  start: ["Starting", "Started"],
  stop: ["Stopping", "Stopped"],
  restart: ["Restarting", "Started"],
  kill: ["Killing", "Killed"],
  pause: ["Pausing", "Paused"],
  unpause: ["Unpausing", "Unpaused"],
  rm: ["Removing", "Removed"],
};

// Which containers each verb acts on, as in compose (rm: stopped ones unless -s/-f).
const ELIGIBLE: Record<LifecycleVerb, (c: ContainerView, force: boolean) => boolean> = {
  start: (c) => c.state !== "running" && c.state !== "paused",
  stop: (c) => c.state === "running" || c.state === "paused" || c.state === "restarting",
  restart: () => true,
  kill: (c) => c.state === "running" || c.state === "paused",
  pause: (c) => c.state === "running",
  unpause: (c) => c.state === "paused",
  rm: (c, force) => force || (c.state !== "running" && c.state !== "paused"),
};

export interface LifecycleFlags {
  /** Seconds, parsed by commander (flag-values.ts). */
  timeout?: number;
  signal?: string;
  force?: boolean;
  stop?: boolean;
  volumes?: boolean;
  /** kill --remove-orphans: also the containers of services the stack file no longer has. */
  removeOrphans?: boolean;
  /** restart: false with --no-deps (the services named only, not their dependents). */
  deps?: boolean;
  /** Print the line of each container the verb would act on; act on none. */
  dryRun?: boolean;
}

export async function runLifecycle(verb: LifecycleVerb, opts: ProjectOptions, services: string[], flags: LifecycleFlags): Promise<number> {
  const project = await projectNameLazy(opts);
  const client = await daemon();
  const all = await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`);
  const known = new Set(all.map((c) => c.service));
  for (const s of services) if (!known.has(s)) throw new CliError(`no such service: ${s}`);
  // As compose: restarting a service restarts what depends on it with `restart: true`, unless --no-deps.
  const selected = verb === "restart" && flags.deps !== false && services.length > 0 ? withRestartDependents(all, services) : services;
  // As compose: kill leaves the orphans (services the stack file no longer has) alone unless --remove-orphans.
  const defined = verb === "kill" && !flags.removeOrphans ? await definedServices(opts) : undefined;
  const targets = all
    .filter((c) => selected.length === 0 || selected.includes(c.service ?? ""))
    .filter((c) => !defined || defined.has(c.service ?? ""))
    // As in compose, rm -f only skips the confirmation: running containers go only with -s (stopped first).
    .filter((c) => ELIGIBLE[verb](c, flags.stop === true));
  if (verb === "rm" && targets.length === 0) {
    process.stderr.write("No stopped containers\n");
    return 0;
  }
  if (flags.dryRun) {
    for (const c of targets) process.stdout.write(` ${DRY_RUN_PREFIX} Container ${c.name}  ${PAST[verb][1]}\n`);
    return 0;
  }
  const q = new URLSearchParams();
  if (flags.timeout !== undefined) q.set("t", String(flags.timeout));
  if (flags.signal) q.set("signal", flags.signal);
  if (flags.volumes) q.set("v", "1");
  q.set("force", "1");
  let failed = false;
  // restart goes in waves: a service after the ones it depends on with `restart: true` (compose's dependency order).
  for (const wave of verb === "restart" ? restartWaves(targets) : [targets]) {
    await Promise.all(
      wave.map(async (c) => {
        process.stdout.write(` Container ${c.name}  ${PAST[verb][0]}\n`);
        try {
          if (verb === "rm" && (c.state === "running" || c.state === "paused")) await client.json("POST", `/containers/${c.id}/stop`);
          if (verb === "rm") await client.json("DELETE", `/containers/${c.id}?${q.toString()}`);
          else await client.json("POST", `/containers/${c.id}/${verb}?${q.toString()}`);
          process.stdout.write(` Container ${c.name}  ${PAST[verb][1]}\n`);
        } catch (err) {
          failed = true;
          process.stderr.write(`Error: container ${c.name}: ${(err as Error).message}\n`);
        }
      }),
    );
  }
  return failed ? 1 : 0;
}

/** A container's `depends_on` as its label keeps it (compose's `SERVICE:CONDITION:RESTART,...`): the services a restart of which restarts it. */
function restartsWith(c: ContainerView): string[] {
  const label = c.labels[LABEL.dependsOn] ?? "";
  return label.split(",").flatMap((entry) => {
    const [service, , restart] = entry.split(":");
    return service && restart === "true" ? [service] : [];
  });
}

/** The services named and, transitively, those that depend on one of them with `restart: true` (read off the containers, as compose does). */
export function withRestartDependents(all: ContainerView[], services: string[]): string[] {
  const out = new Set(services);
  for (let grew = true; grew; ) {
    grew = false;
    for (const c of all) {
      if (c.service === undefined || out.has(c.service)) continue;
      if (restartsWith(c).some((s) => out.has(s))) {
        out.add(c.service);
        grew = true;
      }
    }
  }
  return [...out];
}

/** The containers in waves, each after the waves of the services it restarts with (a cycle, which up refuses, ends as one last wave). */
export function restartWaves(targets: ContainerView[]): ContainerView[][] {
  const waves: ContainerView[][] = [];
  let left = targets;
  while (left.length > 0) {
    const pending = new Set(left.map((c) => c.service));
    const ready = left.filter((c) => !restartsWith(c).some((s) => s !== c.service && pending.has(s)));
    if (ready.length === 0) return [...waves, left];
    waves.push(ready);
    left = left.filter((c) => !ready.includes(c));
  }
  return waves;
}

/** The services the stack file defines; undefined when there is no file (`-p NAME kill`): then every container is the project's. */
async function definedServices(opts: ProjectOptions): Promise<Set<string> | undefined> {
  if (opts.files.length === 0) {
    try {
      findStackFiles(opts);
    } catch {
      return undefined;
    }
  }
  const { loadProject } = await import("./project.js");
  return new Set(Object.keys(loadProject(opts, true).stack.services));
}
