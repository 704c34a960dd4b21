// What `volume ls`, `network ls` and the stack's `volumes` print, as the docker
// CLI does: a table, IDs or names only (-q), one JSON object per line
// (--format json, docker's field names), or a Go-style template
// (--format '{{.Name}}', `table` prefix allowed), and the inspect output.
import type { DaemonClient } from "../daemon/client.js";
import { DaemonError } from "../daemon/client.js";
import { confirm } from "./confirm.js";
import { CliError } from "./errors.js";
import { humanSize, table } from "./format.js";
import { applyTemplate } from "./image-format.js";

export interface ListFlags {
  quiet?: boolean;
  format?: string;
  filter?: string[];
}

/** Rows are docker's JSON objects; `cells` picks the table's columns from one. */
export function listText(rows: Record<string, unknown>[], flags: ListFlags, quietKey: string, headers: string[], cells: (r: Record<string, unknown>) => string[]): string {
  if (flags.quiet) return rows.map((r) => `${String(r[quietKey])}\n`).join("");
  if (flags.format === "json") return rows.map((r) => `${JSON.stringify(r)}\n`).join("");
  if (flags.format && flags.format !== "table") {
    const template = flags.format.replace(/^table\s+/, "");
    return rows.map((r) => `${applyTemplate(template, r)}\n`).join("");
  }
  return table(headers, rows.map(cells));
}

/** Docker's `Labels` column: k=v pairs joined by commas. */
export const labelsText = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

/** `--filter` values as the daemon's query. */
export const filterQuery = (filters: string[] | undefined): string => (filters ?? []).map((f) => `filter=${encodeURIComponent(f)}`).join("&");

/** `inspect`: a JSON array as docker indents it, or a template per object; missing ones are named on stderr and make the exit code 1. */
export async function inspectObjects(client: DaemonClient, path: string, names: string[], toDocker: (v: never) => unknown, format: string | undefined): Promise<number> {
  const found: unknown[] = [];
  let missing = false;
  for (const name of names) {
    try {
      found.push(toDocker(await client.json<never>("GET", `${path}/${encodeURIComponent(name)}`)));
    } catch (err) {
      if (!(err instanceof DaemonError && err.kind === "not-found")) throw err;
      process.stderr.write(`Error response from daemon: ${err.message}\n`);
      missing = true;
    }
  }
  if (format) process.stdout.write(found.map((f) => `${applyTemplate(format, f)}\n`).join(""));
  else process.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
  return missing ? 1 : 0;
}

/** Removes each name; a failure is printed and the rest still go (docker's rm), exit code 1 if any failed. */
export async function removeEach(names: string[], remove: (name: string) => Promise<void>): Promise<number> {
  let failed = false;
  for (const name of names) {
    try {
      await remove(name);
      process.stdout.write(`${name}\n`);
    } catch (err) {
      if (!(err instanceof DaemonError)) throw err;
      process.stderr.write(`Error response from daemon: ${err.message}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

/** A prune after docker's warning (unless -f), then "Deleted Volumes:" and the names. */
export async function pruneWith(warning: string, force: boolean | undefined, run: () => Promise<{ deleted: string[]; reclaimedBytes: number }>, heading: string, reclaimed: boolean): Promise<number> {
  if (!force && !(await confirm(`WARNING! This will remove ${warning}.\nAre you sure you want to continue? [y/N] `))) return 0;
  const result = await run();
  if (result.deleted.length > 0) process.stdout.write(`Deleted ${heading}:\n${result.deleted.map((n) => `${n}\n`).join("")}\n`);
  if (reclaimed) process.stdout.write(`Total reclaimed space: ${humanSize(result.reclaimedBytes, 3)}\n`);
  return 0;
}

/** KEY=VALUE flags (`--label`) as a map; a KEY alone is an empty value, as docker's. */
export function labelMap(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf("=");
    const key = eq < 0 ? v : v.slice(0, eq);
    if (key === "") throw new CliError(`invalid label "${v}": the key is empty`);
    out[key] = eq < 0 ? "" : v.slice(eq + 1);
  }
  return out;
}
