// `tscompose system df` (docker's TYPE TOTAL ACTIVE SIZE RECLAIMABLE) and
// `system prune`, through the daemon.
import type { DiskUsageRow, SystemPruneResult } from "../daemon/api.js";
import { confirm } from "./confirm.js";
import { humanSize, table } from "./format.js";
import { applyTemplate } from "./image-format.js";
import { daemon } from "./project-name.js";

/** docker's "1.2MB (50%)"; with nothing to measure against, the size alone. */
export function reclaimableText(row: DiskUsageRow): string {
  const bytes = humanSize(row.reclaimable);
  return row.size > 0 ? `${bytes} (${Math.floor((row.reclaimable * 100) / row.size)}%)` : bytes;
}

interface DfJson {
  Active: string;
  Reclaimable: string;
  Size: string;
  TotalCount: string;
  Type: string;
}

const dockerJson = (r: DiskUsageRow): DfJson => ({ Active: String(r.active), Reclaimable: reclaimableText(r), Size: humanSize(r.size), TotalCount: String(r.total), Type: r.type });

export async function runSystemDf(flags: { format?: string }): Promise<number> {
  const client = await daemon();
  const rows = (await client.json<DiskUsageRow[]>("GET", "/system/df")).map(dockerJson);
  if (flags.format === "json") process.stdout.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(""));
  else if (flags.format && flags.format !== "table") process.stdout.write(rows.map((r) => `${applyTemplate(flags.format?.replace(/^table\s+/, "") ?? "", r)}\n`).join(""));
  else process.stdout.write(table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], rows.map((r) => [r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable])));
  return 0;
}

/** docker system prune's warning: what each flag adds to the list. */
export function pruneWarning(flags: { all?: boolean; volumes?: boolean }): string {
  const items = [
    "all stopped containers",
    "all networks not used by at least one container",
    ...(flags.volumes ? ["all anonymous volumes not used by at least one container"] : []),
    flags.all ? "all images without at least one container associated to them" : "all dangling images",
    flags.all ? "all build cache" : "unused build cache",
  ];
  return `WARNING! This will remove:\n${items.map((i) => `  - ${i}\n`).join("")}\nAre you sure you want to continue? [y/N] `;
}

export async function runSystemPrune(flags: { all?: boolean; force?: boolean; volumes?: boolean }): Promise<number> {
  if (!flags.force && !(await confirm(pruneWarning(flags)))) return 0;
  const client = await daemon();
  const r = await client.json<SystemPruneResult>("POST", `/system/prune?all=${flags.all ? 1 : 0}&volumes=${flags.volumes ? 1 : 0}`);
  const section = (title: string, lines: string[]): string => (lines.length > 0 ? `Deleted ${title}:\n${lines.map((l) => `${l}\n`).join("")}\n` : "");
  process.stdout.write(
    section("Containers", r.containers) + section("Networks", r.networks) + section("Volumes", r.volumes) + section("Images", r.images.map((l) => l.replace(/^(\w+):/, (_, w: string) => `${w.toLowerCase()}:`))),
  );
  process.stdout.write(`Total reclaimed space: ${humanSize(r.reclaimedBytes)}\n`);
  return 0;
}
