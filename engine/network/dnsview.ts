// What one network's DNS server answers, given who asks. A query's source
// address says which container asked; that container sees the names of all
// its networks (this one first), which is how a container on two networks
// resolves neighbours on both although its resolv.conf names one server.
// Anyone else (the host, unknown addresses of the subnet, other networks'
// containers, LAN machines) is not a client: accepts() says no.
import type { DnsAnswers, DnsUpstream } from "./dns.js";
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
  /** What one container asked for beyond the network: its own resolvers and link aliases. */
  containerDns?: (containerId: string) => ContainerDns | undefined;
}

export interface ContainerDns {
  /** compose's `dns`: where this container's other queries go. Empty: the engine's upstreams. */
  servers: readonly DnsUpstream[];
  /** compose's links and external_links: `alias` resolves, for this container only, as `target` does. */
  links: readonly DnsLink[];
  /** compose's dns_search: its resolver may ask "db.<domain>" for "db" (busybox's nslookup asks only that). */
  search: readonly string[];
}

export interface DnsLink {
  alias: string;
  target: string;
  /** The target must be registered on one of the container's networks when its sandbox is created. */
  required?: boolean;
}

export function networkDnsView(netId: string, ctx: DnsViewContext): DnsAnswers {
  const { registry, networks, search } = ctx;
  const clientNets = (client: string): string[] => {
    if (!networks.has(netId)) return [];
    const reg = registry.at(netId, client);
    return reg ? [netId, ...registry.networksOf(reg.containerId).filter((x) => x !== netId)] : [];
  };
  const containerOf = (client: string): ContainerDns | undefined => {
    const reg = networks.has(netId) ? registry.at(netId, client) : undefined;
    return reg ? ctx.containerDns?.(reg.containerId) : undefined;
  };
  return {
    accepts: (client) => clientNets(client).length > 0,
    lookup: (name, client) => {
      const nets = clientNets(client);
      if (nets.length === 0) return undefined;
      const own = containerOf(client);
      const links = own?.links ?? [];
      // A link alias comes first, as in dockerd: the linking container means the linked one.
      const resolve = (n: string): string[] | undefined => {
        const link = links.find((l) => l.alias.toLowerCase() === n);
        return (link ? registry.lookup(nets, link.target) : undefined) ?? registry.lookup(nets, n);
      };
      const direct = resolve(name);
      if (direct) return direct;
      for (const d of [...search, ...(own?.search ?? [])]) {
        const suffix = `.${d.toLowerCase()}`;
        if (name.endsWith(suffix)) {
          const r = resolve(name.slice(0, -suffix.length));
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
    upstreams: (client) => {
      const servers = containerOf(client)?.servers ?? [];
      return servers.length > 0 ? servers : undefined;
    },
  };
}

export function inSubnet(subnet: string, ip: string): boolean {
  try {
    return contains(parseCidr(subnet), parseIp(ip));
  } catch {
    return false;
  }
}
