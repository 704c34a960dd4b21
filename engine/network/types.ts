// The embedded engine's networking: what the runtime and the engine facade
// ask of it. Implemented by LinuxNetworkManager (manager.ts).
//
// Why our own code over `ip`/`iptables` rather than the CNI plugins that
// Debian ships (bridge, host-local, portmap, firewall, loopback):
// - Speed. Starting containers here is CPU-bound (DESIGN.md) and every exec
//   costs several ms, much more under load. A CNI ADD for one container runs
//   bridge (which calls host-local), then portmap and firewall: four Go
//   binaries, each also reading a config and re-listing iptables. We do one
//   `ip -batch` in the host plus one `ip -n <ns> -batch` inside, per container
//   and however many networks (the host batches of containers set up at once
//   share one process); ports add one iptables-restore.
// - Crash recovery. We name everything (bridges, veths, netns, chains, rule
//   comments) with our prefixes and keep our own records, so repair() can
//   compare the kernel with the records and remove exactly what nobody owns.
//   With CNI, host-local keeps its own lease files, portmap its own chains,
//   and a crash between plugin calls leaves state in three places whose
//   cleanup needs a CNI DEL with the original config and args.
// - DNS, aliases and published ports must know every endpoint anyway: the
//   IPAM table is the source the DNS registry and port rules are built from.
// The price is owning the rule layout (rules.ts) and the IPAM (ipam.ts).
//
// Two more choices, explained where they are made:
// - DNS (dns.ts): one server per network on its gateway in the host's
//   namespace, named in each container's resolv.conf (port 53 there reaches
//   it through a DNAT rule on the bridge); not Docker's 127.0.0.11 socket
//   inside every container.
// - Published ports (ports.ts): iptables DNAT plus route_localnet on the
//   bridge (so 127.0.0.1:<port> works), no userland proxy: nothing per
//   connection, and it survives a daemon restart.
import type { NetworkInfo, NetworkSpec, PortBinding } from "../types.js";
import type { DnsUpstream } from "./dns.js";
import type { DnsLink } from "./dnsview.js";
import type { AddressPool } from "./ipam.js";
import type { NamePrefixes } from "./names.js";
import type { PublishedPort } from "./ports.js";

export type { DnsUpstream, DnsLink, AddressPool, NamePrefixes, PublishedPort };

export interface NetworkManagerOptions {
  /** Records live here: networks/, sandboxes/, ipam.json, and the lock file. */
  stateDir: string;
  /** Name prefixes of kernel objects; tests use their own so they never touch a real daemon's. */
  prefixes?: Partial<NamePrefixes>;
  /** Where automatic subnets come from. Default: /24s from 10.213.0.0/16. */
  pools?: AddressPool[];
  /** Resolvers for names that are not ours. Default: the nameservers in the host's /etc/resolv.conf. */
  upstreamDns?: DnsUpstream[];
  /** Search domains for containers (and stripped from queries by our DNS). Default: the host's. */
  dnsSearch?: string[];
  /** MTU of container veths. Default: the kernel's (1500). */
  mtu?: number;
}

export interface AttachRequest {
  /** Network name or id. */
  network: string;
  /** Extra DNS names on this network (compose adds the service name here). */
  aliases?: string[];
  /** A static address (compose's ipv4_address); otherwise the next free one. */
  ipv4Address?: string;
  /** A static IPv6 address (compose's ipv6_address) on a dual-stack network; otherwise the next free one there. */
  ipv6Address?: string;
  /** Default: derived from the address (02:42:<ip bytes>), as Docker does. */
  macAddress?: string;
  /** Among the networks of one call (when none holds the default route yet), the non-internal one with the highest value gets it; ties go to the first. */
  gwPriority?: number;
}

export interface SandboxSpec {
  containerId: string;
  /** The container's name; resolvable on each of its networks. */
  name: string;
  /** Resolvable too, and written into the hosts file. Default: the first 12 characters of the id. */
  hostname?: string;
  /** Networks to join at once: the same as attach() afterwards, in fewer execs. */
  networks?: AttachRequest[];
  /**
   * The container's own resolvers (compose's `dns`, addresses): the network's
   * DNS server forwards the names it does not know to these instead of the
   * engine's upstreams. resolv.conf keeps naming the network's server, so
   * service names still resolve.
   */
  dns?: string[];
  /** Names only this container resolves, each as its target (a container name or alias) does. */
  links?: DnsLink[];
  /** The container's own search domains: "db.<domain>" from it is looked up as "db" too. */
  dnsSearch?: string[];
}

export interface Endpoint {
  networkId: string;
  networkName: string;
  /** Interface name inside the namespace (eth0, eth1, ...). */
  ifname: string;
  /** The veth's host end, a port of the network's bridge. */
  hostVeth: string;
  ipAddress: string;
  prefixLength: number;
  gateway: string;
  /** On a dual-stack network: the endpoint's IPv6 address, its prefix length and the network's IPv6 gateway. */
  ipv6Address?: string | undefined;
  ipv6PrefixLength?: number | undefined;
  ipv6Gateway?: string | undefined;
  macAddress: string;
  aliases: string[];
  /** Every name this endpoint answers to in the network's DNS. */
  dnsNames: string[];
  /** The container's default route goes through this network. */
  defaultRoute: boolean;
}

export interface SandboxInfo {
  containerId: string;
  name: string;
  hostname: string;
  /** Name under /var/run/netns. */
  netns: string;
  /** The path the runtime puts in the OCI config's network namespace. */
  netnsPath: string;
  endpoints: Endpoint[];
  ports: PublishedPort[];
  /** Content for the container's /etc/resolv.conf: `nameserver <gateway of the first network>`. */
  resolvConf: string;
  /** Content for the container's /etc/hosts: localhost entries plus its own addresses and names. */
  hosts: string;
}

export interface RepairReport {
  /** Leftovers removed: devices, namespaces, rules, records and addresses nobody owned. */
  removed: string[];
  /** Things put back: bridges, rules, DNS servers. */
  restored: string[];
  /** What was not cleaned up because some record was unreadable (see manager.ts). */
  kept?: string[];
}

/**
 * Networks and container network namespaces for the embedded engine.
 *
 * Lifecycle, in the order a container meets it:
 *   1. createNetwork(spec): a subnet from IPAM (gateway .1), a bridge
 *      `tsc-<8 hex of the network id>` holding the gateway address, its
 *      iptables rules (masquerade out unless internal; isolation from our other
 *      bridges) and a DNS server on <gateway>:<a port the kernel picks>,
 *      which the network's containers reach at <gateway>:53 (DNAT). With enableIpv6 also the IPv6
 *      gateway on the bridge and the same rules in ip6tables (rules.ts); each
 *      endpoint then gets an IPv6 address too, and AAAA answers.
 *   2. createSandbox({containerId, name, networks}): a netns
 *      `tsc-<12 chars of the container id>` under /var/run/netns with lo up.
 *      The runtime hands `netnsPath` to runc and writes `resolvConf` and `hosts`
 *      into the container.
 *   3. attach(containerId, [{network, aliases}]): per network an address, a
 *      veth pair (host end `tv<hex>` on the bridge, the other end eth0, eth1...
 *      inside), the default route through the first non-internal network, and
 *      the endpoint's names in that network's DNS at once. Networks given to
 *      createSandbox are attached the same way.
 *   4. publishPorts(containerId, ports): DNAT rules from host ports to the
 *      container's address on its first non-internal network.
 *   5. detach(containerId, network): the reverse of 3 for one network (its
 *      ports, names and address go too).
 *   6. removeSandbox(containerId): unpublishes, detaches everything, deletes the
 *      netns. Idempotent.
 *   7. removeNetwork(name): once no endpoint is left: DNS server, rules, bridge,
 *      subnet.
 * Kernel state outlives the daemon (containers keep their network across a
 * daemon restart); DNS servers do not. At start the engine calls repair(),
 * which removes what a crash left behind and starts the DNS servers again.
 */
export interface NetworkManager {
  createNetwork(spec: NetworkSpec): Promise<NetworkInfo>;
  /** Fails with "conflict" while endpoints remain, "not-found" for an unknown network. */
  removeNetwork(nameOrId: string): Promise<void>;
  /** By name, id or unique id prefix. */
  inspectNetwork(nameOrId: string): Promise<NetworkInfo | undefined>;
  listNetworks(filter?: { labels?: Record<string, string | undefined> }): Promise<NetworkInfo[]>;

  createSandbox(spec: SandboxSpec): Promise<SandboxInfo>;
  attach(containerId: string, requests: AttachRequest[]): Promise<SandboxInfo>;
  detach(containerId: string, network: string): Promise<SandboxInfo>;
  removeSandbox(containerId: string): Promise<void>;
  inspectSandbox(containerId: string): Promise<SandboxInfo | undefined>;

  /** All or nothing: a host port in use fails the call, naming the port, and installs nothing. */
  publishPorts(containerId: string, ports: PortBinding[]): Promise<PublishedPort[]>;
  unpublishPorts(containerId: string): Promise<void>;

  repair(): Promise<RepairReport>;
  /** Stops the DNS servers and releases the state lock; leaves kernel state for the next start. */
  close(): Promise<void>;
}
