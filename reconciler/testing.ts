// Builders for planner tests: a ServiceSpec with compose's defaults, a stack
// around services, and a simulator that applies a plan to an observed state
// the way a perfect engine would (so "plan, apply, plan again" can be checked
// without any engine).
import type { NetworkSpec, ServiceNetworkSpec, ServiceSpec, StackSpec } from "../model/stack.js";
import type { ObservedContainer, ObservedStack } from "./observed.js";
import { topological } from "./plan.js";
import type { Plan } from "./plan.js";
import { containerName } from "../model/labels.js";

export function service(name: string, over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name,
    image: "busybox",
    build: undefined,
    containerName: undefined,
    hostname: undefined,
    domainname: undefined,
    entrypoint: undefined,
    command: undefined,
    workingDir: undefined,
    user: undefined,
    environment: {},
    envFiles: [],
    labels: {},
    labelFiles: [],
    annotations: {},
    attach: true,
    postStart: [],
    preStop: [],
    ports: [],
    expose: [],
    volumes: [],
    tmpfs: [],
    volumesFrom: [],
    networks: { default: attachment() },
    networkMode: undefined,
    dependsOn: {},
    healthcheck: undefined,
    restart: "no",
    restartMaxRetries: undefined,
    deploy: { mode: "replicated", replicas: undefined, resources: { limits: undefined, reservations: undefined }, restartPolicy: undefined, labels: {} },
    replicas: 1,
    profiles: [],
    pullPolicy: "missing",
    capAdd: [],
    capDrop: [],
    privileged: false,
    securityOpt: [],
    seccompProfile: undefined,
    noNewPrivileges: false,
    readOnly: false,
    init: false,
    tty: false,
    stdinOpen: false,
    stopSignal: undefined,
    stopGracePeriodMs: 10_000,
    shmSize: undefined,
    sysctls: {},
    ulimits: {},
    extraHosts: [],
    dns: [],
    dnsSearch: [],
    dnsOpt: [],
    links: [],
    externalLinks: [],
    macAddress: undefined,
    memLimit: undefined,
    cpus: undefined,
    cpuShares: undefined,
    cpuset: undefined,
    pidsLimit: undefined,
    memReservation: undefined,
    memswapLimit: undefined,
    memSwappiness: undefined,
    oomKillDisable: false,
    oomScoreAdj: undefined,
    cpuPeriod: undefined,
    cpuQuota: undefined,
    cpuRtPeriod: undefined,
    cpuRtRuntime: undefined,
    blkioConfig: undefined,
    platform: undefined,
    pid: undefined,
    ipc: undefined,
    uts: undefined,
    usernsMode: undefined,
    cgroup: undefined,
    cgroupParent: undefined,
    groupAdd: [],
    devices: [],
    deviceCgroupRules: [],
    runtime: undefined,
    secrets: [],
    configs: [],
    logging: undefined,
    xTscompose: {},
    supervision: { restartOnUnhealthy: false, readiness: undefined, schedule: undefined },
    develop: undefined,
    extensions: {},
    unsupported: [],
    configHash: `hash-${name}`,
    ...over,
  };
}

/** A service's attachment to a network, compose's defaults. */
export function attachment(over: Partial<ServiceNetworkSpec> = {}): ServiceNetworkSpec {
  return { aliases: [], ipv4Address: undefined, ipv6Address: undefined, priority: 0, macAddress: undefined, gwPriority: 0, ...over };
}

/** A stack's bridge network named `name`, compose's defaults. */
export function network(name: string, over: Partial<NetworkSpec> = {}): NetworkSpec {
  return {
    name,
    driver: "bridge",
    driverOpts: {},
    external: false,
    internal: false,
    attachable: false,
    enableIpv6: false,
    ipam: { driver: undefined, config: [], options: {} },
    labels: {},
    ...over,
  };
}

export function stackOf(services: ServiceSpec[], over: Partial<StackSpec> = {}): StackSpec {
  const usesDefault = services.some((s) => "default" in s.networks);
  return {
    name: "app",
    workingDir: "/srv/app",
    configFiles: ["/srv/app/compose.yaml"],
    services: Object.fromEntries(services.map((s) => [s.name, s])),
    networks: usesDefault ? { default: network("app_default") } : {},
    volumes: {},
    secrets: {},
    configs: {},
    extensions: {},
    unsupported: [],
    ...over,
  };
}

export function container(service: string, number: number, over: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `${service}-${number}-id`,
    name: containerName("app", service, number),
    service,
    number,
    configHash: `hash-${service}`,
    state: "running",
    exitCode: undefined,
    health: undefined,
    oneoff: false,
    stoppedByUser: false,
    ...over,
  };
}

export function observed(over: Partial<ObservedStack> = {}): ObservedStack {
  return { project: "app", containers: [], networks: [], volumes: [], images: [], ...over };
}

/** Applies a plan the way a perfect engine would, in dependency order; checks that every `after` names an action of the plan. */
export function simulate(stack: StackSpec, before: ObservedStack, plan: Plan): ObservedStack {
  const ids = new Set(plan.actions.map((a) => a.id));
  for (const a of plan.actions) {
    for (const dep of a.after) if (!ids.has(dep)) throw new Error(`${a.id} waits for ${dep}, which is not in the plan`);
  }
  const state: ObservedStack = structuredClone(before);
  let counter = 0;
  for (const a of topological(plan)) {
    switch (a.kind) {
      case "pull":
        state.images.push(a.image);
        break;
      case "create-network":
        state.networks.push(stack.networks[a.network]!.name);
        break;
      case "create-volume":
        state.volumes.push(stack.volumes[a.volume]!.name);
        break;
      case "create": {
        const svc = stack.services[a.service]!;
        const inherited = new Set((a.inheritVolumes ?? []).map((v) => v.name));
        if (state.handedOver) state.handedOver = state.handedOver.filter((h) => !inherited.has(h.name));
        state.containers.push(container(a.service, a.number, { id: `new-${counter++}`, state: "created", configHash: svc.configHash, ...(a.inheritVolumes ? { anonymousVolumes: a.inheritVolumes } : {}) }));
        break;
      }
      case "start": {
        const c = a.containerId ? state.containers.find((x) => x.id === a.containerId) : state.containers.find((x) => x.service === a.service && x.number === a.number && x.state === "created");
        if (!c) throw new Error(`${a.id}: no container to start`);
        c.state = "running";
        break;
      }
      case "restart":
        break;
      case "stop": {
        const c = state.containers.find((x) => x.id === a.containerId);
        if (c) c.state = "exited";
        break;
      }
      case "remove": {
        const gone = state.containers.find((x) => x.id === a.containerId);
        // A hand-over labels the anonymous volumes for the replacement, which may never come (a crash).
        if (a.handOver && gone?.anonymousVolumes) {
          state.handedOver = [...(state.handedOver ?? []), ...gone.anonymousVolumes.map((v) => ({ service: gone.service, number: gone.number, ...v }))];
        }
        state.containers = state.containers.filter((x) => x.id !== a.containerId);
        break;
      }
      case "remove-network":
        state.networks = state.networks.filter((n) => n !== stack.networks[a.network]!.name);
        break;
      case "remove-volume":
        if (a.anonymous) state.handedOver = state.handedOver?.filter((h) => h.name !== a.volume);
        else state.volumes = state.volumes.filter((n) => n !== stack.volumes[a.volume]!.name);
        break;
      case "remove-image":
        state.images = state.images.filter((i) => i !== a.image);
        break;
      case "wait":
        break;
    }
  }
  return state;
}
