// The Swarm engine: a stack deployed as Swarm services across machines, over
// dockerode, talking to one manager node.
//
//   const swarm = await SwarmDeployer.connect({ host: "unix:///run/docker.sock" });
//   await swarm.deploy(stack, { onProgress, removeOrphans: true });  // waits until converged
//   await swarm.ps("web");        // tasks: service, slot, node, desired/current state, error
//   await swarm.services("web");  // services: mode, replicas running/wanted, image, ports
//   await swarm.scale("web", "api", 3);
//   await swarm.forceUpdate("web", "api"); await swarm.rollback("web", "api");
//   await swarm.nodes();          // hostname, role, availability, status, manager status
//   for await (const e of swarm.logs("web", "api", { follow: true })) ...
//   await swarm.remove("web");    // services, then (their tasks gone) networks, configs, secrets
//
// Both deploy() and remove() first remove IPVS probe services a dead daemon
// left (removeStaleProbes).
//
// deploy() does what `docker stack deploy` does (same names and labels, so
// `docker stack ls/ps/services/rm` see the stack; model/labels.ts
// STACK_LABEL) and what it does not:
// - services whose spec (hashed into STACK_LABEL.specHash) and replica count
//   are unchanged are not touched; updates send the inspected version;
// - configs and secrets are named after their content (objects.ts): a changed
//   one rolls its services, the unused old one is removed;
// - depends_on: a service is created or updated after the services it depends
//   on with service_healthy (their tasks running, which swarm reports only
//   once healthy) or service_completed_successfully (a job's tasks complete);
// - it waits until every service converged (tasks running, jobs complete, an
//   update finished) unless `wait: false`, reporting per-service progress;
// - keys swarm cannot honour are refused before anything is made (support.ts);
// - a VIP or an ingress port the swarm cannot serve (no IPVS: ipvs.ts, a
//   node asked once) is a warning naming the key and what to write instead.
// The daemon calls it for stacks on the swarm engine; it is not an Engine
// (engine/types.ts): swarm schedules containers itself.
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import type Docker from "dockerode";
import { STACK_LABEL } from "../../model/labels.js";
import type { DependsOnCondition, StackSpec } from "../../model/stack.js";
import { connectDocker, type DockerConnectionOptions } from "../docker/connection.js";
import { docker } from "../docker/errors.js";
import { FrameParser, logEntry } from "../docker/stream.js";
import { EngineError } from "../errors.js";
import type { LogEntry } from "../types.js";
import { IPVS_PROBE_FILE, ipvsReliances, probeAnswer } from "./ipvs.js";
import { contentName, objectData, type ObjectKind } from "./objects.js";
import { isJob, scopedName, serviceSpec, wantedTasks, type ObjectRef } from "./service-spec.js";
import { checkSwarmSupport, type Locate } from "./support.js";

export type SwarmProgress =
  | { kind: "network"; name: string; action: "created" | "removed" }
  | { kind: "config" | "secret"; name: string; action: "created" | "removed" }
  | { kind: "service"; service: string; action: "created" | "updated" | "unchanged" | "removed" }
  | { kind: "waiting"; service: string; running: number; wanted: number; completed: number; error: string | undefined }
  | { kind: "converged"; service: string }
  /** Something the stack relies on that this swarm cannot serve (ipvs.ts), with where it was written when known. */
  | { kind: "warning"; service: string; message: string };

export interface SwarmDeployOptions {
  /** Wait until every service converged (default true); false returns once the specs are sent (dependencies are still waited for). */
  wait?: boolean;
  /** How long to wait for one service to converge (default 5 min). */
  timeoutMs?: number;
  /** Remove the stack's services, networks, configs and secrets the stack file no longer has. */
  removeOrphans?: boolean;
  /** The loader's source positions, for located errors. */
  locate?: Locate;
  onProgress?: (e: SwarmProgress) => void;
  /** Ask the registry (through the manager) for the image's digest and pin it, as docker stack deploy does (default true). */
  resolveImage?: boolean;
  /** Digests already known, by image reference as written (what up just built and pushed): pinned without asking. */
  digests?: Record<string, string>;
}

export interface SwarmDeployResult {
  services: Record<string, "created" | "updated" | "unchanged">;
}

/** One task, as `docker stack ps` shows it. */
export interface SwarmTask {
  id: string;
  /** `<stack>_<service>.<slot>` (replicated) or `<stack>_<service>.<node id>` (global). */
  name: string;
  service: string;
  slot: number | undefined;
  image: string;
  node: string | undefined;
  desiredState: string;
  state: string;
  error: string | undefined;
  /** When the current state began (RFC 3339). */
  since: string;
}

/** One service, as `docker stack services` shows it. */
export interface SwarmServiceInfo {
  id: string;
  name: string;
  /** The key in the stack file. */
  service: string;
  mode: "replicated" | "global" | "replicated-job" | "global-job";
  running: number;
  /** Replicas (job completions); for global modes the nodes eligible. */
  wanted: number;
  image: string;
  ports: { published: number | undefined; target: number; protocol: string; mode: string }[];
  version: number;
  updateState: string | undefined;
}

/** What an update of one service (scale, update --force, rollback) sent. */
export interface SwarmUpdateResult {
  /** The service's version the update was made from. */
  version: number;
  /** The manager's warnings (an image it could not resolve ...). */
  warnings: string[];
}

/** One node, as `docker node ls` shows it. */
export interface SwarmNode {
  id: string;
  hostname: string;
  role: "manager" | "worker";
  /** active, pause, drain. */
  availability: string;
  /** ready, down, disconnected, unknown. */
  status: string;
  /** Leader, Reachable, Unreachable; "" for a worker. */
  managerStatus: string;
  address: string;
}

interface NodeJson {
  ID: string;
  Description?: { Hostname?: string };
  Spec?: { Role?: string; Availability?: string };
  Status?: { State?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string };
}

interface DialOptions {
  path: string;
  method: "GET" | "POST" | "DELETE";
  query?: Record<string, unknown>;
  body?: unknown;
  isStream?: boolean;
}

interface SwarmObject {
  ID: string;
  Spec: { Name: string; Labels?: Record<string, string> };
}

interface TaskJson {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; Err?: string; Timestamp: string };
  Spec: { ContainerSpec?: { Image?: string } };
  JobIteration?: { Index: number };
}

/** Task states whose container has stopped (swarmkit's terminal states). */
const TERMINAL = new Set(["complete", "shutdown", "failed", "rejected", "orphaned", "remove"]);
/** dockerd's clock and ours are the same machine's here, not always elsewhere. */
const CLOCK_SLACK_MS = 2_000;
/** How long a probe task may take to answer (probeFile's default). */
const PROBE_TIMEOUT_MS = 60_000;
/** After its answer (or its timeout), the time a probe takes to remove its service: removeObject's retries, and clocks apart. */
const PROBE_REMOVAL_MS = 60_000;
const OBJECT_KIND = { configs: "config", secrets: "secret" } as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SwarmDeployer {
  /** The swarm's answer to "has IPVS?" (ipvs.ts), asked once. */
  private ipvs: Promise<"absent" | "present" | undefined> | undefined;

  constructor(private readonly client: Docker) {}

  /** Connects to a manager (DOCKER_HOST semantics) and checks that it is one. */
  static async connect(opts: DockerConnectionOptions = {}): Promise<SwarmDeployer> {
    const { client } = await connectDocker(opts);
    const d = new SwarmDeployer(client);
    const info = await d.call<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } }>({ path: "/info", method: "GET" }, "info");
    if (info.Swarm?.LocalNodeState !== "active") throw new EngineError("unavailable", "this dockerd is not part of a swarm (docker swarm init, or point -H at a manager)");
    if (!info.Swarm.ControlAvailable) throw new EngineError("invalid", "this dockerd is a swarm worker: stacks are deployed through a manager (point -H at one)");
    return d;
  }

  // ---- plumbing

  private call<T>(o: DialOptions, what: string): Promise<T> {
    return docker(
      () =>
        new Promise<T>((resolve, reject) => {
          this.client.modem.dial(
            {
              path: `${o.path}?`,
              method: o.method,
              // _query and _body apart: dockerode would otherwise put the whole spec in the query string too.
              options: { _query: o.query ?? {}, _body: o.body ?? {} },
              isStream: o.isStream ?? false,
              statusCodes: { 200: true, 201: true, 204: true, 304: true },
            },
            (err: Error | null, data: unknown) => (err ? reject(err) : resolve(data as T)),
          );
        }),
      what,
    );
  }

  private filters(stack: string, extra: Record<string, string[]> = {}): string {
    return JSON.stringify({ label: [`${STACK_LABEL.namespace}=${stack}`], ...extra });
  }

  private listServices(stack: string): Promise<Docker.Service[]> {
    return this.call<Docker.Service[]>({ path: "/services", method: "GET", query: { filters: this.filters(stack), status: true } }, "list services");
  }

  private listObjects(kind: ObjectKind | "networks", stack: string): Promise<SwarmObject[]> {
    if (kind === "networks") {
      return this.call<{ Id: string; Name: string; Labels?: Record<string, string> }[]>({ path: "/networks", method: "GET", query: { filters: this.filters(stack) } }, "list networks").then((ns) =>
        ns.map((n) => ({ ID: n.Id, Spec: { Name: n.Name, Labels: n.Labels } })),
      );
    }
    return this.call<SwarmObject[]>({ path: `/${kind}`, method: "GET", query: { filters: this.filters(stack) } }, `list ${kind}`);
  }

  private async tasksOf(serviceIds: string[]): Promise<TaskJson[]> {
    if (serviceIds.length === 0) return [];
    return this.call<TaskJson[]>({ path: "/tasks", method: "GET", query: { filters: JSON.stringify({ service: serviceIds }) } }, "list tasks");
  }

  /** Deletes; a 404 (gone already) is fine. In use: retried until `timeoutMs` (a removed service's tasks take a moment to go). */
  private async removeObject(path: string, what: string, query?: Record<string, unknown>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.call({ path, method: "DELETE", query }, `remove ${what}`);
        return;
      } catch (err) {
        if (err instanceof EngineError && err.kind === "not-found") return;
        if (Date.now() > deadline || !/in use|has active endpoints|is being used/i.test((err as Error).message)) throw err;
        await sleep(500);
      }
    }
  }

  // ---- deploy

  async deploy(stack: StackSpec, opts: SwarmDeployOptions = {}): Promise<SwarmDeployResult> {
    checkSwarmSupport(stack, opts.locate);
    const progress = opts.onProgress ?? (() => undefined);
    await this.removeStaleProbes();
    await this.warnWithoutIpvs(stack, opts, progress);
    await this.ensureNetworks(stack, progress);
    const refs = { configs: await this.ensureObjects(stack, "configs", progress), secrets: await this.ensureObjects(stack, "secrets", progress) };
    const existing = new Map((await this.listServices(stack.name)).map((s) => [s.Spec?.Name ?? "", s]));
    const result: SwarmDeployResult = { services: {} };
    const done = new Map<string, Promise<void>>();
    const converged = new Map<string, Promise<void>>();
    /** Services whose task template changed, and when the update was sent: their tasks are replaced. */
    const rollouts = new Map<string, number>();
    const timeoutMs = opts.timeoutMs ?? 300_000;

    const deployOne = async (name: string): Promise<void> => {
      const svc = stack.services[name];
      if (!svc) return;
      // Dependencies first: started ones sent, healthy or completed ones converged.
      await Promise.all(
        Object.entries(svc.dependsOn).map(async ([dep, d]) => {
          await start(dep);
          if (needsConvergence(d.condition)) await waitConverged(dep);
        }),
      );
      const written = svc.image ?? "";
      const known = opts.digests?.[written];
      const image = known ? `${written}@${known}` : opts.resolveImage === false ? written : await this.pinnedImage(written);
      const spec = serviceSpec(stack, svc, { image, ...refs });
      const current = existing.get(spec.Name ?? "");
      if (!current) {
        await this.call({ path: "/services/create", method: "POST", body: spec }, `create service ${spec.Name}`);
        result.services[name] = "created";
      } else if (current.Spec?.Labels?.[STACK_LABEL.specHash] === spec.Labels?.[STACK_LABEL.specHash] && wantedTasks(current.Spec ?? {}) === wantedTasks(spec)) {
        result.services[name] = "unchanged";
      } else {
        if (current.Spec?.Labels?.[STACK_LABEL.taskHash] !== spec.Labels?.[STACK_LABEL.taskHash]) rollouts.set(name, Date.now());
        // The version read with the list: a stale one is "update out of sequence", never a lost update.
        await this.call({ path: `/services/${current.ID}/update`, method: "POST", query: { version: current.Version?.Index }, body: spec }, `update service ${spec.Name}`);
        result.services[name] = "updated";
      }
      progress({ kind: "service", service: name, action: result.services[name] as "created" });
    };
    const start = (name: string): Promise<void> => {
      let p = done.get(name);
      if (!p) {
        p = deployOne(name);
        done.set(name, p);
      }
      return p;
    };
    const waitConverged = (name: string): Promise<void> => {
      let p = converged.get(name);
      if (!p) {
        p = start(name).then(() => this.waitService(stack.name, name, timeoutMs, progress, rollouts.get(name)));
        converged.set(name, p);
      }
      return p;
    };
    const names = Object.keys(stack.services);
    await Promise.all(names.map(start));
    if (opts.wait !== false) await Promise.all(names.map(waitConverged));
    else await Promise.all([...converged.values()]);

    await this.pruneObjects(stack, refs, progress);
    if (opts.removeOrphans) await this.removeOrphans(stack, progress);
    return result;
  }

  /** Warns for each VIP and ingress port the stack relies on when the swarm has no IPVS to serve them (ipvs.ts); asks a node once per deployer. */
  private async warnWithoutIpvs(stack: StackSpec, opts: SwarmDeployOptions, progress: (e: SwarmProgress) => void): Promise<void> {
    const reliances = ipvsReliances(stack);
    const first = reliances[0] && stack.services[reliances[0].service];
    if (!first?.image) return;
    this.ipvs ??= this.probeFile(IPVS_PROBE_FILE, opts.digests?.[first.image] ? `${first.image}@${opts.digests[first.image]}` : first.image).catch(() => undefined);
    const answer = await this.ipvs;
    // A probe that could not tell (its image not pullable yet, no manager free to run it) is asked again next time.
    if (answer === undefined) this.ipvs = undefined;
    if (answer !== "absent") return;
    for (const r of reliances) {
      const at = opts.locate?.(r.path);
      progress({ kind: "warning", service: r.service, message: `${at ? `${at.file}:${at.line}:${at.column}: ` : ""}${r.path.join(".")}: ${r.message}` });
    }
  }

  /**
   * Whether a task's container on a manager sees `file`, run as the task's
   * command (ipvs.ts says why that tells without a shell in the image): a
   * one-off job, removed when it answered.
   */
  async probeFile(file: string, image: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<"absent" | "present" | undefined> {
    const created = await this.call<{ ID: string }>(
      {
        path: "/services/create",
        method: "POST",
        body: {
          Name: `tscompose-probe-${randomBytes(4).toString("hex")}`,
          // A daemon that dies mid-probe leaves the service: past this time, removeStaleProbes knows it is nobody's.
          Labels: { [STACK_LABEL.probeUntil]: new Date(Date.now() + timeoutMs + PROBE_REMOVAL_MS).toISOString() },
          TaskTemplate: {
            ContainerSpec: { Image: image, Command: [file] },
            RestartPolicy: { Condition: "none" },
            Placement: { Constraints: ["node.role == manager"] },
          },
          Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
        },
      },
      "create a probe service",
    );
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [task] = await this.tasksOf([created.ID]);
        if (task && TERMINAL.has(task.Status.State)) return probeAnswer(task.Status.Err);
        if (Date.now() > deadline) return undefined;
        await sleep(300);
      }
    } finally {
      await this.removeObject(`/services/${created.ID}`, "probe service");
      await this.removeTaskContainers([created.ID]);
    }
  }

  /**
   * Removes the probe services (probeFile) whose time is over: a daemon died
   * while its probe ran. A probe still within its time may be another
   * daemon's, asking now: it stays.
   */
  private async removeStaleProbes(): Promise<void> {
    const probes = await this.call<Docker.Service[]>({ path: "/services", method: "GET", query: { filters: JSON.stringify({ label: [STACK_LABEL.probeUntil] }) } }, "list probe services");
    const stale = probes.filter((p) => Date.parse(p.Spec?.Labels?.[STACK_LABEL.probeUntil] ?? "") < Date.now() - CLOCK_SLACK_MS);
    for (const p of stale) await this.removeObject(`/services/${p.ID}`, `probe service ${p.Spec?.Name}`);
    await this.removeTaskContainers(stale.map((p) => p.ID));
  }

  /**
   * The stopped containers of removed services' tasks on the manager's node
   * (the one dockerd this deployer reaches): swarm 20.10 keeps a finished job
   * task's container after its service is removed (docker stack rm leaves
   * them too). Other nodes' are out of reach (docs/compat.md).
   */
  private async removeTaskContainers(serviceIds: string[]): Promise<void> {
    for (const id of serviceIds) {
      const left = await this.call<{ Id: string; State: string }[]>(
        { path: "/containers/json", method: "GET", query: { all: true, filters: JSON.stringify({ label: [`${STACK_LABEL.serviceId}=${id}`] }) } },
        "list task containers",
      );
      // A running one would be a live task's: never ours to take (waitTasksGone came first).
      for (const c of left.filter((x) => x.State !== "running" && x.State !== "paused" && x.State !== "restarting")) {
        await this.removeObject(`/containers/${c.Id}`, `task container ${c.Id.slice(0, 12)}`, { v: true });
      }
    }
  }

  /** `image@digest` as the manager's registry answer says; the reference as written when it cannot say. */
  private async pinnedImage(image: string): Promise<string> {
    if (image.includes("@")) return image;
    try {
      const d = await this.call<{ Descriptor?: { digest?: string } }>({ path: `/distribution/${image}/json`, method: "GET" }, `resolve ${image}`);
      return d.Descriptor?.digest ? `${image}@${d.Descriptor.digest}` : image;
    } catch {
      // docker stack deploy goes on too ("image could not be accessed on a registry to record its digest"): the nodes may have it.
      return image;
    }
  }

  private async ensureNetworks(stack: StackSpec, progress: (e: SwarmProgress) => void): Promise<void> {
    const have = new Set((await this.listObjects("networks", stack.name)).map((n) => n.Spec.Name));
    const used = new Set(Object.values(stack.services).flatMap((s) => Object.keys(s.networks)));
    for (const [key, n] of Object.entries(stack.networks)) {
      if (!used.has(key)) continue;
      if (n.external) {
        const found = await this.call<unknown[]>({ path: "/networks", method: "GET", query: { filters: JSON.stringify({ name: [n.name] }) } }, "list networks");
        if (found.length === 0) throw new EngineError("not-found", `networks.${key}: external network ${JSON.stringify(n.name)} not found on the swarm`);
        continue;
      }
      if (have.has(n.name)) continue;
      await this.call(
        {
          path: "/networks/create",
          method: "POST",
          body: {
            Name: n.name,
            CheckDuplicate: true,
            Driver: n.driver === "bridge" ? "overlay" : n.driver,
            Options: n.driverOpts,
            Attachable: n.attachable,
            Internal: n.internal,
            EnableIPv6: n.enableIpv6,
            IPAM: {
              Driver: n.ipam.driver ?? "default",
              Options: n.ipam.options,
              Config: n.ipam.config.map((c) => ({ Subnet: c.subnet, Gateway: c.gateway, IPRange: c.ipRange, AuxiliaryAddresses: c.auxAddresses })),
            },
            Labels: { ...n.labels, [STACK_LABEL.namespace]: stack.name },
          },
        },
        `create network ${n.name}`,
      );
      progress({ kind: "network", name: n.name, action: "created" });
    }
  }

  private async ensureObjects(stack: StackSpec, kind: ObjectKind, progress: (e: SwarmProgress) => void): Promise<Record<string, ObjectRef>> {
    const used = new Set(Object.values(stack.services).flatMap((s) => s[kind].map((r) => r.source)));
    const have = new Map((await this.listObjects(kind, stack.name)).map((o) => [o.Spec.Name, o.ID]));
    const refs: Record<string, ObjectRef> = {};
    for (const [key, o] of Object.entries(stack[kind])) {
      if (!used.has(key)) continue;
      if (o.external) {
        const found = await this.call<SwarmObject[]>({ path: `/${kind}`, method: "GET", query: { filters: JSON.stringify({ name: [o.name] }) } }, `list ${kind}`);
        const match = found.find((f) => f.Spec.Name === o.name);
        if (!match) throw new EngineError("not-found", `${kind}.${key}: external ${OBJECT_KIND[kind]} ${JSON.stringify(o.name)} not found on the swarm`);
        refs[key] = { id: match.ID, name: o.name };
        continue;
      }
      const data = await objectData(kind, key, o);
      const name = contentName(o.name, data);
      let id = have.get(name);
      if (id === undefined) {
        const created = await this.call<{ ID: string }>(
          {
            path: `/${kind}/create`,
            method: "POST",
            body: { Name: name, Labels: { [STACK_LABEL.namespace]: stack.name, [STACK_LABEL.object]: key }, Data: data.toString("base64") },
          },
          `create ${OBJECT_KIND[kind]} ${name}`,
        );
        id = created.ID;
        progress({ kind: OBJECT_KIND[kind], name, action: "created" });
      }
      refs[key] = { id, name };
    }
    return refs;
  }

  /** Configs and secrets of the stack no service refers to any more: the old contents of rolled ones. */
  private async pruneObjects(stack: StackSpec, refs: Record<ObjectKind, Record<string, ObjectRef>>, progress: (e: SwarmProgress) => void): Promise<void> {
    const services = await this.listServices(stack.name);
    for (const kind of ["configs", "secrets"] as const) {
      const inUse = new Set<string>(Object.values(refs[kind]).map((r) => r.id));
      for (const s of services) {
        const c = containerSpecOf(s.Spec);
        for (const r of c?.Configs ?? []) inUse.add(r.ConfigID ?? "");
        for (const r of c?.Secrets ?? []) inUse.add(r.SecretID ?? "");
      }
      for (const o of await this.listObjects(kind, stack.name)) {
        // Only rolled versions of the stack's own keys; orphans of removed keys go with --remove-orphans.
        const key = o.Spec.Labels?.[STACK_LABEL.object];
        if (inUse.has(o.ID) || key === undefined || !(key in stack[kind])) continue;
        await this.removeObject(`/${kind}/${o.ID}`, `${OBJECT_KIND[kind]} ${o.Spec.Name}`);
        progress({ kind: OBJECT_KIND[kind], name: o.Spec.Name, action: "removed" });
      }
    }
  }

  private async removeOrphans(stack: StackSpec, progress: (e: SwarmProgress) => void): Promise<void> {
    const wanted = new Set(Object.keys(stack.services).map((n) => scopedName(stack.name, n)));
    const orphans = (await this.listServices(stack.name)).filter((s) => !wanted.has(s.Spec?.Name ?? ""));
    for (const s of orphans) {
      await this.removeObject(`/services/${s.ID}`, `service ${s.Spec?.Name}`);
      progress({ kind: "service", service: (s.Spec?.Name ?? "").slice(stack.name.length + 1), action: "removed" });
    }
    await this.waitTasksGone(orphans.map((s) => s.ID));
    await this.removeTaskContainers(orphans.map((s) => s.ID));
    const nets = new Set(Object.values(stack.networks).map((n) => n.name));
    for (const n of await this.listObjects("networks", stack.name)) {
      if (nets.has(n.Spec.Name)) continue;
      await this.removeObject(`/networks/${n.ID}`, `network ${n.Spec.Name}`);
      progress({ kind: "network", name: n.Spec.Name, action: "removed" });
    }
    for (const kind of ["configs", "secrets"] as const) {
      for (const o of await this.listObjects(kind, stack.name)) {
        const key = o.Spec.Labels?.[STACK_LABEL.object];
        if (key !== undefined && key in stack[kind]) continue;
        await this.removeObject(`/${kind}/${o.ID}`, `${OBJECT_KIND[kind]} ${o.Spec.Name}`);
        progress({ kind: OBJECT_KIND[kind], name: o.Spec.Name, action: "removed" });
      }
    }
  }

  /**
   * Until the service converged: its update (if any) completed, every task it
   * wants running (healthy: swarm keeps a task `starting` until its health
   * check passes), or for jobs complete. A rollback or a paused update is a failure.
   */
  private async waitService(stack: string, name: string, timeoutMs: number, progress: (e: SwarmProgress) => void, rolloutSince: number | undefined): Promise<void> {
    const full = scopedName(stack, name);
    const deadline = Date.now() + timeoutMs;
    let lastError: string | undefined;
    let lastShown = "";
    for (;;) {
      const svc = (await this.listServices(stack)).find((s) => s.Spec?.Name === full);
      if (!svc) throw new EngineError("not-found", `service ${full} vanished while deploying`);
      const tasks = await this.tasksOf([svc.ID]);
      // The update status of an earlier deploy (a rollback then) is history: only the one this deploy began counts.
      const ours = rolloutSince !== undefined && Date.parse(svc.UpdateStatus?.StartedAt ?? "") >= rolloutSince - CLOCK_SLACK_MS;
      const state = ours ? svc.UpdateStatus?.State : undefined;
      if (state === "rollback_completed" || state === "paused" || state === "rollback_paused") {
        throw new EngineError("conflict", `service ${full}: update ${state.replace("_", " ")}: ${svc.UpdateStatus?.Message ?? ""}`.trim());
      }
      const job = isJob(svc.Spec);
      const iteration = svc.JobStatus?.JobIteration?.Index;
      const current = tasks.filter((t) => (job ? t.DesiredState === "complete" && (iteration === undefined || t.JobIteration?.Index === iteration) : t.DesiredState === "running"));
      const running = current.filter((t) => t.Status.State === "running").length;
      const completed = current.filter((t) => t.Status.State === "complete").length;
      const wanted = wantedTasks(svc.Spec ?? {}) ?? svc.ServiceStatus?.DesiredTasks ?? current.length;
      const failed = tasks.filter((t) => ["failed", "rejected"].includes(t.Status.State) && t.Status.Err).sort((a, b) => (a.Status.Timestamp < b.Status.Timestamp ? 1 : -1))[0];
      if (failed) lastError = failed.Status.Err;
      const updating = state === "updating" || state === "rollback_started";
      // After a change of the task template the old tasks still run until the update starts: wait for an update begun after ours, and completed.
      const rolled = rolloutSince === undefined || (ours && state === "completed");
      const ok = rolled && !updating && (job ? completed >= wanted : running >= wanted && current.every((t) => t.Status.State === "running"));
      const shown = `${running}/${completed}/${wanted}/${lastError ?? ""}`;
      if (shown !== lastShown) {
        lastShown = shown;
        progress({ kind: "waiting", service: name, running, wanted, completed, error: lastError });
      }
      if (ok) {
        progress({ kind: "converged", service: name });
        return;
      }
      if (Date.now() > deadline) {
        throw new EngineError("timeout", `service ${full} did not converge in ${Math.round(timeoutMs / 1000)} s: ${job ? `${completed}/${wanted} complete` : `${running}/${wanted} running`}${lastError ? `; last task error: ${lastError}` : ""}`);
      }
      await sleep(500);
    }
  }

  /** Until no task of these (removed) services runs on any node: a filter by a removed service's id is a 404, so all tasks are listed. */
  private async waitTasksGone(serviceIds: string[], timeoutMs = 60_000): Promise<void> {
    if (serviceIds.length === 0) return;
    const ids = new Set(serviceIds);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A finished task (a job's complete one) may stay listed a while after its container is gone: only live ones count.
      const left = (await this.call<TaskJson[]>({ path: "/tasks", method: "GET" }, "list tasks")).filter((t) => ids.has(t.ServiceID) && !TERMINAL.has(t.Status.State));
      if (left.length === 0) return;
      if (Date.now() > deadline) throw new EngineError("timeout", `${left.length} task(s) of removed services still on the nodes after ${Math.round(timeoutMs / 1000)} s`);
      await sleep(500);
    }
  }

  // ---- the other verbs

  async services(stack: string): Promise<SwarmServiceInfo[]> {
    const list = await this.listServices(stack);
    return list
      .map((s): SwarmServiceInfo => {
        const spec = s.Spec ?? {};
        const m = spec.Mode ?? {};
        const mode = m.Global ? "global" : m.GlobalJob ? "global-job" : m.ReplicatedJob ? "replicated-job" : "replicated";
        return {
          id: s.ID,
          name: spec.Name ?? "",
          service: (spec.Name ?? "").slice(stack.length + 1),
          mode,
          running: s.ServiceStatus?.RunningTasks ?? 0,
          wanted: wantedTasks(spec) ?? s.ServiceStatus?.DesiredTasks ?? 0,
          image: spec.Labels?.[STACK_LABEL.image] ?? containerSpecOf(spec)?.Image ?? "",
          ports: (s.Endpoint?.Ports ?? spec.EndpointSpec?.Ports ?? []).map((p) => ({ published: p.PublishedPort, target: p.TargetPort ?? 0, protocol: p.Protocol ?? "tcp", mode: p.PublishMode ?? "ingress" })),
          version: s.Version?.Index ?? 0,
          updateState: s.UpdateStatus?.State,
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async ps(stack: string): Promise<SwarmTask[]> {
    const services = await this.listServices(stack);
    const byId = new Map(services.map((s) => [s.ID, s.Spec?.Name ?? ""]));
    const tasks = await this.tasksOf([...byId.keys()]);
    const nodes = new Map(
      (await this.call<{ ID: string; Description?: { Hostname?: string } }[]>({ path: "/nodes", method: "GET" }, "list nodes")).map((n) => [n.ID, n.Description?.Hostname ?? n.ID]),
    );
    return tasks
      .map((t): SwarmTask => {
        const svc = byId.get(t.ServiceID) ?? t.ServiceID;
        return {
          id: t.ID,
          name: `${svc}.${t.Slot ?? t.NodeID ?? ""}`,
          service: svc.slice(stack.length + 1),
          slot: t.Slot,
          image: (t.Spec.ContainerSpec?.Image ?? "").replace(/@sha256:[0-9a-f]+$/, ""),
          node: t.NodeID === undefined ? undefined : nodes.get(t.NodeID),
          desiredState: t.DesiredState,
          state: t.Status.State,
          error: t.Status.Err || undefined,
          since: t.Status.Timestamp,
        };
      })
      .sort((a, b) => (a.name === b.name ? (a.since < b.since ? 1 : -1) : a.name < b.name ? -1 : 1));
  }

  async scale(stack: string, service: string, replicas: number): Promise<SwarmUpdateResult> {
    return this.updateService(stack, service, "scale", (spec) => {
      if (spec.Mode?.Replicated) spec.Mode = { Replicated: { Replicas: replicas } };
      else if (spec.Mode?.ReplicatedJob) spec.Mode = { ReplicatedJob: { ...spec.Mode.ReplicatedJob, TotalCompletions: replicas } };
      else throw new EngineError("invalid", `service ${service} is global: it runs one task per node and cannot be scaled`);
      return { spec };
    });
  }

  /** docker service update --force: the same spec with TaskTemplate.ForceUpdate bumped, so swarm replaces every task (following update_config). */
  async forceUpdate(stack: string, service: string): Promise<SwarmUpdateResult> {
    return this.updateService(stack, service, "update", (spec) => {
      const template = (spec.TaskTemplate ?? {}) as { ForceUpdate?: number };
      spec.TaskTemplate = { ...template, ForceUpdate: (template.ForceUpdate ?? 0) + 1 };
      return { spec };
    });
  }

  /** docker service rollback: the manager puts the service's previous spec back (following rollback_config). */
  async rollback(stack: string, service: string): Promise<SwarmUpdateResult> {
    return this.updateService(stack, service, "roll back", (spec, svc) => {
      if (!(svc as { PreviousSpec?: unknown }).PreviousSpec) throw new EngineError("invalid", `service ${service} has no previous spec to roll back to (it was never updated)`);
      return { spec, query: { rollback: "previous" } };
    });
  }

  /**
   * One update of a service, made from its spec and sent with the version read
   * with it: swarm refuses a stale version ("update out of sequence": another
   * update came in between), and the change is then made again on the service
   * read anew, once.
   */
  private updateService(
    stack: string,
    service: string,
    what: string,
    change: (spec: Docker.ServiceSpec, svc: Docker.Service) => { spec: Docker.ServiceSpec; query?: Record<string, string> },
  ): Promise<SwarmUpdateResult> {
    const full = scopedName(stack, service);
    return retryOutOfSequence(async () => {
      const svc = (await this.listServices(stack)).find((s) => s.Spec?.Name === full);
      if (!svc?.Spec) throw new EngineError("not-found", `no service ${service} in stack ${stack}`);
      const version = svc.Version?.Index ?? 0;
      const { spec, query } = change(structuredClone(svc.Spec), svc);
      const answer = await this.call<{ Warnings?: string[] | null } | undefined>(
        { path: `/services/${svc.ID}/update`, method: "POST", query: { version, ...query }, body: spec },
        `${what} ${full}`,
      );
      return { version, warnings: answer?.Warnings ?? [] };
    });
  }

  /** The swarm's nodes, as docker node ls shows them (with each node's role). */
  async nodes(): Promise<SwarmNode[]> {
    const list = await this.call<NodeJson[]>({ path: "/nodes", method: "GET" }, "list nodes");
    return list
      .map(
        (n): SwarmNode => ({
          id: n.ID,
          hostname: n.Description?.Hostname ?? n.ID,
          role: n.Spec?.Role === "manager" ? "manager" : "worker",
          availability: n.Spec?.Availability ?? "active",
          status: n.Status?.State ?? "unknown",
          // docker node ls's MANAGER STATUS: Leader, Reachable, Unreachable; empty for a worker.
          managerStatus: n.ManagerStatus ? (n.ManagerStatus.Leader ? "Leader" : capitalize(n.ManagerStatus.Reachability ?? "")) : "",
          address: n.Status?.Addr ?? "",
        }),
      )
      .sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  }

  /** Service logs (docker service logs): every task's output, with the task's name. */
  async *logs(stack: string, service: string, opts: { follow?: boolean; tail?: number; since?: number; signal?: AbortSignal } = {}): AsyncGenerator<LogEntry & { task: string }> {
    const full = scopedName(stack, service);
    const svc = (await this.listServices(stack)).find((s) => s.Spec?.Name === full);
    if (!svc) throw new EngineError("not-found", `no service ${service} in stack ${stack}`);
    const tasks = new Map((await this.tasksOf([svc.ID])).map((t) => [t.ID, `${full}.${t.Slot ?? t.NodeID ?? ""}`]));
    const stream = await this.call<Readable>(
      {
        path: `/services/${svc.ID}/logs`,
        method: "GET",
        query: { stdout: true, stderr: true, timestamps: true, details: true, follow: opts.follow ?? false, tail: opts.tail ?? "all", since: opts.since ?? 0 },
        isStream: true,
      },
      `logs of ${full}`,
    );
    // A followed stream of a quiet service sends nothing for hours: the caller's leaving must end it (else its socket keeps the daemon alive).
    const close = (): void => void stream.destroy();
    if (opts.signal?.aborted) close();
    opts.signal?.addEventListener("abort", close, { once: true });
    const frames = new FrameParser();
    try {
      yield* this.logEntries(stream, frames, tasks);
    } catch (err) {
      if (!opts.signal?.aborted) throw err;
    } finally {
      opts.signal?.removeEventListener("abort", close);
      stream.destroy();
    }
  }

  private async *logEntries(stream: Readable, frames: FrameParser, tasks: Map<string, string>): AsyncGenerator<LogEntry & { task: string }> {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (const f of frames.push(chunk)) {
        // details=1: "<timestamp> com.docker.swarm.node.id=..,com.docker.swarm.service.id=..,com.docker.swarm.task.id=.. <message>"
        const text = f.payload.toString("utf8");
        const m = /^(\S+) (\S*com\.docker\.swarm\.task\.id=([^,\s]+)\S*) (.*)$/s.exec(text);
        const e = logEntry(f.stream, m ? `${m[1]} ${m[4]}` : text);
        if (!e) continue;
        const id = m?.[3] ?? "";
        yield { ...e, task: tasks.get(id) ?? id };
      }
    }
  }

  /** Removes the stack: services, then (their tasks gone from every node) their stopped containers on the manager (removeTaskContainers), networks, configs and secrets. */
  async remove(stack: string, opts: { onProgress?: (e: SwarmProgress) => void } = {}): Promise<void> {
    const progress = opts.onProgress ?? (() => undefined);
    await this.removeStaleProbes();
    const services = await this.listServices(stack);
    for (const s of services) {
      await this.removeObject(`/services/${s.ID}`, `service ${s.Spec?.Name}`);
      progress({ kind: "service", service: (s.Spec?.Name ?? "").slice(stack.length + 1), action: "removed" });
    }
    await this.waitTasksGone(services.map((s) => s.ID));
    await this.removeTaskContainers(services.map((s) => s.ID));
    for (const kind of ["configs", "secrets"] as const) {
      for (const o of await this.listObjects(kind, stack)) {
        await this.removeObject(`/${kind}/${o.ID}`, `${OBJECT_KIND[kind]} ${o.Spec.Name}`);
        progress({ kind: OBJECT_KIND[kind], name: o.Spec.Name, action: "removed" });
      }
    }
    for (const n of await this.listObjects("networks", stack)) {
      await this.removeObject(`/networks/${n.ID}`, `network ${n.Spec.Name}`);
      progress({ kind: "network", name: n.Spec.Name, action: "removed" });
    }
  }
}

/** The container part of a service's task template (the other runtimes, plugins and attachments, are not stacks'). */
function containerSpecOf(spec: Docker.ServiceSpec | undefined): { Image?: string; Configs?: { ConfigID?: string }[]; Secrets?: { SecretID?: string }[] } | undefined {
  const t = spec?.TaskTemplate as { ContainerSpec?: { Image?: string; Configs?: { ConfigID?: string }[]; Secrets?: { SecretID?: string }[] } } | undefined;
  return t?.ContainerSpec;
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Runs an update; when swarm answers that its version was stale ("update out of sequence"), runs it once more (fn reads the service again). */
export async function retryOutOfSequence<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!/update out of sequence/i.test((err as Error).message)) throw err;
    return fn();
  }
}

const needsConvergence = (c: DependsOnCondition): boolean => c === "service_healthy" || c === "service_completed_successfully";
