// Which compose-spec keys the embedded engine does not implement yet, and why.
//
// The loader accepts every key the compose-spec accepts, so `config` prints a
// real-world file as docker compose does; a key listed here is carried in the
// model as written (ServiceSpec.unsupported / StackSpec.unsupported) with where
// it was written. Commands that create or change containers call
// checkEngineSupport() before touching anything, so a stack is never brought
// up with one of these keys silently dropped.
//
// One table: implementing a key means deleting its row (and wiring the key
// through the model). docs/compat.md lists the status of every key.
import type { UnsupportedKey } from "../../model/stack.js";
import { isDict, type Dict } from "./dict.js";
import { LOG_DRIVERS } from "./lifecycle.js";
import { isExternal } from "./file-objects.js";
import { isRemoteContext } from "./paths.js";
import { formatPlatform, hostPlatform } from "../../engine/build/dockerfile/platform.js";
import { localVolumeKind } from "../../engine/volume-options.js";
import { isBridgeOption } from "../../engine/network/bridge-options.js";
import { isIpv6, KNOWN_BRIDGE_OPTIONS, publishedHostIp } from "./network-checks.js";
import { StackError, formatPath } from "./errors.js";
import type { SourceLocation } from "./errors.js";
import type { PathSegment } from "./parse.js";

type AtUp = "error" | "ignore";

export interface SupportRow {
  /**
   * The key, relative to a service (SERVICE_ROWS) or to the file's root
   * (TOP_LEVEL_ROWS): dotted, `*` for any name of a mapping, `[]` for any item of a list.
   */
  key: string;
  /** What `up` says after "not supported by the embedded engine: "; a function when it depends on the value. */
  reason: string | ((value: unknown) => string);
  /**
   * Only some values are unsupported (undefined: any value but null). `owner` is the service's (or file's)
   * mapping, `path` where the value is in it.
   */
  when?: (value: unknown, owner: Dict, path: readonly PathSegment[]) => boolean;
  /**
   * "ignore": docker compose ignores the key outside Swarm (or it does not change
   * what the container sees), so tscompose prints it and goes on; the default
   * "error" refuses the stack at `up`.
   */
  atUp?: AtUp | ((value: unknown, owner: Dict) => AtUp);
}

const WINDOWS = "Windows containers only";
/** The mapping of the top-level network a path (networks.NAME....) lies in. */
const networkAt = (root: Dict, path: readonly PathSegment[]): Dict => {
  const nets = root.networks;
  const n = isDict(nets) ? nets[String(path[1])] : undefined;
  return isDict(n) ? n : {};
};
const ipamEntries = (net: Dict): Dict[] => {
  const ipam = net.ipam;
  return isDict(ipam) && Array.isArray(ipam.config) ? ipam.config.filter(isDict) : [];
};
const hasIpv6Subnet = (net: Dict): boolean => ipamEntries(net).some((c) => isIpv6(c.subnet));
const ipv6On = (net: Dict): boolean => net.enable_ipv6 === true || net.enable_ipv6 === "true";
/** The ipam.config entry a path (networks.NAME.ipam.config.I....) lies in. */
const ipamEntryAt = (root: Dict, path: readonly PathSegment[]): Dict => ipamEntries(networkAt(root, path))[Number(path[4])] ?? {};
const SWARM = "a Swarm feature; docker compose ignores it outside Swarm";
const REMOTE_CONTEXT = "remote build contexts (git, http) are not fetched: tscompose builds a local directory";
const remote = (v: unknown): boolean => typeof v === "string" && isRemoteContext(v);
const HOST_PLATFORM = formatPlatform(hostPlatform());
/** The values that ask for what the engine does anyway are fine. */
const unless = (...values: unknown[]) => (v: unknown): AtUp => (values.includes(v) ? "ignore" : "error");
const oneOf = (...values: unknown[]) => (v: unknown): boolean => values.includes(v);

/** An external volume is not made by `up`: its driver and options are not ours to honour. */
const madeVolume = (root: Dict, path: readonly PathSegment[]): boolean => {
  const volumes = root.volumes;
  const volume = isDict(volumes) ? volumes[String(path[1])] : undefined;
  return !(isDict(volume) && isExternal(volume.external));
};

/** Why the local driver cannot make a volume with these driver_opts; undefined when it can. */
function driverOptsProblem(opts: unknown): string | undefined {
  if (!isDict(opts)) return undefined;
  try {
    localVolumeKind(Object.fromEntries(Object.entries(opts).map(([k, v]) => [k, v === null || v === undefined ? "" : String(v as string | number | boolean)])));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Service keys, relative to `services.NAME`. */
export const SERVICE_ROWS: readonly SupportRow[] = [
  { key: "build", reason: REMOTE_CONTEXT, when: remote },
  { key: "build.context", reason: REMOTE_CONTEXT, when: remote },
  // A hint in the compose spec ("the builder SHOULD use"): the builder's own step cache serves instead.
  { key: "build.cache_from", reason: "cache sources are a hint the builder may ignore: tscompose uses its local step cache", atUp: "ignore" },
  { key: "build.cache_to", reason: "exporting the build cache is not implemented" },
  { key: "build.entitlements", reason: "build entitlements (network.host, security.insecure) are not implemented" },
  { key: "build.isolation", reason: WINDOWS, when: (v) => v !== "default" },
  { key: "build.network", reason: "a build's RUN steps use the default network, none or host", when: (v) => typeof v === "string" && !["default", "none", "host"].includes(v) },
  { key: "build.platforms", reason: `only the host's platform (${HOST_PLATFORM}) is built: there is no emulation`, when: (v) => Array.isArray(v) && v.some((p) => String(p) !== HOST_PLATFORM) },
  { key: "build.privileged", reason: "privileged builds are not implemented", when: (v) => v === true || v === "true" },
  // Attestations are made by BuildKit's exporters only; docker's legacy builder ignores them too.
  { key: "build.provenance", reason: "provenance attestations are not made", atUp: "ignore" },
  { key: "build.sbom", reason: "SBOM attestations are not made", atUp: "ignore" },
  { key: "build.ssh", reason: "SSH agent forwarding into builds is not implemented" },
  { key: "build.ulimits", reason: "ulimits of build steps are not implemented" },
  {
    key: "build.additional_contexts.*",
    reason: "an additional context is a directory or docker-image://REF (service: and URL contexts are not implemented)",
    when: (v) => typeof v === "string" && (v.startsWith("service:") || (remote(v) && !v.startsWith("docker-image://"))),
  },
  { key: "cpu_count", reason: `${WINDOWS} (use cpus or cpu_quota on Linux)` },
  { key: "cpu_percent", reason: `${WINDOWS} (use cpus or cpu_quota on Linux)` },
  { key: "credential_spec", reason: WINDOWS },
  { key: "deploy.endpoint_mode", reason: SWARM, atUp: "ignore" },
  { key: "deploy.placement", reason: SWARM, atUp: "ignore" },
  { key: "deploy.rollback_config", reason: SWARM, atUp: "ignore" },
  { key: "deploy.update_config", reason: SWARM, atUp: "ignore" },
  { key: "deploy.resources.reservations.cpus", reason: "docker compose does not apply a CPU reservation outside Swarm either", atUp: "ignore" },
  { key: "deploy.resources.reservations.pids", reason: "docker compose does not apply a pids reservation outside Swarm either", atUp: "ignore" },
  { key: "deploy.resources.reservations.devices", reason: "device reservations (GPUs) are not supported" },
  { key: "deploy.resources.reservations.generic_resources", reason: SWARM, atUp: "ignore" },
  { key: "develop.watch[].include", reason: "watch include patterns are not implemented yet" },
  { key: "gpus", reason: "no GPU support" },
  { key: "isolation", reason: WINDOWS },
  {
    key: "logging.driver",
    reason: "only the json-file, local and none drivers (journald and syslog are not implemented: a container's output goes to a log file the daemon reads)",
    when: (v) => !(LOG_DRIVERS as readonly unknown[]).includes(v),
  },
  { key: "models", reason: "no model runner (Docker Model Runner) in the embedded engine" },
  { key: "networks.*.driver_opts", reason: "per-endpoint driver options are not implemented" },
  {
    key: "network_mode",
    reason: "the embedded engine knows none, host, bridge, service:NAME and container:NAME (join a network with networks: instead)",
    when: (v) => typeof v === "string" && !["none", "host", "bridge", "default"].includes(v) && !/^(service|container):./.test(v),
  },
  {
    key: "ports[]",
    reason: "ports cannot be published on IPv6 loopback: the kernel does not route ::1 into a container (dockerd does it with its userland proxy); use 127.0.0.1, :: or an address of the host",
    when: (v) => ["::1", "[::1]", "0:0:0:0:0:0:0:1"].includes(publishedHostIp(v) ?? ""),
  },
  { key: "networks.*.interface_name", reason: "naming the container's interface is not implemented" },
  { key: "networks.*.link_local_ips", reason: "link-local addresses are not implemented" },
  { key: "provider", reason: "provider services (compose plugins) are not supported" },
  { key: "pull_policy", reason: "pull_policy build needs the service's build: section", when: (v, svc) => v === "build" && (svc.build === undefined || svc.build === null) },
  { key: "pull_refresh_after", reason: "pull_refresh_after is not implemented" },
  { key: "storage_opt", reason: "the overlay snapshotter has no per-container quota" },
  { key: "use_api_socket", reason: "the embedded engine has no Docker API socket to share" },
  { key: "userns_mode", reason: "user namespace remapping is not supported; only host", when: (v) => v !== "host" },
  { key: "volumes[].bind.recursive", reason: "recursive bind mount options are not implemented" },
  { key: "volumes[].type", reason: "named pipes are Windows only", when: oneOf("npipe") },
  { key: "volumes[].type", reason: "cluster volumes are a Swarm feature", when: oneOf("cluster") },
  { key: "volumes[].volume.labels", reason: "labels of volumes made for a mount are not implemented" },
];

/** Keys outside services, relative to the file's root. */
export const TOP_LEVEL_ROWS: readonly SupportRow[] = [
  { key: "models", reason: "no model runner (Docker Model Runner) in the embedded engine" },
  {
    key: "networks.*.enable_ipv4",
    reason: "IPv6-only networks are not implemented: the network's DNS server and published ports use its IPv4 gateway (leave IPv4 on beside enable_ipv6)",
    atUp: unless(true, "true"),
  },
  {
    // Here, not in SERVICE_ROWS: whether it works depends on the top-level network. An external
    // network's IPv6 is the engine's to know (it fails at create, naming the network).
    key: "services.*.networks.*.ipv6_address",
    reason: "the network has no IPv6: give it enable_ipv6: true and an IPv6 subnet in ipam.config",
    when: (_v, root, path) => {
      const net = networkAt(root, ["networks", String(path[3])]);
      return !isExternal(net.external) && !ipv6On(net);
    },
  },
  {
    key: "networks.*.enable_ipv6",
    reason: "enable_ipv6 needs an IPv6 subnet in ipam.config: the engine has no default IPv6 address pool (as dockerd before 27)",
    when: (v, root, path) => oneOf(true, "true")(v) && !hasIpv6Subnet(networkAt(root, path)),
  },
  {
    key: "networks.*.ipam.config[].subnet",
    reason: "an IPv6 subnet needs enable_ipv6: true on its network (dockerd would create the network without IPv6)",
    when: (v, root, path) => isIpv6(v) && !ipv6On(networkAt(root, path)),
  },
  {
    key: "networks.*.driver_opts.*",
    reason: `a bridge option the embedded engine does not know (it knows ${KNOWN_BRIDGE_OPTIONS})`,
    when: (_v, root, path) => {
      const driver = networkAt(root, path).driver;
      return (driver === undefined || driver === null || driver === "bridge") && !isBridgeOption(String(path[3]));
    },
  },
  {
    key: "networks.*.ipam.config[]",
    reason: 'a bridge network has one subnet of each IP version (dockerd\'s bridge driver refuses more: "bridge driver doesn\'t support multiple subnets")',
    when: (v, root, path) => {
      if (!isDict(v) || typeof v.subnet !== "string") return false;
      const family = isIpv6(v.subnet);
      return ipamEntries(networkAt(root, path))
        .slice(0, Number(path[4]))
        .some((c) => typeof c.subnet === "string" && isIpv6(c.subnet) === family);
    },
  },
  ...["ip_range", "aux_addresses"].map(
    (k): SupportRow => ({ key: `networks.*.ipam.config[].${k}`, reason: `${k} in an IPv6 ipam entry is not implemented`, when: (_v, root, path) => isIpv6(ipamEntryAt(root, path).subnet) }),
  ),
  { key: "networks.*.ipam.driver", reason: "only the default IPAM driver is available", when: (v) => v !== "default" },
  // docker compose prints these and dockerd refuses them when it makes the volume: `up`, not `config`.
  { key: "volumes.*.driver", reason: 'only the "local" driver exists', when: (v, root, path) => v !== "local" && madeVolume(root, path) },
  {
    key: "volumes.*.driver_opts",
    reason: (v) => driverOptsProblem(v) ?? "",
    when: (v, root, path) => madeVolume(root, path) && driverOptsProblem(v) !== undefined,
  },
  { key: "secrets.*.driver", reason: SWARM, atUp: "ignore" },
  { key: "secrets.*.driver_opts", reason: SWARM, atUp: "ignore" },
  { key: "secrets.*.labels", reason: SWARM, atUp: "ignore" },
  { key: "secrets.*.template_driver", reason: SWARM, atUp: "ignore" },
  { key: "configs.*.labels", reason: SWARM, atUp: "ignore" },
  { key: "configs.*.template_driver", reason: SWARM, atUp: "ignore" },
];

/**
 * The table's keys found in a mapping (a service's or the file's), as written, with
 * where they were written. `base` is the mapping's own path, for locating.
 */
export function findUnsupported(
  rows: readonly SupportRow[],
  owner: Dict,
  base: readonly PathSegment[],
  locate: (path: readonly PathSegment[]) => SourceLocation | undefined,
): UnsupportedKey[] {
  const found: UnsupportedKey[] = [];
  for (const row of rows) {
    for (const { path, value } of valuesAt(owner, row.key.replace(/\[\]/g, ".[]").split("."))) {
      if (value === undefined || value === null) continue;
      if (row.when && !row.when(value, owner, path)) continue;
      // Several rows may name one key (values with different reasons); the first that applies wins.
      if (found.some((f) => samePath(f.path, path))) continue;
      const atUp = typeof row.atUp === "function" ? row.atUp(value, owner) : (row.atUp ?? "error");
      found.push({ path, value, reason: typeof row.reason === "function" ? row.reason(value) : row.reason, refused: atUp === "error", location: locate([...base, ...path]) });
    }
  }
  return found;
}

function* valuesAt(node: unknown, pattern: readonly string[], prefix: PathSegment[] = []): Generator<{ path: PathSegment[]; value: unknown }> {
  const [head, ...rest] = pattern;
  if (head === undefined) {
    yield { path: prefix, value: node };
    return;
  }
  if (head === "[]") {
    if (Array.isArray(node)) for (const [i, item] of node.entries()) yield* valuesAt(item, rest, [...prefix, i]);
    return;
  }
  if (!isDict(node)) return;
  if (head === "*") {
    for (const [k, v] of Object.entries(node)) yield* valuesAt(v, rest, [...prefix, k]);
    return;
  }
  if (Object.hasOwn(node, head)) yield* valuesAt(node[head], rest, [...prefix, head]);
}

const samePath = (a: readonly PathSegment[], b: readonly PathSegment[]): boolean =>
  a.length === b.length && a.every((s, i) => s === b[i]);

/**
 * Throws the located StackError for the first key the embedded engine would have to
 * drop. Called before a command creates or changes anything (up, create, run, scale,
 * a watched file's reload).
 */
export function checkEngineSupport(stack: {
  services: Record<string, { name: string; unsupported: readonly UnsupportedKey[] }>;
  unsupported: readonly UnsupportedKey[];
}): void {
  const refused: { path: PathSegment[]; key: UnsupportedKey }[] = [];
  for (const key of stack.unsupported) if (key.refused) refused.push({ path: key.path, key });
  for (const svc of Object.values(stack.services)) {
    for (const key of svc.unsupported) if (key.refused) refused.push({ path: ["services", svc.name, ...key.path], key });
  }
  if (refused.length === 0) return;
  // The first in the files, so that fixing them in order is fixing them one by one.
  refused.sort((a, b) => compareLocations(a.key.location, b.key.location));
  const first = refused[0] as (typeof refused)[number];
  const more = refused.length > 1 ? ` (and ${refused.length - 1} more unsupported key${refused.length > 2 ? "s" : ""})` : "";
  throw new StackError("unsupported", `not supported by the embedded engine: ${first.key.reason}${more}`, {
    path: formatPath(first.path),
    location: first.key.location,
  });
}

function compareLocations(a: SourceLocation | undefined, b: SourceLocation | undefined): number {
  if (!a || !b) return a ? -1 : b ? 1 : 0;
  return a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column;
}
