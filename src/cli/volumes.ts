// `tscompose volume ls|inspect|create|rm|prune` (the docker CLI's), and the
// stack's `volumes` (docker compose volumes): through the daemon.
import type { ContainerView, PruneResult, VolumeView } from "../daemon/api.js";
import { LABEL } from "../../model/labels.js";
import type { ProjectOptions } from "../stack/load.js";
import { filterQuery, inspectObjects, labelMap, labelsText, listText, pruneWith, removeEach } from "./object-output.js";
import type { ListFlags } from "./object-output.js";
import { daemon, projectNameLazy } from "./project-name.js";

/** docker volume ls --format json's fields. */
function lsJson(v: VolumeView): Record<string, unknown> {
  return { Availability: "N/A", Driver: v.driver, Group: "N/A", Labels: labelsText(v.labels), Links: "N/A", Mountpoint: v.mountpoint, Name: v.name, Scope: v.scope, Size: "N/A", Status: "N/A" };
}

/** docker volume inspect's object. */
function inspectJson(v: VolumeView): Record<string, unknown> {
  return { CreatedAt: v.createdAt, Driver: v.driver, Labels: v.labels, Mountpoint: v.mountpoint, Name: v.name, Options: null, Scope: v.scope };
}

const volumeTable = (rows: Record<string, unknown>[], flags: ListFlags): string => listText(rows, flags, "Name", ["DRIVER", "VOLUME NAME"], (r) => [String(r.Driver), String(r.Name)]);

export async function runVolumeLs(flags: ListFlags): Promise<number> {
  const client = await daemon();
  const list = await client.json<VolumeView[]>("GET", `/volumes?${filterQuery(flags.filter)}`);
  process.stdout.write(volumeTable(list.map(lsJson), flags));
  return 0;
}

/** docker compose volumes: the project's volumes (labelled with its name); with services, those their containers mount. */
export async function runStackVolumes(opts: ProjectOptions, services: string[], flags: ListFlags): Promise<number> {
  const project = await projectNameLazy(opts);
  const client = await daemon();
  let list = await client.json<VolumeView[]>("GET", `/volumes?${filterQuery([`label=${LABEL.project}=${project}`])}`);
  if (services.length > 0) {
    const containers = await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`);
    const used = new Set(containers.filter((c) => services.includes(c.service ?? "")).flatMap((c) => c.volumes ?? []));
    list = list.filter((v) => used.has(v.name));
  }
  process.stdout.write(volumeTable(list.map(lsJson), flags));
  return 0;
}

export async function runVolumeInspect(names: string[], flags: { format?: string }): Promise<number> {
  return inspectObjects(await daemon(), "/volumes", names, inspectJson, flags.format);
}

export async function runVolumeCreate(name: string | undefined, flags: { label?: string[]; driver?: string }): Promise<number> {
  const labels = labelMap(flags.label);
  const client = await daemon();
  const v = await client.json<VolumeView>("POST", "/volumes", { name, labels, driver: flags.driver });
  process.stdout.write(`${v.name}\n`);
  return 0;
}

export async function runVolumeRm(names: string[], flags: { force?: boolean }): Promise<number> {
  const client = await daemon();
  return removeEach(names, (n) => client.json("DELETE", `/volumes/${encodeURIComponent(n)}${flags.force ? "?force=1" : ""}`));
}

export async function runVolumePrune(flags: { all?: boolean; force?: boolean; filter?: string[] }): Promise<number> {
  const client = await daemon();
  const warning = flags.all ? "all local volumes not used by at least one container" : "anonymous local volumes not used by at least one container";
  const query = [flags.all ? "all=1" : "", filterQuery(flags.filter)].filter(Boolean).join("&");
  return pruneWith(warning, flags.force, () => client.json<PruneResult>("POST", `/volumes/prune?${query}`), "Volumes", true);
}
