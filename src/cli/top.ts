// `tscompose top [SERVICE...]`: the processes of each running container, as
// compose v2 prints them: the container's name, then the `ps -ef` table
// (UID PID PPID C STIME TTY TIME CMD), a blank line between containers.
import type { ContainerView } from "../daemon/api.js";
import { LABEL } from "../../model/labels.js";
import type { ProjectOptions } from "../stack/load.js";
import { table } from "./format.js";
import { daemon, projectNameLazy } from "./project-name.js";

export async function runTop(opts: ProjectOptions, services: string[]): Promise<number> {
  const project = await projectNameLazy(opts);
  const client = await daemon();
  const containers = (await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=0`))
    .filter((c) => c.labels[LABEL.oneoff] !== "True" && (services.length === 0 || services.includes(c.service ?? "")))
    .sort((a, b) => a.name.localeCompare(b.name));
  const tops = await Promise.all(
    containers.map((c) =>
      client.json<{ titles: string[]; processes: string[][] }>("GET", `/containers/${encodeURIComponent(c.id)}/top`).catch((err: unknown) => err as Error),
    ),
  );
  let failed = false;
  const blocks: string[] = [];
  containers.forEach((c, i) => {
    const top = tops[i];
    // It may have stopped between the listing and the look: say so, show the rest.
    if (!top || top instanceof Error) {
      failed = true;
      process.stderr.write(`${c.name}: ${top?.message ?? "no answer"}\n`);
      return;
    }
    blocks.push(`${c.name}\n${table(top.titles, top.processes)}`);
  });
  process.stdout.write(blocks.join("\n"));
  return failed ? 1 : 0;
}
