// The engine's configuration file, shaped like Docker's daemon.json so an
// operator can reuse what they know: registry-mirrors, insecure-registries,
// max-concurrent-downloads, dns (upstream resolvers for names that are not
// the stack's), default-address-pools. Our own keys carry an `x-tscompose-`
// prefix. A missing file means defaults; a malformed one is an error naming
// the file and the key.
import { readFileSync } from "node:fs";

export interface EngineConfig {
  registryMirrors: string[];
  insecureRegistries: string[];
  maxConcurrentDownloads: number;
  /** host[:port] resolvers; default: the host's /etc/resolv.conf. */
  dns: string[] | undefined;
  defaultAddressPools: { base: string; size: number }[] | undefined;
  /** Prefixes of kernel objects (bridges, veths, netns, chains); tests use their own. */
  networkPrefix: string | undefined;
  /** The raw object, for parts that read their own keys (the registry client reads mirrors itself). */
  raw: Record<string, unknown>;
}

export function readEngineConfig(file: string): EngineConfig {
  let raw: Record<string, unknown> = {};
  try {
    raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") throw new Error(`${file}: ${(err as Error).message}`);
  }
  const strings = (key: string): string[] | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new Error(`${file}: "${key}" must be a list of strings`);
    return v as string[];
  };
  const pools = raw["default-address-pools"];
  if (pools !== undefined && (!Array.isArray(pools) || pools.some((p) => typeof (p as { base?: unknown }).base !== "string"))) {
    throw new Error(`${file}: "default-address-pools" must be a list of {"base": "10.0.0.0/8", "size": 24}`);
  }
  const max = raw["max-concurrent-downloads"];
  if (max !== undefined && (typeof max !== "number" || max < 1)) throw new Error(`${file}: "max-concurrent-downloads" must be a positive number`);
  const prefix = raw["x-tscompose-network-prefix"];
  if (prefix !== undefined && (typeof prefix !== "string" || !/^[a-z0-9]{1,5}$/.test(prefix))) {
    throw new Error(`${file}: "x-tscompose-network-prefix" must be 1 to 5 of [a-z0-9]`);
  }
  return {
    registryMirrors: strings("registry-mirrors") ?? [],
    insecureRegistries: strings("insecure-registries") ?? [],
    maxConcurrentDownloads: (max) ?? 3,
    dns: strings("dns"),
    defaultAddressPools: pools as EngineConfig["defaultAddressPools"],
    networkPrefix: prefix,
    raw,
  };
}
