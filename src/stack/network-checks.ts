// Network settings the embedded engine cannot honour, or that docker would
// refuse, reported at the offending key before `up` touches anything (a
// network created half right is worse than none).
import type { NetworkSpec } from "../../model/stack.js";
import { BridgeOptionError, parseBridgeOptions } from "../../engine/network/bridge-options.js";
import { IpamConfigError, checkIpamConfig } from "../../engine/network/ipam-config.js";
import { isDict } from "./dict.js";
import { parsePortShort } from "./ports.js";
import type { Fail } from "./normalize.js";

const isV6 = (addr: string): boolean => addr.includes(":");

/**
 * Values docker itself refuses, or that are malformed. What the embedded
 * engine cannot do yet (IPv6, another IPAM driver, a network_mode naming a
 * network) `config` prints and src/stack/support.ts refuses at up.
 */
export function checkNetwork(key: string, n: NetworkSpec, fail: Fail): void {
  const at = (...rest: (string | number)[]): (string | number)[] => ["networks", key, ...rest];
  if (n.driver === "bridge") {
    try {
      parseBridgeOptions(n.driverOpts);
    } catch (err) {
      if (err instanceof BridgeOptionError) fail(at("driver_opts", err.key), err.message.slice(err.key.length + 2));
      throw err;
    }
  }
  let ipv4 = 0;
  n.ipam.config.forEach((c, i) => {
    if (c.subnet !== undefined && isV6(c.subnet)) return;
    // Docker's bridge driver says the same: "bridge driver doesn't support multiple subnets".
    if (c.subnet !== undefined && ++ipv4 > 1) fail(at("ipam", "config", i), "a bridge network has one IPv4 subnet");
    try {
      checkIpamConfig(c);
    } catch (err) {
      if (err instanceof IpamConfigError) fail(at("ipam", "config", i, ...err.field), err.message);
      throw err;
    }
  });
}

/** A published port's host address in either syntax (undefined: none, or malformed: normalizePorts reports that). */
export function publishedHostIp(p: unknown): string | undefined {
  if (isDict(p)) return typeof p.host_ip === "string" ? p.host_ip : undefined;
  try {
    return parsePortShort(p as string | number).hostIp;
  } catch {
    return undefined;
  }
}

/** An IPv6 address or subnet (the embedded engine's networks are IPv4 only). */
export const isIpv6 = (v: unknown): boolean => typeof v === "string" && isV6(v);
