// One IPAM config entry of a network (compose's `ipam.config[]`, docker's
// --subnet/--ip-range/--gateway/--aux-address), checked as docker's default
// IPAM checks it. The loader runs the same check to locate a bad field.
import { EngineError } from "../errors.js";
import { broadcast, contains, parseCidr, parseIp, type Cidr } from "./ipv4.js";

export interface IpamConfigEntry {
  subnet?: string | undefined;
  gateway?: string | undefined;
  /** Dynamic addresses come from this part of the subnet only (static ones may lie anywhere in it). */
  ipRange?: string | undefined;
  /** name -> address: reserved, never handed out (docker's --aux-address). */
  auxAddresses?: Readonly<Record<string, string>> | undefined;
}

/** A bad entry; `field` is the key to point at (`aux_addresses.<name>` for one of those). */
export class IpamConfigError extends EngineError {
  constructor(
    readonly field: string[],
    message: string,
  ) {
    super("invalid", message);
  }
}

const isHost = (c: Cidr, ip: number): boolean => contains(c, ip) && ip !== c.network && ip !== broadcast(c);

function parsed<T>(field: string[], fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new IpamConfigError(field, (err as Error).message);
  }
}

export function checkIpamConfig(e: IpamConfigEntry): void {
  if (e.subnet === undefined) {
    // Docker: a range or gateway means something only inside a subnet the user names.
    if (e.ipRange !== undefined) throw new IpamConfigError(["ip_range"], `ip_range ${e.ipRange} needs a subnet`);
    if (e.gateway !== undefined) throw new IpamConfigError(["gateway"], `gateway ${e.gateway} needs a subnet`);
    if (Object.keys(e.auxAddresses ?? {}).length > 0) throw new IpamConfigError(["aux_addresses"], "aux_addresses need a subnet");
    return;
  }
  const subnet = e.subnet;
  const cidr = parsed(["subnet"], () => parseCidr(subnet));
  if (e.ipRange !== undefined) {
    const text = e.ipRange;
    const range = parsed(["ip_range"], () => parseCidr(text));
    if (range.prefix < cidr.prefix || !contains(cidr, range.network)) throw new IpamConfigError(["ip_range"], `ip_range ${text} is not inside subnet ${subnet}`);
  }
  if (e.gateway !== undefined) {
    const text = e.gateway;
    if (!isHost(cidr, parsed(["gateway"], () => parseIp(text)))) throw new IpamConfigError(["gateway"], `gateway ${text} is not a host address of subnet ${subnet}`);
  }
  for (const [name, addr] of Object.entries(e.auxAddresses ?? {})) {
    const field = ["aux_addresses", name];
    if (!isHost(cidr, parsed(field, () => parseIp(addr)))) throw new IpamConfigError(field, `aux address ${name}=${addr} is not a host address of subnet ${subnet}`);
  }
}
