// A swarm stack in the TUI: rows from GET /stacks/:name/swarm (services ->
// tasks with node, desired and current state, error), their lines, the nodes
// view, the footer's swarm keys and the requests F, R and = make.
import { describe, expect, it } from "vitest";
import type { StackSummary } from "../daemon/api.js";
import { checkRequest } from "../daemon/api-schema.js";
import { replicasOf, swarmRequest } from "./actions.js";
import { layout, plainRowLine } from "./format.js";
import { commandOf } from "./keys.js";
import { ViewModel } from "./model.js";
import type { Row, ServiceRow, TaskRow, ViewOptions } from "./model.js";
import { nodesLines } from "./panes.js";
import { footerText } from "./screen.js";
import { T0, container, swarmView, task } from "./testing.js";
import { treeChange } from "./tree-keys.js";

const opts = (o: Partial<ViewOptions> = {}): ViewOptions => ({ sort: "name", filter: "", collapsed: new Set(), ...o });
const plain = { color: false };
const summary = (name: string, engine: string, running = 0, total = 0): StackSummary => ({ name, status: `running(${running})`, configFiles: [], running, total, watching: false, engine });
const label = (r: Row): string => (r.kind === "stack" ? r.stack : r.kind === "service" ? `  ${r.service}` : r.kind === "task" ? `    ${r.history ? "\\_ " : ""}${r.t.name}` : `    ${r.c.name}`);

/** shop on swarm: db.1 on n1; web.1 failed on n2 then replaced on n3, web.2 pending without a node. */
function shop(): ViewModel {
  const m = new ViewModel();
  m.applySnapshot([container("local", "app", 1)], [summary("shop", "swarm", 2, 3), summary("local", "embedded", 1, 1)]);
  m.applySwarm(
    "shop",
    swarmView("shop", {
      db: { desired: 1, tasks: [task("shop", "db.1", "n1")] },
      web: {
        desired: 2,
        updateState: "rollback_completed",
        tasks: [
          task("shop", "web.1", "n3", { since: new Date(T0 + 60_000).toISOString() }),
          task("shop", "web.1", "n2", { desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)" }),
          task("shop", "web.2", "", { state: "pending" }),
        ],
      },
    }),
  );
  return m;
}

describe("a swarm stack's rows", () => {
  it("are its services, each with its tasks (the older ones of a slot as history), next to a container stack's", () => {
    const rows = shop().rows(opts());
    expect(rows.map(label)).toEqual(["local", "  app", "    local-app-1", "shop", "  db", "    shop_db.1", "  web", "    shop_web.1", "    \\_ shop_web.1", "    shop_web.2"]);
    const web = rows.find((r): r is ServiceRow => r.kind === "service" && r.service === "web");
    expect(web).toMatchObject({ running: 1, desired: 2, swarm: { mode: "replicated", updateState: "rollback_completed" } });
    const failed = rows.find((r): r is TaskRow => r.kind === "task" && r.history);
    expect(failed?.t).toMatchObject({ node: "n2", desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)" });
  });

  it("count tasks running against desired for the stack and the header", () => {
    const m = shop();
    expect(m.rows(opts()).find((r) => r.kind === "stack" && r.stack === "shop")).toMatchObject({ running: 2, desired: 3, engine: "swarm" });
    expect(m.totals()).toMatchObject({ stacks: 2, running: 3, desired: 4 });
  });

  it("before the manager answered: ls's counts, no service rows; once the stack leaves swarm, its view goes", () => {
    const m = new ViewModel();
    m.applySnapshot([], [summary("shop", "swarm", 2, 3)]);
    expect(m.rows(opts()).map(label)).toEqual(["shop"]);
    expect(m.rows(opts())[0]).toMatchObject({ running: 2, desired: 3 });
    m.applySwarm("shop", swarmView("shop", { db: { desired: 1, tasks: [task("shop", "db.1", "n1")] } }));
    m.applySnapshot([], []);
    expect(m.swarm.has("shop")).toBe(false);
  });

  it("filter by node, state or error shows the matching tasks under their service", () => {
    expect(shop().rows(opts({ filter: "n2" })).map(label)).toEqual(["shop", "  web", "    \\_ shop_web.1"]);
    expect(shop().rows(opts({ filter: "pending" })).map(label)).toEqual(["shop", "  web", "    shop_web.2"]);
    // A positive control of the same filter machinery: a service name keeps all its tasks.
    expect(shop().rows(opts({ filter: "db" })).map(label)).toEqual(["shop", "  db", "    shop_db.1"]);
  });

  it("collapse: ← on a task goes to its service, ← there hides the tasks", () => {
    const rows = shop().rows(opts());
    const t = rows.findIndex((r) => r.kind === "task" && r.t.name === "shop_web.2");
    const web = rows.findIndex((r) => r.kind === "service" && r.service === "web");
    expect(treeChange("collapse", rows[t], rows, new Set())).toEqual({ select: web });
    expect(treeChange("collapse", rows[web], rows, new Set())).toEqual({ collapse: "v:shop/web" });
    expect(shop().rows(opts({ collapsed: new Set(["v:shop/web"]) })).map(label)).toEqual(["local", "  app", "    local-app-1", "shop", "  db", "    shop_db.1", "  web"]);
  });
});

describe("a swarm stack's lines", () => {
  const l = layout(120);
  const lineOf = (name: string, history = false): string => {
    const r = shop().rows(opts()).find((x) => (x.kind === "task" && x.t.name === name && x.history === history) || (x.kind === "service" && x.service === name)) as Row;
    return plainRowLine(l, r, T0 + 120_000);
  };

  it("a task: its name, current state, node, desired state, age and error", () => {
    expect(lineOf("shop_web.1")).toMatch(/^ +shop_web\.1 +running +node n3 {2}desired running {2}1m ago$/);
    expect(lineOf("shop_web.1", true)).toMatch(/\\_ shop_web\.1 +failed +node n2 {2}desired shutdown {2}2m ago {2}task: non-zero exit \(1\)$/);
    expect(lineOf("shop_web.2")).toMatch(/shop_web\.2 +pending +no node/);
  });

  it("a service: running/desired, mode, update state, version and image without its digest", () => {
    expect(lineOf("web")).toMatch(/▾ web +1\/2 +replicated {2}rolled back {2}v12 {2}busybox$/);
  });

  it("fits a narrow terminal", () => {
    const narrow = layout(60);
    for (const r of shop().rows(opts())) expect(plainRowLine(narrow, r, T0).length).toBeLessThanOrEqual(60);
  });
});

describe("the nodes view", () => {
  it("lists the swarm's nodes with role, status, availability, manager status and the stack's tasks on each", () => {
    const m = shop();
    const lines = nodesLines("shop", m.swarm.get("shop"), true, plain);
    expect(lines[0]).toMatch(/^HOSTNAME +ROLE +STATUS +AVAILABILITY +MANAGER STATUS +TASKS of shop$/);
    expect(lines[1]).toMatch(/^n1 +manager +ready +active +Leader +1 {2}db\.1$/);
    expect(lines[2]).toMatch(/^n2 +worker +ready +active +0$/);
    expect(lines[3]).toMatch(/^n3 +worker +ready +drain +1 {2}web\.1$/);
    expect(lines.at(-1)).toBe("manager: unix:///lab/n1/docker.sock");
  });

  it("says what to select on a stack elsewhere, and that it waits for the manager", () => {
    expect(nodesLines("local", undefined, false, plain)[0]).toMatch(/select a stack on the swarm engine/);
    expect(nodesLines("shop", undefined, true, plain)[0]).toMatch(/asking its manager/);
  });
});

describe("the swarm keys", () => {
  const rows = shop().rows(opts());
  const web = rows.find((r) => r.kind === "service" && r.service === "web");
  const webTask = rows.find((r) => r.kind === "task" && r.t.name === "shop_web.2");
  const local = rows.find((r) => r.kind === "service" && r.service === "app");

  it("are bound: = scale, F update --force, R rollback, 5 nodes", () => {
    expect(["=", "F", "R", "5"].map((k) => commandOf(k, k))).toEqual(["scaleTo", "forceUpdate", "rollback", "viewNodes"]);
  });

  it("F, R and = on a service (or one of its tasks) ask first, then post to its route", () => {
    expect(swarmRequest("update", web)).toEqual({ label: "update --force shop/web", path: "/stacks/shop/services/web/update", body: undefined, confirm: "update --force shop/web: replace every task of it?" });
    expect(swarmRequest("rollback", webTask)).toMatchObject({ path: "/stacks/shop/services/web/rollback", confirm: "rollback shop/web to its previous spec?" });
    expect(swarmRequest("scale", web, 3)).toMatchObject({ label: "scale shop/web=3", path: "/stacks/shop/services/web/scale", body: { replicas: 3 }, confirm: "scale shop/web from 2 to 3 replicas?" });
    // What the TUI sends passes the daemon's schema.
    const req = swarmRequest("scale", web, 0);
    expect("body" in req && checkRequest("SwarmScaleRequest", JSON.parse(JSON.stringify(req.body)))).toEqual({ replicas: 0 });
  });

  it("refuse rows that are no swarm service, and numbers that are no replica count", () => {
    expect(swarmRequest("update", local)).toEqual({ error: "update --force: select a service (or a task) of a stack on the swarm engine" });
    expect(swarmRequest("rollback", rows[0])).toHaveProperty("error");
    expect(swarmRequest("scale", web, -1)).toHaveProperty("error");
    expect(["3", " 12 ", "0"].map(replicasOf)).toEqual([3, 12, 0]);
    expect(["", "x", "-1", "2.5", "1e3"].map(replicasOf)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(() => checkRequest("SwarmScaleRequest", { replicas: 1.5 })).toThrow(/replicas must be integer/);
  });

  it("the footer shows them on a swarm row, the container keys elsewhere", () => {
    const none = { prompt: undefined, confirm: undefined, message: undefined, now: T0 };
    const onSwarm = footerText(200, { ...none, swarm: true }, plain);
    expect(onSwarm).toMatch(/= scale {2}F update --force {2}R rollback {2}5 nodes/);
    expect(onSwarm).not.toContain("start/stop");
    const elsewhere = footerText(200, none, plain);
    expect(elsewhere).toContain("s start/stop");
    expect(elsewhere).not.toContain("rollback");
  });
});
