// Network settings the embedded engine cannot honour, or that docker would
// refuse, reported at the offending key before `up` touches anything (a
// network created half right is worse than none).
import type { NetworkSpec } from "../../model/stack.js";
import { BridgeOptionError, parseBridgeOptions } from "../../engine/network/bridge-options.js";
import { IpamConfigError, checkIpamConfig } from "../../engine/network/ipam-config.js";
import { isDict } from "./dict.js";
import { parsePortShort } from "./ports.js";
import type { Fail } from "./normalize.js";

const NO_IPV6 = "not supported by the embedded engine: its networks are IPv4 only";
const isV6 = (addr: string): boolean => addr.includes(":");

export function checkNetwork(key: string, n: NetworkSpec, fail: Fail): void {
  const at = (...rest: (string | number)[]): (string | number)[] => ["networks", key, ...rest];
  if (n.enableIpv6) fail(at("enable_ipv6"), NO_IPV6);
  if (n.driver === "bridge") {
    try {
      parseBridgeOptions(n.driverOpts);
    } catch (err) {
      if (err instanceof BridgeOptionError) fail(at("driver_opts", err.key), err.message.slice(err.key.length + 2));
      throw err;
    }
  }
  if (n.ipam.driver !== undefined && n.ipam.driver !== "default") {
    fail(at("ipam", "driver"), `"${n.ipam.driver}" is not supported by the embedded engine (only "default")`);
  }
  let ipv4 = 0;
  n.ipam.config.forEach((c, i) => {
    if (c.subnet !== undefined && isV6(c.subnet)) fail(at("ipam", "config", i, "subnet"), NO_IPV6);
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

/** The service's side: its network mode, and IPv6 addresses it asks for. */
export function checkServiceNetworks(name: string, raw: Readonly<Record<string, unknown>>, fail: Fail): void {
  const at = (...rest: (string | number)[]): (string | number)[] => ["services", name, ...rest];
  const mode = raw.network_mode;
  if (typeof mode === "string" && !["none", "host", "bridge", "default"].includes(mode) && !/^(service|container):./.test(mode)) {
    // dockerd would take any other value for the name of a network to join as the only one.
    fail(at("network_mode"), `"${mode}" is not supported by the embedded engine (none, host, bridge, service:NAME or container:NAME; join a network with networks: instead)`);
  }
  if (isDict(raw.networks)) {
    for (const [net, v] of Object.entries(raw.networks)) {
      if (isDict(v) && v.ipv6_address !== undefined && v.ipv6_address !== null) {
        fail(at("networks", net, "ipv6_address"), NO_IPV6);
      }
    }
  }
  if (Array.isArray(raw.ports)) {
    raw.ports.forEach((p, i) => {
      const v6 = isDict(p) ? typeof p.host_ip === "string" && isV6(p.host_ip) : isV6(shortHostIp(p) ?? "");
      if (v6) fail(isDict(p) ? at("ports", i, "host_ip") : at("ports", i), `an IPv6 host_ip is ${NO_IPV6}`);
    });
  }
}

function shortHostIp(p: unknown): string | undefined {
  try {
    return parsePortShort(p as string | number).hostIp;
  } catch {
    return undefined; // normalizePorts reports a malformed entry
  }
}
