import { describe, expect, it } from "vitest";
import type { StackSpec } from "../model/stack.js";
import type { ObservedStack } from "./observed.js";
import { planDown, planUp, topological } from "./plan.js";
import type { Action, UpOptions } from "./plan.js";
import { attachment, container, observed, service, simulate, stackOf } from "./testing.js";

/** Compact, order-free description of a plan: "kind target" strings. */
function summary(actions: Action[]): string[] {
  return actions
    .map((a) => {
      switch (a.kind) {
        case "pull":
          return `pull ${a.image}`;
        case "create-network":
          return `network ${a.network}`;
        case "create-volume":
          return `volume ${a.volume}`;
        case "create":
        case "start":
          return `${a.kind} ${a.service}-${a.number}`;
        case "wait":
          return `wait ${a.service} ${a.condition}`;
        case "build":
          return `build ${a.service}`;
        case "remove-network":
          return `remove-network ${a.network}`;
        case "remove-volume":
          return `remove-volume ${a.volume}`;
        case "remove-image":
          return `remove-image ${a.image}`;
        default:
          return `${a.kind} ${a.name}`;
      }
    })
    .sort();
}

const web = service("web", { dependsOn: { db: { condition: "service_healthy", required: true, restart: false } } });
const db = service("db", { image: "postgres" });
const twoTier = stackOf([web, db]);
const converged = observed({
  networks: ["app_default"],
  images: ["busybox", "postgres"],
  containers: [container("web", 1), container("db", 1)],
});

interface Case {
  name: string;
  stack: StackSpec;
  observed: ObservedStack;
  opts?: UpOptions;
  want: string[];
  warnings?: RegExp;
}

const cases: Case[] = [
  {
    name: "empty machine: everything is pulled, created and started",
    stack: twoTier,
    observed: observed(),
    want: ["create db-1", "create web-1", "network default", "pull busybox", "pull postgres", "start db-1", "start web-1", "wait db service_healthy"],
  },
  { name: "converged stack: nothing to do", stack: twoTier, observed: converged, want: [] },
  {
    name: "images present: no pulls with the missing policy",
    stack: twoTier,
    observed: observed({ networks: ["app_default"], images: ["busybox", "postgres"] }),
    want: ["create db-1", "create web-1", "start db-1", "start web-1", "wait db service_healthy"],
  },
  {
    name: "pull always pulls even present images",
    stack: twoTier,
    observed: observed({ networks: ["app_default"], images: ["busybox", "postgres"] }),
    opts: { pull: "always" },
    want: ["create db-1", "create web-1", "pull busybox", "pull postgres", "start db-1", "start web-1", "wait db service_healthy"],
  },
  {
    name: "pull_policy daily: creating, pulls again only the image pulled more than a day ago",
    stack: stackOf([service("web", { pullPolicy: "daily" }), service("db", { image: "postgres", pullPolicy: "daily" })]),
    observed: {
      ...observed({ networks: ["app_default"], images: ["busybox", "postgres"] }),
      imagePulledAt: { busybox: Date.parse("2026-01-09T11:00:00Z"), postgres: Date.parse("2026-01-09T13:00:00Z") },
      observedAtMs: Date.parse("2026-01-10T12:00:00Z"),
    },
    want: ["create db-1", "create web-1", "pull busybox", "start db-1", "start web-1"],
  },
  {
    name: "image volumes: their images are pulled before the create, per the service's pull_policy",
    stack: stackOf([
      service("web", {
        volumes: ["tools:1", "busybox", "docs:2"].map((source) => ({
          type: "image" as const, source, target: `/${source}`, readOnly: false, bind: undefined, volume: undefined, tmpfs: undefined, image: { subpath: undefined }, consistency: undefined,
        })),
      }),
    ]),
    observed: observed({ networks: ["app_default"], images: ["docs:2"] }),
    want: ["create web-1", "pull busybox", "pull tools:1", "start web-1"],
  },
  {
    name: "a changed config hash recreates that service only; its dependants stay",
    stack: stackOf([web, { ...db, configHash: "hash-db-v2" }]),
    observed: converged,
    want: ["create db-1", "remove app-db-1", "start db-1", "stop app-db-1"],
  },
  {
    name: "--no-recreate keeps a changed container",
    stack: stackOf([web, { ...db, configHash: "hash-db-v2" }]),
    observed: converged,
    opts: { noRecreate: true },
    want: [],
  },
  {
    name: "--force-recreate recreates everything, web waiting for the new db",
    stack: twoTier,
    observed: converged,
    opts: { forceRecreate: true },
    want: ["create db-1", "create web-1", "remove app-db-1", "remove app-web-1", "start db-1", "start web-1", "stop app-db-1", "stop app-web-1", "wait db service_healthy"],
  },
  {
    name: "--force-recreate web recreates web only, as compose: its dependency follows only --always-recreate-deps",
    stack: twoTier,
    observed: converged,
    opts: { services: ["web"], forceRecreate: true },
    want: ["create web-1", "remove app-web-1", "start web-1", "stop app-web-1", "wait db service_healthy"],
  },
  {
    name: "--always-recreate-deps web recreates db, and web only when it changed (it did not)",
    stack: twoTier,
    observed: converged,
    opts: { services: ["web"], alwaysRecreateDeps: true },
    want: ["create db-1", "remove app-db-1", "start db-1", "stop app-db-1"],
  },
  {
    name: "--always-recreate-deps with --force-recreate web recreates both, web waiting for the new db",
    stack: twoTier,
    observed: converged,
    opts: { services: ["web"], alwaysRecreateDeps: true, forceRecreate: true },
    want: ["create db-1", "create web-1", "remove app-db-1", "remove app-web-1", "start db-1", "start web-1", "stop app-db-1", "stop app-web-1", "wait db service_healthy"],
  },
  {
    name: "scale up adds the missing numbers",
    stack: stackOf([service("worker", { replicas: 3 })]),
    observed: observed({ networks: ["app_default"], images: ["busybox"], containers: [container("worker", 1)] }),
    want: ["create worker-2", "create worker-3", "start worker-2", "start worker-3"],
  },
  {
    name: "scale down removes the highest numbers",
    stack: stackOf([service("worker", { replicas: 1 })]),
    observed: observed({ networks: ["app_default"], images: ["busybox"], containers: [1, 2, 3].map((n) => container("worker", n)) }),
    want: ["remove app-worker-2", "remove app-worker-3", "stop app-worker-2", "stop app-worker-3"],
  },
  {
    name: "--scale overrides the stack",
    stack: stackOf([service("worker", { replicas: 1 })]),
    observed: observed({ networks: ["app_default"], images: ["busybox"], containers: [container("worker", 1)] }),
    opts: { scale: { worker: 2 } },
    want: ["create worker-2", "start worker-2"],
  },
  {
    name: "up starts stopped containers but not a one-shot that completed",
    stack: stackOf([service("api", { restart: "always" }), service("migrate")]),
    observed: observed({
      networks: ["app_default"],
      images: ["busybox"],
      containers: [container("api", 1, { state: "exited", exitCode: 137 }), container("migrate", 1, { state: "exited", exitCode: 0 })],
    }),
    opts: { startStopped: true },
    want: ["start api-1"],
  },
  {
    // A kill -9 of the daemon between the stop and the removal of a recreate leaves a server that exits 0 on SIGTERM so.
    name: "up starts a container that exited 0 because a stop asked it to",
    stack: stackOf([service("web")]),
    observed: observed({ networks: ["app_default"], images: ["busybox"], containers: [container("web", 1, { state: "exited", exitCode: 0, stopRequested: true })] }),
    opts: { startStopped: true },
    want: ["start web-1"],
  },
  {
    name: "the daemon's resync leaves stopped containers to the restart policy",
    stack: stackOf([service("api", { restart: "always" })]),
    observed: observed({ networks: ["app_default"], images: ["busybox"], containers: [container("api", 1, { state: "exited", exitCode: 1 })] }),
    want: [],
  },
  {
    name: "a container created but never started (an up cut off) is started even by the resync",
    stack: stackOf([service("api")]),
    observed: observed({ networks: ["app_default"], images: ["busybox"], containers: [container("api", 1, { state: "created" })] }),
    want: ["start api-1"],
  },
  {
    name: "a dead container is recreated",
    stack: stackOf([service("api")]),
    observed: observed({ networks: ["app_default"], images: ["busybox"], containers: [container("api", 1, { state: "dead" })] }),
    want: ["create api-1", "remove app-api-1", "start api-1"],
  },
  {
    name: "orphans are kept with a warning",
    stack: twoTier,
    observed: { ...converged, containers: [...converged.containers, container("old", 1)] },
    want: [],
    warnings: /Found orphan containers \(\[app-old-1\]\).*--remove-orphans/,
  },
  {
    name: "orphans are removed when asked",
    stack: twoTier,
    observed: { ...converged, containers: [...converged.containers, container("old", 1)] },
    opts: { removeOrphans: true },
    want: ["remove app-old-1", "stop app-old-1"],
  },
  {
    name: "selecting a service brings its dependencies",
    stack: stackOf([web, db, service("other")]),
    observed: observed({ networks: ["app_default"], images: ["busybox", "postgres"] }),
    opts: { services: ["web"] },
    want: ["create db-1", "create web-1", "start db-1", "start web-1", "wait db service_healthy"],
  },
  {
    name: "--no-deps starts only the selected service",
    stack: stackOf([web, db]),
    observed: observed({ networks: ["app_default"], images: ["busybox", "postgres"] }),
    opts: { services: ["web"], noDeps: true },
    want: ["create web-1", "start web-1"],
  },
  {
    name: "a service sharing a recreated service's network namespace is recreated too",
    stack: stackOf([service("app", { configHash: "v2" }), service("sidecar", { networkMode: "service:app", networks: {} })]),
    observed: observed({ networks: ["app_default"], images: ["busybox"], containers: [container("app", 1), container("sidecar", 1)] }),
    want: ["create app-1", "create sidecar-1", "remove app-app-1", "remove app-sidecar-1", "start app-1", "start sidecar-1", "stop app-app-1", "stop app-sidecar-1", "wait app service_started"],
  },
  {
    name: "depends_on restart: true restarts the dependant when its dependency is recreated",
    stack: stackOf([
      service("db", { configHash: "v2" }),
      service("api", { dependsOn: { db: { condition: "service_started", required: true, restart: true } } }),
    ]),
    observed: observed({ networks: ["app_default"], images: ["busybox"], containers: [container("db", 1), container("api", 1)] }),
    want: ["create db-1", "remove app-db-1", "restart app-api-1", "start db-1", "stop app-db-1", "wait db service_started"],
  },
  {
    name: "a scheduled service gets no container from up, only its image",
    stack: stackOf([service("api"), service("backup", { image: "restic", supervision: { restartOnUnhealthy: false, readiness: undefined, schedule: { cron: "0 3 * * *", timezone: undefined, overlap: "skip", history: 10 } } })]),
    observed: observed({ networks: ["app_default"], images: ["busybox"] }),
    want: ["create api-1", "pull restic", "start api-1"],
  },
  {
    name: "a service that became scheduled loses its long-running container; its job containers are left to the scheduler",
    stack: stackOf([service("backup", { supervision: { restartOnUnhealthy: false, readiness: undefined, schedule: { cron: "* * * * *", timezone: undefined, overlap: "skip", history: 10 } } })]),
    observed: observed({ networks: ["app_default"], images: ["busybox"], containers: [container("backup", 1), container("backup", 2, { oneoff: true, name: "app-backup-job-1" })] }),
    want: ["remove app-backup-1", "stop app-backup-1"],
  },
  {
    name: "nothing waits for a scheduled dependency",
    stack: stackOf([
      service("api", { dependsOn: { seed: { condition: "service_completed_successfully", required: true, restart: false } } }),
      service("seed", { supervision: { restartOnUnhealthy: false, readiness: undefined, schedule: { cron: "* * * * *", timezone: undefined, overlap: "skip", history: 10 } } }),
    ]),
    observed: observed({ networks: ["app_default"], images: ["busybox"] }),
    want: ["create api-1", "start api-1"],
  },
];

const noStartCases: Case[] = [
  {
    name: "create (noStart) on an empty machine: pulled and created, nothing started or waited for",
    stack: twoTier,
    observed: observed(),
    opts: { noStart: true },
    want: ["create db-1", "create web-1", "network default", "pull busybox", "pull postgres"],
  },
  {
    name: "create (noStart) of a changed service: recreated, not started; its dependant is not restarted",
    stack: stackOf([service("web", { dependsOn: { db: { condition: "service_started", required: true, restart: true } } }), { ...db, configHash: "v2" }]),
    observed: converged,
    opts: { noStart: true },
    want: ["create db-1", "remove app-db-1", "stop app-db-1"],
  },
  {
    name: "create (noStart) leaves stopped containers stopped",
    stack: twoTier,
    observed: observed({ ...converged, containers: [container("web", 1, { state: "exited" }), container("db", 1, { state: "created" })] }),
    opts: { noStart: true, startStopped: true },
    want: [],
  },
];

describe("planUp without starting (create)", () => {
  for (const c of noStartCases) {
    it(c.name, () => {
      expect(summary(planUp(c.stack, c.observed, c.opts).actions)).toEqual([...c.want].sort());
    });
  }

  it("up after create only starts what create made", () => {
    const created = simulate(twoTier, observed(), planUp(twoTier, observed(), { noStart: true }));
    expect(summary(planUp(twoTier, created, { startStopped: true }).actions)).toEqual(["start db-1", "start web-1", "wait db service_healthy"]);
  });
});

describe("topological", () => {
  it("orders every action after what it waits for, in the planner's order otherwise", () => {
    const plan = planUp(twoTier, observed());
    const order = topological(plan).map((a) => a.id);
    expect(order).toHaveLength(plan.actions.length);
    for (const a of plan.actions) for (const d of a.after) expect(order.indexOf(d)).toBeLessThan(order.indexOf(a.id));
  });

  it("refuses a cycle", () => {
    const a = { kind: "wait" as const, id: "a", after: ["b"], service: "x", condition: "service_started" as const, required: true };
    expect(() => topological({ actions: [a, { ...a, id: "b", after: ["a"] }], warnings: [], errors: [] })).toThrow(/cycle/);
  });
});

describe("planUp", () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = planUp(c.stack, c.observed, c.opts);
      expect(summary(plan.actions)).toEqual([...c.want].sort());
      if (c.warnings) expect(plan.warnings.join("\n")).toMatch(c.warnings);
      else expect(plan.warnings).toEqual([]);
    });

    it(`${c.name}: planning again after applying yields nothing`, () => {
      const plan = planUp(c.stack, c.observed, c.opts);
      const after = simulate(c.stack, c.observed, plan);
      const again = planUp(c.stack, after, { ...c.opts, forceRecreate: false, alwaysRecreateDeps: false, pull: c.opts?.pull === "always" ? "missing" : c.opts?.pull });
      expect(summary(again.actions)).toEqual([]);
    });
  }

  it("starts web only after db's health wait, which follows db's start", () => {
    const plan = planUp(twoTier, observed());
    const byId = new Map(plan.actions.map((a) => [a.id, a]));
    const startWeb = byId.get("start:web:1")!;
    expect(startWeb.after).toContain("wait:db:service_healthy");
    expect(byId.get("wait:db:service_healthy")!.after).toEqual(["start:db:1"]);
    const order = topological(plan).map((a) => a.id);
    expect(order.indexOf("start:db:1")).toBeLessThan(order.indexOf("start:web:1"));
    // Creating does not wait for dependencies: both containers are created in the first wave.
    expect(byId.get("create:web:1")!.after.some((d) => d.startsWith("wait:"))).toBe(false);
  });

  it("volumes_from: the service is created after the service whose mounts it takes, and started after it", () => {
    const plan = planUp(stackOf([service("user", { volumesFrom: ["data:ro"] }), service("data")]), observed());
    const byId = new Map(plan.actions.map((a) => [a.id, a]));
    expect(byId.get("create:user:1")!.after).toContain("create:data:1");
    expect(byId.get("start:user:1")!.after).toContain("wait:data:service_started");
    expect(byId.get("create:data:1")!.after).not.toContain("create:user:1");
  });

  it("a service that asks for no address is created after those that ask for a static one on its network (pihole's sample), never into a cycle", () => {
    const att = (ipv4Address?: string) => ({ default: attachment({ ipv4Address }) });
    const stack = stackOf([service("pihole", { networks: att() }), service("cloudflared", { networks: att("172.20.0.2") }), service("other", { networks: att("172.20.0.3") })]);
    const byId = new Map(planUp(stack, observed()).actions.map((a) => [a.id, a]));
    expect(byId.get("create:pihole:1")!.after).toEqual(expect.arrayContaining(["create:cloudflared:1", "create:other:1"]));
    // Services with static addresses do not wait for each other (distinct addresses cannot collide).
    expect(byId.get("create:cloudflared:1")!.after.some((d) => d.startsWith("create:"))).toBe(false);
    // volumes_from the other way would close a cycle: that order wins, the plan still sorts.
    const reverse = stackOf([service("pihole", { networks: att() }), service("cloudflared", { networks: att("172.20.0.2"), volumesFrom: ["pihole"] })]);
    const plan = planUp(reverse, observed());
    expect(plan.actions.find((a) => a.id === "create:pihole:1")!.after).not.toContain("create:cloudflared:1");
    expect(() => topological(plan)).not.toThrow();
  });

  it("a service joining another's pid or ipc namespace is created after that one started, and recreated with it", () => {
    const stack = stackOf([service("main"), service("joiner", { pid: "service:main", ipc: "service:main" })]);
    const byId = new Map(planUp(stack, observed()).actions.map((a) => [a.id, a]));
    expect(byId.get("create:joiner:1")!.after).toContain("wait:main:service_started");
    expect(byId.get("wait:main:service_started")!.after).toEqual(["start:main:1"]);

    const changed = stackOf([service("main", { configHash: "v2" }), service("joiner", { ipc: "service:main" })]);
    const recreate = planUp(changed, observed({ networks: ["app_default"], images: ["busybox"], containers: [container("main", 1), container("joiner", 1)] }));
    expect(recreate.actions.map((a) => a.id)).toContain("create:joiner:1");
  });

  it("a recreated container is removed before its replacement is created (the name is reused)", () => {
    const plan = planUp(stackOf([web, { ...db, configHash: "v2" }]), converged);
    const create = plan.actions.find((a) => a.id === "create:db:1")!;
    expect(create.after).toContain("remove:db-1-id");
  });

  it("a recreate carries the replaced container's anonymous volumes over; -V, a scale-up or a first create does not", () => {
    const volumes = [{ name: "a".repeat(64), target: "/var/lib/postgresql/data" }];
    const obs = observed({ ...converged, containers: [container("web", 1), container("db", 1, { anonymousVolumes: volumes })] });
    const changed = stackOf([web, { ...db, configHash: "v2" }]);
    const create = (opts: UpOptions = {}) => planUp(changed, obs, opts).actions.find((a) => a.id === "create:db:1") as Extract<Action, { kind: "create" }>;
    expect(create().inheritVolumes).toEqual(volumes);
    expect(create({ renewAnonVolumes: true }).inheritVolumes).toBeUndefined();
    const fresh = planUp(changed, observed()).actions.find((a) => a.id === "create:db:1") as Extract<Action, { kind: "create" }>;
    expect(fresh.inheritVolumes).toBeUndefined();
    const scaled = planUp(changed, obs, { scale: { db: 2 }, noRecreate: true }).actions.find((a) => a.id === "create:db:2") as Extract<Action, { kind: "create" }>;
    expect(scaled.inheritVolumes).toBeUndefined();
  });

  it("a recreate hands the volumes over first; a daemon killed before the new create leaves them to the next plan, which mounts them", () => {
    const volume = { name: "a".repeat(64), target: "/var/lib/postgresql/data" };
    const volumes = [volume];
    const obs = observed({ ...converged, containers: [container("web", 1), container("db", 1, { anonymousVolumes: volumes })] });
    const changed = stackOf([web, { ...db, configHash: "v2" }]);
    const plan = planUp(changed, obs);
    const remove = plan.actions.find((a) => a.id === "remove:db-1-id") as Extract<Action, { kind: "remove" }>;
    expect(remove.handOver).toBe("app/db/1");
    expect(planUp(changed, obs, { renewAnonVolumes: true }).actions.find((a) => a.id === "remove:db-1-id")).not.toHaveProperty("handOver");
    // The kill: everything up to the removal happened, nothing after it.
    const cut = simulate(changed, obs, { ...plan, actions: plan.actions.filter((a) => a.kind === "stop" || a.kind === "remove") });
    expect(cut.containers.map((c) => c.service)).toEqual(["web"]);
    expect(cut.handedOver).toEqual([{ service: "db", number: 1, ...volume }]);
    const again = planUp(changed, cut);
    const create = again.actions.find((a) => a.id === "create:db:1") as Extract<Action, { kind: "create" }>;
    expect(create.reason).toBe("missing");
    expect(create.inheritVolumes).toEqual(volumes);
    // Another service's or another number's hand-over is not this one's.
    const other = planUp(changed, { ...cut, handedOver: [{ service: "db", number: 2, ...volume }] }).actions.find((a) => a.id === "create:db:1") as Extract<Action, { kind: "create" }>;
    expect(other.inheritVolumes).toBeUndefined();
    const done = simulate(changed, cut, again);
    expect(done.handedOver).toEqual([]);
    expect(planUp(changed, done).actions).toEqual([]);
  });

  it("fails to plan when an external network is missing", () => {
    const s = stackOf([service("a")]);
    s.networks.default = { ...s.networks.default!, external: true, name: "shared" };
    expect(planUp(s, observed()).errors).toEqual(["network shared declared as external, but could not be found"]);
  });
});

describe("planDown", () => {
  it("down -v removes anonymous volumes a cut-short recreate handed over; without -v they stay", () => {
    const handedOver = [{ service: "db", number: 1, name: "b".repeat(64), target: "/data" }];
    const obs = { ...converged, handedOver };
    const removeVolume = planDown(twoTier, obs, { removeVolumes: true }).actions.find((a) => a.kind === "remove-volume" && a.anonymous === true);
    expect(removeVolume).toMatchObject({ volume: "b".repeat(64), anonymous: true });
    expect(planDown(twoTier, obs).actions.some((a) => a.kind === "remove-volume")).toBe(false);
  });


  it("stops dependants before their dependencies and removes the network last", () => {
    const plan = planDown(twoTier, converged);
    expect(summary(plan.actions)).toEqual(["remove app-db-1", "remove app-web-1", "remove-network default", "stop app-db-1", "stop app-web-1"]);
    const byId = new Map(plan.actions.map((a) => [a.id, a]));
    expect(byId.get("stop:db-1-id")!.after).toEqual(["stop:web-1-id"]);
    expect(byId.get("stop:web-1-id")!.after).toEqual([]);
    expect(byId.get("remove-network:default")!.after.sort()).toEqual(["remove:db-1-id", "remove:web-1-id"]);
  });

  it("down -v removes the containers with their anonymous volumes; down alone keeps them", () => {
    const removes = (removeVolumes: boolean) => planDown(twoTier, converged, { removeVolumes }).actions.filter((a) => a.kind === "remove");
    expect(removes(false).map((a) => a.kind === "remove" && a.volumes === true)).toEqual([false, false]);
    expect(removes(true).map((a) => a.kind === "remove" && a.volumes === true)).toEqual([true, true]);
  });

  it("removes named volumes only with -v, and never external ones", () => {
    const s = stackOf([service("db", { volumes: [{ type: "volume", source: "data", target: "/data", readOnly: false, bind: undefined, volume: { nocopy: false, subpath: undefined }, tmpfs: undefined, image: undefined, consistency: undefined }] })], {
      volumes: {
        data: { name: "app_data", driver: "local", driverOpts: {}, external: false, labels: {} },
        shared: { name: "shared", driver: "local", driverOpts: {}, external: true, labels: {} },
      },
    });
    const obs = observed({ networks: ["app_default"], volumes: ["app_data", "shared"], containers: [container("db", 1)] });
    expect(summary(planDown(s, obs).actions)).not.toContain("remove-volume data");
    const withV = summary(planDown(s, obs, { removeVolumes: true }).actions);
    expect(withV).toContain("remove-volume data");
    expect(withV).not.toContain("remove-volume shared");
  });

  it("down --rmi local removes the images built under the default name, --rmi all every service's image once, after the containers", () => {
    const built = service("api", { image: undefined, build: { context: "/srv/app/api", dockerfile: undefined, args: {}, target: undefined } });
    const tagged = service("worker", { image: "example.org/worker:1", build: { context: "/srv/app/worker", dockerfile: undefined, args: {}, target: undefined } });
    const s = stackOf([built, tagged, service("a"), service("b")]);
    const obs = observed({ containers: [container("api", 1), container("a", 1)] });
    const images = (removeImages?: "local" | "all") => summary(planDown(s, obs, removeImages ? { removeImages } : {}).actions).filter((x) => x.startsWith("remove-image"));
    expect(images()).toEqual([]);
    expect(images("local")).toEqual(["remove-image app-api"]);
    expect(images("all")).toEqual(["remove-image app-api", "remove-image busybox", "remove-image example.org/worker:1"]);
    const plan = planDown(s, obs, { removeImages: "all" });
    const removes = plan.actions.filter((x) => x.kind === "remove").map((x) => x.id);
    expect(removes).toHaveLength(2);
    for (const x of plan.actions.filter((y) => y.kind === "remove-image")) expect(x.after).toEqual(removes);
    expect(planDown(s, obs, { removeImages: "all", stopOnly: true }).actions.some((x) => x.kind === "remove-image")).toBe(false);
  });

  it("after down, nothing of the stack is left", () => {
    const plan = planDown(twoTier, converged);
    const after = simulate(twoTier, converged, plan);
    expect(after.containers).toEqual([]);
    expect(after.networks).toEqual([]);
  });
});
