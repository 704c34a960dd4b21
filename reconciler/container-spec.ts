// ServiceSpec -> the engine's ContainerSpec for one container of a service.
//
// This is where compose's meaning becomes the engine's: the compose labels
// that let us find the container again, the name `<project>-<service>-<n>`,
// the DNS aliases (service name and container name on every network, as
// compose v2 gives them), named volumes resolved to their engine names, and
// env entries without a value dropped (compose passes only set variables).
import { DEFAULT_BRIDGE_NETWORK } from "../engine/types.js";
import type { ContainerFile, ContainerLink, ContainerSpec, HealthcheckConfig, MountSpec, NetworkAttachment, PortBinding } from "../engine/types.js";
import { COMPOSE_VERSION, LABEL, containerName } from "../model/labels.js";
import type { ServiceSpec, StackSpec } from "../model/stack.js";
import { imageOf } from "./plan.js";

export interface ContainerSpecOptions {
  /** One-off containers (`run`) get their own number space and the oneoff label. */
  oneoff?: boolean;
  /** Service -> its first container's id, for the `service:x` of network_mode, pid and ipc (see namespace-containers.ts). */
  namespaceContainers?: Record<string, string>;
  /** volumes_from resolved to containers by the caller (see ContainerSpec.volumesFrom). */
  volumesFrom?: { container: string; mode?: "ro" | "rw" }[];
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
  const files = filesFor(stack, svc);
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
    ...(files.length > 0 ? { files } : {}),
    ...(opts.volumesFrom && opts.volumesFrom.length > 0 ? { volumesFrom: opts.volumesFrom } : {}),
    networks: networksFor(stack, svc, name),
    networkMode: joinMode(svc, "network_mode", svc.networkMode === "default" ? undefined : svc.networkMode, opts.namespaceContainers) ?? "bridge",
    ports: opts.oneoff ? [] : svc.ports.map(portBinding),
    exposedPorts: svc.expose,
    extraHosts: svc.extraHosts,
    dns: svc.dns,
    dnsSearch: svc.dnsSearch,
    dnsOptions: svc.dnsOpt,
    links: linksFor(svc),
    capAdd: svc.capAdd,
    capDrop: svc.capDrop,
    privileged: svc.privileged,
    seccompProfile: svc.seccompProfile,
    noNewPrivileges: svc.noNewPrivileges,
    readOnly: svc.readOnly,
    init: svc.init,
    pidMode: joinMode(svc, "pid", svc.pid, opts.namespaceContainers),
    ipcMode: joinMode(svc, "ipc", svc.ipc, opts.namespaceContainers),
    utsMode: svc.uts,
    cgroupnsMode: svc.cgroup,
    cgroupParent: svc.cgroupParent,
    groupAdd: svc.groupAdd,
    devices: svc.devices,
    deviceCgroupRules: svc.deviceCgroupRules,
    runtime: svc.runtime,
    platform: svc.platform,
    stopSignal: svc.stopSignal,
    stopTimeoutMs: svc.stopGracePeriodMs,
    shmSize: svc.shmSize,
    sysctls: svc.sysctls,
    ulimits: svc.ulimits,
    resources: {
      memory: svc.memLimit,
      cpus: svc.cpus,
      cpuShares: svc.cpuShares,
      cpuset: svc.cpuset,
      pids: svc.pidsLimit,
      memoryReservation: svc.memReservation,
      memorySwap: svc.memswapLimit,
      memorySwappiness: svc.memSwappiness,
      oomKillDisable: svc.oomKillDisable || undefined,
      cpuPeriod: svc.cpuPeriod,
      cpuQuota: svc.cpuQuota,
      cpuRtPeriod: svc.cpuRtPeriod,
      cpuRtRuntime: svc.cpuRtRuntime,
      blkio: svc.blkioConfig && {
        weight: svc.blkioConfig.weight,
        weightDevice: svc.blkioConfig.weightDevice,
        readBps: svc.blkioConfig.deviceReadBps,
        writeBps: svc.blkioConfig.deviceWriteBps,
        readIops: svc.blkioConfig.deviceReadIops,
        writeIops: svc.blkioConfig.deviceWriteIops,
      },
    },
    oomScoreAdj: svc.oomScoreAdj,
    healthcheck: healthcheckFor(svc),
    ...(Object.keys(svc.annotations).length > 0 ? { annotations: svc.annotations } : {}),
    log: logSpec(svc.logging),
  };
}

function mountsFor(stack: StackSpec, svc: ServiceSpec): MountSpec[] {
  const mounts: MountSpec[] = svc.volumes.map((v) => {
    const type = v.type === "bind" || v.type === "tmpfs" || v.type === "image" ? v.type : "volume";
    const source = type === "volume" && v.source !== undefined ? (stack.volumes[v.source]?.name ?? v.source) : v.source;
    return {
      type,
      source,
      target: v.target,
      readOnly: v.readOnly,
      createHostPath: v.bind?.createHostPath,
      noCopy: v.volume?.nocopy,
      ...(v.volume?.subpath !== undefined ? { subpath: v.volume.subpath } : {}),
      ...(v.image?.subpath !== undefined ? { subpath: v.image.subpath } : {}),
      tmpfsSize: v.tmpfs?.size,
      tmpfsMode: v.tmpfs?.mode,
      propagation: v.bind?.propagation,
    };
  });
  // A secret or config from a host file is a read-only bind of it, as compose makes it (never
  // a directory made in its place: the loader checked the file); the others are files the engine writes.
  for (const [r, obj] of fileRefs(stack, svc)) {
    if (obj?.file !== undefined && r.uid === undefined && r.gid === undefined && r.mode === undefined) {
      mounts.push({ type: "bind", source: obj.file, target: r.target, readOnly: true, createHostPath: false });
    }
  }
  return mounts;
}

const fileRefs = (stack: StackSpec, svc: ServiceSpec) => [
  ...svc.secrets.map((r) => [r, stack.secrets[r.source]] as const),
  ...svc.configs.map((r) => [r, stack.configs[r.source]] as const),
];

/** compose's defaults for the files it copies into a container: root's, mode 0444. */
function filesFor(stack: StackSpec, svc: ServiceSpec): ContainerFile[] {
  const out: ContainerFile[] = [];
  for (const [r, obj] of fileRefs(stack, svc)) {
    if (!obj || obj.external) continue;
    const owned = { target: r.target, uid: Number(r.uid ?? 0), gid: Number(r.gid ?? 0), mode: r.mode ?? 0o444 };
    if (obj.file !== undefined) {
      if (r.uid !== undefined || r.gid !== undefined || r.mode !== undefined) out.push({ ...owned, source: obj.file });
    } else {
      const content = obj.content ?? obj.environmentValue;
      if (content !== undefined) out.push({ ...owned, content });
    }
  }
  return out;
}

function networksFor(stack: StackSpec, svc: ServiceSpec, name: string): Record<string, NetworkAttachment> {
  const out: Record<string, NetworkAttachment> = {};
  // docker's default bridge network: no aliases there (it has no service-name DNS).
  if (svc.networkMode === "bridge" || svc.networkMode === "default") return { [DEFAULT_BRIDGE_NETWORK]: { aliases: [], ipv4Address: undefined, macAddress: svc.macAddress } };
  const ordered = Object.entries(svc.networks).sort(([, a], [, b]) => b.priority - a.priority);
  for (const [i, [key, n]] of ordered.entries()) {
    const net = stack.networks[key];
    if (!net) continue;
    const aliases = [svc.name, name, ...n.aliases];
    if (svc.hostname) aliases.push(svc.hostname);
    // The service's mac_address is its primary network's (as compose does since API 1.44): one MAC on two bridges would be one too many.
    out[net.name] = {
      aliases: [...new Set(aliases)],
      ipv4Address: n.ipv4Address,
      ...(n.ipv6Address !== undefined ? { ipv6Address: n.ipv6Address } : {}),
      macAddress: n.macAddress ?? (i === 0 ? svc.macAddress : undefined),
      ...(n.gwPriority !== 0 ? { gwPriority: n.gwPriority } : {}),
    };
  }
  return out;
}

/**
 * links "service[:alias]": the alias names the service's containers (its
 * service name is their alias on every network they share); external_links
 * "container[:alias]": a container that must share a network with this one.
 * Only this container resolves the aliases, as with dockerd's links.
 */
function linksFor(svc: ServiceSpec): ContainerLink[] {
  const parse = (link: string): { target: string; alias: string } => {
    const at = link.indexOf(":");
    return at < 0 ? { target: link, alias: link } : { target: link.slice(0, at), alias: link.slice(at + 1) };
  };
  return [...svc.links.map((l) => parse(l)), ...svc.externalLinks.map((l) => ({ ...parse(l), required: true }))];
}

/** A namespace mode with `service:x` turned into `container:<id of x's first container>`. */
function joinMode(svc: ServiceSpec, key: string, mode: string | undefined, containers: Record<string, string> | undefined): string | undefined {
  if (!mode?.startsWith("service:")) return mode;
  const shared = containers?.[mode.slice("service:".length)];
  if (!shared) throw new Error(`service "${svc.name}": ${key}: the container of ${mode} is not running`);
  return `container:${shared}`;
}

function portBinding(p: ServiceSpec["ports"][number]): PortBinding {
  return { containerPort: p.target, protocol: p.protocol, hostPort: p.published, hostIp: p.hostIp };
}

export function healthcheckFor(svc: ServiceSpec): HealthcheckConfig | undefined {
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
