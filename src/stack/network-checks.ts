// Network settings the embedded engine cannot honour, or that docker would
// refuse, reported at the offending key before `up` touches anything (a
// network created half right is worse than none).
import type { NetworkSpec } from "../../model/stack.js";
import { BRIDGE_OPTION, BridgeOptionError, isBridgeOption, parseBridgeOptions } from "../../engine/network/bridge-options.js";
import { IpamConfigError, checkIpamConfig } from "../../engine/network/ipam-config.js";
import { contains6, parseCidr6, parseIp6, type Cidr6 } from "../../engine/network/ipv6.js";
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
      // An option the engine does not know is printed by `config` and refused at `up` (support.ts).
      parseBridgeOptions(Object.fromEntries(Object.entries(n.driverOpts).filter(([k]) => isBridgeOption(k))));
    } catch (err) {
      if (err instanceof BridgeOptionError) fail(at("driver_opts", err.key), err.message.slice(err.key.length + 2));
      throw err;
    }
  }
  // Several subnets of one family: docker compose prints them, dockerd's bridge driver refuses them at create; so does `up` (support.ts).
  n.ipam.config.forEach((c, i) => {
    if (c.subnet !== undefined && isV6(c.subnet)) {
      checkIpv6Entry(c.subnet, c.gateway, (field, msg) => fail(at("ipam", "config", i, field), msg));
      return;
    }
    try {
      checkIpamConfig(c);
    } catch (err) {
      if (err instanceof IpamConfigError) fail(at("ipam", "config", i, ...err.field), err.message);
      throw err;
    }
  });
}

function checkIpv6Entry(subnet: string, gateway: string | undefined, fail: (field: string, message: string) => void): void {
  let cidr: Cidr6;
  try {
    cidr = parseCidr6(subnet);
  } catch (err) {
    fail("subnet", (err as Error).message);
    return;
  }
  if (gateway === undefined) return;
  let gw: bigint | undefined;
  try {
    gw = parseIp6(gateway);
  } catch (err) {
    fail("gateway", (err as Error).message);
  }
  if (gw !== undefined && (!contains6(cidr, gw) || gw === cidr.network)) fail("gateway", `gateway ${gateway} is not a host address of subnet ${subnet}`);
}

/** The bridge options the embedded engine knows, for the message on one it does not. */
export const KNOWN_BRIDGE_OPTIONS = Object.values(BRIDGE_OPTION).join(", ");

/** A published port's host address in either syntax (undefined: none, or malformed: normalizePorts reports that). */
export function publishedHostIp(p: unknown): string | undefined {
  if (isDict(p)) return typeof p.host_ip === "string" ? p.host_ip : undefined;
  try {
    return parsePortShort(p as string | number).hostIp;
  } catch {
    return undefined;
  }
}

/** An IPv6 address or subnet (as written: only IPv6 text has a colon). */
export const isIpv6 = (v: unknown): boolean => typeof v === "string" && isV6(v);
