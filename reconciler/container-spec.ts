// ServiceSpec -> the engine's ContainerSpec for one container of a service.
//
// This is where compose's meaning becomes the engine's: the compose labels
// that let us find the container again, the name `<project>-<service>-<n>`,
// the DNS aliases (service name and container name on every network, as
// compose v2 gives them), named volumes resolved to their engine names, and
// env entries without a value dropped (compose passes only set variables).
import type { ContainerSpec, HealthcheckConfig, MountSpec, NetworkAttachment, PortBinding } from "../engine/types.js";
import { COMPOSE_VERSION, LABEL, containerName } from "../model/labels.js";
import type { ServiceSpec, StackSpec } from "../model/stack.js";
import { imageOf } from "./plan.js";

export interface ContainerSpecOptions {
  /** One-off containers (`run`) get their own number space and the oneoff label. */
  oneoff?: boolean;
  /** `network_mode: service:x` resolved to the id of x's container by the caller. */
  sharedNetworkContainer?: string;
  /** The anonymous volumes of the container this one replaces (see ContainerSpec.inheritVolumes). */
  inheritVolumes?: { name: string; target: string }[];
  /** Overrides for `tscompose run`: command, env, entrypoint, name. */
  command?: string[];
  entrypoint?: string[];
  extraEnv?: Record<string, string>;
  name?: string;
}

export function containerNameFor(stack: StackSpec, svc: ServiceSpec, number: number, oneoff = false): string {
  if (svc.containerName && !oneoff) return svc.containerName;
  return oneoff ? `${stack.name}-${svc.name}-run-${number}` : containerName(stack.name, svc.name, number);
}

export function containerSpecFor(stack: StackSpec, svc: ServiceSpec, number: number, opts: ContainerSpecOptions = {}): ContainerSpec {
  const name = opts.name ?? containerNameFor(stack, svc, number, opts.oneoff);
  const env = Object.entries({ ...svc.environment, ...opts.extraEnv })
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k}=${v}`);
  const labels: Record<string, string> = {
    ...svc.labels,
    [LABEL.project]: stack.name,
    [LABEL.service]: svc.name,
    [LABEL.number]: String(number),
    [LABEL.configHash]: svc.configHash,
    [LABEL.oneoff]: opts.oneoff ? "True" : "False",
    [LABEL.workingDir]: stack.workingDir,
    [LABEL.configFiles]: stack.configFiles.join(","),
    [LABEL.version]: COMPOSE_VERSION,
    [LABEL.dependsOn]: Object.entries(svc.dependsOn)
      .map(([dep, d]) => `${dep}:${d.condition}:${d.restart}`)
      .join(","),
  };
  return {
    name,
    image: imageOf(stack, svc),
    labels,
    entrypoint: opts.entrypoint ?? svc.entrypoint,
    cmd: opts.command ?? svc.command,
    env,
    workingDir: svc.workingDir,
    user: svc.user,
    hostname: svc.hostname,
    domainname: svc.domainname,
    tty: svc.tty,
    openStdin: svc.stdinOpen,
    mounts: mountsFor(stack, svc),
    ...(opts.inheritVolumes && opts.inheritVolumes.length > 0 ? { inheritVolumes: opts.inheritVolumes } : {}),
    tmpfs: svc.tmpfs,
    networks: networksFor(stack, svc, name),
    networkMode: networkModeFor(svc, opts.sharedNetworkContainer),
    ports: opts.oneoff ? [] : svc.ports.map(portBinding),
    exposedPorts: svc.expose,
    extraHosts: svc.extraHosts,
    dns: svc.dns,
    dnsSearch: svc.dnsSearch,
    capAdd: svc.capAdd,
    capDrop: svc.capDrop,
    privileged: svc.privileged,
    seccompProfile: svc.seccompProfile,
    noNewPrivileges: svc.noNewPrivileges,
    readOnly: svc.readOnly,
    init: svc.init,
    stopSignal: svc.stopSignal,
    stopTimeoutMs: svc.stopGracePeriodMs,
    shmSize: svc.shmSize,
    sysctls: svc.sysctls,
    ulimits: svc.ulimits,
    resources: { memory: svc.memLimit, cpus: svc.cpus, cpuShares: svc.cpuShares, cpuset: svc.cpuset, pids: svc.pidsLimit },
    healthcheck: healthcheckFor(svc),
    ...(Object.keys(svc.annotations).length > 0 ? { annotations: svc.annotations } : {}),
    log: logSpec(svc.logging),
  };
}

function mountsFor(stack: StackSpec, svc: ServiceSpec): MountSpec[] {
  const mounts: MountSpec[] = svc.volumes.map((v) => {
    const type = v.type === "bind" || v.type === "tmpfs" ? v.type : "volume";
    const source = type === "volume" && v.source !== undefined ? (stack.volumes[v.source]?.name ?? v.source) : v.source;
    return {
      type,
      source,
      target: v.target,
      readOnly: v.readOnly,
      createHostPath: v.bind?.createHostPath,
      noCopy: v.volume?.nocopy,
      tmpfsSize: v.tmpfs?.size,
      tmpfsMode: v.tmpfs?.mode,
      propagation: v.bind?.propagation,
    };
  });
  // Secrets and configs are files bind-mounted read-only at their targets.
  for (const ref of svc.secrets) {
    const file = stack.secrets[ref.source]?.file;
    if (file) mounts.push({ type: "bind", source: file, target: ref.target, readOnly: true });
  }
  for (const ref of svc.configs) {
    const file = stack.configs[ref.source]?.file;
    if (file) mounts.push({ type: "bind", source: file, target: ref.target, readOnly: true });
  }
  return mounts;
}

function networksFor(stack: StackSpec, svc: ServiceSpec, name: string): Record<string, NetworkAttachment> {
  const out: Record<string, NetworkAttachment> = {};
  const ordered = Object.entries(svc.networks).sort(([, a], [, b]) => b.priority - a.priority);
  for (const [key, n] of ordered) {
    const net = stack.networks[key];
    if (!net) continue;
    const aliases = [svc.name, name, ...n.aliases];
    if (svc.hostname) aliases.push(svc.hostname);
    out[net.name] = { aliases: [...new Set(aliases)], ipv4Address: n.ipv4Address, macAddress: svc.macAddress };
  }
  return out;
}

function networkModeFor(svc: ServiceSpec, shared: string | undefined): string {
  const mode = svc.networkMode;
  if (mode === undefined) return "bridge";
  if (mode.startsWith("service:")) {
    if (!shared) throw new Error(`service "${svc.name}": the container of ${mode} is not running`);
    return `container:${shared}`;
  }
  return mode;
}

function portBinding(p: ServiceSpec["ports"][number]): PortBinding {
  return { containerPort: p.target, protocol: p.protocol, hostPort: p.published, hostIp: p.hostIp };
}

function healthcheckFor(svc: ServiceSpec): HealthcheckConfig | undefined {
  const h = svc.healthcheck;
  if (!h || h.test === undefined) return h?.disable ? { test: ["NONE"], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0, startIntervalMs: 0 } : undefined;
  return {
    test: h.disable ? ["NONE"] : h.test,
    intervalMs: h.intervalMs,
    timeoutMs: h.timeoutMs,
    retries: h.retries,
    startPeriodMs: h.startPeriodMs,
    startIntervalMs: h.startIntervalMs,
  };
}

function sizeOption(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)([kmg]?)b?$/i.exec(v.trim());
  if (!m) return undefined;
  const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? "").toLowerCase()] ?? 1;
  return Number(m[1]) * mult;
}

// docker's local driver: its own rotation defaults (20m, 5 files) unless told; our file is the same either way.
const LOCAL_DEFAULTS = { "max-size": "20m", "max-file": "5" };

/** logging -> the engine's log: json-file and local keep a rotated file (local with its defaults), none keeps nothing. */
function logSpec(logging: ServiceSpec["logging"]): ContainerSpec["log"] {
  const driver = logging?.driver ?? "json-file";
  if (driver === "none") return { maxSize: undefined, maxFiles: undefined, driver: "none" };
  const options = driver === "local" ? { ...LOCAL_DEFAULTS, ...logging?.options } : (logging?.options ?? {});
  return {
    maxSize: sizeOption(options["max-size"]),
    maxFiles: options["max-file"] !== undefined ? Number(options["max-file"]) : undefined,
  };
}
