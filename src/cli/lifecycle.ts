// start, stop, restart, kill, pause, unpause and rm on a stack's containers
// (all of them, or those of the services named), as compose does them:
// every container in parallel, one line per container.
import type { ContainerView } from "../daemon/api.js";
import type { ProjectOptions } from "../stack/load.js";
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
  /** Print the line of each container the verb would act on; act on none. */
  dryRun?: boolean;
}

export async function runLifecycle(verb: LifecycleVerb, opts: ProjectOptions, services: string[], flags: LifecycleFlags): Promise<number> {
  const project = await projectNameLazy(opts);
  const client = await daemon();
  const all = await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`);
  const known = new Set(all.map((c) => c.service));
  for (const s of services) if (!known.has(s)) throw new CliError(`no such service: ${s}`);
  const targets = all
    .filter((c) => services.length === 0 || services.includes(c.service ?? ""))
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
  await Promise.all(
    targets.map(async (c) => {
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
  return failed ? 1 : 0;
}
