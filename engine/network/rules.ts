// The iptables rules of a network and of a container's published ports, as
// iptables-restore lines. Pure functions: the same description yields the
// same lines, so removal deletes exactly what creation added (`-D` with the
// same spec) and repair can rebuild everything from the records.
//
// Layout (filter table):
//   FORWARD  -> <P>-FORWARD   (inserted first, ahead of e.g. Docker's DROP policy)
//   <P>-FORWARD:   -j <P>-ISOLATION, then per network:
//                    same bridge          ACCEPT
//                    internal:            in DROP
//                    otherwise:           in ACCEPT (to the outside),
//                                         out ACCEPT when RELATED/ESTABLISHED/DNAT (replies, published ports)
//                    then                 out DROP: nothing else enters a bridge from another
//                                         interface. Without it a host on the LAN that routes
//                                         a bridge subnet through this machine reaches every
//                                         unpublished port whenever FORWARD's policy is ACCEPT
//                                         (Docker drops the same in its DOCKER chain). One rule
//                                         per network, none per container.
//   <P>-ISOLATION: per network "same bridge -> RETURN" (inserted on top), then one
//                  "from any of our bridges to any of our bridges -> DROP" (Docker's
//                  DOCKER-ISOLATION chains in one chain: the wildcard is our bridge prefix).
//                  A bridge the user named (com.docker.network.bridge.name) escapes the
//                  wildcard, so such a network X adds "in X, out not X -> <P>-ISOLATION2"
//                  and "in any of ours, out X -> DROP" here, and "out X -> DROP" there.
//   <P>-ISOLATION2: "out any of ours -> DROP" plus the rule of each user-named bridge:
//                  docker's two-stage isolation, for those bridges only.
//   INPUT    -> <P>-INPUT: DNS (udp and tcp, the server's own port) from each bridge to its gateway
// raw table:
//   PREROUTING -> <P>-PREROUTING: one "from any of our bridges to 127.0.0.0/8 -> DROP".
//                  route_localnet is on for our bridges (published ports on 127.0.0.1 need it,
//                  see bridge.ts), which also lets the kernel deliver a packet a container
//                  addresses to 127.0.0.1 to the host's loopback services (CVE-2020-8558).
//                  In raw, before conntrack and DNAT: a container can reach neither a
//                  loopback service nor a port published on 127.0.0.1 only. Replies to the
//                  host's own 127.0.0.1 connections are unaffected: they are MASQUERADEd to
//                  the gateway's address, so they arrive addressed to it, not to 127.x.
// nat table:
//   PREROUTING (inserted first) -> <P>-DNS: per network "from its bridge to <gateway>:53
//                  -> DNAT <gateway>:<the DNS server's port>" (udp, tcp). The embedded DNS
//                  server does not hold port 53 (dns.ts says why), so a port published on
//                  53 of every host address works as on docker, while the network's own
//                  containers asking their gateway (their resolv.conf's nameserver) still
//                  reach the server: this chain comes before every published port's rule,
//                  also another engine's on the same host (tests run several). Only
//                  traffic from the network's bridge is redirected: the host, the LAN and
//                  other networks see port 53 of the gateway as dockerd's hosts do (a
//                  published port, or nothing).
//   PREROUTING, OUTPUT (dst-type LOCAL) -> <P>-DNAT: one DNAT per published port
//   POSTROUTING -> <P>-POSTROUTING, per non-internal network:
//                    from the subnet out another interface   MASQUERADE (outbound)
//                    from 127.0.0.0/8 into the bridge        MASQUERADE (host's 127.0.0.1:<port>)
//                    from the subnet, DNATed, into the bridge MASQUERADE (a container using
//                      a published port of a neighbour on the same bridge must get the reply
//                      back through the host, not directly)
//
// IPv6 (networks with enable_ipv6): the same layout in ip6tables, built by the
// same functions with family 6: the network's IPv6 subnet, the guard against
// ::1, DNAT to the container's IPv6 address. No rule for loopback sources: the
// kernel never routes a ::1 source out of the host (there is no
// route_localnet for IPv6), so a port is not reachable on [::1] (dockerd
// reaches it only through its userland proxy).
import { chainNames, ruleComment, type ChainNames, type NamePrefixes } from "./names.js";

/** 4: iptables, 6: ip6tables. */
export type Family = 4 | 6;

/** The tables we use, in the order iptables-restore input lists them. */
export const TABLES = ["raw", "filter", "nat"] as const;
export type Table = (typeof TABLES)[number];
export type RuleLines = Record<Table, string[]>;

export interface NetworkRuleSpec {
  id: string;
  bridge: string;
  subnet: string;
  internal: boolean;
  /** false (enable_icc): containers on the bridge cannot reach each other. Default true. */
  icc?: boolean | undefined;
  /** false (enable_ip_masquerade): traffic leaving the network keeps its source address. Default true. */
  masquerade?: boolean | undefined;
  /** A dual-stack network's IPv6 subnet: the network has ip6tables rules too. */
  subnet6?: string | undefined;
  /** Where the network's DNS server listens (IPv4 gateway, its port): queries to <gateway>:53 from the bridge go there. */
  dns?: { gateway: string; port: number } | undefined;
}

export interface PortRuleSpec {
  /** Owner of the rule (the container id). */
  ownerId: string;
  protocol: "tcp" | "udp" | "sctp";
  /** "0.0.0.0" = every host address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  /** The container's IPv6 address: a port on every address ("0.0.0.0") or an IPv6 one is forwarded there by ip6tables. */
  containerIp6?: string | undefined;
  containerPort: number;
}

export function emptyLines(): RuleLines {
  return { raw: [], filter: [], nat: [] };
}

const comment = (id: string): string => `-m comment --comment "${ruleComment(id)}"`;

/** The jumps from the built-in chains into ours, without the "-A/-I <chain>" head. */
export function baseJumps(c: ChainNames): { table: Table; chain: string; spec: string; insert: boolean }[] {
  return [
    { table: "filter", chain: "FORWARD", spec: `-j ${c.filterForward}`, insert: true },
    { table: "filter", chain: "INPUT", spec: `-j ${c.filterInput}`, insert: true },
    { table: "nat", chain: "PREROUTING", spec: `-j ${c.natDns}`, insert: true },
    { table: "nat", chain: "PREROUTING", spec: `-m addrtype --dst-type LOCAL -j ${c.natDnat}`, insert: false },
    { table: "nat", chain: "OUTPUT", spec: `-m addrtype --dst-type LOCAL -j ${c.natDnat}`, insert: false },
    { table: "nat", chain: "POSTROUTING", spec: `-j ${c.natPostrouting}`, insert: true },
    { table: "raw", chain: "PREROUTING", spec: `-j ${c.rawPrerouting}`, insert: true },
  ];
}

export function baseChains(c: ChainNames): { table: Table; chain: string }[] {
  return [
    { table: "filter", chain: c.filterForward },
    { table: "filter", chain: c.filterIsolation },
    { table: "filter", chain: c.filterIsolation2 },
    { table: "filter", chain: c.filterInput },
    { table: "nat", chain: c.natDnat },
    { table: "nat", chain: c.natDns },
    { table: "nat", chain: c.natPostrouting },
    { table: "raw", chain: c.rawPrerouting },
  ];
}

/** Rules inside our chains that do not belong to a network: the isolation catch-all and the host-loopback guard. */
export function baseStaticRules(p: NamePrefixes, family: Family = 4): RuleLines {
  const c = chainNames(p);
  return {
    raw: [`-A ${c.rawPrerouting} -d ${family === 6 ? "::1/128" : "127.0.0.0/8"} -i ${p.bridge}+ -j DROP`],
    filter: [
      `-A ${c.filterForward} -j ${c.filterIsolation}`,
      `-A ${c.filterIsolation} -i ${p.bridge}+ -o ${p.bridge}+ -j DROP`,
      `-A ${c.filterIsolation2} -o ${p.bridge}+ -j DROP`,
    ],
    nat: [],
  };
}

/** A network's rules as "add" lines. The isolation RETURN is inserted (-I) so it precedes the catch-all DROP. */
export function networkRules(p: NamePrefixes, n: NetworkRuleSpec, family: Family = 4): RuleLines {
  const c = chainNames(p);
  const subnet = family === 6 ? n.subnet6 : n.subnet;
  if (subnet === undefined) return emptyLines();
  const b = n.bridge;
  const cm = comment(n.id);
  const filter = [
    `-I ${c.filterIsolation} 1 -i ${b} -o ${b} ${cm} -j RETURN`,
    // With br_netfilter (bridge.ts) bridged traffic between two containers passes FORWARD too.
    `-A ${c.filterForward} -i ${b} -o ${b} ${cm} -j ${n.icc === false ? "DROP" : "ACCEPT"}`,
  ];
  const named = !b.startsWith(p.bridge);
  if (named) {
    filter.push(`-A ${c.filterIsolation} -i ${b} ! -o ${b} ${cm} -j ${c.filterIsolation2}`, `-A ${c.filterIsolation} -i ${p.bridge}+ -o ${b} ${cm} -j DROP`, `-A ${c.filterIsolation2} -o ${b} ${cm} -j DROP`);
  }
  if (n.internal) {
    filter.push(`-A ${c.filterForward} -i ${b} ${cm} -j DROP`);
  } else {
    filter.push(
      `-A ${c.filterForward} -i ${b} ${cm} -j ACCEPT`,
      `-A ${c.filterForward} -o ${b} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT ${cm} -j ACCEPT`,
    );
  }
  filter.push(`-A ${c.filterForward} -o ${b} ${cm} -j DROP`);
  const dns = family === 4 ? dnsRules(c, n) : emptyLines();
  filter.push(...dns.filter);
  const nat = n.internal
    ? [...dns.nat]
    : [
        ...dns.nat,
        ...(n.masquerade === false ? [] : [`-A ${c.natPostrouting} -s ${subnet} ! -o ${b} ${cm} -j MASQUERADE`]),
        ...(family === 4 ? [`-A ${c.natPostrouting} -s 127.0.0.0/8 -o ${b} ${cm} -j MASQUERADE`] : []),
        `-A ${c.natPostrouting} -s ${subnet} -o ${b} -m conntrack --ctstate DNAT ${cm} -j MASQUERADE`,
      ];
  // The loopback guard's wildcard does not see a user-named bridge either.
  const raw = named ? [`-A ${c.rawPrerouting} -d ${family === 6 ? "::1/128" : "127.0.0.0/8"} -i ${b} ${cm} -j DROP`] : [];
  return { raw, filter, nat };
}

/** The redirect of <gateway>:53 to the DNS server's port, and the INPUT accept of what arrives there (none before the server has a port). */
function dnsRules(c: ChainNames, n: NetworkRuleSpec): RuleLines {
  if (n.dns === undefined) return emptyLines();
  const { gateway, port } = n.dns;
  const cm = comment(n.id);
  const protocols = ["udp", "tcp"] as const;
  return {
    raw: [],
    filter: protocols.map((pr) => `-A ${c.filterInput} -i ${n.bridge} -d ${gateway}/32 -p ${pr} -m ${pr} --dport ${port} ${cm} -j ACCEPT`),
    nat: protocols.map((pr) => `-A ${c.natDns} -i ${n.bridge} -d ${gateway}/32 -p ${pr} -m ${pr} --dport 53 ${cm} -j DNAT --to-destination ${gateway}:${port}`),
  };
}

/** Whether a published port has a rule in `family`'s table: IPv4 host addresses in iptables; IPv6 ones, and "0.0.0.0" when the container has an IPv6 address, in ip6tables. */
export function portInFamily(r: Pick<PortRuleSpec, "hostIp" | "containerIp6">, family: Family): boolean {
  const v6Host = r.hostIp.includes(":");
  return family === 4 ? !v6Host : r.containerIp6 !== undefined && (v6Host || r.hostIp === "0.0.0.0");
}

export function portRules(p: NamePrefixes, ports: readonly PortRuleSpec[], family: Family = 4): RuleLines {
  const c = chainNames(p);
  const nat = ports
    .filter((r) => portInFamily(r, family))
    .map((r) => {
      const any = r.hostIp === "0.0.0.0" || r.hostIp === "::";
      const dst = any ? "" : `-d ${r.hostIp}/${family === 6 ? 128 : 32} `;
      const to = family === 6 ? `[${r.containerIp6 ?? ""}]:${r.containerPort}` : `${r.containerIp}:${r.containerPort}`;
      return `-A ${c.natDnat} ${dst}-p ${r.protocol} -m ${r.protocol} --dport ${r.hostPort} ${comment(r.ownerId)} -j DNAT --to-destination ${to}`;
    });
  return { raw: [], filter: [], nat };
}

/** The same rules as delete lines ("-A x" / "-I x 1" -> "-D x"). */
export function toDeletes(lines: RuleLines): RuleLines {
  const del = (l: string): string => l.replace(/^-A (\S+) /, "-D $1 ").replace(/^-I (\S+) \d+ /, "-D $1 ");
  return { raw: lines.raw.map(del), filter: lines.filter.map(del), nat: lines.nat.map(del) };
}

export function mergeLines(...all: RuleLines[]): RuleLines {
  return { raw: all.flatMap((l) => l.raw), filter: all.flatMap((l) => l.filter), nat: all.flatMap((l) => l.nat) };
}

/** iptables-restore input (for --noflush) touching only the given tables. `declare` chains are created (and flushed if they exist). */
export function restoreText(lines: RuleLines, declare: { table: Table; chain: string }[] = []): string {
  let text = "";
  for (const table of TABLES) {
    const decl = declare.filter((d) => d.table === table);
    if (lines[table].length === 0 && decl.length === 0) continue;
    text += `*${table}\n`;
    for (const d of decl) text += `:${d.chain} - [0:0]\n`;
    for (const l of lines[table]) text += `${l}\n`;
    text += "COMMIT\n";
  }
  return text;
}
