// The view model: snapshots and events in, rows and totals out.
import { describe, expect, it } from "vitest";
import type { ContainerStats } from "../daemon/api.js";
import type { ContainerView, DaemonEvent, StackDetail } from "../daemon/api.js";
import { ViewModel, cpuPercent } from "./model.js";
import type { ContainerRow, Row, ViewOptions } from "./model.js";
import { layout, plainRowLine } from "./format.js";
import { T0, container } from "./testing.js";

function detail(name: string, services: Record<string, number>, restart: Record<string, string> = {}): StackDetail {
  return {
    name,
    project: { files: [`/srv/${name}/compose.yaml`], envFiles: [], profiles: [], env: {}, cwd: `/srv/${name}` },
    options: {},
    services: Object.entries(services).map(([s, desired]) => ({ name: s, desired, scheduled: false, image: "busybox", configHash: "h", config: { image: "busybox", restart: restart[s] ?? "always" } })),
  };
}

const opts = (o: Partial<ViewOptions> = {}): ViewOptions => ({ sort: "name", filter: "", collapsed: new Set(), ...o });

function ev(c: ContainerView, action: string, extra: Record<string, unknown> = {}): DaemonEvent {
  return { type: "container", action, id: c.id, name: c.name, labels: c.labels, time: T0 + 5000, ...extra } as DaemonEvent;
}

const names = (rows: Row[]): string[] => rows.map((r) => (r.kind === "stack" ? r.stack : r.kind === "service" ? `  ${r.service}` : r.kind === "task" ? `    ${r.t.name}` : `    ${r.c.name}`));
const byName = (rows: Row[], name: string): ContainerRow => rows.find((r): r is ContainerRow => r.kind === "container" && r.c.name === name) as ContainerRow;

describe("ViewModel", () => {
  it("groups stacks -> services -> containers, with running/desired per stack and service", () => {
    const m = new ViewModel();
    m.applyDetail(detail("web", { app: 2, db: 1 }));
    m.applySnapshot([container("web", "app", 1), container("web", "app", 2, { state: "exited", exitCode: 1 }), container("web", "db", 1), container("ops", "cron", 1)]);
    const rows = m.rows(opts());
    expect(names(rows)).toEqual(["ops", "  cron", "    ops-cron-1", "web", "  app", "    web-app-1", "    web-app-2", "  db", "    web-db-1"]);
    const web = rows.find((r) => r.kind === "stack" && r.stack === "web");
    expect(web).toMatchObject({ running: 2, desired: 3, total: 3 });
    const app = rows.find((r) => r.kind === "service" && r.service === "app");
    expect(app).toMatchObject({ running: 1, desired: 2 });
    expect(m.totals()).toEqual({ stacks: 2, running: 3, desired: 4, containers: 4, unhealthy: 0 });
  });

  it("follows a container through events: restarting, running, paused, exited with its code, removed", () => {
    const m = new ViewModel();
    const c = container("s", "api", 1);
    m.applySnapshot([c]);
    m.applyEvent(ev(c, "die", { exitCode: 3 }));
    expect(byName(m.rows(opts()), "s-api-1").c).toMatchObject({ state: "exited", exitCode: 3 });
    expect([...m.stale]).toEqual([c.id]); // the supervisor may have marked it restarting: read it again
    m.applyContainer(c.id, { ...c, state: "restarting", restartCount: 1 });
    expect(byName(m.rows(opts()), "s-api-1").c).toMatchObject({ state: "restarting", restartCount: 1 });
    m.applyEvent(ev(c, "start"));
    expect(byName(m.rows(opts()), "s-api-1").c.state).toBe("running");
    m.applyEvent(ev(c, "pause"));
    expect(byName(m.rows(opts()), "s-api-1").c.state).toBe("paused");
    m.applyEvent(ev(c, "unpause"));
    m.applyEvent(ev(c, "health_status", { status: "unhealthy", labels: {} }));
    expect(byName(m.rows(opts()), "s-api-1").c.health).toBe("unhealthy");
    expect(m.totals().unhealthy).toBe(1);
    m.applyEvent(ev(c, "destroy"));
    expect(m.rows(opts()).filter((r) => r.kind === "container")).toEqual([]);
    expect(m.historyOf(undefined).map((h) => h.text)).toEqual(["exited with code 3", "started", "paused", "unpaused", "health: unhealthy", "removed"]);
  });

  it("adds a container created by an event at once and asks for a snapshot to complete it", () => {
    const m = new ViewModel();
    m.applySnapshot([]);
    const c = container("s", "w", 2);
    m.applyEvent(ev(c, "create"));
    expect(byName(m.rows(opts()), "s-w-2").c.state).toBe("created");
    expect(m.needsSnapshot).toBe(true);
  });

  it("derives CPU % from two samples and shows memory of running containers only", () => {
    const m = new ViewModel();
    const a = container("s", "a", 1);
    const b = container("s", "b", 1, { state: "exited", exitCode: 0 });
    m.applySnapshot([a, b]);
    const sample = (cpu: number, sys: number): ContainerStats => ({ time: 0, cpuUsageNs: cpu, systemUsageNs: sys, onlineCpus: 2, memoryUsage: 10 << 20, memoryLimit: 64 << 20, pids: 1, blockRead: 0, blockWrite: 0, netRx: 0, netTx: 0 });
    m.applyStats([{ id: a.id, stats: sample(0, 0) }]);
    expect(byName(m.rows(opts()), "s-a-1").cpu).toBeUndefined();
    m.applyStats([{ id: a.id, stats: sample(250, 1000) }]);
    const row = byName(m.rows(opts()), "s-a-1");
    expect(row.cpu).toBeCloseTo(50);
    expect(row.memUsage).toBe(10 << 20);
    expect(byName(m.rows(opts()), "s-b-1").memUsage).toBeUndefined();
    expect(cpuPercent(sample(100, 100), undefined)).toBeUndefined();
  });

  it("filters by any part of a name, keeping the rows above a match", () => {
    const m = new ViewModel();
    m.applySnapshot([container("shop", "web", 1), container("shop", "worker", 1), container("blog", "app", 1, { state: "exited", exitCode: 2 })]);
    expect(names(m.rows(opts({ filter: "WORK" })))).toEqual(["shop", "  worker", "    shop-worker-1"]);
    expect(names(m.rows(opts({ filter: "exited" })))).toEqual(["blog", "  app", "    blog-app-1"]);
    expect(names(m.rows(opts({ filter: "blog" })))).toEqual(["blog", "  app", "    blog-app-1"]);
    expect(m.rows(opts({ filter: "nothing-like-it" }))).toEqual([]);
  });

  it("sorts by state worst first, and by restarts, across stacks", () => {
    const m = new ViewModel();
    m.applySnapshot([
      container("a", "ok", 1),
      container("b", "bad", 1, { state: "restarting", restartCount: 5 }),
      container("c", "done", 1, { state: "exited", exitCode: 0 }),
      container("c", "crashed", 1, { state: "exited", exitCode: 137, restartCount: 1 }),
    ]);
    expect(names(m.rows(opts({ sort: "state" }))).filter((n) => n.startsWith("    "))).toEqual(["    b-bad-1", "    c-crashed-1", "    c-done-1", "    a-ok-1"]);
    expect(names(m.rows(opts({ sort: "restarts" })))[0]).toBe("b");
  });

  it("collapses stacks and services", () => {
    const m = new ViewModel();
    m.applySnapshot([container("s", "a", 1), container("s", "b", 1)]);
    expect(names(m.rows(opts({ collapsed: new Set(["v:s/a"]) })))).toEqual(["s", "  a", "  b", "    s-b-1"]);
    expect(names(m.rows(opts({ collapsed: new Set(["s:s"]) })))).toEqual(["s"]);
  });

  it("remembers a stack taken down, as down, so that it can be brought up again", () => {
    const m = new ViewModel();
    m.applyDetail(detail("s", { a: 1 }));
    m.applySnapshot([container("s", "a", 1)], [{ name: "s", status: "running(1)", configFiles: [], running: 1, total: 1, watching: false, engine: "embedded" }]);
    m.applySnapshot([], []);
    expect(m.rows(opts())[0]).toMatchObject({ kind: "stack", stack: "s", down: true, running: 0 });
  });

  it("says on each stack's row which engine it runs on", () => {
    const m = new ViewModel();
    const summary = (name: string, engine: string) => ({ name, status: "running(1)", configFiles: [], running: 1, total: 1, watching: false, engine });
    m.applySnapshot([container("a", "x", 1), container("b", "y", 1)], [summary("a", "embedded"), summary("b", "docker")]);
    const stackRows = m.rows(opts()).filter((r) => r.kind === "stack");
    expect(stackRows.map((r) => plainRowLine(layout(120), r, T0))).toEqual([expect.stringContaining("engine: embedded"), expect.stringContaining("engine: docker")]);
  });

  it("counts a one-shot that exited 0 with restart no as done, not as missing", () => {
    const m = new ViewModel();
    m.applyDetail(detail("t", { once: 1 }, { once: "no" }));
    m.applySnapshot([container("t", "once", 1, { state: "exited", exitCode: 0 })]);
    expect(m.rows(opts())[0]).toMatchObject({ running: 0, desired: 0 });
  });

  it("shows cron runs and stack events in the history of their stack and service", () => {
    const m = new ViewModel();
    m.applySnapshot([container("s", "a", 1)]);
    m.applyEvent({ type: "stack", action: "reload", project: "s", message: "changed: a", time: T0 });
    m.applyEvent({
      type: "job",
      action: "finish",
      project: "s",
      service: "backup",
      time: T0,
      run: { id: "20250101T000000Z", tick: "", status: "failed", container: "s-backup-x", containerId: undefined, startedAt: undefined, finishedAt: undefined, exitCode: 2, reason: undefined, log: undefined },
    });
    const stack = m.rows(opts())[0];
    expect(m.historyOf(stack).map((h) => h.text)).toEqual(["stack reload: changed: a", "cron run 20250101T000000Z failed (exit 2)"]);
  });

  it("renders a row that fits 80 columns", () => {
    const m = new ViewModel();
    m.applySnapshot([container("shop", "web", 1, { state: "exited", exitCode: 137, restartCount: 3 })]);
    const row = byName(m.rows(opts()), "shop-web-1");
    const l = layout(79);
    const line = plainRowLine(l, row, T0 + 60_000);
    expect(line.length).toBeLessThanOrEqual(79);
    expect(line).toMatch(/shop-web-1 +exited \(137\) +3/);
  });
});
