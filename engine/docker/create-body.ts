// ContainerSpec -> the body of dockerd's POST /containers/create. Pure, so the
// mapping is unit tested field by field (create-body.test.ts). A field docker
// cannot express at the negotiated API version is an EngineError "invalid"
// naming it: never dropped. Restart policies are the daemon's (its supervisor
// restarts), so docker's is always "no".
import { EngineError } from "../errors.js";
import type { ContainerSpec, MountSpec, NetworkAttachment } from "../types.js";
import { compareApiVersions } from "./connection.js";

export interface CreateRequest {
  /** Query: the container's name and platform. */
  name: string;
  platform: string | undefined;
  body: Record<string, unknown>;
  /** Networks beyond the one the create attaches (API < 1.44 takes one): connected before start, in order. */
  connectAfter: { network: string; attachment: NetworkAttachment }[];
}

const NS_PER_MS = 1_000_000;

function unsupported(field: string, why: string): EngineError {
  return new EngineError("invalid", `the docker engine cannot express ${field}: ${why}`);
}

/** "80", "80/udp", "3000-3002/tcp" -> docker's "port/proto" keys, one per port. */
export function exposedPortKeys(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(spec.trim());
  if (!m) throw new EngineError("invalid", `exposed port ${JSON.stringify(spec)}: not PORT[-END][/PROTO]`);
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  if (last < first || last - first > 65535) throw new EngineError("invalid", `exposed port ${JSON.stringify(spec)}: a bad range`);
  const proto = m[3] ?? "tcp";
  return Array.from({ length: last - first + 1 }, (_, i) => `${first + i}/${proto}`);
}

function bindString(m: MountSpec): string {
  const opts = [m.readOnly ? "ro" : "rw", ...(m.propagation ? [m.propagation] : [])];
  return `${m.source}:${m.target}:${opts.join(",")}`;
}

function mountObject(m: MountSpec, apiVersion: string): Record<string, unknown> {
  if (m.type === "tmpfs") {
    const tmpfs: Record<string, unknown> = {};
    if (m.tmpfsSize !== undefined) tmpfs.SizeBytes = m.tmpfsSize;
    if (m.tmpfsMode !== undefined) tmpfs.Mode = m.tmpfsMode;
    return { Type: "tmpfs", Target: m.target, ReadOnly: m.readOnly, ...(Object.keys(tmpfs).length > 0 ? { TmpfsOptions: tmpfs } : {}) };
  }
  if (m.type === "image") {
    // dockerd mounts images from API 1.48 on (docker 28).
    if (compareApiVersions(apiVersion, "1.48") < 0) throw unsupported(`the image mount at ${m.target}`, `needs API 1.48, dockerd speaks ${apiVersion}`);
    return { Type: "image", Source: m.source, Target: m.target, ReadOnly: true, ...(m.subpath !== undefined ? { ImageOptions: { Subpath: m.subpath } } : {}) };
  }
  if (m.type === "bind") {
    return { Type: "bind", Source: m.source, Target: m.target, ReadOnly: m.readOnly, ...(m.propagation ? { BindOptions: { Propagation: m.propagation } } : {}) };
  }
  const volumeOptions: Record<string, unknown> = {};
  if (m.noCopy) volumeOptions.NoCopy = true;
  if (m.subpath !== undefined) {
    if (compareApiVersions(apiVersion, "1.45") < 0) throw unsupported(`the volume subpath of ${m.target}`, `needs API 1.45, dockerd speaks ${apiVersion}`);
    volumeOptions.Subpath = m.subpath;
  }
  return { Type: "volume", ...(m.source !== undefined ? { Source: m.source } : {}), Target: m.target, ReadOnly: m.readOnly, ...(Object.keys(volumeOptions).length > 0 ? { VolumeOptions: volumeOptions } : {}) };
}

function endpoint(a: NetworkAttachment, links: string[] | undefined, apiVersion: string, network: string): Record<string, unknown> {
  if (a.gwPriority !== undefined && a.gwPriority !== 0) throw unsupported(`networks.${network}.gw_priority`, "needs API 1.48");
  const out: Record<string, unknown> = { Aliases: a.aliases };
  const ipam: Record<string, string> = {};
  if (a.ipv4Address !== undefined) ipam.IPv4Address = a.ipv4Address;
  if (a.ipv6Address !== undefined) ipam.IPv6Address = a.ipv6Address;
  if (Object.keys(ipam).length > 0) out.IPAMConfig = ipam;
  if (a.macAddress !== undefined && compareApiVersions(apiVersion, "1.44") >= 0) out.MacAddress = a.macAddress;
  if (links && links.length > 0) out.Links = links;
  return out;
}

function nonEmpty<T>(xs: T[] | undefined): T[] | undefined {
  return xs !== undefined && xs.length > 0 ? xs : undefined;
}

export function createRequest(spec: ContainerSpec, apiVersion: string): CreateRequest {
  const v144 = compareApiVersions(apiVersion, "1.44") >= 0;
  const exposed: Record<string, object> = {};
  for (const p of spec.exposedPorts) for (const key of exposedPortKeys(p)) exposed[key] = {};
  const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of spec.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    exposed[key] = {};
    (portBindings[key] ??= []).push({ HostIp: p.hostIp ?? "", HostPort: p.hostPort ?? "" });
  }

  // Mounts: a bind whose host path may be created goes through Binds (the Mounts API refuses a missing source).
  const binds: string[] = [];
  const mounts: Record<string, unknown>[] = [];
  const inherited = new Map((spec.inheritVolumes ?? []).map((v) => [v.target, v.name]));
  for (const m of spec.mounts) {
    const carried = m.type === "volume" && m.source === undefined ? inherited.get(m.target) : undefined;
    if (carried !== undefined) {
      inherited.delete(m.target);
      mounts.push(mountObject({ ...m, source: carried }, apiVersion));
    } else if (m.type === "bind" && m.createHostPath) binds.push(bindString(m));
    else mounts.push(mountObject(m, apiVersion));
  }
  // The rest take the place of the image's anonymous VOLUMEs at their targets.
  for (const [target, name] of inherited) mounts.push({ Type: "volume", Source: name, Target: target, ReadOnly: false });

  const tmpfs: Record<string, string> = {};
  for (const t of spec.tmpfs) {
    const i = t.indexOf(":");
    tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? "" : t.slice(i + 1);
  }

  const securityOpt: string[] = [];
  if (spec.seccompProfile !== undefined) securityOpt.push(`seccomp=${spec.seccompProfile}`);
  if (spec.noNewPrivileges) securityOpt.push("no-new-privileges:true");

  const r = spec.resources;
  const blkio = r.blkio;
  const resources: Record<string, unknown> = {
    Memory: r.memory,
    NanoCpus: r.cpus === undefined ? undefined : Math.round(r.cpus * 1e9),
    CpuShares: r.cpuShares,
    CpusetCpus: r.cpuset,
    PidsLimit: r.pids,
    MemoryReservation: r.memoryReservation,
    MemorySwap: r.memorySwap,
    MemorySwappiness: r.memorySwappiness,
    OomKillDisable: r.oomKillDisable,
    CpuPeriod: r.cpuPeriod,
    CpuQuota: r.cpuQuota,
    CpuRealtimePeriod: r.cpuRtPeriod,
    CpuRealtimeRuntime: r.cpuRtRuntime,
    BlkioWeight: blkio?.weight,
    BlkioWeightDevice: nonEmpty(blkio?.weightDevice.map((d) => ({ Path: d.path, Weight: d.weight }))),
    BlkioDeviceReadBps: nonEmpty(blkio?.readBps.map((d) => ({ Path: d.path, Rate: d.rate }))),
    BlkioDeviceWriteBps: nonEmpty(blkio?.writeBps.map((d) => ({ Path: d.path, Rate: d.rate }))),
    BlkioDeviceReadIOps: nonEmpty(blkio?.readIops.map((d) => ({ Path: d.path, Rate: d.rate }))),
    BlkioDeviceWriteIOps: nonEmpty(blkio?.writeIops.map((d) => ({ Path: d.path, Rate: d.rate }))),
  };

  // Networks: the first goes in the create (docker's NetworkMode names it), the others are connected before start.
  const names = Object.keys(spec.networks);
  let networkMode = spec.networkMode;
  const endpoints: Record<string, unknown> = {};
  const connectAfter: CreateRequest["connectAfter"] = [];
  const links = spec.links.map((l) => `${l.target}:${l.alias}`);
  if (spec.networkMode === "bridge" || spec.networkMode === "default") {
    if (names.length > 0) {
      networkMode = names[0] as string;
      names.forEach((n, i) => {
        const a = spec.networks[n] as NetworkAttachment;
        if (i === 0 || v144) endpoints[n] = endpoint(a, links, apiVersion, n);
        else {
          endpoint(a, undefined, apiVersion, n); // checks it all the same
          connectAfter.push({ network: n, attachment: a });
        }
      });
    } else networkMode = "bridge";
  } else if (names.length > 0) {
    throw unsupported("networks", `a container with network_mode ${JSON.stringify(spec.networkMode)} joins no network`);
  }
  const firstAttachment = names.length > 0 ? spec.networks[names[0] as string] : undefined;
  if (spec.log.driver === "none" && (spec.log.maxSize !== undefined || spec.log.maxFiles !== undefined)) throw unsupported("logging.options", "the none driver keeps no log to rotate");
  const logConfig: Record<string, string> = {};
  if (spec.log.maxSize !== undefined) logConfig["max-size"] = String(spec.log.maxSize);
  if (spec.log.maxFiles !== undefined) logConfig["max-file"] = String(spec.log.maxFiles);

  let healthcheck: Record<string, unknown> | undefined;
  if (spec.healthcheck) {
    const h = spec.healthcheck;
    healthcheck = { Test: h.test, Interval: h.intervalMs * NS_PER_MS, Timeout: h.timeoutMs * NS_PER_MS, Retries: h.retries, StartPeriod: h.startPeriodMs * NS_PER_MS };
    if (v144) healthcheck.StartInterval = h.startIntervalMs * NS_PER_MS;
    // Below 1.44 dockerd probes at the interval during the start period too: compose's 5 s default only changes how soon "healthy" is seen.
    else if (h.startIntervalMs !== 0 && h.startIntervalMs !== 5000 && h.startPeriodMs > 0) throw unsupported("healthcheck.start_interval", `needs API 1.44, dockerd speaks ${apiVersion}`);
  }
  if (spec.annotations !== undefined && Object.keys(spec.annotations).length > 0 && compareApiVersions(apiVersion, "1.43") < 0) throw unsupported("annotations", `needs API 1.43, dockerd speaks ${apiVersion}`);
  if (spec.links.some((l) => l.required) && names.length === 0) throw unsupported("external_links", "links need a network");

  const hostConfig: Record<string, unknown> = {
    Binds: nonEmpty(binds),
    Mounts: nonEmpty(mounts),
    Tmpfs: Object.keys(tmpfs).length > 0 ? tmpfs : undefined,
    VolumesFrom: nonEmpty(spec.volumesFrom?.map((v) => (v.mode ? `${v.container}:${v.mode}` : v.container))),
    NetworkMode: networkMode,
    PortBindings: Object.keys(portBindings).length > 0 ? portBindings : undefined,
    Links: names.length === 0 ? nonEmpty(links) : undefined,
    ExtraHosts: nonEmpty(spec.extraHosts),
    Dns: nonEmpty(spec.dns),
    DnsSearch: nonEmpty(spec.dnsSearch),
    DnsOptions: nonEmpty(spec.dnsOptions),
    CapAdd: nonEmpty(spec.capAdd),
    CapDrop: nonEmpty(spec.capDrop),
    Privileged: spec.privileged,
    SecurityOpt: nonEmpty(securityOpt),
    ReadonlyRootfs: spec.readOnly,
    Init: spec.init ? true : undefined,
    PidMode: spec.pidMode,
    IpcMode: spec.ipcMode,
    UTSMode: spec.utsMode,
    CgroupnsMode: spec.cgroupnsMode,
    CgroupParent: spec.cgroupParent,
    GroupAdd: nonEmpty(spec.groupAdd),
    Devices: nonEmpty(spec.devices?.map((d) => ({ PathOnHost: d.source, PathInContainer: d.target, CgroupPermissions: d.permissions }))),
    DeviceCgroupRules: nonEmpty(spec.deviceCgroupRules),
    Runtime: spec.runtime,
    ShmSize: spec.shmSize,
    Sysctls: Object.keys(spec.sysctls).length > 0 ? spec.sysctls : undefined,
    Ulimits: nonEmpty(Object.entries(spec.ulimits).map(([Name, l]) => ({ Name, Soft: l.soft, Hard: l.hard }))),
    OomScoreAdj: spec.oomScoreAdj,
    LogConfig: { Type: spec.log.driver ?? "json-file", Config: logConfig },
    RestartPolicy: { Name: "no" },
    Annotations: spec.annotations !== undefined && Object.keys(spec.annotations).length > 0 ? spec.annotations : undefined,
    ...resources,
  };

  const body: Record<string, unknown> = {
    Image: spec.image,
    Labels: spec.labels,
    Entrypoint: spec.entrypoint === undefined ? undefined : spec.entrypoint.length === 0 ? [""] : spec.entrypoint,
    Cmd: spec.cmd,
    Env: spec.env,
    WorkingDir: spec.workingDir,
    User: spec.user,
    Hostname: spec.hostname,
    Domainname: spec.domainname,
    Tty: spec.tty,
    OpenStdin: spec.openStdin,
    StdinOnce: spec.stdinOnce === true ? true : undefined,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: Object.keys(exposed).length > 0 ? exposed : undefined,
    StopSignal: spec.stopSignal,
    // dockerd counts whole seconds: rounded up, a grace period is never shorter than asked.
    StopTimeout: Math.ceil(spec.stopTimeoutMs / 1000),
    Healthcheck: healthcheck,
    MacAddress: !v144 ? firstAttachment?.macAddress : undefined,
    HostConfig: dropUndefined(hostConfig),
    NetworkingConfig: Object.keys(endpoints).length > 0 ? { EndpointsConfig: endpoints } : undefined,
  };
  return { name: spec.name, platform: spec.platform, body: dropUndefined(body), connectAfter };
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
