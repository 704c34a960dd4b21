// A complete ContainerSpec with docker run's defaults, for the engine's own
// containers (a build's RUN steps) and for tests: every field set, no
// network, nothing mounted, so a caller names only what it means.
import type { ContainerSpec } from "./types.js";

export function baseContainerSpec(over: Partial<ContainerSpec> & Pick<ContainerSpec, "name" | "image">): ContainerSpec {
  return {
    labels: {},
    entrypoint: undefined,
    cmd: undefined,
    env: [],
    workingDir: undefined,
    user: undefined,
    hostname: undefined,
    domainname: undefined,
    tty: false,
    openStdin: false,
    mounts: [],
    tmpfs: [],
    networks: {},
    networkMode: "none",
    ports: [],
    exposedPorts: [],
    extraHosts: [],
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    links: [],
    capAdd: [],
    capDrop: [],
    privileged: false,
    readOnly: false,
    init: false,
    stopSignal: undefined,
    stopTimeoutMs: 10_000,
    shmSize: undefined,
    sysctls: {},
    ulimits: {},
    resources: { memory: undefined, cpus: undefined, cpuShares: undefined, cpuset: undefined, pids: undefined },
    healthcheck: undefined,
    log: { maxSize: undefined, maxFiles: undefined },
    ...over,
  };
}
