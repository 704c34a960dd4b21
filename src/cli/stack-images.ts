// The stack's `images` (docker compose images): one row per container of the
// project, CONTAINER REPOSITORY TAG IMAGE ID SIZE, from the daemon.
import { familiarName, parseReference } from "../../engine/content/reference.js";
import { humanSize } from "../../engine/image/progress.js";
import type { ImageInfo } from "../../engine/types.js";
import type { ContainerView } from "../daemon/api.js";
import type { ProjectOptions } from "../stack/load.js";
import { applyTemplate } from "./image-format.js";
import { table } from "./format.js";
import { daemon, projectNameLazy } from "./project-name.js";

interface Row {
  ContainerName: string;
  Repository: string;
  Tag: string;
  ID: string;
  Size: number;
}

const shortId = (id: string): string => id.replace(/^sha256:/, "").slice(0, 12);

export async function runStackImages(opts: ProjectOptions, services: string[], flags: { quiet?: boolean; format?: string }): Promise<number> {
  const project = await projectNameLazy(opts);
  const client = await daemon();
  const containers = (await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`))
    .filter((c) => services.length === 0 || services.includes(c.service ?? ""))
    .sort((a, b) => a.name.localeCompare(b.name));
  const images = new Map((await client.json<ImageInfo[]>("GET", "/images")).map((i) => [i.id, i]));
  const rows: Row[] = containers.map((c) => {
    const ref = parseReference(c.image);
    const image = images.get(c.imageId);
    return { ContainerName: c.name, Repository: familiarName({ ...ref, tag: undefined, digest: undefined }), Tag: ref.tag ?? (ref.digest ? "<none>" : "latest"), ID: c.imageId, Size: image?.unpackedSize ?? image?.size ?? 0 };
  });
  if (flags.quiet) process.stdout.write([...new Set(rows.map((r) => shortId(r.ID)))].map((id) => `${id}\n`).join(""));
  else if (flags.format === "json") process.stdout.write(`${JSON.stringify(rows)}\n`);
  else if (flags.format && flags.format !== "table") process.stdout.write(rows.map((r) => `${applyTemplate(flags.format?.replace(/^table\s+/, "") ?? "", r)}\n`).join(""));
  else process.stdout.write(table(["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"], rows.map((r) => [r.ContainerName, r.Repository, r.Tag, shortId(r.ID), humanSize(r.Size, 3)])));
  return 0;
}
