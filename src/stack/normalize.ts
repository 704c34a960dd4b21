// Stage: merged, schema-valid compose mapping -> typed StackSpec.
//
// Every "string or list", "short or long form" of the compose file becomes one
// form here, with compose-spec defaults applied, so nothing downstream parses
// compose syntax again. Relative paths were made absolute by paths.ts already.
import { isIP } from "node:net";
import { basename } from "node:path";
import type {
  DependsOnSpec,
  DeploySpec,
  HealthcheckSpec,
  NetworkSpec,
  PortSpec,
  PullPolicy,
  ResourceSpec,
  RestartPolicy,
  ServiceNetworkSpec,
  ServiceSpec,
  ServiceVolumeSpec,
  StackSpec,
  VolumeSpec,
} from "../../model/stack.js";
import { parseDuration } from "./duration.js";
import { isExternal, normalizeFileObjects, normalizeFileRefs } from "./file-objects.js";
import { parsePortShort } from "./ports.js";
import type { PortShort } from "./ports.js";
import { normalizeResources } from "./resources.js";
import { normalizeProcessKeys } from "./process-keys.js";
import { checkNetwork } from "./network-checks.js";
import { normalizeSecurityOpt } from "./security-opt.js";
import { parseSize, shellSplit } from "./units.js";
import { normalizeDevelop, normalizeSupervision } from "./x-tscompose.js";
import type { PathSegment } from "./parse.js";
import { isDict, scalarText as text, type Dict } from "./dict.js";
import { parseEnvironment } from "./environment.js";
import { StackError, type SourceLocation } from "./errors.js";
import { SERVICE_ROWS, TOP_LEVEL_ROWS, findUnsupported } from "./support.js";
import { envFileFormat, labelFilePaths, mergeLabelFiles, normalizeHooks } from "./lifecycle.js";


/** Reports an error at a key path; the loader turns it into file:line:col. */
export type Fail = (path: readonly PathSegment[], message: string) => never;

export interface NormalizeContext {
  projectName: string;
  workingDir: string;
  configFiles: string[];
  /** Reads an env_file (or a label_file), already parsed by its format; undefined when the file is missing. */
  readEnvFile(path: string, format?: "raw"): Record<string, string> | undefined;
  /** Reads a file a service names (a seccomp profile); throws a StackError saying why it cannot. */
  readFile(path: string, what: string): string;
  lookupEnv(name: string): string | undefined;
  fail: Fail;
  /** Where a key path was written, for errors raised after loading (src/stack/support.ts). */
  locate: (path: readonly PathSegment[]) => SourceLocation | undefined;
}

const asDict = (v: unknown): Dict => (isDict(v) ? v : {});
/** A scalar as compose reads it; the schema stage already rejected mappings and lists where a scalar belongs. */
const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : text(v));
const bool = (v: unknown, dflt = false): boolean => (v === undefined || v === null ? dflt : v === true || v === "true");
const num = (v: unknown): number | undefined => (v === undefined || v === null ? undefined : Number(v));
const strList = (v: unknown): string[] =>
  v === undefined || v === null ? [] : Array.isArray(v) ? v.map(text) : [text(v)];

export function normalizeStack(raw: Dict, ctx: NormalizeContext): StackSpec {
  const services: Record<string, ServiceSpec> = {};
  for (const [name, svc] of Object.entries(asDict(raw.services))) {
    services[name] = normalizeService(name, asDict(svc), ctx);
  }
  const networks = normalizeNetworks(asDict(raw.networks), services, ctx);
  const volumes: Record<string, VolumeSpec> = {};
  for (const [key, v] of Object.entries(asDict(raw.volumes))) {
    const d = asDict(v);
    const external = isExternal(d.external);
    volumes[key] = {
      name: str(d.name) ?? (external ? key : `${ctx.projectName}_${key}`),
      driver: str(d.driver) ?? "local",
      driverOpts: stringMap(d.driver_opts),
      external,
      labels: labelMap(d.labels),
    };
  }
  const extensions: Dict = {};
  for (const [k, v] of Object.entries(raw)) if (k.startsWith("x-")) extensions[k] = v;
  return {
    name: ctx.projectName,
    workingDir: ctx.workingDir,
    configFiles: ctx.configFiles,
    services,
    networks,
    volumes,
    secrets: normalizeFileObjects(asDict(raw.secrets), ctx.projectName, (n) => ctx.lookupEnv(n)),
    configs: normalizeFileObjects(asDict(raw.configs), ctx.projectName, (n) => ctx.lookupEnv(n)),
    extensions,
    unsupported: findUnsupported(TOP_LEVEL_ROWS, raw, [], ctx.locate),
  };
}


function normalizeNetworks(raw: Dict, services: Record<string, ServiceSpec>, ctx: NormalizeContext): Record<string, NetworkSpec> {
  const out: Record<string, NetworkSpec> = {};
  const usesDefault = Object.values(services).some((s) => "default" in s.networks);
  const entries = Object.entries(raw);
  if (usesDefault && !("default" in raw)) entries.unshift(["default", {}]);
  for (const [key, v] of entries) {
    const d = asDict(v);
    const external = isExternal(d.external);
    const ipam = asDict(d.ipam);
    const spec: NetworkSpec = {
      name: str(d.name) ?? (external ? key : `${ctx.projectName}_${key}`),
      driver: str(d.driver) ?? "bridge",
      driverOpts: stringMap(d.driver_opts),
      external,
      internal: bool(d.internal),
      attachable: bool(d.attachable),
      enableIpv6: bool(d.enable_ipv6),
      ipam: {
        driver: str(ipam.driver),
        config: (Array.isArray(ipam.config) ? ipam.config : []).map((c) => {
          const cd = asDict(c);
          return { subnet: str(cd.subnet), gateway: str(cd.gateway), ipRange: str(cd.ip_range), auxAddresses: stringMap(cd.aux_addresses) };
        }),
        options: stringMap(ipam.options),
      },
      labels: labelMap(d.labels),
    };
    // An external network exists already: its settings are not ours to check.
    if (!external) checkNetwork(key, spec, ctx.fail);
    out[key] = spec;
  }
  return out;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(asDict(v))) out[k] = x === null || x === undefined ? "" : text(x);
  return out;
}

/** labels / annotations: list of "k=v" (or "k") or a mapping. */
function labelMap(v: unknown): Record<string, string> {
  if (Array.isArray(v)) {
    const out: Record<string, string> = {};
    for (const item of v) {
      const s = String(item);
      const eq = s.indexOf("=");
      if (eq < 0) out[s] = "";
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  }
  return stringMap(v);
}

function normalizeService(name: string, s: Dict, ctx: NormalizeContext): ServiceSpec {
  const at = (...rest: PathSegment[]): PathSegment[] => ["services", name, ...rest];
  const duration = (v: unknown, path: PathSegment[]): number | undefined => {
    if (v === undefined || v === null) return undefined;
    try {
      return parseDuration(text(v));
    } catch (e) {
      return ctx.fail(path, (e as Error).message);
    }
  };
  const size = (v: unknown, path: PathSegment[]): number | undefined => {
    if (v === undefined || v === null) return undefined;
    try {
      return parseSize(v as string | number);
    } catch (e) {
      return ctx.fail(path, (e as Error).message);
    }
  };
  const words = (v: unknown, key: string): string[] | undefined => {
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) return v.map((x) => String(x));
    try {
      return shellSplit(text(v));
    } catch (e) {
      return ctx.fail(at(key), (e as Error).message);
    }
  };

  const lookupEnv = (n: string): string | undefined => ctx.lookupEnv(n);
  const { restart, restartMaxRetries } = normalizeRestart(s.restart, ctx, at("restart"));
  const deploy = normalizeDeploy(asDict(s.deploy), ctx, at("deploy"), duration, size);
  const scale = num(s.scale);
  if (scale !== undefined && deploy.replicas !== undefined && scale !== deploy.replicas) {
    ctx.fail(at("scale"), "can't set distinct values on 'scale' and 'deploy.replicas'");
  }
  const replicas = deploy.replicas ?? scale ?? 1;
  const containerName = str(s.container_name);
  if (containerName !== undefined && replicas > 1) {
    ctx.fail(at("container_name"), `services.${name}: can't set container_name and scale to ${replicas}: container names must be unique`);
  }
  const networkMode = str(s.network_mode);
  const limits = deploy.resources.limits;

  const build = normalizeBuild(s.build, lookupEnv, (v) => size(v, at("build", "shm_size")));
  const security = normalizeSecurityOpt(s.security_opt, at("security_opt"), (f) => ctx.readFile(f, "seccomp profile"), ctx.fail);
  const spec: ServiceSpec = {
    name,
    image: str(s.image),
    build,
    containerName,
    hostname: str(s.hostname),
    domainname: str(s.domainname),
    entrypoint: words(s.entrypoint, "entrypoint"),
    command: words(s.command, "command"),
    workingDir: str(s.working_dir),
    user: str(s.user),
    environment: normalizeEnvironment(s, ctx, at),
    envFiles: envFileRefs(s.env_file, ctx, at("env_file")),
    labels: mergeLabelFiles(labelFilePaths(s.label_file), labelMap(s.labels), (f) => ctx.readEnvFile(f), at("label_file"), ctx.fail),
    labelFiles: labelFilePaths(s.label_file),
    annotations: labelMap(s.annotations),
    attach: bool(s.attach, true),
    postStart: normalizeHooks(s.post_start, at("post_start"), ctx.fail, lookupEnv),
    preStop: normalizeHooks(s.pre_stop, at("pre_stop"), ctx.fail, lookupEnv),
    ports: normalizePorts(s.ports, ctx, at("ports")),
    expose: strList(s.expose),
    volumes: normalizeVolumes(s.volumes, ctx, at("volumes")),
    tmpfs: strList(s.tmpfs),
    volumesFrom: strList(s.volumes_from),
    networks: networkMode !== undefined ? {} : normalizeServiceNetworks(s.networks),
    networkMode,
    dependsOn: withImplicitDependencies(withLinkDependencies(normalizeDependsOn(s.depends_on), strList(s.links)), [networkMode]),
    healthcheck: normalizeHealthcheck(s.healthcheck, at("healthcheck"), duration),
    restart,
    restartMaxRetries,
    deploy,
    replicas,
    profiles: strList(s.profiles),
    pullPolicy: (str(s.pull_policy) ?? (build && s.image === undefined ? "build" : "missing")) as PullPolicy,
    capAdd: strList(s.cap_add),
    capDrop: strList(s.cap_drop),
    privileged: bool(s.privileged),
    securityOpt: strList(s.security_opt),
    seccompProfile: security.seccompProfile,
    noNewPrivileges: security.noNewPrivileges,
    readOnly: bool(s.read_only),
    init: bool(s.init),
    tty: bool(s.tty),
    stdinOpen: bool(s.stdin_open),
    stopSignal: str(s.stop_signal),
    stopGracePeriodMs: duration(s.stop_grace_period, at("stop_grace_period")) ?? 10_000,
    shmSize: size(s.shm_size, at("shm_size")),
    sysctls: labelMap(s.sysctls),
    ulimits: normalizeUlimits(asDict(s.ulimits)),
    extraHosts: normalizeExtraHosts(s.extra_hosts),
    dns: normalizeDns(s.dns, ctx, at("dns")),
    dnsSearch: strList(s.dns_search),
    dnsOpt: strList(s.dns_opt),
    links: strList(s.links),
    externalLinks: strList(s.external_links),
    macAddress: str(s.mac_address),
    ...normalizeResources({ service: s, at, limits, reservations: deploy.resources.reservations, fail: ctx.fail }),
    platform: str(s.platform),
    ...normalizeProcessKeys(s, at, ctx.fail),
    secrets: normalizeFileRefs(s.secrets, "secrets", at("secrets"), ctx.fail),
    configs: normalizeFileRefs(s.configs, "configs", at("configs"), ctx.fail),
    logging: isDict(s.logging) ? { driver: str(s.logging.driver), options: stringMap(s.logging.options) } : undefined,
    xTscompose: asDict(s["x-tscompose"]),
    supervision: normalizeSupervision(s["x-tscompose"], at("x-tscompose"), ctx.fail, duration),
    develop: normalizeDevelop(s.develop, ctx.workingDir, at("develop"), ctx.fail, lookupEnv),
    extensions: Object.fromEntries(Object.entries(s).filter(([k]) => k.startsWith("x-") && k !== "x-tscompose")),
    unsupported: findUnsupported(SERVICE_ROWS, s, at(), ctx.locate),
    configHash: "",
  };
  if (spec.image === undefined && spec.build === undefined) {
    ctx.fail(at(), `service "${name}" has neither an image nor a build context specified`);
  }
  checkNetworkModeConflicts(spec, s, at, ctx.fail);
  return spec;
}

function normalizeBuild(v: unknown, lookupEnv: (name: string) => string | undefined, size: (v: unknown) => number | undefined): ServiceSpec["build"] {
  if (v === undefined || v === null) return undefined;
  if (!isDict(v)) return { context: text(v), dockerfile: undefined, args: {}, target: undefined };
  const list = strList;
  const secrets = Array.isArray(v.secrets) ? v.secrets.map((x) => (isDict(x) ? text(x.source) : text(x))) : [];
  const extraHosts = normalizeExtraHosts(v.extra_hosts);
  const labels = labelMap(v.labels);
  const contexts = labelMap(v.additional_contexts);
  return {
    context: str(v.context) ?? ".",
    dockerfile: str(v.dockerfile),
    ...(v.dockerfile_inline !== undefined && v.dockerfile_inline !== null ? { dockerfileInline: text(v.dockerfile_inline) } : {}),
    args: buildArgs(v.args, lookupEnv),
    target: str(v.target),
    ...(list(v.tags).length > 0 ? { tags: list(v.tags) } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(bool(v.no_cache) ? { noCache: true } : {}),
    ...(bool(v.pull) ? { pull: true } : {}),
    ...(str(v.network) !== undefined ? { network: str(v.network) } : {}),
    ...(size(v.shm_size) !== undefined ? { shmSize: size(v.shm_size) } : {}),
    ...(extraHosts.length > 0 ? { extraHosts } : {}),
    ...(secrets.length > 0 ? { secrets } : {}),
    ...(Object.keys(contexts).length > 0 ? { additionalContexts: contexts } : {}),
    ...(list(v.platforms).length > 0 ? { platforms: list(v.platforms) } : {}),
  };
}

/** build.args: a list or mapping; an arg without a value takes the environment's, as compose does (unset when it has none). */
function buildArgs(v: unknown, lookupEnv: (name: string) => string | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = String(item);
      const eq = s.indexOf("=");
      if (eq < 0) out[s] = lookupEnv(s);
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
    return out;
  }
  for (const [k, x] of Object.entries(asDict(v))) out[k] = x === null || x === undefined ? lookupEnv(k) : text(x);
  return out;
}

function normalizeRestart(
  v: unknown,
  ctx: NormalizeContext,
  path: PathSegment[],
): { restart: RestartPolicy; restartMaxRetries: number | undefined } {
  const s = str(v) ?? "no";
  if (s === "no" || s === "always" || s === "unless-stopped" || s === "on-failure") {
    return { restart: s, restartMaxRetries: undefined };
  }
  const m = /^on-failure:(\d+)$/.exec(s);
  if (m) return { restart: "on-failure", restartMaxRetries: Number(m[1]) };
  return ctx.fail(path, `invalid restart policy "${s}": must be one of no, always, on-failure[:max-retries], unless-stopped`);
}

function normalizeDeploy(
  d: Dict,
  ctx: NormalizeContext,
  path: PathSegment[],
  duration: (v: unknown, p: PathSegment[]) => number | undefined,
  size: (v: unknown, p: PathSegment[]) => number | undefined,
): DeploySpec {
  const resources = asDict(d.resources);
  const res = (key: "limits" | "reservations"): ResourceSpec | undefined => {
    if (!isDict(resources[key])) return undefined;
    const r = resources[key];
    const cpus = num(r.cpus);
    if (cpus !== undefined && (Number.isNaN(cpus) || cpus < 0)) ctx.fail([...path, "resources", key, "cpus"], `invalid cpus "${String(r.cpus)}"`);
    return { cpus, memory: size(r.memory, [...path, "resources", key, "memory"]), pids: num(r.pids) };
  };
  const rp = isDict(d.restart_policy) ? d.restart_policy : undefined;
  const condition = str(rp?.condition) ?? "any";
  if (rp && condition !== "none" && condition !== "on-failure" && condition !== "any") {
    ctx.fail([...path, "restart_policy", "condition"], `invalid restart condition "${condition}": must be none, on-failure or any`);
  }
  return {
    mode: DEPLOY_MODES.find((m) => m === str(d.mode)) ?? "replicated",
    replicas: num(d.replicas),
    resources: { limits: res("limits"), reservations: res("reservations") },
    restartPolicy: rp
      ? {
          condition: condition as "none" | "on-failure" | "any",
          delayMs: duration(rp.delay, [...path, "restart_policy", "delay"]),
          maxAttempts: num(rp.max_attempts),
          windowMs: duration(rp.window, [...path, "restart_policy", "window"]),
        }
      : undefined,
    labels: labelMap(d.labels),
  };
}

const DEPLOY_MODES = ["replicated", "global", "replicated-job", "global-job"] as const;

function envFileRefs(v: unknown, ctx: NormalizeContext, path: PathSegment[]): ServiceSpec["envFiles"] {
  if (v === undefined || v === null) return [];
  const items = Array.isArray(v) ? v : [v];
  return items.map((item, i) =>
    isDict(item)
      ? { path: String(item.path), required: bool(item.required, true), format: envFileFormat(item.format, [...path, i, "format"], ctx.fail) }
      : { path: String(item), required: true, format: undefined },
  );
}

function normalizeEnvironment(
  s: Dict,
  ctx: NormalizeContext,
  at: (...rest: PathSegment[]) => PathSegment[],
): Record<string, string | null> {
  const env: Record<string, string | null> = {};
  envFileRefs(s.env_file, ctx, at("env_file")).forEach((ref, i) => {
    const values = ctx.readEnvFile(ref.path, ref.format);
    if (values === undefined) {
      if (ref.required) ctx.fail(at("env_file", i), `env file ${ref.path} not found`);
      return;
    }
    Object.assign(env, values);
  });
  // `environment` wins over the env files.
  return Object.assign(env, parseEnvironment(s.environment, (name) => ctx.lookupEnv(name)));
}

function normalizePorts(v: unknown, ctx: NormalizeContext, path: PathSegment[]): PortSpec[] {
  if (!Array.isArray(v)) return [];
  const out: PortSpec[] = [];
  v.forEach((item, i) => {
    if (isDict(item)) {
      out.push({
        target: Number(item.target),
        published: str(item.published),
        hostIp: str(item.host_ip),
        protocol: (str(item.protocol) ?? "tcp") as PortSpec["protocol"],
        mode: str(item.mode) === "host" ? "host" : "ingress",
        name: str(item.name),
        appProtocol: str(item.app_protocol),
      });
      return;
    }
    let parsed: PortShort;
    try {
      parsed = parsePortShort(item as string | number);
    } catch (e) {
      return ctx.fail([...path, i], (e as Error).message);
    }
    // A range maps one to one ("8000-8001:80-81"); compose expands it into one entry per port.
    const { target, published: pub } = parsed;
    const count = target.end - target.start + 1;
    for (let n = 0; n < count; n++) {
      let published: string | undefined;
      if (pub !== undefined) {
        published =
          count === 1 && pub.end !== pub.start
            ? `${pub.start}-${pub.end}` // one container port on any host port of a range
            : String(pub.start + n);
      }
      out.push({
        target: target.start + n,
        published,
        hostIp: parsed.hostIp,
        protocol: parsed.protocol,
        mode: "ingress",
        name: undefined,
        appProtocol: undefined,
      });
    }
  });
  return out;
}

function normalizeVolumes(v: unknown, ctx: NormalizeContext, path: PathSegment[]): ServiceVolumeSpec[] {
  if (!Array.isArray(v)) return [];
  return v.map((item, i) => {
    const at = [...path, i];
    const volume = isDict(item) ? longVolume(item) : shortVolume(String(item), ctx, at);
    const kind = volume.type === "image" ? "image" : "volume";
    const subpath = volume.type === "image" ? volume.image?.subpath : volume.volume?.subpath;
    // docker refuses a subpath that leaves the volume; compose would only fail at start.
    if (subpath !== undefined && (subpath.startsWith("/") || subpath.split("/").includes(".."))) {
      ctx.fail([...at, kind, "subpath"], `"${subpath}" must be a relative path inside the ${kind}`);
    }
    if (volume.type === "image" && !volume.source) ctx.fail([...at], "an image volume needs a source: the image to mount");
    return volume;
  });
}

function longVolume(d: Dict): ServiceVolumeSpec {
  const type = (str(d.type) ?? "volume") as ServiceVolumeSpec["type"];
  const bind = asDict(d.bind);
  const volume = asDict(d.volume);
  const tmpfs = asDict(d.tmpfs);
  const image = asDict(d.image);
  return {
    type,
    source: str(d.source),
    target: mountPath(String(d.target)),
    readOnly: bool(d.read_only),
    bind:
      type === "bind"
        ? { propagation: str(bind.propagation), createHostPath: bool(bind.create_host_path, true), selinux: str(bind.selinux) }
        : undefined,
    volume: type === "volume" ? { nocopy: bool(volume.nocopy), subpath: str(volume.subpath) } : undefined,
    tmpfs:
      type === "tmpfs"
        ? { size: tmpfs.size === undefined ? undefined : parseSize(tmpfs.size as string | number), mode: num(tmpfs.mode) }
        : undefined,
    image: type === "image" ? { subpath: str(image.subpath) } : undefined,
    consistency: str(d.consistency),
  };
}

// "/media/" and "/media" are one mount point (docker-compose 1.29 prints the latter, dockerd cleans it).
const mountPath = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, "") || "/" : p);

// A short volume source is a host path when it looks like one (compose's rule).
const isHostPath = (s: string): boolean => s.startsWith("/") || s.startsWith(".") || s.startsWith("~");

/** A short volume spec given on the command line (`run -v SRC:DST[:MODE]`), read as the file's: a bad one is a StackError naming it. */
export function parseVolumeFlag(spec: string): ServiceVolumeSpec {
  return shortVolume(spec, { fail: (_path, message) => { throw new StackError("invalid", message); } }, []);
}

function shortVolume(spec: string, ctx: Pick<NormalizeContext, "fail">, path: PathSegment[]): ServiceVolumeSpec {
  const parts = spec.split(":");
  if (parts.length > 3 || parts.some((p) => p === "")) ctx.fail(path, `invalid volume specification "${spec}"`);
  const [a, b, c] = parts as [string, string | undefined, string | undefined];
  const source = b === undefined ? undefined : a;
  const target = b === undefined ? a : b;
  if (!target.startsWith("/")) ctx.fail(path, `invalid volume specification "${spec}": the mount path must be absolute`);
  const modes = (c ?? "").split(",").filter((m) => m !== "");
  for (const m of modes) {
    if (!/^(ro|rw|z|Z|shared|rshared|slave|rslave|private|rprivate|nocopy|cached|delegated|consistent)$/.test(m)) {
      ctx.fail(path, `invalid volume specification "${spec}": unknown mode "${m}"`);
    }
  }
  const bindMount = source !== undefined && isHostPath(source);
  const propagation = modes.find((m) => /^r?(shared|slave|private)$/.test(m));
  const selinux = modes.find((m) => m === "z" || m === "Z");
  return {
    type: bindMount ? "bind" : "volume",
    source,
    target: mountPath(target),
    readOnly: modes.includes("ro"),
    bind: bindMount ? { propagation, createHostPath: true, selinux } : undefined,
    volume: bindMount ? undefined : { nocopy: modes.includes("nocopy"), subpath: undefined },
    tmpfs: undefined,
    image: undefined,
    consistency: modes.find((m) => m === "cached" || m === "delegated" || m === "consistent"),
  };
}

function normalizeServiceNetworks(v: unknown): Record<string, ServiceNetworkSpec> {
  const out: Record<string, ServiceNetworkSpec> = {};
  const dflt = (): ServiceNetworkSpec => ({ aliases: [], ipv4Address: undefined, ipv6Address: undefined, priority: 0, macAddress: undefined, gwPriority: 0 });
  if (v === undefined || v === null) return { default: dflt() };
  if (Array.isArray(v)) {
    for (const n of v) out[String(n)] = dflt();
    return out;
  }
  for (const [k, x] of Object.entries(asDict(v))) {
    const d = asDict(x);
    out[k] = {
      aliases: strList(d.aliases),
      ipv4Address: str(d.ipv4_address),
      ipv6Address: str(d.ipv6_address),
      priority: num(d.priority) ?? 0,
      macAddress: str(d.mac_address),
      gwPriority: num(d.gw_priority) ?? 0,
    };
  }
  return out;
}

/**
 * What dockerd refuses at create for a container that shares another's
 * network namespace (or the host's): its DNS servers, links and MAC belong
 * to that namespace's owner. Here at load, located, with dockerd's words.
 */
function checkNetworkModeConflicts(spec: ServiceSpec, s: Dict, at: (...rest: PathSegment[]) => PathSegment[], fail: Fail): void {
  const mode = spec.networkMode ?? "";
  const shared = mode.startsWith("service:") || mode.startsWith("container:");
  if (shared && spec.dns.length > 0) fail(at("dns"), "conflicting options: dns and the network mode");
  for (const key of ["links", "external_links"] as const) {
    if (strList(s[key]).length === 0) continue;
    if (shared) fail(at(key), "conflicting options: container type network can't be used with links. This would result in undefined behavior");
    if (mode === "host") fail(at(key), "conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  }
  if ((shared || mode === "host") && spec.macAddress !== undefined) fail(at("mac_address"), "conflicting options: mac-address and the network mode");
}

/** A link is a dependency too: compose-go adds each linked service to depends_on (started, restart) unless named there. */
function withLinkDependencies(deps: Record<string, DependsOnSpec>, links: string[]): Record<string, DependsOnSpec> {
  const out = { ...deps };
  for (const link of links) {
    const service = link.split(":")[0] ?? link;
    out[service] ??= { condition: "service_started", restart: true, required: true };
  }
  return out;
}

/** dns entries are resolver addresses (dockerd refuses anything else when it creates the container). */
function normalizeDns(v: unknown, ctx: NormalizeContext, path: PathSegment[]): string[] {
  const list = strList(v);
  list.forEach((d, i) => {
    if (isIP(d) === 0) ctx.fail(Array.isArray(v) ? [...path, i] : path, `invalid dns server "${d}": must be an IP address`);
  });
  return list;
}

/**
 * compose-go's inferImplicitDependencies: a service named in `service:NAME` (network_mode, and
 * the namespace keys) is started first, unless depends_on already says how.
 */
function withImplicitDependencies(deps: Record<string, DependsOnSpec>, refs: readonly (string | undefined)[]): Record<string, DependsOnSpec> {
  for (const ref of refs) {
    if (!ref?.startsWith("service:")) continue;
    deps[ref.slice("service:".length)] ??= { condition: "service_started", restart: false, required: true };
  }
  return deps;
}

function normalizeDependsOn(v: unknown): Record<string, DependsOnSpec> {
  const out: Record<string, DependsOnSpec> = {};
  if (Array.isArray(v)) {
    for (const n of v) out[String(n)] = { condition: "service_started", restart: false, required: true };
    return out;
  }
  for (const [k, x] of Object.entries(asDict(v))) {
    const d = asDict(x);
    out[k] = {
      condition: (str(d.condition) ?? "service_started") as DependsOnSpec["condition"],
      restart: bool(d.restart),
      required: bool(d.required, true),
    };
  }
  return out;
}

// Docker's defaults for a health check that sets only some fields.
const HEALTH_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0, startIntervalMs: 5_000 };

function normalizeHealthcheck(
  v: unknown,
  path: PathSegment[],
  duration: (v: unknown, p: PathSegment[]) => number | undefined,
): HealthcheckSpec | undefined {
  if (!isDict(v)) return undefined;
  const disable = bool(v.disable);
  let test: string[] | undefined;
  if (disable) test = ["NONE"];
  else if (typeof v.test === "string") test = ["CMD-SHELL", v.test];
  else if (Array.isArray(v.test)) test = v.test.map((x) => String(x));
  return {
    test,
    intervalMs: duration(v.interval, [...path, "interval"]) ?? HEALTH_DEFAULTS.intervalMs,
    timeoutMs: duration(v.timeout, [...path, "timeout"]) ?? HEALTH_DEFAULTS.timeoutMs,
    retries: num(v.retries) ?? HEALTH_DEFAULTS.retries,
    startPeriodMs: duration(v.start_period, [...path, "start_period"]) ?? HEALTH_DEFAULTS.startPeriodMs,
    startIntervalMs: duration(v.start_interval, [...path, "start_interval"]) ?? HEALTH_DEFAULTS.startIntervalMs,
    disable: disable || (test?.[0] === "NONE"),
  };
}

function normalizeUlimits(d: Dict): ServiceSpec["ulimits"] {
  const out: ServiceSpec["ulimits"] = {};
  for (const [k, v] of Object.entries(d)) {
    if (isDict(v)) out[k] = { soft: Number(v.soft), hard: Number(v.hard) };
    else out[k] = { soft: Number(v), hard: Number(v) };
  }
  return out;
}

/** extra_hosts as "host:ip" lines (compose accepts "host=ip" and a mapping too). */
function normalizeExtraHosts(v: unknown): string[] {
  if (isDict(v)) {
    return Object.entries(v).flatMap(([host, ip]) => (Array.isArray(ip) ? ip.map((x) => `${host}:${String(x)}`) : [`${host}:${String(ip)}`]));
  }
  return strList(v).map((s) => {
    const eq = s.indexOf("=");
    return eq > 0 ? `${s.slice(0, eq)}:${s.slice(eq + 1)}` : s;
  });
}

export const projectNameFromDir = (dir: string): string => basename(dir);
