import { describe, expect, it } from "vitest";
import type { StackSpec } from "../../model/stack.js";
import type { TaskView } from "./api.js";
import { isSwarm, progressLines, scaledStack, swarmStackError, swarmStatus } from "./swarm-stacks.js";
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
});
