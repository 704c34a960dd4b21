// `tscompose export SERVICE -o FILE`: compose's export, a service container's
// file system (#1, or --index) as a tar, written by the daemon to FILE.
import { resolve } from "node:path";
import type { ContainerView, ExportRequest } from "../daemon/api.js";
import { LABEL } from "../../model/labels.js";
import type { ProjectOptions } from "../stack/load.js";
import { CliError } from "./errors.js";
import { daemon, projectNameLazy } from "./project-name.js";

export async function runExport(opts: ProjectOptions, service: string, flags: { output?: string; index?: number }): Promise<number> {
  if (flags.output === undefined || flags.output === "" || flags.output === "-") throw new CliError("export: writing the tar to stdout is not supported yet; give the file with -o FILE");
  const index = flags.index ?? 1;
  const project = await projectNameLazy(opts);
  const client = await daemon();
  const all = await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`);
  const target = all.find((c) => c.service === service && c.labels[LABEL.oneoff] !== "True" && c.number === index);
  if (!target) throw new CliError(`service "${service}" has no container #${index}`);
  const body: ExportRequest = { hostPath: resolve(opts.cwd, flags.output) };
  await client.json("POST", `/containers/${encodeURIComponent(target.id)}/export`, body);
  return 0;
}
