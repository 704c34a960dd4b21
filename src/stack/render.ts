// StackSpec -> the canonical compose mapping that `config` prints: long forms
// only, snake_case keys as in the compose-spec, empty and default-less fields
// left out, keys sorted as docker compose v2 prints them. The output is itself
// a valid stack file that loads back into the same StackSpec.
import type { ServiceHook, ServiceSpec, ServiceVolumeSpec, StackSpec } from "../../model/stack.js";
import { formatDuration } from "./units.js";

type Dict = Record<string, unknown>;

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
        config: n.ipam.config.map((c) => compact({ subnet: c.subnet, gateway: c.gateway, ip_range: c.ipRange })),
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
  return {
    name: stack.name,
    ...compact({
      services: sortDeep(services),
      networks,
      volumes,
      secrets: fileObjects(stack.secrets),
      configs: fileObjects(stack.configs),
    }, false),
    ...stack.extensions,
  };
}

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
    mode: s.deploy.mode === "global" ? "global" : undefined,
    replicas: s.deploy.replicas,
    resources: compact({ limits: res(limits), reservations: res(reservations) }),
    restart_policy: rp
      ? compact({ condition: rp.condition, delay: ms(rp.delayMs), max_attempts: rp.maxAttempts, window: ms(rp.windowMs) })
      : undefined,
    labels: s.deploy.labels,
  });
  const hc = s.healthcheck;
  return compact({
    build: s.build ? compact({ context: s.build.context, dockerfile: s.build.dockerfile, args: s.build.args, target: s.build.target }) : undefined,
    cap_add: s.capAdd,
    cap_drop: s.capDrop,
    security_opt: s.securityOpt,
    command: s.command,
    configs: s.configs.map((c) => compact({ ...c })),
    container_name: s.containerName,
    cpu_shares: s.cpuShares,
    cpus: s.cpus,
    cpuset: s.cpuset,
    depends_on: Object.fromEntries(
      Object.entries(s.dependsOn).map(([k, d]) => [k, { condition: d.condition, required: d.required, restart: d.restart }]),
    ),
    deploy,
    dns: s.dns,
    dns_search: s.dnsSearch,
    domainname: s.domainname,
    entrypoint: s.entrypoint,
    environment: s.environment,
    env_file: s.envFiles.map((e) => compact({ path: e.path, format: e.format, required: e.required })),
    expose: s.expose,
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
    label_file: s.labelFiles,
    annotations: s.annotations,
    attach: s.attach ? undefined : false,
    post_start: s.postStart.map(renderHook),
    pre_stop: s.preStop.map(renderHook),
    logging: s.logging ? compact({ driver: s.logging.driver, options: s.logging.options }) : undefined,
    mac_address: s.macAddress,
    mem_limit: s.memLimit,
    network_mode: s.networkMode,
    networks: Object.fromEntries(
      Object.entries(s.networks).map(([k, n]) => {
        const d = compact({ aliases: n.aliases, ipv4_address: n.ipv4Address, ipv6_address: n.ipv6Address, priority: n.priority || undefined });
        return [k, Object.keys(d).length === 0 ? null : d];
      }),
    ),
    pids_limit: s.pidsLimit,
    platform: s.platform,
    ports: s.ports.map((p) =>
      compact({ mode: p.mode, host_ip: p.hostIp, target: p.target, published: p.published, protocol: p.protocol, name: p.name }),
    ),
    privileged: s.privileged || undefined,
    profiles: s.profiles,
    pull_policy: s.pullPolicy === "missing" ? undefined : s.pullPolicy,
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
    consistency: v.consistency,
  });
}
