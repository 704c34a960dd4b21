// apply's own logic on the FakeEngine (engine/testsuite/fake-engine.ts, held to
// the embedded engine's behaviour by the Engine conformance suite): which
// actions share the bounded slots, a failure failing its dependants and not
// the rest, and depends_on's wait conditions. The real engine under apply is
// exercised by the e2e suites.
import { afterEach, describe, expect, it } from "vitest";
import { FakeEngine } from "../engine/testsuite/fake-engine.js";
import { EngineError } from "../engine/types.js";
import type { ContainerSpec } from "../engine/types.js";
import type { DependsOnSpec, ServiceSpec, StackSpec } from "../model/stack.js";
import { apply } from "./apply.js";
import type { HealthSource, ProgressEvent } from "./apply.js";
import { LABEL } from "../model/labels.js";
import { observeStack } from "./observed.js";
import type { ObservedStack } from "./observed.js";
import { planDown, planUp } from "./plan.js";
import { service, stackOf } from "./testing.js";

// busybox sh as PID 1 ignores SIGTERM unless it traps it.
const SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];
const runs = (name: string, over: Partial<ServiceSpec> = {}): ServiceSpec => service(name, { command: SLEEPER, ...over });
const needs = (condition: DependsOnSpec["condition"]): DependsOnSpec => ({ condition, restart: false, required: true });

let engine: FakeEngine;
afterEach(async () => {
  await engine.close();
});

async function observe(stack: StackSpec): Promise<ObservedStack> {
  const images = (await engine.listImages()).flatMap((i) => i.repoTags);
  return observeStack(stack.name, await engine.listContainers({ all: true }), await engine.listNetworks(), await engine.listVolumes(), images);
}

/** The state of each service's first container in the fake, by service name (absent: never created). */
async function states(): Promise<Record<string, string>> {
  const list = await engine.listContainers({ all: true });
  return Object.fromEntries(list.map((c): [string, string] => [c.labels[LABEL.service] ?? c.name, c.state]));
}

async function up(stack: StackSpec, health?: HealthSource): Promise<{ result: Awaited<ReturnType<typeof apply>>; events: ProgressEvent[] }> {
  const events: ProgressEvent[] = [];
  const result = await apply(planUp(stack, await observe(stack)), { engine, stack, health, pollMs: 5, waitTimeoutMs: 10_000, onEvent: (e) => events.push(e) });
  return { result, events };
}

/** Counts the calls of a method in flight at once; each lasts a turn of the event loop so that concurrent ones overlap. */
function peakOf(method: "stopContainer" | "removeContainer"): { peak: number } {
  let inFlight = 0;
  const seen = { peak: 0 };
  engine.intercept(method, async (_args, next) => {
    seen.peak = Math.max(seen.peak, ++inFlight);
    try {
      await new Promise((r) => setImmediate(r));
      return await next();
    } finally {
      inFlight--;
    }
  });
  return seen;
}

const serviceOf = (args: unknown[]): string | undefined => (args[0] as ContainerSpec).labels[LABEL.service];

describe("apply's parallelism", () => {
  it("stops every container at once (each waits out its own grace), while removals share the bounded slots", async () => {
    engine = new FakeEngine();
    const stack = stackOf(Array.from({ length: 40 }, (_, i) => runs(`s${i}`)));
    expect((await up(stack)).result.ok).toBe(true);
    const stops = peakOf("stopContainer");
    const removals = peakOf("removeContainer");
    const result = await apply(planDown(stack, await observe(stack)), { engine, stack, parallelism: 4 });
    expect(result.ok).toBe(true);
    expect(stops.peak).toBe(40);
    expect(removals.peak).toBeLessThanOrEqual(4);
    expect(removals.peak).toBeGreaterThan(1);
    expect(await engine.listContainers({ all: true })).toEqual([]);
    expect(await engine.listNetworks()).toEqual([]);
  });
});

describe("apply's stop and remove", () => {
  it("take a container that is already gone as done, and still fail on other errors", async () => {
    engine = new FakeEngine();
    const stack = stackOf([runs("a"), runs("b")]);
    expect((await up(stack)).result.ok).toBe(true);
    const before = await observe(stack);
    // Someone else (a user's rm) removes them between the plan and its apply.
    for (const c of before.containers) await engine.removeContainer(c.id, { force: true });
    expect((await apply(planDown(stack, before), { engine, stack })).ok).toBe(true);

    expect((await up(stack)).result.ok).toBe(true);
    engine.intercept("removeContainer", () => Promise.reject(new EngineError("internal", "umount failed")));
    const result = await apply(planDown(stack, await observe(stack)), { engine, stack });
    expect(result.ok).toBe(false);
    expect(result.failed.map((f) => f.error)).toContain("umount failed");
  });
});

describe("apply's failure propagation", () => {
  it("a failed create fails what depends on it, not the independent services, and the error reaches the progress events", async () => {
    engine = new FakeEngine();
    const stack = stackOf([runs("db"), runs("web", { dependsOn: { db: needs("service_started") } }), runs("worker")]);
    engine.intercept("createContainer", (args, next) => (serviceOf(args) === "db" ? Promise.reject(new EngineError("internal", "no space for db")) : next()));
    const { result, events } = await up(stack);
    expect(result.ok).toBe(false);
    expect(result.failed.find((f) => f.id === "create:db:1")?.error).toBe("no space for db");
    expect(result.failed.find((f) => f.id === "start:web:1")?.error).toBe("dependency db failed: no space for db");
    expect(result.failed.map((f) => f.target)).not.toContain("worker-1");
    // web is created (creating waits for nothing) but never started; worker runs.
    expect(await states()).toEqual({ web: "created", worker: "running" });
    expect(events).toContainEqual(expect.objectContaining({ type: "action", id: "create:db:1", status: "failed", message: "no space for db" }));
    expect(events).toContainEqual(expect.objectContaining({ type: "action", id: "start:web:1", status: "skipped", message: "dependency db failed: no space for db" }));
    expect(events).toContainEqual(expect.objectContaining({ type: "action", id: "start:worker:1", status: "done" }));
  });

  it("a failed pull fails that service's containers only", async () => {
    engine = new FakeEngine({ catalogue: { busybox: {} } });
    const stack = stackOf([runs("web"), runs("cache", { image: "tscompose-test/absent:1" })]);
    const { result } = await up(stack);
    expect(result.ok).toBe(false);
    expect(result.failed.map((f) => f.target).sort()).toEqual(["cache-1", "cache-1", "tscompose-test/absent:1"]);
    expect(await states()).toEqual({ web: "running" });
  });
});

describe("apply's wait conditions", () => {
  it("service_completed_successfully: dependants start once the dependency exited 0", async () => {
    engine = new FakeEngine();
    const stack = stackOf([service("migrate", { command: ["sh", "-c", "echo migrated; exit 0"] }), runs("app", { dependsOn: { migrate: needs("service_completed_successfully") } })]);
    const { result } = await up(stack);
    expect(result.ok).toBe(true);
    expect(await states()).toEqual({ migrate: "exited", app: "running" });
  });

  it("service_completed_successfully: a dependency exiting non-zero fails its dependants, with its exit code", async () => {
    engine = new FakeEngine();
    const stack = stackOf([service("migrate", { command: ["sh", "-c", "exit 3"] }), runs("app", { dependsOn: { migrate: needs("service_completed_successfully") } }), runs("other")]);
    const { result, events } = await up(stack);
    expect(result.ok).toBe(false);
    const why = 'service "migrate" didn\'t complete successfully: exit 3';
    expect(result.failed.find((f) => f.id === "wait:migrate:service_completed_successfully")?.error).toBe(why);
    expect(result.failed.find((f) => f.id === "start:app:1")?.error).toBe(`dependency migrate failed: ${why}`);
    expect(events).toContainEqual(expect.objectContaining({ id: "wait:migrate:service_completed_successfully", status: "failed", message: why }));
    expect(await states()).toEqual({ migrate: "exited", app: "created", other: "running" });
  });

  it("service_healthy: dependants start only once the dependency is healthy", async () => {
    engine = new FakeEngine();
    const healthy = new Set<string>();
    const health: HealthSource = { health: (id) => (healthy.has(id) ? "healthy" : "starting") };
    const startedWhileHealthy: boolean[] = [];
    engine.intercept("startContainer", async ([id], next) => {
      const info = await engine.inspectContainer(id as string);
      if (info?.labels[LABEL.service] === "app") startedWhileHealthy.push(healthy.size > 0);
      const done = await next();
      // The health check passes a while after db started: apply must still be waiting then.
      if (info?.labels[LABEL.service] === "db") setTimeout(() => healthy.add(info.id), 50);
      return done;
    });
    const stack = stackOf([runs("db"), runs("app", { dependsOn: { db: needs("service_healthy") } })]);
    const { result } = await up(stack, health);
    expect(result.ok).toBe(true);
    expect(startedWhileHealthy).toEqual([true]);
    expect(await states()).toEqual({ db: "running", app: "running" });
  });

  it("service_healthy: an unhealthy dependency fails its dependants", async () => {
    engine = new FakeEngine();
    const health: HealthSource = { health: () => "unhealthy" };
    const stack = stackOf([runs("db"), runs("app", { dependsOn: { db: needs("service_healthy") } })]);
    const { result } = await up(stack, health);
    expect(result.ok).toBe(false);
    expect(result.failed.find((f) => f.id === "start:app:1")?.error).toMatch(/^dependency db failed: container app-db-1 is unhealthy$/);
    expect(await states()).toEqual({ db: "running", app: "created" });
  });

  it("service_healthy: a dependency that exits before it is healthy fails its dependants", async () => {
    engine = new FakeEngine();
    const health: HealthSource = { health: () => "starting" };
    const stack = stackOf([service("db", { command: ["sh", "-c", "exit 2"] }), runs("app", { dependsOn: { db: needs("service_healthy") } })]);
    const { result } = await up(stack, health);
    expect(result.ok).toBe(false);
    expect(result.failed.find((f) => f.id === "start:app:1")?.error).toBe("dependency db failed: container app-db-1 exited (2) before becoming healthy");
  });

  it("a dependency that is not required lets its dependants start even when it fails", async () => {
    engine = new FakeEngine();
    const stack = stackOf([service("migrate", { command: ["sh", "-c", "exit 3"] }), runs("app", { dependsOn: { migrate: { ...needs("service_completed_successfully"), required: false } } })]);
    const { result } = await up(stack);
    expect(result.ok).toBe(true);
    expect(await states()).toEqual({ migrate: "exited", app: "running" });
  });
});

describe("plan and apply together", () => {
  it("volumes and networks are made with their names and labels, compose's labels added", async () => {
    engine = new FakeEngine();
    const mount = { type: "volume" as const, source: "data", target: "/data", readOnly: false, bind: undefined, volume: { nocopy: false, subpath: undefined }, tmpfs: undefined, image: undefined, consistency: undefined };
    const base = stackOf([runs("db", { volumes: [mount] })]);
    const net = base.networks.default!;
    const stack: StackSpec = {
      ...base,
      networks: { default: { ...net, name: "edge", labels: { "com.example.net": "front" } } },
      volumes: { data: { name: "shared-data", driver: "local", driverOpts: {}, external: false, labels: { "com.example.backup": "daily" } } },
    };
    expect((await up(stack)).result.ok).toBe(true);
    const [network] = (await engine.listNetworks()).filter((n) => n.name === "edge");
    expect(network?.labels).toMatchObject({ "com.example.net": "front", [LABEL.project]: "app", [LABEL.network]: "default" });
    const volumes = await engine.listVolumes();
    expect(volumes.map((v) => v.name)).toEqual(["shared-data"]);
    expect(volumes[0]?.labels).toMatchObject({ "com.example.backup": "daily", [LABEL.project]: "app", [LABEL.volume]: "data" });
  });

  it("up converges: planning again after applying finds nothing to do, and down leaves nothing behind", async () => {
    engine = new FakeEngine();
    const stack = stackOf([
      runs("db", { volumes: [{ type: "volume", source: "data", target: "/data", readOnly: false, bind: undefined, volume: { nocopy: false, subpath: undefined }, tmpfs: undefined, image: undefined, consistency: undefined }] }),
      runs("web", { dependsOn: { db: needs("service_started") }, replicas: 2 }),
    ]);
    const withVolume: StackSpec = { ...stack, volumes: { data: { name: "app_data", driver: "local", driverOpts: {}, external: false, labels: {} } } };
    expect((await up(withVolume)).result.ok).toBe(true);
    expect((await engine.listContainers()).length).toBe(3);
    expect((await engine.listVolumes()).map((v) => v.name)).toEqual(["app_data"]);
    expect(planUp(withVolume, await observe(withVolume)).actions).toEqual([]);
    const down = await apply(planDown(withVolume, await observe(withVolume), { removeVolumes: true }), { engine, stack: withVolume });
    expect(down.ok).toBe(true);
    expect(await engine.listContainers({ all: true })).toEqual([]);
    expect(await engine.listNetworks()).toEqual([]);
    expect(await engine.listVolumes()).toEqual([]);
  });
});

describe("apply's stop timeout", () => {
  it("up -t: every stop of the plan (a recreate's) waits stopTimeoutMs instead of the service's stop_grace_period", async () => {
    engine = new FakeEngine();
    const stack = stackOf([runs("web", { stopGracePeriodMs: 600_000 })]);
    expect((await up(stack)).result.ok).toBe(true);
    const timeouts: unknown[] = [];
    engine.intercept("stopContainer", async (args, next) => {
      timeouts.push((args[1] as { timeoutMs?: number }).timeoutMs);
      return next();
    });
    const recreate = (stopTimeoutMs?: number) => apply(planUp(stack, observedNow, { forceRecreate: true }), { engine, stack, ...(stopTimeoutMs !== undefined ? { stopTimeoutMs } : {}) });
    let observedNow = await observe(stack);
    expect((await recreate(0)).ok).toBe(true);
    observedNow = await observe(stack);
    expect((await recreate()).ok).toBe(true);
    expect(timeouts).toEqual([0, 600_000]);
  });
});
