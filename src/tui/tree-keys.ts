// What ←, → and enter do in the table's tree of stacks -> services ->
// containers (or a swarm service's tasks): collapse or expand the selected
// row, or move to its parent.
import type { Row } from "./model.js";

export type TreeCommand = "collapse" | "expand" | "toggle";

/** The change a tree key makes: a row to select (by index), or a key to collapse or expand. */
export type TreeChange = { select: number } | { collapse: string } | { expand: string } | undefined;

export function treeChange(cmd: TreeCommand, row: Row | undefined, rows: readonly Row[], collapsed: ReadonlySet<string>): TreeChange {
  if (!row) return undefined;
  if (row.kind === "container" || row.kind === "task") {
    if (cmd === "collapse") return { select: rows.findIndex((r) => r.kind === "service" && r.stack === row.stack && r.service === row.service) };
    return undefined;
  }
  const isCollapsed = collapsed.has(row.key);
  if (cmd === "collapse" && !isCollapsed) return { collapse: row.key };
  if (cmd === "collapse" && row.kind === "service") return { select: rows.findIndex((r) => r.kind === "stack" && r.stack === row.stack) };
  if (cmd === "expand" || (cmd === "toggle" && isCollapsed)) return { expand: row.key };
  if (cmd === "toggle") return { collapse: row.key };
  return undefined;
}
