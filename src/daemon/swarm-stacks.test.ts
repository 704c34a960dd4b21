import { describe, expect, it } from "vitest";
import type { StackSpec } from "../../model/stack.js";
import type { TaskView } from "./api.js";
import type { SwarmNode, SwarmServiceInfo, SwarmTask } from "../../engine/swarm/deployer.js";
import { isSwarm, progressLines, scaledStack, swarmScale, swarmStackError, swarmStackView, swarmStatus } from "./swarm-stacks.js";
import { SWARM_STACK } from "./api.js";

const task = (state: string, desiredState = "running"): TaskView => ({ id: "t", name: "s_web.1", service: "web", image: "busybox", node: "n1", desiredState, state, error: "", since: "2026-01-01T00:00:00Z" });

describe("swarm stacks in the daemon", () => {
  it("routes a record's target: only kind swarm goes to the manager", () => {
    expect(isSwarm({ kind: "swarm", host: "unix:///m.sock" })).toBe(true);
    expect(isSwarm({ kind: "docker", host: "unix:///m.sock" })).toBe(false);
    expect(isSwarm({ kind: "embedded" })).toBe(false);
    expect(isSwarm(undefined)).toBe(false);
  });

  it("a container command on a swarm stack: an invalid error with SWARM_STACK, naming the engine", () => {
    const err = swarmStackError("shop") as Error & { code?: string; kind?: string };
    expect(err.code).toBe(SWARM_STACK);
    expect(err.kind).toBe("invalid");
    expect(err.message).toContain('project "shop" runs on the swarm engine');
  });

  it("--scale overrides the replicas of the services it names, and leaves the spec given alone", () => {
    const spec = { name: "s", services: { web: { name: "web", replicas: 1 }, db: { name: "db", replicas: 2 } } } as unknown as StackSpec;
    const scaled = scaledStack(spec, { web: 3 });
    expect(scaled.services.web?.replicas).toBe(3);
    expect(scaled.services.db?.replicas).toBe(2);
    expect(spec.services.web?.replicas).toBe(1);
    expect(scaledStack(spec, {})).toBe(spec);
  });

  it("the scale an up deploys: a plain up resets every kept scale (compose's up, stack deploy); an up naming services resets theirs, keeps the others'", () => {
    const kept = { web: 3, api: 2 };
    expect(swarmScale(kept, undefined, undefined)).toEqual({});
    expect(swarmScale(kept, [], { api: 4 })).toEqual({ api: 4 });
    // `scale api=5`: an up of api with --scale.
    expect(swarmScale(kept, ["api"], { api: 5 })).toEqual({ web: 3, api: 5 });
    // `up web`: web back to the file's count, api as scaled.
    expect(swarmScale(kept, ["web"], undefined)).toEqual({ api: 2 });
    expect(swarmScale(undefined, ["web"], { web: 2 })).toEqual({ web: 2 });
  });

  it("progress: a line per step; a service's waiting line only when its counts change", () => {
    const line = progressLines();
    expect(line({ kind: "service", service: "web", action: "created" })).toBe(" Service web  Created");
    expect(line({ kind: "config", name: "s_page-1a2b", action: "removed" })).toBe(" Config s_page-1a2b  Removed");
    const waiting = { kind: "waiting", service: "web", running: 1, wanted: 2, completed: 0, error: undefined } as const;
    expect(line(waiting)).toBe(" Service web  Waiting 1/2 running");
    expect(line(waiting)).toBeUndefined();
    expect(line({ ...waiting, running: 2 })).toBe(" Service web  Waiting 2/2 running");
    expect(line({ kind: "converged", service: "web" })).toBe(" Service web  Converged");
  });

  it("ls counts the tasks that should run, by state; shut-down history is left out", () => {
    expect(swarmStatus([task("running"), task("running"), task("starting"), task("failed", "shutdown")])).toEqual({ status: "running(2), starting(1)", running: 2, total: 3 });
    expect(swarmStatus([])).toEqual({ status: "empty", running: 0, total: 0 });
  });

  it("the TUI's view: each service with its own tasks, each node with the stack's tasks that should run on it", () => {
    const svc = (service: string, over: Partial<SwarmServiceInfo> = {}): SwarmServiceInfo => ({ id: `id-${service}`, name: `s_${service}`, service, mode: "replicated", running: 2, wanted: 2, image: "busybox", ports: [], version: 7, updateState: undefined, ...over });
    const t = (name: string, node: string | undefined, over: Partial<SwarmTask> = {}): SwarmTask => ({ id: `t-${name}-${node ?? ""}`, name: `s_${name}`, service: name.split(".")[0] as string, slot: Number(name.split(".")[1]), image: "busybox", node, desiredState: "running", state: "running", error: undefined, since: "2026-01-01T00:00:00Z", ...over });
    const node = (hostname: string, role: SwarmNode["role"]): SwarmNode => ({ id: `n-${hostname}`, hostname, role, availability: "active", status: "ready", managerStatus: role === "manager" ? "Leader" : "", address: "10.77.0.1" });
    const view = swarmStackView(
      "unix:///m.sock",
      [svc("db", { running: 1, wanted: 1, updateState: "rollback_completed" }), svc("web")],
      [t("db.1", "n1"), t("web.1", "n2"), t("web.1", "n3", { desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)" }), t("web.2", "n3"), t("web.3", undefined, { state: "pending" })],
      [node("n1", "manager"), node("n2", "worker"), node("n3", "worker")],
    );
    expect(view.manager).toBe("unix:///m.sock");
    expect(view.services.map((s) => [s.service, s.desired, s.updateState, s.tasks.map((x) => `${x.name}@${x.node}`)])).toEqual([
      ["db", 1, "rollback_completed", ["s_db.1@n1"]],
      ["web", 2, "", ["s_web.1@n2", "s_web.1@n3", "s_web.2@n3", "s_web.3@"]],
    ]);
    expect(view.services[1]?.tasks[1]).toMatchObject({ desiredState: "shutdown", state: "failed", error: "task: non-zero exit (1)", slot: 1 });
    // The failed task shut down on n3 is history: n3 runs web.2 only; the pending one has no node yet.
    expect(view.nodes.map((n) => [n.hostname, n.role, n.managerStatus, n.tasks])).toEqual([
      ["n1", "manager", "Leader", ["s_db.1"]],
      ["n2", "worker", "", ["s_web.1"]],
      ["n3", "worker", "", ["s_web.2"]],
    ]);
  });
});
