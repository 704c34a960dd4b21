// The stack's `images` (docker compose images): one row per container of the
// project, CONTAINER REPOSITORY TAG IMAGE ID SIZE, from the daemon.
import type { StackImageRow } from "../daemon/api.js";
import type { ProjectOptions } from "../stack/load.js";
import { applyTemplate } from "./image-format.js";
import { humanSize, table } from "./format.js";
import { daemon, projectNameLazy } from "./project-name.js";

const shortId = (id: string): string => id.replace(/^sha256:/, "").slice(0, 12);

export async function runStackImages(opts: ProjectOptions, services: string[], flags: { quiet?: boolean; format?: string }): Promise<number> {
  const project = await projectNameLazy(opts);
  const client = await daemon();
  const query = services.map((s) => `service=${encodeURIComponent(s)}`).join("&");
  const rows = await client.json<StackImageRow[]>("GET", `/stacks/${encodeURIComponent(project)}/images${query ? `?${query}` : ""}`);
  if (flags.quiet) process.stdout.write([...new Set(rows.map((r) => shortId(r.ID)))].map((id) => `${id}\n`).join(""));
  else if (flags.format === "json") process.stdout.write(`${JSON.stringify(rows)}\n`);
  else if (flags.format && flags.format !== "table") process.stdout.write(rows.map((r) => `${applyTemplate(flags.format?.replace(/^table\s+/, "") ?? "", r)}\n`).join(""));
  else process.stdout.write(table(["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"], rows.map((r) => [r.ContainerName, r.Repository, r.Tag, shortId(r.ID), humanSize(r.Size, 3)])));
  return 0;
}
