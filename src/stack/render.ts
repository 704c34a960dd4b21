// StackSpec -> the canonical compose mapping that `config` prints: long forms
// only, snake_case keys as in the compose-spec, empty and default-less fields
// left out, keys sorted as docker compose v2 prints them. The output is itself
// a valid stack file that loads back into the same StackSpec.
import type { BuildSpec, ServiceHook, ServiceSpec, ServiceVolumeSpec, StackSpec, UnsupportedKey } from "../../model/stack.js";
import { isDict, type Dict } from "./dict.js";
import { formatDuration, parseSize } from "./units.js";

/** Drops undefined, empty arrays and empty objects, and sorts keys. */
function compact(d: Dict, sort = true): Dict {
  const out: Dict = {};
  const keys = Object.keys(d);
  for (const key of sort ? keys.sort() : keys) {
    const v = d[key];
    if (v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[key] = v;
  }
  return out;
}

const ms = (v: number | undefined): string | undefined => (v === undefined ? undefined : formatDuration(v));

export function renderStack(stack: StackSpec): Dict {
  const services: Dict = {};
  for (const name of Object.keys(stack.services).sort()) services[name] = renderService(stack.services[name] as ServiceSpec);
  const networks: Dict = {};
  for (const [k, n] of Object.entries(stack.networks)) {
    networks[k] = compact({
      name: n.name,
      driver: n.external ? undefined : n.driver,
      driver_opts: n.driverOpts,
      external: n.external || undefined,
      internal: n.internal || undefined,
      attachable: n.attachable || undefined,
      enable_ipv6: n.enableIpv6 || undefined,
      ipam: compact({
        driver: n.ipam.driver,
        config: n.ipam.config.map((c) => compact({ subnet: c.subnet, gateway: c.gateway, ip_range: c.ipRange, aux_addresses: c.auxAddresses })),
        options: n.ipam.options,
      }),
      labels: n.labels,
    });
  }
  const volumes: Dict = {};
  for (const [k, v] of Object.entries(stack.volumes)) {
    volumes[k] = compact({
      name: v.name,
      driver: v.external || v.driver === "local" ? undefined : v.driver,
      driver_opts: v.driverOpts,
      external: v.external || undefined,
      labels: v.labels,
    });
  }
  const fileObjects = (objs: StackSpec["secrets"]): Dict =>
    Object.fromEntries(
      Object.entries(objs).map(([k, o]) => [
        k,
        compact({ name: o.name, file: o.file, environment: o.environment, content: o.content, external: o.external || undefined }),
      ]),
    );
  // Top-level keys in compose v2's order; everything inside sorted, as Go prints maps.
  const top = withWritten(
    compact({ services, networks, volumes, secrets: fileObjects(stack.secrets), configs: fileObjects(stack.configs) }, false),
    stack.unsupported,
  );
  const { services: svcs, networks: nets, volumes: vols, secrets, configs, models } = top;
  return {
    name: stack.name,
    ...compact({ services: sortDeep(svcs), networks: sortEach(nets), volumes: vols, secrets: sortEach(secrets), configs: sortEach(configs), models }, false),
    ...stack.extensions,
  };
}

/** Each entry's keys sorted (a key added as written lands in order), the entries left in file order. */
const sortEach = (v: unknown): unknown => (isDict(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sortDeep(x)])) : v);

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v === null || typeof v !== "object") return v;
  const out: Dict = {};
  for (const key of Object.keys(v).sort()) out[key] = sortDeep((v as Dict)[key]);
  return out;
}

export function renderService(s: ServiceSpec): Dict {
  const limits = s.deploy.resources.limits;
  const reservations = s.deploy.resources.reservations;
  const res = (r: typeof limits): Dict | undefined => (r ? compact({ cpus: r.cpus, memory: r.memory, pids: r.pids }) : undefined);
  const rp = s.deploy.restartPolicy;
  const deploy = compact({
    mode: s.deploy.mode === "replicated" ? undefined : s.deploy.mode,
    replicas: s.deploy.replicas,
    resources: compact({ limits: res(limits), reservations: res(reservations) }),
    restart_policy: rp
      ? compact({ condition: rp.condition, delay: ms(rp.delayMs), max_attempts: rp.maxAttempts, window: ms(rp.windowMs) })
      : undefined,
    labels: s.deploy.labels,
  });
  const hc = s.healthcheck;
  const out = compact({
    build: s.build ? renderBuild(s.build) : undefined,
    cap_add: s.capAdd,
    cap_drop: s.capDrop,
    security_opt: s.securityOpt,
    command: s.command,
    configs: s.configs.map((c) => compact({ ...c })),
    container_name: s.containerName,
    blkio_config: s.blkioConfig
      ? compact({
          weight: s.blkioConfig.weight,
          weight_device: s.blkioConfig.weightDevice,
          device_read_bps: s.blkioConfig.deviceReadBps,
          device_read_iops: s.blkioConfig.deviceReadIops,
          device_write_bps: s.blkioConfig.deviceWriteBps,
          device_write_iops: s.blkioConfig.deviceWriteIops,
        })
      : undefined,
    cpu_period: s.cpuPeriod,
    cpu_quota: s.cpuQuota,
    cpu_rt_period: s.cpuRtPeriod,
    cpu_rt_runtime: s.cpuRtRuntime,
    cpu_shares: s.cpuShares,
    cpus: s.cpus,
    cpuset: s.cpuset,
    depends_on: Object.fromEntries(
      Object.entries(s.dependsOn).map(([k, d]) => [k, { condition: d.condition, required: d.required, restart: d.restart }]),
    ),
    deploy,
    dns: s.dns,
    dns_opt: s.dnsOpt,
    dns_search: s.dnsSearch,
    domainname: s.domainname,
    entrypoint: s.entrypoint,
    environment: s.environment,
    env_file: s.envFiles.map((e) => compact({ path: e.path, format: e.format, required: e.required })),
    expose: s.expose,
    external_links: s.externalLinks,
    extra_hosts: s.extraHosts,
    healthcheck: hc
      ? hc.disable
        ? { disable: true }
        : compact({
            test: hc.test,
            interval: ms(hc.intervalMs),
            timeout: ms(hc.timeoutMs),
            retries: hc.retries,
            start_period: ms(hc.startPeriodMs),
            start_interval: ms(hc.startIntervalMs),
          })
      : undefined,
    hostname: s.hostname,
    image: s.image,
    init: s.init || undefined,
    labels: s.labels,
    links: s.links,
    label_file: s.labelFiles,
    annotations: s.annotations,
    attach: s.attach ? undefined : false,
    post_start: s.postStart.map(renderHook),
    pre_stop: s.preStop.map(renderHook),
    logging: s.logging ? compact({ driver: s.logging.driver, options: s.logging.options }) : undefined,
    mac_address: s.macAddress,
    mem_limit: s.memLimit,
    mem_reservation: s.memReservation,
    mem_swappiness: s.memSwappiness,
    memswap_limit: s.memswapLimit,
    network_mode: s.networkMode,
    networks: Object.fromEntries(
      Object.entries(s.networks).map(([k, n]) => {
        const d = compact({ aliases: n.aliases, ipv4_address: n.ipv4Address, ipv6_address: n.ipv6Address, mac_address: n.macAddress, priority: n.priority || undefined, gw_priority: n.gwPriority || undefined });
        return [k, Object.keys(d).length === 0 ? null : d];
      }),
    ),
    oom_kill_disable: s.oomKillDisable || undefined,
    oom_score_adj: s.oomScoreAdj,
    pids_limit: s.pidsLimit,
    platform: s.platform,
    pid: s.pid,
    ipc: s.ipc,
    uts: s.uts,
    userns_mode: s.usernsMode,
    cgroup: s.cgroup,
    cgroup_parent: s.cgroupParent,
    group_add: s.groupAdd,
    devices: s.devices.map((d) => ({ source: d.source, target: d.target, permissions: d.permissions })),
    device_cgroup_rules: s.deviceCgroupRules,
    runtime: s.runtime,
    ports: s.ports.map((p) =>
      compact({ name: p.name, mode: p.mode, host_ip: p.hostIp, target: p.target, published: p.published, protocol: p.protocol, app_protocol: p.appProtocol }),
    ),
    privileged: s.privileged || undefined,
    profiles: s.profiles,
    // The policy the loader implies (build for a service with only build:) is not printed, as compose leaves it out.
    pull_policy: s.pullPolicy === (s.build && s.image === undefined ? "build" : "missing") ? undefined : s.pullPolicy,
    read_only: s.readOnly || undefined,
    restart: s.restart === "no" ? undefined : s.restartMaxRetries !== undefined ? `${s.restart}:${s.restartMaxRetries}` : s.restart,
    scale: s.deploy.replicas === undefined && s.replicas !== 1 ? s.replicas : undefined,
    secrets: s.secrets.map((x) => compact({ ...x })),
    shm_size: s.shmSize,
    stdin_open: s.stdinOpen || undefined,
    stop_grace_period: s.stopGracePeriodMs === 10_000 ? undefined : ms(s.stopGracePeriodMs),
    stop_signal: s.stopSignal,
    sysctls: s.sysctls,
    tmpfs: s.tmpfs,
    volumes_from: s.volumesFrom.length > 0 ? s.volumesFrom : undefined,
    tty: s.tty || undefined,
    ulimits: s.ulimits,
    user: s.user,
    volumes: s.volumes.map(renderVolume),
    working_dir: s.workingDir,
    develop: s.develop
      ? {
          watch: s.develop.watch.map((w) =>
            compact({
              path: w.path,
              action: w.action,
              target: w.target,
              ignore: w.ignore.length > 0 ? w.ignore : undefined,
              exec: w.exec ? renderHook(w.exec) : undefined,
              initial_sync: w.initialSync || undefined,
            }),
          ),
        }
      : undefined,
    "x-tscompose": Object.keys(s.xTscompose).length > 0 ? s.xTscompose : undefined,
    ...s.extensions,
  });
  return withWritten(out, s.unsupported);
}

/**
 * Adds the keys the model carries only as written (src/stack/support.ts) to the
 * rendered mapping at their paths, where the model did not print that path itself.
 */
function withWritten(out: Dict, keys: readonly UnsupportedKey[]): Dict {
  for (const k of keys) setAbsent(out, k.path, canonicalValue(k.path, k.value));
  return out;
}

function setAbsent(root: Dict, path: readonly (string | number)[], value: unknown): void {
  let node: unknown = root;
  for (const [i, seg] of path.entries()) {
    const last = i === path.length - 1;
    if (typeof seg === "number") {
      if (!Array.isArray(node) || last) return;
      node = node[seg];
      continue;
    }
    if (!isDict(node)) return;
    if (last) {
      if (node[seg] === undefined || node[seg] === null) node[seg] = sortDeep(value);
      return;
    }
    // A network attached with no options renders as null; an option now makes it a mapping.
    if (node[seg] === undefined || node[seg] === null) {
      if (typeof path[i + 1] === "number") return;
      node[seg] = {};
    }
    node = node[seg];
  }
}

/** The few conversions compose v2's `config` applies to these keys: sizes in bytes, list_or_dict as a mapping. */
function canonicalValue(path: readonly (string | number)[], value: unknown): unknown {
  const key = path.join(".");
  if (key === "annotations" || /^volumes\.\d+\.volume\.labels$/.test(key) || key === "build.labels" || key === "build.additional_contexts") {
    return listOrDict(value);
  }
  if (key === "mem_reservation" && (typeof value === "string" || typeof value === "number")) {
    try {
      return parseSize(value);
    } catch {
      return value;
    }
  }
  return value;
}

function listOrDict(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  const out: Dict = {};
  for (const item of v) {
    const s = String(item);
    const eq = s.indexOf("=");
    out[eq < 0 ? s : s.slice(0, eq)] = eq < 0 ? "" : s.slice(eq + 1);
  }
  return out;
}

function renderBuild(b: BuildSpec): Dict {
  return compact({
    context: b.context,
    dockerfile: b.dockerfile,
    dockerfile_inline: b.dockerfileInline,
    // An arg the environment has no value for is printed without one, as compose does.
    args: Object.fromEntries(Object.entries(b.args).map(([k, v]) => [k, v ?? null])),
    target: b.target,
    tags: b.tags,
    labels: b.labels,
    no_cache: b.noCache,
    pull: b.pull,
    network: b.network,
    shm_size: b.shmSize,
    extra_hosts: b.extraHosts,
    secrets: b.secrets?.map((source) => ({ source })),
    additional_contexts: b.additionalContexts,
    platforms: b.platforms,
  });
}

function renderHook(h: ServiceHook): Dict {
  return compact({ command: h.command, user: h.user, privileged: h.privileged || undefined, working_dir: h.workingDir, environment: h.environment });
}

function renderVolume(v: ServiceVolumeSpec): Dict {
  return compact({
    type: v.type,
    source: v.source,
    target: v.target,
    read_only: v.readOnly || undefined,
    bind: v.bind ? compact({ propagation: v.bind.propagation, create_host_path: v.bind.createHostPath, selinux: v.bind.selinux }) : undefined,
    volume: v.volume ? compact({ nocopy: v.volume.nocopy || undefined, subpath: v.volume.subpath }) : undefined,
    tmpfs: v.tmpfs ? compact({ size: v.tmpfs.size, mode: v.tmpfs.mode }) : undefined,
    image: v.image ? compact({ subpath: v.image.subpath }) : undefined,
    consistency: v.consistency,
  });
}
