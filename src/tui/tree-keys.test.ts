// ←, → and enter in the table's tree, on rows made by the view model.
import { describe, expect, it } from "vitest";
import { commandOf } from "./keys.js";
import { ViewModel } from "./model.js";
import type { Row } from "./model.js";
import { container } from "./testing.js";
import { treeChange } from "./tree-keys.js";
import type { TreeCommand } from "./tree-keys.js";

function rows(collapsed: Set<string> = new Set()): Row[] {
  const m = new ViewModel();
  m.applySnapshot([container("web", "app", 1), container("web", "app", 2), container("web", "db", 1)], []);
  return m.rows({ sort: "name", filter: "", collapsed });
}

const find = (rs: Row[], kind: Row["kind"], name: string): Row =>
  rs.find((r) => r.kind === kind && (r.kind === "stack" ? r.stack : r.kind === "service" ? r.service : r.kind === "task" ? r.t.name : r.c.name) === name) as Row;

function press(key: string, row: Row | undefined, rs: Row[], collapsed: Set<string> = new Set()): ReturnType<typeof treeChange> {
  return treeChange(commandOf(key, undefined) as TreeCommand, row, rs, collapsed);
}

describe("tree keys", () => {
  it("← on a container selects its service", () => {
    const rs = rows();
    expect(press("left", find(rs, "container", "web-app-2"), rs)).toEqual({ select: rs.indexOf(find(rs, "service", "app")) });
    expect(press("right", find(rs, "container", "web-app-2"), rs)).toBeUndefined();
  });

  it("← collapses an expanded service, and on a collapsed one goes to its stack", () => {
    const rs = rows();
    const app = find(rs, "service", "app");
    expect(press("left", app, rs)).toEqual({ collapse: app.key });
    expect(press("left", app, rs, new Set([app.key]))).toEqual({ select: rs.indexOf(find(rs, "stack", "web")) });
  });

  it("→ expands; enter toggles", () => {
    const rs = rows();
    const web = find(rs, "stack", "web");
    expect(press("right", web, rs, new Set([web.key]))).toEqual({ expand: web.key });
    expect(press("enter", web, rs)).toEqual({ collapse: web.key });
    expect(press("enter", web, rs, new Set([web.key]))).toEqual({ expand: web.key });
    expect(press("left", undefined, rs)).toBeUndefined();
  });
});
