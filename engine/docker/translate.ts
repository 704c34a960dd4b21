// dockerd's JSON -> the Engine's types: container and image inspect, networks,
// volumes, stats, events and disk usage. Pure, unit tested in translate.test.ts.
import { parseReference, normalizedName, referenceString } from "../content/reference.js";
import type { ContainerInfo, ContainerState, ContainerStats, EngineDiskUsage, EngineEvent, ImageInfo, NetworkInfo, PortBinding, VolumeInfo } from "../types.js";

const ZERO_TIME = "0001-01-01T00:00:00Z";
const STATES: readonly ContainerState[] = ["created", "running", "paused", "restarting", "exited", "dead", "removing"];
const NS_PER_MS = 1_000_000;

/** What this engine remembers about a container that dockerd does not (see DockerEngine). */
export interface ContainerOverlay {
  restarting?: boolean;
  restartCount?: number;
  stopRequested?: boolean;
}

export interface DockerContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  Created: string;
  Path: string;
  Args: string[] | null;
  State: { Status: string; Pid: number; ExitCode: number; OOMKilled: boolean; Error: string; StartedAt: string; FinishedAt: string };
  Config: { Image: string; Labels: Record<string, string> | null; Tty?: boolean; OpenStdin?: boolean };
  NetworkSettings: {
    Ports: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
    Networks: Record<string, { IPAddress: string; Aliases: string[] | null; MacAddress: string }> | null;
  };
  Mounts: { Type: string; Name?: string; Destination: string }[] | null;
}

/** A volume docker named itself: 64 hex digits (the name of every anonymous volume). */
export const ANONYMOUS_VOLUME_NAME = /^[0-9a-f]{64}$/;

function time(s: string | undefined): string | undefined {
  return s === undefined || s === "" || s === ZERO_TIME ? undefined : s;
}

export function containerInfo(c: DockerContainerInspect, overlay: ContainerOverlay = {}): ContainerInfo {
  const status = STATES.includes(c.State.Status as ContainerState) ? (c.State.Status as ContainerState) : "dead";
  const state: ContainerState = overlay.restarting && status === "exited" ? "restarting" : status;
  const ports: ContainerInfo["ports"] = [];
  for (const [key, bindings] of Object.entries(c.NetworkSettings.Ports ?? {})) {
    const [port, proto] = key.split("/");
    for (const b of bindings ?? []) ports.push({ containerPort: Number(port), protocol: (proto ?? "tcp") as PortBinding["protocol"], hostPort: b.HostPort, hostIp: b.HostIp === "" ? undefined : b.HostIp });
  }
  const networks: ContainerInfo["networks"] = {};
  for (const [name, n] of Object.entries(c.NetworkSettings.Networks ?? {})) {
    networks[name] = { ipAddress: n.IPAddress, aliases: n.Aliases ?? [], macAddress: n.MacAddress === "" ? undefined : n.MacAddress };
  }
  const volumes: string[] = [];
  const anonymousVolumes: { name: string; target: string }[] = [];
  for (const m of c.Mounts ?? []) {
    if (m.Type !== "volume" || !m.Name) continue;
    if (ANONYMOUS_VOLUME_NAME.test(m.Name)) anonymousVolumes.push({ name: m.Name, target: m.Destination });
    else volumes.push(m.Name);
  }
  const ended = status === "exited" || status === "dead";
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ""),
    image: c.Config.Image,
    imageId: c.Image,
    labels: c.Config.Labels ?? {},
    state,
    pid: c.State.Pid > 0 ? c.State.Pid : undefined,
    exitCode: ended ? c.State.ExitCode : undefined,
    oomKilled: c.State.OOMKilled,
    error: c.State.Error === "" ? undefined : c.State.Error,
    createdAt: c.Created,
    startedAt: time(c.State.StartedAt),
    finishedAt: ended ? time(c.State.FinishedAt) : undefined,
    restartCount: overlay.restartCount ?? 0,
    ...(overlay.stopRequested ? { stopRequested: true } : {}),
    command: [c.Path, ...(c.Args ?? [])].filter((x, i) => i > 0 || x !== ""),
    tty: c.Config.Tty === true,
    openStdin: c.Config.OpenStdin === true,
    ports,
    networks,
    volumes,
    anonymousVolumes,
  };
}

/** "busybox:latest" -> "docker.io/library/busybox:latest"; what does not parse stays as it is. */
export function normalizeRef(ref: string, digest = false): string {
  try {
    const r = parseReference(ref);
    return digest ? referenceString(r) : normalizedName(r);
  } catch {
    return ref;
  }
}

export interface DockerImageInspect {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: string;
  Size: number;
  Architecture: string;
  Os: string;
  Variant?: string;
  Config: {
    Entrypoint: string[] | null;
    Cmd: string[] | null;
    Env: string[] | null;
    WorkingDir: string;
    User: string;
    ExposedPorts: Record<string, object> | null;
    Volumes: Record<string, object> | null;
    Labels: Record<string, string> | null;
    StopSignal?: string;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
  } | null;
}

export function imageInfo(i: DockerImageInspect): ImageInfo {
  const cfg = i.Config;
  const h = cfg?.Healthcheck;
  const ms = (ns: number | undefined): number | undefined => (ns ? ns / NS_PER_MS : undefined);
  return {
    id: i.Id,
    repoTags: (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>").map((t) => normalizeRef(t)),
    repoDigests: (i.RepoDigests ?? []).filter((t) => !t.startsWith("<none>")).map((t) => normalizeRef(t, true)),
    created: i.Created === "" ? undefined : i.Created,
    // dockerd reports the unpacked size only; the compressed one stays in the registry.
    size: i.Size,
    unpackedSize: i.Size,
    architecture: i.Architecture,
    os: i.Os,
    ...(i.Variant ? { variant: i.Variant } : {}),
    config: {
      entrypoint: cfg?.Entrypoint ?? undefined,
      cmd: cfg?.Cmd ?? undefined,
      env: cfg?.Env ?? [],
      workingDir: cfg?.WorkingDir || undefined,
      user: cfg?.User || undefined,
      exposedPorts: Object.keys(cfg?.ExposedPorts ?? {}),
      volumes: Object.keys(cfg?.Volumes ?? {}),
      labels: cfg?.Labels ?? {},
      stopSignal: cfg?.StopSignal || undefined,
      healthcheck: h?.Test ? { test: h.Test, intervalMs: ms(h.Interval), timeoutMs: ms(h.Timeout), retries: h.Retries || undefined, startPeriodMs: ms(h.StartPeriod) } : undefined,
    },
  };
}

export interface DockerNetworkInspect {
  Id: string;
  Name: string;
  Driver: string;
  Internal: boolean;
  Labels: Record<string, string> | null;
  IPAM: { Config: { Subnet?: string; Gateway?: string }[] | null } | null;
  Options?: Record<string, string> | null;
}

export function networkInfo(n: DockerNetworkInspect): NetworkInfo {
  const v4 = (n.IPAM?.Config ?? []).find((c) => c.Subnet !== undefined && !c.Subnet.includes(":"));
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    labels: n.Labels ?? {},
    subnet: v4?.Subnet ?? "",
    gateway: v4?.Gateway ?? "",
    internal: n.Internal,
    bridge: n.Options?.["com.docker.network.bridge.name"] ?? (n.Driver === "bridge" ? `br-${n.Id.slice(0, 12)}` : undefined),
  };
}

export interface DockerVolumeInspect {
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  CreatedAt?: string;
}

export function volumeInfo(v: DockerVolumeInspect): VolumeInfo {
  return { name: v.Name, driver: v.Driver, labels: v.Labels ?? {}, mountpoint: v.Mountpoint, createdAt: v.CreatedAt ?? "" };
}

export interface DockerStats {
  read: string;
  cpu_stats: { cpu_usage: { total_usage: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

export function containerStats(s: DockerStats): ContainerStats {
  const mem = s.memory_stats;
  // As the docker CLI: the page cache that could be dropped is not usage (cgroup v1 total_inactive_file, v2 inactive_file).
  const inactive = mem.stats?.total_inactive_file ?? mem.stats?.inactive_file ?? 0;
  const usage = mem.usage ?? 0;
  let blockRead = 0;
  let blockWrite = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (e.op.toLowerCase() === "read") blockRead += e.value;
    if (e.op.toLowerCase() === "write") blockWrite += e.value;
  }
  let netRx = 0;
  let netTx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    netRx += n.rx_bytes;
    netTx += n.tx_bytes;
  }
  const parsed = Date.parse(s.read);
  return {
    time: Number.isNaN(parsed) || parsed <= 0 ? Date.now() : parsed,
    cpuUsageNs: s.cpu_stats.cpu_usage.total_usage,
    systemUsageNs: s.cpu_stats.system_cpu_usage ?? 0,
    onlineCpus: s.cpu_stats.online_cpus ?? s.cpu_stats.cpu_usage.percpu_usage?.length ?? 1,
    memoryUsage: usage > inactive ? usage - inactive : usage,
    memoryLimit: mem.limit ?? 0,
    pids: s.pids_stats?.current ?? 0,
    blockRead,
    blockWrite,
    netRx,
    netTx,
  };
}

export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
  timeNano?: number;
}

const CONTAINER_ACTIONS = new Set(["create", "start", "die", "stop", "kill", "pause", "unpause", "destroy", "oom", "restart"]);
// A container's labels come with its events as attributes, beside these of docker's own.
const NOT_LABELS = new Set(["name", "image", "exitCode", "signal", "execID", "container", "type", "driver"]);

/**
 * One of docker's events -> ours, or undefined for those we do not carry
 * (exec_*, attach, resize, top, archive-path ...). Image events name the
 * reference; their image id is looked up by the caller.
 */
export function engineEvent(e: DockerEvent): EngineEvent | undefined {
  const attrs = e.Actor.Attributes ?? {};
  const time = e.timeNano ? Math.floor(e.timeNano / NS_PER_MS) : e.time * 1000;
  if (e.Type === "container") {
    const labels = Object.fromEntries(Object.entries(attrs).filter(([k]) => !NOT_LABELS.has(k)));
    const name = attrs.name ?? "";
    if (e.Action.startsWith("health_status")) {
      const status = e.Action.slice("health_status".length).replace(/^:\s*/, "");
      if (status !== "starting" && status !== "healthy" && status !== "unhealthy") return undefined;
      return { type: "container", action: "health_status", id: e.Actor.ID, name, labels, status, time };
    }
    if (!CONTAINER_ACTIONS.has(e.Action)) return undefined;
    const action = e.Action as "create";
    return { type: "container", action, id: e.Actor.ID, name, labels, ...(action === ("die" as string) && attrs.exitCode !== undefined ? { exitCode: Number(attrs.exitCode) } : {}), time };
  }
  if (e.Type === "image" && (e.Action === "pull" || e.Action === "delete" || e.Action === "tag" || e.Action === "untag")) {
    const ref = attrs.name ?? e.Actor.ID;
    return { type: "image", action: e.Action, id: e.Actor.ID, ref: normalizeRef(ref), time };
  }
  if (e.Type === "network" && (e.Action === "create" || e.Action === "destroy" || e.Action === "connect" || e.Action === "disconnect")) {
    return { type: "network", action: e.Action, id: e.Actor.ID, name: attrs.name ?? "", ...(attrs.container ? { container: attrs.container } : {}), time };
  }
  if (e.Type === "volume" && (e.Action === "create" || e.Action === "destroy")) return { type: "volume", action: e.Action, name: e.Actor.ID, time };
  return undefined;
}

/** dockerd's GET /system/df, the fields `docker system df` reads (-1: dockerd did not measure it). */
export interface DockerSystemDf {
  LayersSize: number;
  Images: { Containers: number; Size: number; SharedSize: number }[] | null;
  Containers: { State: string; SizeRw?: number }[] | null;
  Volumes: { UsageData: { Size: number; RefCount: number } | null }[] | null;
  BuildCache: { Size: number; InUse: boolean; Shared: boolean }[] | null;
}

/**
 * The four rows of `system df`, counted the way the docker CLI counts
 * dockerd's answer (cli/command/formatter/disk_usage.go): images take the
 * layers' total once, and an image in use keeps only its own layers
 * (Size - SharedSize) from the reclaimable bytes.
 */
export function diskUsageFigures(df: DockerSystemDf): EngineDiskUsage {
  const images = df.Images ?? [];
  const used = images.filter((i) => i.Containers > 0);
  const kept = used.reduce((n, i) => (i.Size === -1 || i.SharedSize === -1 ? n : n + i.Size - i.SharedSize), 0);
  const containers = df.Containers ?? [];
  const active = (state: string): boolean => /running|paused|restarting/.test(state);
  const written = (list: typeof containers): number => list.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const volumes = (df.Volumes ?? []).map((v) => v.UsageData ?? { Size: -1, RefCount: 0 });
  const measured = (list: typeof volumes): number => list.reduce((n, v) => (v.Size === -1 ? n : n + v.Size), 0);
  const cache = (df.BuildCache ?? []).filter((c) => !c.Shared);
  return {
    images: { total: images.length, active: used.length, size: df.LayersSize, reclaimable: df.LayersSize - kept },
    containers: { total: containers.length, active: containers.filter((c) => active(c.State)).length, size: written(containers), reclaimable: written(containers.filter((c) => !active(c.State))) },
    volumes: { total: volumes.length, active: volumes.filter((v) => v.RefCount > 0).length, size: measured(volumes), reclaimable: measured(volumes.filter((v) => v.RefCount === 0)) },
    buildCache: { total: (df.BuildCache ?? []).length, active: (df.BuildCache ?? []).filter((c) => c.InUse).length, size: cache.reduce((n, c) => n + c.Size, 0), reclaimable: cache.filter((c) => !c.InUse).reduce((n, c) => n + c.Size, 0) },
  };
}
