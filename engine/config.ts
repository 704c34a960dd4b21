// The engine's configuration file, /etc/tscompose/daemon.json, read here and
// nowhere else: the daemon reads it once (createEngine) and hands the parsed
// EngineConfig to the parts that need it. Shaped like Docker's daemon.json so
// an operator can reuse what they know; our own keys carry an `x-tscompose-`
// prefix. A missing file means defaults. Like dockerd, a key we do not know is
// an error (a misspelt "registry-mirror" would otherwise be silently ignored),
// and so is a wrong type; errors name the file and the key.
//
// Every key and who reads its field (config.test.ts checks each key changes the result):
//   registry-mirrors, insecure-registries  hosts          content/registry.ts (via image/service.ts)
//   x-tscompose-docker-hub-url             dockerHubUrl   content/registry.ts (tests: a dead port, nothing leaves)
//   max-concurrent-downloads               maxConcurrentDownloads  image/service.ts (download slots)
//   max-concurrent-uploads                 maxConcurrentUploads    image/service.ts (push)
//   x-tscompose-max-layer-size/-ratio/-entries  layerLimits   snapshot/limits.ts (via the snapshotter)
//   dns                                    dns            network/ (upstream resolvers; default the host's)
//   default-address-pools                  defaultAddressPools  network/ipam.ts
//   x-tscompose-network-prefix             networkPrefix  index.ts: kernel object names, cgroup parent (tests)
//   runtimes                               runtimes       runtime/runtime.ts (the runc-compatible binary of a
//                                                         service's `runtime:`), src/daemon/host-resources.ts (up's check)
//   x-tscompose-engine, -docker-host       engine, dockerHost  index.ts resolveEngineTarget (the default engine)
import { readFileSync } from "node:fs";
import { parseHostsConfig, type RegistryHostsConfig } from "./content/hosts.js";
import { DEFAULT_LAYER_LIMITS, LAYER_LIMIT_KEYS, type LayerLimits } from "./snapshot/limits.js";

export const DEFAULT_CONFIG_FILE = "/etc/tscompose/daemon.json";

export interface EngineConfig {
  hosts: RegistryHostsConfig;
  /** Where Docker Hub itself is reached; default its real address. */
  dockerHubUrl: string | undefined;
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  layerLimits: LayerLimits;
  /** host[:port] resolvers; default: the host's /etc/resolv.conf. */
  dns: string[] | undefined;
  defaultAddressPools: { base: string; size: number }[] | undefined;
  /** Prefix of kernel objects (bridges, veths, netns, chains) and cgroups; tests use their own. */
  networkPrefix: string | undefined;
  /** OCI runtimes besides runc, by name, as dockerd's `runtimes`: each a runc-compatible binary conmon runs. */
  runtimes: Record<string, RuntimeEntry>;
  /** The daemon's backend (env TSCOMPOSE_ENGINE wins); undefined: embedded. */
  engine: "embedded" | "docker" | "swarm" | undefined;
  /** The dockerd of the docker engine (the swarm engine's manager), DOCKER_HOST's syntax (env DOCKER_HOST wins). */
  dockerHost: string | undefined;
}

export interface RuntimeEntry {
  /** The binary: an absolute path, or a name looked up in PATH when the container starts. */
  path: string;
  /** Arguments before runc's own (dockerd's `runtimeArgs`), e.g. ["--debug"]. */
  runtimeArgs: string[];
}

/** The runtime every container runs on unless it names another; dockerd reserves the name too. */
export const DEFAULT_RUNTIME = "runc";

/** A daemon.json value that does not fit its key: the message says what it must be. */
class Invalid extends Error {}

const stringList = (v: unknown): string[] => {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new Invalid("must be an array of strings");
  return v as string[];
};
const positiveInteger = (v: unknown): number => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Invalid("must be a positive integer");
  return v;
};

/** Each accepted key: how its value is checked and where it goes. The one list of what daemon.json may say. */
const KEYS: Record<string, (value: unknown, config: EngineConfig) => void> = {
  "registry-mirrors": (v, c) => {
    c.hosts = { ...c.hosts, mirrors: stringList(v) };
  },
  "insecure-registries": (v, c) => {
    c.hosts = { ...c.hosts, insecure: stringList(v) };
  },
  "x-tscompose-docker-hub-url": (v, c) => {
    if (typeof v !== "string") throw new Invalid("must be a URL string");
    c.dockerHubUrl = v;
  },
  "max-concurrent-downloads": (v, c) => {
    c.maxConcurrentDownloads = positiveInteger(v);
  },
  "max-concurrent-uploads": (v, c) => {
    c.maxConcurrentUploads = positiveInteger(v);
  },
  [LAYER_LIMIT_KEYS.maxSize]: (v, c) => {
    c.layerLimits = { ...c.layerLimits, maxSize: positiveInteger(v) };
  },
  [LAYER_LIMIT_KEYS.maxEntries]: (v, c) => {
    c.layerLimits = { ...c.layerLimits, maxEntries: positiveInteger(v) };
  },
  [LAYER_LIMIT_KEYS.maxRatio]: (v, c) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 1) throw new Invalid("must be a number of at least 1");
    c.layerLimits = { ...c.layerLimits, maxRatio: v };
  },
  dns: (v, c) => {
    c.dns = stringList(v);
  },
  "default-address-pools": (v, c) => {
    const ok = Array.isArray(v) && v.every((p) => typeof (p as { base?: unknown }).base === "string" && Number.isInteger((p as { size?: unknown }).size));
    if (!ok) throw new Invalid('must be a list of {"base": "10.0.0.0/8", "size": 24}');
    c.defaultAddressPools = v as EngineConfig["defaultAddressPools"];
  },
  runtimes: (v, c) => {
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new Invalid('must be a mapping of names to {"path": "/usr/bin/x", "runtimeArgs": []}');
    const runtimes: Record<string, RuntimeEntry> = {};
    for (const [name, entry] of Object.entries(v as Record<string, unknown>)) {
      if (name === DEFAULT_RUNTIME) throw new Invalid(`cannot name "${DEFAULT_RUNTIME}": runtime name '${DEFAULT_RUNTIME}' is reserved`);
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new Invalid(`has an invalid runtime name "${name}" (letters, digits, _ . -)`);
      const e = entry as Record<string, unknown> | null;
      if (!e || typeof e !== "object" || Array.isArray(e) || typeof e.path !== "string" || e.path === "") {
        throw new Invalid(`entry "${name}" must be {"path": "/usr/bin/x", "runtimeArgs": [...]}`);
      }
      // dockerd's shim v2 keys (runtimeType, options) configure containerd shims, which the embedded engine has none of.
      const extra = Object.keys(e).filter((k) => k !== "path" && k !== "runtimeArgs");
      if (extra.length > 0) throw new Invalid(`entry "${name}" has an unknown key "${extra[0]}" (only path and runtimeArgs: the runtime must be runc-compatible)`);
      let runtimeArgs: string[];
      try {
        runtimeArgs = e.runtimeArgs === undefined ? [] : stringList(e.runtimeArgs);
      } catch {
        throw new Invalid(`entry "${name}": runtimeArgs must be an array of strings`);
      }
      runtimes[name] = { path: e.path, runtimeArgs };
    }
    c.runtimes = runtimes;
  },
  "x-tscompose-engine": (v, c) => {
    if (v !== "embedded" && v !== "docker" && v !== "swarm") throw new Invalid('must be "embedded", "docker" or "swarm"');
    c.engine = v;
  },
  "x-tscompose-docker-host": (v, c) => {
    if (typeof v !== "string" || !/^(unix|tcp):\/\/./.test(v)) throw new Invalid("must be a unix:// or tcp:// address");
    c.dockerHost = v;
  },
  "x-tscompose-network-prefix": (v, c) => {
    if (typeof v !== "string" || !/^[a-z0-9]{1,5}$/.test(v)) throw new Invalid("must be 1 to 5 of [a-z0-9]");
    c.networkPrefix = v;
  },
};

/** The keys daemon.json may have. */
export const CONFIG_KEYS: readonly string[] = Object.keys(KEYS);

export function defaultEngineConfig(): EngineConfig {
  return {
    hosts: { mirrors: [], insecure: [] },
    dockerHubUrl: undefined,
    maxConcurrentDownloads: 3,
    maxConcurrentUploads: 5,
    layerLimits: { ...DEFAULT_LAYER_LIMITS },
    dns: undefined,
    defaultAddressPools: undefined,
    networkPrefix: undefined,
    runtimes: {},
    engine: undefined,
    dockerHost: undefined,
  };
}

/** Checks a daemon.json object; errors start with `source` (the file) and name the key. */
export function parseEngineConfig(raw: unknown, source = "daemon config"): EngineConfig {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`${source}: not a JSON object`);
  const config = defaultEngineConfig();
  for (const [key, value] of Object.entries(raw)) {
    const apply = KEYS[key];
    if (!apply) throw new Error(`${source}: unknown key "${key}" (known keys: ${CONFIG_KEYS.join(", ")})`);
    try {
      apply(value, config);
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      throw new Error(`${source}: "${key}" ${err.message}`);
    }
  }
  try {
    config.hosts = parseHostsConfig(config.hosts);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`, { cause: err });
  }
  return config;
}

/** Reads daemon.json; a missing file means the defaults. */
export function readEngineConfig(file: string = DEFAULT_CONFIG_FILE): EngineConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return defaultEngineConfig();
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseEngineConfig(raw, file);
}
