// The screen's text from state: table cells, the selection, scrolling, the
// empty-table hints, the header and the footer.
import { describe, expect, it } from "vitest";
import type { ContainerView } from "../daemon/api.js";
import { ViewModel } from "./model.js";
import type { Row } from "./model.js";
import { footerText, headerText, paneTitle, tableText, visibleLength } from "./screen.js";
import type { DaemonStatus, TableState } from "./screen.js";
import { T0, container } from "./testing.js";

const plain = { color: false };
const colour = { color: true };
const connected: DaemonStatus = { connected: true, error: undefined, everConnected: true };

function rowsOf(containers: ContainerView[]): Row[] {
  const m = new ViewModel();
  m.applySnapshot(containers, []);
  return m.rows({ sort: "name", filter: "", collapsed: new Set() });
}

function table(rows: Row[], over: Partial<TableState> = {}): TableState {
  return { rows, selected: 0, top: 0, height: 20, focus: "table", status: connected, filter: "", socket: "/run/tscompose.sock", now: T0 + 60_000, ...over };
}

/** The text under a column title in the line of the container `name`. */
function cell(text: string, title: string, name: string, width: number): string {
  const lines = text.split("\n");
  const at = (lines[0] as string).indexOf(title);
  const line = lines.find((l) => l.includes(name));
  expect(at).toBeGreaterThan(0);
  expect(line).toBeDefined();
  return (line as string).slice(at, at + width).trim();
}

describe("tableText", () => {
  it.each([
    ["unhealthy", "unhealthy"],
    ["healthy", "healthy"],
    ["starting", "starting"],
    [undefined, ""],
  ] as const)("renders a running container with health %s as %j in the HEALTH column", (health, shown) => {
    const rows = rowsOf([container("web", "app", 1, { health }), container("web", "app", 2)]);
    const { text } = tableText(120, table(rows), plain);
    expect(cell(text, "HEALTH", "web-app-1", 9)).toBe(shown);
  });

  it("colours an unhealthy container's health red and a starting one's yellow", () => {
    const rows = rowsOf([container("web", "app", 1, { health: "unhealthy" }), container("web", "db", 1, { health: "starting" })]);
    const { text } = tableText(120, table(rows), colour);
    expect(text).toContain("{red-fg}unhealthy{/red-fg}");
    expect(text).toContain("{yellow-fg}starting {/yellow-fg}");
  });

  it("shows an exited container's exit code in the STATE column", () => {
    const rows = rowsOf([container("web", "app", 1, { state: "exited", exitCode: 137 })]);
    const { text } = tableText(120, table(rows), plain);
    expect(cell(text, "STATE", "web-app-1", 12)).toBe("exited (137)");
  });

  it("marks the selected row with the gutter, inverse while the table has focus and underlined when the pane has", () => {
    const rows = rowsOf([container("web", "app", 1), container("web", "app", 2)]);
    const at = rows.findIndex((r) => r.kind === "container" && r.c.name === "web-app-2");
    const focused = tableText(120, table(rows, { selected: at }), plain).text.split("\n");
    const selectedLine = focused.find((l) => l.includes("web-app-2")) as string;
    expect(selectedLine.startsWith("{bold}›{/bold}{inverse}")).toBe(true);
    expect(focused.filter((l) => l.includes("›"))).toHaveLength(1);
    const blurred = tableText(120, table(rows, { selected: at, focus: "pane" }), plain).text;
    expect(blurred.split("\n").find((l) => l.includes("web-app-2"))).toMatch(/^›\{underline\}/);
  });

  it("scrolls so that the selected row shows, and back up when it moves above the window", () => {
    const rows = rowsOf(Array.from({ length: 10 }, (_, i) => container("web", "app", i + 1)));
    const down = tableText(120, table(rows, { selected: 9, top: 0, height: 3 }), plain);
    expect(down.top).toBe(7);
    const lines = down.text.split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatch(/^\{bold\}›/);
    const up = tableText(120, table(rows, { selected: 2, top: 7, height: 3 }), plain);
    expect(up.top).toBe(2);
  });

  it("says what it waits for when the table is empty", () => {
    const never = tableText(100, table([], { status: { connected: false, error: undefined, everConnected: false } }), plain).text;
    expect(never).toContain("waiting for the tscompose daemon at /run/tscompose.sock");
    expect(tableText(100, table([], { filter: "zz" }), plain).text).toContain('nothing matches "zz"');
    expect(tableText(100, table([]), plain).text).toContain("no stacks");
  });

  it("puts the connection error in place of the column titles", () => {
    const { text } = tableText(100, table([], { status: { connected: false, error: "ECONNREFUSED", everConnected: true } }), plain);
    expect(text.split("\n")[0]).toContain("✖ ECONNREFUSED");
    expect(text).not.toContain("HEALTH");
  });
});

describe("headerText", () => {
  const totals = { stacks: 2, running: 3, desired: 4, containers: 4, unhealthy: 1 };

  it("shows totals, unhealthy count and the daemon's state, right-aligned to the width", () => {
    const text = headerText(100, totals, connected, "", "cpu", plain);
    expect(text).toContain("3/4 running");
    expect(text).toContain("1 unhealthy");
    expect(text).toContain("sort:cpu");
    expect(text.endsWith("● daemon")).toBe(true);
    expect(visibleLength(text)).toBe(99);
    expect(headerText(100, totals, { connected: false, error: "x", everConnected: true }, "", "name", plain)).toContain("✖ no daemon");
  });

  it("leaves out the least important parts first when narrow", () => {
    const text = headerText(50, totals, connected, "", "name", plain);
    expect(text).toContain("3/4 running");
    expect(text).not.toContain("sort:");
    expect(visibleLength(text)).toBeLessThanOrEqual(50);
  });
});

describe("footerText", () => {
  const none = { prompt: undefined, confirm: undefined, message: undefined, now: T0 };

  it("shows a prompt, else a question, else a message still due, else the keys", () => {
    expect(footerText(80, { ...none, prompt: { label: "filter:", value: "we" } }, plain)).toMatch(/^filter: we█/);
    expect(footerText(80, { ...none, confirm: { text: "remove web-app-1?" } }, plain)).toBe("remove web-app-1? [y/N]");
    expect(footerText(80, { ...none, message: { text: "stop web-app-1: done", level: "info", until: T0 + 1 } }, plain)).toBe("stop web-app-1: done".padEnd(80));
    const expired = footerText(80, { ...none, message: { text: "old", level: "info", until: T0 } }, plain);
    expect(expired).not.toContain("old");
    expect(expired.startsWith(" s start/stop")).toBe(true);
  });

  it("shows only the keys that fit", () => {
    const text = footerText(30, none, plain);
    expect(text.length).toBeLessThanOrEqual(30);
    expect(text).toContain("start/stop");
    expect(text).not.toContain("quit");
  });
});

describe("paneTitle", () => {
  it("marks the current view's tab and is bold when the pane has focus", () => {
    const t = paneTitle(80, "health", "pane", "web-app-1", plain);
    expect(t).toMatch(/^\{bold\}/);
    expect(t).toContain("[3 Health]");
    expect(t).not.toContain("[1 Logs]");
    expect(visibleLength(t)).toBe(80);
  });
});
