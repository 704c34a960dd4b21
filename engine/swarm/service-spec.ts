// A stack's service -> the ServiceSpec dockerd's /services/create takes, as
// `docker stack deploy` converts it (docker/cli's cli/compose/convert), so
// that docker's tools read the result as one of theirs: the name
// `<stack>_<service>`, com.docker.stack.namespace on the service and its
// containers, com.docker.stack.image, the service's name as its alias on
// every network. Pure: the ids of configs and secrets and the image pinned to
// its digest come in `refs`.
//
// Where docker stack deploy and this differ: restart `no` with no
// deploy.restart_policy leaves swarm's default (any) as docker does; job
// modes default to restart on-failure (a job that restarted on success would
// never complete); a `bridge` network (the model's default driver) is an
// overlay network on swarm. endpoint_mode stays docker's default, vip, though
// a kernel without IP_VS (these test machines) cannot serve VIPs: use dnsrr
// there.
import { createHash } from "node:crypto";
import type Docker from "dockerode";
import { parseDuration } from "../../model/duration.js";
import { STACK_LABEL } from "../../model/labels.js";
import type { ServiceFileRef, ServiceSpec, StackSpec } from "../../model/stack.js";
import { EngineError } from "../errors.js";

/** A swarm config or secret as the service refers to it. */
export interface ObjectRef {
  id: string;
  name: string;
}

export interface ServiceRefs {
  /** The image reference to run (pinned to a digest when the registry said one). */
  image: string;
  configs: Record<string, ObjectRef>;
  secrets: Record<string, ObjectRef>;
}

/** `<stack>_<name>`: docker stack deploy's name for what a stack makes. */
export const scopedName = (stack: string, name: string): string => `${stack}_${name}`;

const NS_PER_MS = 1_000_000;
const ns = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.round(ms * NS_PER_MS));

/** A key the model carries as written (ServiceSpec.unsupported): deploy.placement and friends. */
export function written(svc: ServiceSpec, ...path: string[]): unknown {
  return svc.unsupported.find((k) => k.path.length === path.length && k.path.every((p, i) => p === path[i]))?.value;
}

const dict = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const num = (v: unknown): number | undefined => (v === undefined || v === null || v === "" ? undefined : Number(v));
const str = (v: unknown): string | undefined => (typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : undefined);

function durationNs(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  try {
    return ns(parseDuration(str(v) ?? ""));
  } catch (err) {
    throw new EngineError("invalid", `${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** Drops undefined fields (and empty objects), so that equal specs serialize equally. */
function compact<T extends object>(o: T): T {
  const empty = (v: unknown): boolean => v === undefined || (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
  return Object.fromEntries(Object.entries(o as Record<string, unknown>).filter(([, v]) => !empty(v))) as T;
}

const sorted = (r: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

function updateConfig(v: unknown, path: string): Docker.UpdateConfig | undefined {
  if (v === undefined) return undefined;
  const d = dict(v);
  return compact({
    Parallelism: num(d.parallelism) ?? 1,
    Delay: durationNs(d.delay, `${path}.delay`),
    FailureAction: str(d.failure_action),
    Monitor: durationNs(d.monitor, `${path}.monitor`),
    MaxFailureRatio: num(d.max_failure_ratio),
    Order: str(d.order) ?? "stop-first",
  });
}

function placement(svc: ServiceSpec): Docker.Placement | undefined {
  const p = written(svc, "deploy", "placement");
  if (p === undefined) return undefined;
  const d = dict(p);
  const prefs = Array.isArray(d.preferences) ? d.preferences.map(dict) : [];
  return compact({
    Constraints: Array.isArray(d.constraints) ? d.constraints.map(String) : undefined,
    Preferences: prefs.length > 0 ? prefs.map((x) => ({ Spread: { SpreadDescriptor: String(x.spread as string) } })) : undefined,
    MaxReplicas: num(d.max_replicas_per_node),
  });
}

function restartPolicy(svc: ServiceSpec): Docker.TaskRestartPolicy | undefined {
  const rp = svc.deploy.restartPolicy;
  if (rp) return compact({ Condition: rp.condition, Delay: ns(rp.delayMs), MaxAttempts: rp.maxAttempts, Window: ns(rp.windowMs) });
  if (svc.deploy.mode.endsWith("-job")) return { Condition: "on-failure" };
  switch (svc.restart) {
    case "always":
    case "unless-stopped":
      return { Condition: "any" };
    case "on-failure":
      return compact({ Condition: "on-failure", MaxAttempts: svc.restartMaxRetries });
    default:
      return undefined;
  }
}

function mode(svc: ServiceSpec): Docker.ServiceMode {
  switch (svc.deploy.mode) {
    case "global":
      return { Global: {} };
    case "global-job":
      return { GlobalJob: {} };
    case "replicated-job":
      return { ReplicatedJob: { MaxConcurrent: svc.replicas, TotalCompletions: svc.replicas } };
    default:
      return { Replicated: { Replicas: svc.replicas } };
  }
}

function healthcheck(svc: ServiceSpec): Docker.HealthConfig | undefined {
  const h = svc.healthcheck;
  if (!h) return undefined;
  if (h.disable) return { Test: ["NONE"] };
  return compact({ Test: h.test, Interval: ns(h.intervalMs), Timeout: ns(h.timeoutMs), Retries: h.retries, StartPeriod: ns(h.startPeriodMs) });
}

function fileRefs(refs: ServiceFileRef[], objects: Record<string, ObjectRef>, kind: "config" | "secret"): { File: { Name: string; UID: string; GID: string; Mode: number }; id: string; name: string }[] {
  return refs.map((r) => {
    const o = objects[r.source];
    if (!o) throw new EngineError("invalid", `${kind} ${JSON.stringify(r.source)} is not defined in the stack`);
    // A secret's target is under /run/secrets; swarm takes the name there (an absolute path for configs).
    const name = kind === "secret" && r.target.startsWith("/run/secrets/") ? r.target.slice("/run/secrets/".length) : r.target;
    return { File: { Name: name, UID: r.uid ?? "0", GID: r.gid ?? "0", Mode: r.mode ?? 0o444 }, id: o.id, name: o.name };
  });
}

function mounts(stack: StackSpec, svc: ServiceSpec): Docker.MountSettings[] | undefined {
  if (svc.volumes.length === 0) return undefined;
  return svc.volumes.map((v): Docker.MountSettings => {
    if (v.type === "tmpfs") return compact({ Type: "tmpfs", Target: v.target, ReadOnly: v.readOnly, TmpfsOptions: v.tmpfs ? compact({ SizeBytes: v.tmpfs.size, Mode: v.tmpfs.mode }) : undefined }) as Docker.MountSettings;
    if (v.type === "bind") return { Type: "bind", Source: v.source ?? "", Target: v.target, ReadOnly: v.readOnly };
    const volume = v.source === undefined ? undefined : stack.volumes[v.source];
    return compact({
      Type: "volume",
      Source: volume?.name ?? v.source,
      Target: v.target,
      ReadOnly: v.readOnly,
      VolumeOptions: compact({
        NoCopy: v.volume?.nocopy || undefined,
        Labels: volume && !volume.external ? sorted({ ...volume.labels, [STACK_LABEL.namespace]: stack.name }) : undefined,
        DriverConfig: volume && !volume.external && volume.driver !== "local" ? { Name: volume.driver, Options: volume.driverOpts } : undefined,
      }),
    }) as Docker.MountSettings;
  });
}

function endpoint(svc: ServiceSpec): Docker.EndpointSpec {
  const m = str(written(svc, "deploy", "endpoint_mode")) ?? "vip";
  const ports = svc.ports.map((p): Docker.PortConfig => compact({
    Protocol: p.protocol,
    TargetPort: p.target,
    PublishedPort: p.published === undefined ? undefined : Number(p.published),
    PublishMode: p.mode,
  }));
  return compact({ Mode: m, Ports: ports.length > 0 ? ports : undefined });
}

/** extra_hosts `name:ip` (or `name=ip`) -> swarm's `ip name`. */
function hosts(svc: ServiceSpec): string[] | undefined {
  if (svc.extraHosts.length === 0) return undefined;
  return svc.extraHosts.map((h) => {
    const m = /^([^:=]+)[:=](.+)$/.exec(h);
    return m ? `${m[2]} ${m[1]}` : h;
  });
}

/** The spec `docker stack deploy` would send for `svc`, with STACK_LABEL.specHash over the rest. */
export function serviceSpec(stack: StackSpec, svc: ServiceSpec, refs: ServiceRefs): Docker.ServiceSpec {
  const env = Object.entries(svc.environment)
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const limits = svc.deploy.resources.limits;
  const reservations = svc.deploy.resources.reservations;
  const cpus = limits?.cpus ?? svc.cpus;
  const memory = limits?.memory ?? svc.memLimit;
  const configs = fileRefs(svc.configs, refs.configs, "config");
  const secrets = fileRefs(svc.secrets, refs.secrets, "secret");
  const networks = Object.entries(svc.networks)
    .sort(([, a], [, b]) => b.priority - a.priority)
    .map(([key, n]) => {
      const net = stack.networks[key];
      if (!net) throw new EngineError("invalid", `service ${svc.name}: network ${JSON.stringify(key)} is not defined in the stack`);
      return { Target: net.name, Aliases: [svc.name, ...n.aliases] };
    });
  const containerSpec: Docker.ContainerSpec = compact({
    Image: refs.image,
    Labels: sorted({ ...svc.labels, [STACK_LABEL.namespace]: stack.name }),
    Command: svc.entrypoint,
    Args: svc.command,
    Hostname: svc.hostname,
    Env: env.length > 0 ? env : undefined,
    Dir: svc.workingDir,
    User: svc.user,
    Groups: svc.groupAdd.length > 0 ? svc.groupAdd : undefined,
    Init: svc.init || undefined,
    TTY: svc.tty || undefined,
    OpenStdin: svc.stdinOpen || undefined,
    ReadOnly: svc.readOnly || undefined,
    Mounts: mounts(stack, svc),
    StopSignal: svc.stopSignal,
    StopGracePeriod: ns(svc.stopGracePeriodMs),
    HealthCheck: healthcheck(svc),
    Hosts: hosts(svc),
    DNSConfig: compact({
      Nameservers: svc.dns.length > 0 ? svc.dns : undefined,
      Search: svc.dnsSearch.length > 0 ? svc.dnsSearch : undefined,
      Options: svc.dnsOpt.length > 0 ? svc.dnsOpt : undefined,
    }),
    Configs: configs.length > 0 ? configs.map((c) => ({ File: c.File, ConfigID: c.id, ConfigName: c.name })) : undefined,
    Secrets: secrets.length > 0 ? secrets.map((c) => ({ File: c.File, SecretID: c.id, SecretName: c.name })) : undefined,
    Sysctls: Object.keys(svc.sysctls).length > 0 ? sorted(svc.sysctls) : undefined,
    CapabilityAdd: svc.capAdd.length > 0 ? svc.capAdd : undefined,
    CapabilityDrop: svc.capDrop.length > 0 ? svc.capDrop : undefined,
    Ulimits: Object.keys(svc.ulimits).length > 0 ? Object.entries(svc.ulimits).map(([Name, u]) => ({ Name, Soft: u.soft, Hard: u.hard })) : undefined,
  });
  const spec: Docker.ServiceSpec = compact({
    Name: scopedName(stack.name, svc.name),
    Labels: sorted({ ...svc.deploy.labels, [STACK_LABEL.namespace]: stack.name, [STACK_LABEL.image]: svc.image ?? refs.image }),
    TaskTemplate: compact({
      ContainerSpec: containerSpec,
      Resources: compact({
        Limits: compact({ NanoCPUs: cpus === undefined ? undefined : Math.round(cpus * 1e9), MemoryBytes: memory, Pids: limits?.pids ?? svc.pidsLimit }),
        Reservations: compact({ NanoCPUs: reservations?.cpus === undefined ? undefined : Math.round(reservations.cpus * 1e9), MemoryBytes: reservations?.memory }),
      }),
      RestartPolicy: restartPolicy(svc),
      Placement: placement(svc),
      Networks: networks.length > 0 ? networks : undefined,
      LogDriver: svc.logging?.driver ? compact({ Name: svc.logging.driver, Options: Object.keys(svc.logging.options).length > 0 ? svc.logging.options : undefined }) : undefined,
    }),
    Mode: mode(svc),
    UpdateConfig: updateConfig(written(svc, "deploy", "update_config"), `services.${svc.name}.deploy.update_config`),
    RollbackConfig: updateConfig(written(svc, "deploy", "rollback_config"), `services.${svc.name}.deploy.rollback_config`),
    EndpointSpec: endpoint(svc),
  });
  const taskHash = createHash("sha256").update(JSON.stringify(spec.TaskTemplate)).digest("hex");
  spec.Labels = { ...spec.Labels, [STACK_LABEL.taskHash]: taskHash };
  spec.Labels = { ...spec.Labels, [STACK_LABEL.specHash]: specHash(spec) };
  return spec;
}

/** sha256 of the spec without its own hash label: what redeploy compares. */
export function specHash(spec: Docker.ServiceSpec): string {
  const labels = { ...spec.Labels };
  delete labels[STACK_LABEL.specHash];
  return createHash("sha256").update(JSON.stringify({ ...spec, Labels: labels })).digest("hex");
}

/** The service's wanted task count: replicas, or job completions; undefined for the global modes. */
export function wantedTasks(spec: Docker.ServiceSpec): number | undefined {
  return spec.Mode?.Replicated?.Replicas ?? spec.Mode?.ReplicatedJob?.TotalCompletions;
}

export const isJob = (spec: Docker.ServiceSpec | undefined): boolean => spec?.Mode?.ReplicatedJob !== undefined || spec?.Mode?.GlobalJob !== undefined;
