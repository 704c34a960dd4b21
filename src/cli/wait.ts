// `tscompose wait SERVICE...`: blocks until every container of the services is
// not running, printing each one's exit code as compose does; exits with the
// code of the first to stop. --down-project takes the project down once the
// first has stopped.
import type { ContainerView, ContainerWaitResponse, StreamMessage } from "../daemon/api.js";
import type { DaemonClient } from "../daemon/client.js";
import type { ProjectOptions } from "../stack/load.js";
import { downRequest } from "./down.js";
import { CliError } from "./errors.js";
import { renderProgress } from "./progress.js";
import { daemon, projectNameLazy } from "./project-name.js";

export interface WaitFlags {
  downProject?: boolean;
}

export async function runWait(opts: ProjectOptions, services: string[], flags: WaitFlags): Promise<number> {
  const project = await projectNameLazy(opts);
  const client = await daemon();
  const all = await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`);
  const known = new Set(all.map((c) => c.service));
  for (const s of services) if (!known.has(s)) throw new CliError(`no such service: ${s}`);
  const targets = all.filter((c) => services.includes(c.service ?? ""));
  if (targets.length === 0) throw new CliError(`no containers for project "${project}"`);

  let first: number | undefined;
  let down: Promise<boolean> | undefined;
  let failed = false;
  await Promise.all(
    targets.map(async (c) => {
      try {
        const { StatusCode } = await client.json<ContainerWaitResponse>("POST", `/containers/${encodeURIComponent(c.id)}/wait`);
        process.stdout.write(`container "${c.id}" exited with status code ${StatusCode}\n`);
        first ??= StatusCode;
      } catch (err) {
        // The project's down removes containers: one gone before its wait was answered has nothing left to report.
        if (down) return;
        failed = true;
        process.stderr.write(`Error: container ${c.name}: ${(err as Error).message}\n`);
      }
      if (flags.downProject) down ??= takeDown(client, opts);
    }),
  );
  if (down && !(await down)) return 1;
  if (failed) return 1;
  return first ?? 0;
}

/** As compose's --down-project: down with --remove-orphans. */
async function takeDown(client: DaemonClient, opts: ProjectOptions): Promise<boolean> {
  const { ok } = await renderProgress(client.stream<StreamMessage>("POST", "/stacks/down", downRequest(opts, { removeOrphans: true })));
  return ok;
}
