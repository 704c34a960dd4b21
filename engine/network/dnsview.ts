// What one network's DNS server answers, given who asks. A query's source
// address says which container asked; that container sees the names of all
// its networks (this one first), which is how a container on two networks
// resolves neighbours on both although its resolv.conf names one server.
// Anyone else (the host, unknown addresses of the subnet, other networks'
// containers, LAN machines) is not a client: accepts() says no.
import type { DnsAnswers } from "./dns.js";
import { contains, parseCidr, parseIp } from "./ipv4.js";
import type { NameRegistry } from "./registry.js";

export interface DnsViewNetwork {
  name: string;
  subnet: string;
  internal: boolean;
}

export interface DnsViewContext {
  registry: NameRegistry;
  networks: ReadonlyMap<string, DnsViewNetwork>;
  /** Search domains: "db.<domain>" is looked up as "db". */
  search: readonly string[];
}

export function networkDnsView(netId: string, ctx: DnsViewContext): DnsAnswers {
  const { registry, networks, search } = ctx;
  const clientNets = (client: string): string[] => {
    if (!networks.has(netId)) return [];
    const reg = registry.at(netId, client);
    return reg ? [netId, ...registry.networksOf(reg.containerId).filter((x) => x !== netId)] : [];
  };
  return {
    accepts: (client) => clientNets(client).length > 0,
    lookup: (name, client) => {
      const nets = clientNets(client);
      if (nets.length === 0) return undefined;
      const direct = registry.lookup(nets, name);
      if (direct) return direct;
      for (const d of search) {
        const suffix = `.${d.toLowerCase()}`;
        if (name.endsWith(suffix)) {
          const r = registry.lookup(nets, name.slice(0, -suffix.length));
          if (r) return r;
        }
      }
      // "<name>.<network>" picks the address on that network, as Docker allows.
      for (const id of nets) {
        const suffix = `.${(networks.get(id)?.name ?? "").toLowerCase()}`;
        if (suffix !== "." && name.endsWith(suffix)) {
          const r = registry.lookup([id], name.slice(0, -suffix.length));
          if (r) return r;
        }
      }
      return undefined;
    },
    reverse: (ip, client) => {
      for (const id of clientNets(client)) {
        const n = networks.get(id);
        if (!n || !inSubnet(n.subnet, ip)) continue;
        const reg = registry.at(id, ip);
        return reg?.names[0] !== undefined ? `${reg.names[0]}.${n.name.toLowerCase()}` : null;
      }
      return undefined;
    },
    mayForward: (client) => clientNets(client).some((id) => networks.get(id)?.internal === false),
  };
}

export function inSubnet(subnet: string, ip: string): boolean {
  try {
    return contains(parseCidr(subnet), parseIp(ip));
  } catch {
    return false;
  }
}
