// IP address management: which subnet each network has, and which address
// in it each container endpoint holds. The whole table is one JSON file under
// the state dir, rewritten atomically after every change and guarded by an
// in-process mutex; the state dir's flock (lockfile.ts) keeps a second
// process out. An address is never handed out twice: allocation and release
// happen under the mutex against the persisted table.
//
// Subnets are chosen like Docker's default address pools (fixed-size blocks
// carved from a base range, first free one wins) but skip any block that
// overlaps a host route, so a network never shadows the host's LAN or VPN.
import { EngineError } from "../types.js";
import { broadcast, contains, formatCidr, formatIp, overlaps, parseCidr, parseIp, type Cidr } from "./ipv4.js";
import { contains6, formatCidr6, formatIp6, last6, overlaps6, parseCidr6, parseIp6 } from "./ipv6.js";
import { readJsonFile, setAside, writeFileAtomic } from "../sys/atomic-file.js";
import { Mutex } from "../sys/keyed-mutex.js";

export interface AddressPool {
  /** A base range, e.g. "10.213.0.0/16". */
  base: string;
  /** Prefix length of each network carved from it, e.g. 24. */
  size: number;
}

export const DEFAULT_POOLS: readonly AddressPool[] = [{ base: "10.213.0.0/16", size: 24 }];

interface NetworkAllocation {
  subnet: string;
  gateway: string;
  /** The last address handed out: allocation continues after it, so a just-freed address is not reused at once (old conntrack/ARP state). */
  last: string | undefined;
  /** address -> owner (container id). */
  addresses: Record<string, string>;
  /** Dynamic addresses come from this part of the subnet only (docker's --ip-range). */
  range?: string | undefined;
  /** Never handed out (docker's --aux-address). */
  reserved?: string[] | undefined;
  /** The network's IPv6 subnet (enable_ipv6), allocated the same way. */
  v6?: Allocation6 | undefined;
}

interface Allocation6 {
  subnet: string;
  gateway: string;
  last: string | undefined;
  addresses: Record<string, string>;
}

/** What repair() knows of a network's IPv6 side from its records. */
export interface Want6 {
  subnet: string;
  gateway: string;
  addresses: Map<string, string>;
}

interface IpamFile {
  version: 1;
  networks: Record<string, NetworkAllocation>;
}

export interface SubnetRequest {
  subnet?: string | undefined;
  gateway?: string | undefined;
  ipRange?: string | undefined;
  reserved?: readonly string[] | undefined;
  pools: readonly AddressPool[];
  /** Networks the host already routes: automatic choices avoid them, explicit ones must not overlap them. */
  hostRoutes: readonly (Cidr & { dev: string })[];
}

export class Ipam {
  private readonly mutex = new Mutex();

  private constructor(
    private readonly path: string,
    private state: IpamFile,
  ) {}

  /** Loads the table; a missing file is an empty table. An unreadable one is set aside (ipam.json.corrupt-<time>), reported as `corrupt` and replaced by an empty table that repair() refills from the network and sandbox records. */
  static async open(path: string): Promise<{ ipam: Ipam; corrupt: boolean }> {
    try {
      const state = await readJsonFile<IpamFile>(path);
      if (state === undefined) return { ipam: new Ipam(path, { version: 1, networks: {} }), corrupt: false };
      if (state.version !== 1 || typeof state.networks !== "object") throw new Error("unknown format");
      return { ipam: new Ipam(path, state), corrupt: false };
    } catch {
      // Kept for a human (the table is rebuilt from the records, so nothing depends on it).
      await setAside(path).catch(() => undefined);
      return { ipam: new Ipam(path, { version: 1, networks: {} }), corrupt: true };
    }
  }

  allocateSubnet(networkId: string, req: SubnetRequest): Promise<{ subnet: string; gateway: string }> {
    return this.mutex.run(async () => {
      const existing = this.state.networks[networkId];
      if (existing) return { subnet: existing.subnet, gateway: existing.gateway };
      const taken = Object.entries(this.state.networks).map(([id, n]) => ({ id, cidr: parseCidr(n.subnet) }));
      let cidr: Cidr;
      if (req.subnet !== undefined) {
        cidr = parseCidr(req.subnet);
        if (cidr.prefix > 30) throw new EngineError("invalid", `subnet ${req.subnet} is too small (at most /30)`);
        const clash = taken.find((t) => overlaps(t.cidr, cidr));
        if (clash) throw new EngineError("conflict", `subnet ${req.subnet} overlaps subnet ${formatCidr(clash.cidr)} of network ${clash.id.slice(0, 12)}`);
        const route = req.hostRoutes.find((r) => overlaps(r, cidr));
        if (route) throw new EngineError("conflict", `subnet ${req.subnet} overlaps the host's route ${formatCidr(route)} on ${route.dev}`);
      } else {
        const found = pickSubnet(req.pools, [...taken.map((t) => t.cidr), ...req.hostRoutes]);
        if (!found) {
          throw new EngineError("unavailable", `no free subnet left in the address pools ${req.pools.map((p) => `${p.base} (/${p.size})`).join(", ")}`);
        }
        cidr = found;
      }
      const gw = req.gateway !== undefined ? parseIp(req.gateway) : cidr.network + 1;
      if (!contains(cidr, gw) || gw === cidr.network || gw === broadcast(cidr)) {
        throw new EngineError("invalid", `gateway ${req.gateway ?? formatIp(gw)} is not a host address of ${formatCidr(cidr)}`);
      }
      if (req.ipRange !== undefined && req.subnet === undefined) throw new EngineError("invalid", `ip_range ${req.ipRange} needs a subnet`);
      this.state.networks[networkId] = { subnet: formatCidr(cidr), gateway: formatIp(gw), last: undefined, addresses: {}, ...reservations(req.ipRange, req.reserved) };
      await this.save();
      return { subnet: formatCidr(cidr), gateway: formatIp(gw) };
    });
  }

  /**
   * The network's IPv6 subnet, which the user names (there is no default IPv6
   * pool, as in dockerd before 27, whose default pools are IPv4 only): gateway
   * the subnet's first address unless given. No other network's IPv6 subnet may overlap it.
   */
  allocateSubnet6(networkId: string, req: { subnet: string; gateway?: string | undefined }): Promise<{ subnet: string; gateway: string }> {
    return this.mutex.run(async () => {
      const n = this.state.networks[networkId];
      if (!n) throw new EngineError("not-found", `network ${networkId.slice(0, 12)} has no IPv4 subnet yet`);
      if (n.v6) return { subnet: n.v6.subnet, gateway: n.v6.gateway };
      const cidr = parseCidr6(req.subnet);
      if (cidr.prefix > 126) throw new EngineError("invalid", `subnet ${req.subnet} is too small (at most /126)`);
      for (const [id, other] of Object.entries(this.state.networks)) {
        if (other.v6 && overlaps6(parseCidr6(other.v6.subnet), cidr)) {
          throw new EngineError("conflict", `subnet ${req.subnet} overlaps subnet ${other.v6.subnet} of network ${id.slice(0, 12)}`);
        }
      }
      const gw = req.gateway !== undefined ? parseIp6(req.gateway) : cidr.network + 1n;
      if (!contains6(cidr, gw) || gw === cidr.network) throw new EngineError("invalid", `gateway ${req.gateway ?? formatIp6(gw)} is not a host address of ${formatCidr6(cidr)}`);
      n.v6 = { subnet: formatCidr6(cidr), gateway: formatIp6(gw), last: undefined, addresses: {} };
      await this.save();
      return { subnet: n.v6.subnet, gateway: n.v6.gateway };
    });
  }

  /** Hands out `requested` (a static ipv6_address) or the next free IPv6 address of the network. */
  allocateAddress6(networkId: string, owner: string, requested?: string): Promise<string> {
    return this.mutex.run(async () => {
      const v6 = this.state.networks[networkId]?.v6;
      if (!v6) throw new EngineError("invalid", `network ${networkId.slice(0, 12)} has no IPv6 subnet (enable_ipv6 with an IPv6 ipam subnet)`);
      const cidr = parseCidr6(v6.subnet);
      const gw = parseIp6(v6.gateway);
      let ip: bigint;
      if (requested !== undefined) {
        ip = parseIp6(requested);
        if (!contains6(cidr, ip) || ip === cidr.network || ip === gw) throw new EngineError("invalid", `address ${requested} is not a usable host address of ${v6.subnet}`);
        const holder = v6.addresses[formatIp6(ip)];
        if (holder !== undefined && holder !== owner) throw new EngineError("conflict", `address ${requested} is already in use on network ${networkId.slice(0, 12)} (by ${holder.slice(0, 12)})`);
      } else {
        // Sequential after the last one handed out, as for IPv4; a /64 never runs out in practice, so the walk is bounded.
        const first = cidr.network + 1n;
        const end = last6(cidr);
        let cand = v6.last !== undefined ? parseIp6(v6.last) : cidr.network;
        let found: bigint | undefined;
        for (let i = 0; i < 65536 && found === undefined; i++) {
          cand = cand >= end ? first : cand + 1n;
          if (cand !== gw && v6.addresses[formatIp6(cand)] === undefined) found = cand;
        }
        if (found === undefined) throw new EngineError("unavailable", `no free address left in ${v6.subnet}`);
        ip = found;
        v6.last = formatIp6(ip);
      }
      v6.addresses[formatIp6(ip)] = owner;
      await this.save();
      return formatIp6(ip);
    });
  }

  /** Frees a network's subnet; fails while an endpoint still holds an address in it unless `force`. */
  releaseSubnet(networkId: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.mutex.run(async () => {
      const n = this.state.networks[networkId];
      if (!n) return;
      const owners = new Set(Object.values(n.addresses));
      if (owners.size > 0 && !opts.force) {
        throw new EngineError("conflict", `network ${networkId.slice(0, 12)} has active endpoints (${[...owners].map((o) => o.slice(0, 12)).join(", ")})`);
      }
      delete this.state.networks[networkId];
      await this.save();
    });
  }

  /** Hands out `requested` (a static ipv4_address) or the next free address. */
  allocateAddress(networkId: string, owner: string, requested?: string): Promise<string> {
    return this.mutex.run(async () => {
      const n = this.state.networks[networkId];
      if (!n) throw new EngineError("not-found", `network ${networkId.slice(0, 12)} has no subnet`);
      const cidr = parseCidr(n.subnet);
      const gw = parseIp(n.gateway);
      let ip: number;
      if (requested !== undefined) {
        ip = parseIp(requested);
        if (!contains(cidr, ip) || ip === cidr.network || ip === broadcast(cidr) || ip === gw) {
          throw new EngineError("invalid", `address ${requested} is not a usable host address of ${n.subnet}`);
        }
        if (n.reserved?.includes(formatIp(ip))) throw new EngineError("conflict", `address ${requested} is reserved (an aux address) on network ${networkId.slice(0, 12)}`);
        const holder = n.addresses[requested];
        if (holder !== undefined && holder !== owner) {
          throw new EngineError("conflict", `address ${requested} is already in use on network ${networkId.slice(0, 12)} (by ${holder.slice(0, 12)})`);
        }
      } else {
        const found = nextFree(cidr, gw, n);
        if (found === undefined) throw new EngineError("unavailable", `no free address left in ${n.range ?? n.subnet}`);
        ip = found;
        n.last = formatIp(ip);
      }
      n.addresses[formatIp(ip)] = owner;
      await this.save();
      return formatIp(ip);
    });
  }

  /** Frees every address `owner` holds on the network (all of them when networkId is undefined). */
  releaseOwner(owner: string, networkId?: string): Promise<void> {
    return this.mutex.run(async () => {
      let changed = false;
      for (const [id, n] of Object.entries(this.state.networks)) {
        if (networkId !== undefined && id !== networkId) continue;
        for (const table of [n.addresses, n.v6?.addresses ?? {}]) {
          for (const [ip, o] of Object.entries(table)) {
            if (o === owner) {
              delete table[ip];
              changed = true;
            }
          }
        }
      }
      if (changed) await this.save();
    });
  }

  subnetOf(networkId: string): { subnet: string; gateway: string } | undefined {
    const n = this.state.networks[networkId];
    return n ? { subnet: n.subnet, gateway: n.gateway } : undefined;
  }

  /** address -> owner, a copy. */
  addresses(networkId: string): Record<string, string> {
    return { ...(this.state.networks[networkId]?.addresses ?? {}) };
  }

  networkIds(): string[] {
    return Object.keys(this.state.networks);
  }

  /**
   * Makes the table match the records (repair after a crash): networks not in
   * `want` are dropped, addresses not held by a wanted owner are freed, and
   * records missing from the table (a lost or corrupt file) are put back.
   * Returns what was dropped, for the repair report.
   */
  reconcile(
    want: Map<string, { subnet: string; gateway: string; ipRange?: string | undefined; reserved?: readonly string[] | undefined; addresses: Map<string, string>; v6?: Want6 | undefined }>,
  ): Promise<string[]> {
    return this.mutex.run(async () => {
      const dropped: string[] = [];
      for (const [id, n] of Object.entries(this.state.networks)) {
        const w = want.get(id);
        if (!w) {
          delete this.state.networks[id];
          dropped.push(`subnet ${n.subnet} (network ${id.slice(0, 12)})`);
          continue;
        }
        for (const [ip, owner] of Object.entries(n.addresses)) {
          if (w.addresses.get(ip) !== owner) {
            delete n.addresses[ip];
            dropped.push(`address ${ip} (${owner.slice(0, 12)})`);
          }
        }
        for (const [ip, owner] of Object.entries(n.v6?.addresses ?? {})) {
          if (w.v6?.addresses.get(ip) !== owner) {
            delete n.v6?.addresses[ip];
            dropped.push(`address ${ip} (${owner.slice(0, 12)})`);
          }
        }
      }
      for (const [id, w] of want) {
        const n = (this.state.networks[id] ??= { subnet: w.subnet, gateway: w.gateway, last: undefined, addresses: {}, ...reservations(w.ipRange, w.reserved) });
        for (const [ip, owner] of w.addresses) n.addresses[ip] = owner;
        if (w.v6) {
          const v6 = (n.v6 ??= { subnet: w.v6.subnet, gateway: w.v6.gateway, last: undefined, addresses: {} });
          for (const [ip, owner] of w.v6.addresses) v6.addresses[ip] = owner;
        }
      }
      await this.save();
      return dropped;
    });
  }

  private save(): Promise<void> {
    return writeFileAtomic(this.path, JSON.stringify(this.state));
  }
}

function pickSubnet(pools: readonly AddressPool[], avoid: readonly Cidr[]): Cidr | undefined {
  for (const pool of pools) {
    const base = parseCidr(pool.base);
    if (pool.size < base.prefix || pool.size > 30) {
      throw new EngineError("invalid", `address pool ${pool.base}: size /${pool.size} must be between /${base.prefix} and /30`);
    }
    const step = 2 ** (32 - pool.size);
    for (let net = base.network; net <= broadcast(base); net += step) {
      const cand = { network: net >>> 0, prefix: pool.size };
      if (!avoid.some((a) => overlaps(a, cand))) return cand;
    }
  }
  return undefined;
}

function reservations(ipRange: string | undefined, reserved: readonly string[] | undefined): Pick<NetworkAllocation, "range" | "reserved"> {
  return {
    ...(ipRange !== undefined ? { range: formatCidr(parseCidr(ipRange)) } : {}),
    ...(reserved && reserved.length > 0 ? { reserved: reserved.map((a) => formatIp(parseIp(a))) } : {}),
  };
}

function nextFree(subnet: Cidr, gw: number, n: NetworkAllocation): number | undefined {
  // Within the range, still never the subnet's own network or broadcast address.
  const cidr = n.range !== undefined ? parseCidr(n.range) : subnet;
  const first = Math.max(cidr.network, subnet.network + 1);
  const last = Math.min(broadcast(cidr), broadcast(subnet) - 1);
  const count = last - first + 1;
  const reserved = new Set(n.reserved ?? []);
  const prev = n.last !== undefined ? parseIp(n.last) : first - 1;
  let ip = prev;
  for (let i = 0; i < count; i++) {
    ip = ip >= last || ip < first - 1 ? first : ip + 1;
    if (ip !== gw && n.addresses[formatIp(ip)] === undefined && !reserved.has(formatIp(ip))) return ip;
  }
  return undefined;
}
