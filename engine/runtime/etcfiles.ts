// The three files Docker writes for every container and bind-mounts over the
// image's: /etc/hosts, /etc/hostname, /etc/resolv.conf. They live in the
// container's directory so that they survive restarts and can be rewritten
// (the network layer updates DNS; the image's own copies stay untouched).
import { EngineError } from "../types.js";

export interface HostsEntry {
  ip: string;
  names: string[];
}

/** Where they are bind-mounted in the container. */
export const ETC_FILES = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"] as const;

/** Docker's default /etc/hosts lines (libnetwork etchosts.defaultContent). */
const DEFAULT_HOSTS: HostsEntry[] = [
  { ip: "127.0.0.1", names: ["localhost"] },
  { ip: "::1", names: ["localhost", "ip6-localhost", "ip6-loopback"] },
  { ip: "fe00::0", names: ["ip6-localnet"] },
  { ip: "ff00::0", names: ["ip6-mcastprefix"] },
  { ip: "ff02::1", names: ["ip6-allnodes"] },
  { ip: "ff02::2", names: ["ip6-allrouters"] },
];

/** compose's extra_hosts: "name:ip" (split at the first colon, IPv6 keeps its colons) or "name=ip". */
export function parseExtraHost(s: string): HostsEntry {
  const eq = s.indexOf("=");
  const colon = s.indexOf(":");
  const at = eq >= 0 && (colon < 0 || eq < colon) ? eq : colon;
  if (at <= 0 || at === s.length - 1) throw new EngineError("invalid", `invalid extra host "${s}": expected name:ip`);
  let ip = s.slice(at + 1);
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  return { ip, names: [s.slice(0, at)] };
}

/** The address docker's special extra_hosts value `host-gateway` stands for. */
export const HOST_GATEWAY = "host-gateway";

/**
 * extra_hosts with `host-gateway` replaced by the host's address as the
 * container reaches it (its network's gateway, the host's end of the bridge),
 * as dockerd replaces it. Without a gateway (network_mode none, or a shared
 * namespace whose owner's address is not ours to name) it is an error, not
 * a literal "host-gateway" in /etc/hosts.
 */
export function resolveHostGateway(extraHosts: string[], gateway: string | undefined): string[] {
  return extraHosts.map((h) => {
    const e = parseExtraHost(h);
    if (e.ip !== HOST_GATEWAY) return h;
    if (gateway === undefined) throw new EngineError("invalid", `extra host "${h}": host-gateway needs a network of the container's own (network_mode bridge or host)`);
    return `${e.names.join(" ")}:${gateway}`;
  });
}

/**
 * Default lines, then extra_hosts, then caller-provided entries (links,
 * network peers), then the container's own address under its hostname — the
 * order Docker writes them in.
 */
export function hostsFile(opts: {
  extraHosts: string[];
  entries?: HostsEntry[];
  ownIp?: string | undefined;
  hostname: string;
  domainname?: string | undefined;
}): string {
  const lines = [...DEFAULT_HOSTS, ...opts.extraHosts.map(parseExtraHost), ...(opts.entries ?? [])].map(
    (e) => `${e.ip}\t${e.names.join(" ")}`,
  );
  if (opts.ownIp) {
    const names = opts.domainname ? [`${opts.hostname}.${opts.domainname}`, opts.hostname] : [opts.hostname];
    lines.push(`${opts.ownIp}\t${names.join(" ")}`);
  }
  return lines.join("\n") + "\n";
}

const LOCALHOST_NAMESERVER = /^\s*nameserver\s+(127\.\d+\.\d+\.\d+|::1)\s*$/;

/**
 * The container's resolv.conf from a base (the host's, or the network
 * layer's): `dns` replaces the nameservers, `dnsSearch` the search domains,
 * `dnsOptions` the options (compose's dns, dns_search, dns_opt).
 * Unless the container shares the host's network, localhost nameservers are
 * dropped (unreachable from another namespace), as Docker's FilterResolvDNS
 * does; Docker then falls back to public DNS, which we do not invent.
 *
 * `embeddedDns`: the base names the network's own DNS server, which forwards
 * to `dns` itself (dockerd's 127.0.0.11 rule): the nameserver stays, and the
 * base's ndots (0: service names go to it at once) stays unless the user
 * gives an ndots, which is where dockerd adds its ndots:0 too.
 */
export function resolvConf(
  base: string,
  opts: { dns: string[]; dnsSearch: string[]; dnsOptions?: string[]; hostNetwork: boolean; embeddedDns?: boolean },
): string {
  let lines = base.replace(/\n+$/, "").split("\n");
  if (!opts.hostNetwork) lines = lines.filter((l) => !LOCALHOST_NAMESERVER.test(l));
  if (opts.dns.length > 0 && !opts.embeddedDns) {
    lines = lines.filter((l) => !/^\s*nameserver\s/.test(l));
    lines.push(...opts.dns.map((d) => `nameserver ${d}`));
  }
  if (opts.dnsSearch.length > 0) {
    lines = lines.filter((l) => !/^\s*(search|domain)\s/.test(l));
    // Ahead of the nameservers, where dockerd writes it (the resolver takes the lines in any order; readers of the file may not).
    const first = lines.findIndex((l) => /^\s*nameserver\s/.test(l));
    lines.splice(first < 0 ? lines.length : first, 0, `search ${opts.dnsSearch.join(" ")}`);
  }
  const dnsOptions = opts.dnsOptions ?? [];
  if (dnsOptions.length > 0) {
    const baseOptions = lines.filter((l) => /^\s*options\s/.test(l)).flatMap((l) => l.trim().split(/\s+/).slice(1));
    const options = [...dnsOptions];
    const ndots = baseOptions.find((o) => o.startsWith("ndots:"));
    if (opts.embeddedDns && ndots !== undefined && !options.some((o) => o.startsWith("ndots:"))) options.push(ndots);
    lines = lines.filter((l) => !/^\s*options\s/.test(l));
    lines.push(`options ${options.join(" ")}`);
  }
  const text = lines.join("\n");
  return text === "" ? "" : text + "\n";
}
