// `tscompose system df`: docker's TYPE TOTAL ACTIVE SIZE RECLAIMABLE, from the daemon.
import type { DiskUsageRow } from "../daemon/api.js";
import { humanSize } from "../../engine/image/progress.js";
import { table } from "./format.js";
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
