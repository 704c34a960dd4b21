// LinuxNetworkManager: the NetworkManager of the embedded engine (see
// types.ts for the lifecycle and why it is built on ip/iptables directly).
//
// Records (under stateDir): networks/<id>.json, sandboxes/<container id>.json
// and ipam.json. Kernel objects are created before their record is written
// and removed after it is deleted, so after a crash the kernel may hold more
// than the records say, never less of what they promise except what a reboot
// took; repair() settles both directions.
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { NetworkInfo, NetworkSpec, PortBinding } from "../types.js";
import { DEFAULT_BRIDGE_NETWORK, EngineError } from "../types.js";
import { ipBatch } from "./ip-batch.js";
import { BRIDGE_OPTION, parseBridgeOptions, type BridgeOptions } from "./bridge-options.js";
import { checkIpamConfig } from "./ipam-config.js";
import type { NetworkRuleSpec } from "./rules.js";
import { BR_NETFILTER, addNetworkRules, applyWithBase, createBridge, type BridgeSpec, deleteByComment, linkExists, prepareHost, prepareHostIpv6, removeBridge, removeNetworkRules } from "./bridge.js";
import { createForwarder, DnsServer, type DnsUpstream, type Forward } from "./dns.js";
import { networkDnsView, type ContainerDns, type DnsLink } from "./dnsview.js";
import { pausePoint } from "./hooks.js";
import { iptablesRestore, iptablesSave, rebuildText, removeBaseLines } from "./iptables.js";
import { DEFAULT_POOLS, Ipam, type AddressPool, type Want6 } from "./ipam.js";
import { macForIp, parseCidr, parseIp } from "./ipv4.js";
import { parseCidr6 } from "./ipv6.js";
import { writeFileAtomic } from "../sys/atomic-file.js";
import { readJsonDir } from "./jsonfile.js";
import { acquireLock, type StateLock } from "./lockfile.js";
import { KeyedMutex, Mutex } from "../sys/keyed-mutex.js";
import { bridgeName, checkPrefixes, DEFAULT_PREFIXES, IFNAME_MAX, netnsName, newId, vethName, type NamePrefixes } from "./names.js";
import { choosePorts, type PublishedPort } from "./ports.js";
import { NameRegistry, normalizeName } from "./registry.js";
import { containerHosts, containerResolvConf, readHostResolvConf, upstreamsOf } from "./resolvconf.js";
import { hostRoutes } from "./routes.js";
import { portInFamily, portRules, restoreText, toDeletes, type Family, type PortRuleSpec } from "./rules.js";
import { netnsExists, netnsPath, removeUnowned, setDefaultRoute, setupEndpoints, teardown, type EndpointPlan } from "./sandbox.js";
import type { AttachRequest, Endpoint, NetworkManager, NetworkManagerOptions, RepairReport, SandboxInfo, SandboxSpec } from "./types.js";

interface NetworkRecord extends NetworkInfo {
  bridge: string;
  createdAt: string;
  ipRange?: string | undefined;
  auxAddresses?: Record<string, string> | undefined;
  /** Driver options as given (parsed by bridge-options.ts where used). */
  options?: Record<string, string> | undefined;
  /**
   * The port of the network's DNS server on the gateway, which the kernel
   * chose when it first listened; kept so a restarted daemon listens there
   * again and the DNAT from <gateway>:53 (rules.ts) stays right. Absent in
   * records of versions whose server listened on port 53 itself.
   */
  dnsPort?: number | undefined;
}

/** The network's firewall rules as rules.ts builds them. */
function ruleSpecOf(n: NetworkRecord): NetworkRuleSpec {
  const o = parseBridgeOptions(n.options ?? {});
  const dns = n.dnsPort !== undefined ? { gateway: n.gateway, port: n.dnsPort } : undefined;
  return { id: n.id, bridge: n.bridge, subnet: n.subnet, internal: n.internal, icc: o.icc, masquerade: o.masquerade, subnet6: n.subnet6, dns };
}

function bridgeSpecOf(n: NetworkRecord): BridgeSpec {
  const gateway6 = n.subnet6 !== undefined && n.gateway6 !== undefined ? { address: n.gateway6, prefixLength: parseCidr6(n.subnet6).prefix } : undefined;
  return { ...ruleSpecOf(n), gateway: n.gateway, prefixLength: parseCidr(n.subnet).prefix, mtu: parseBridgeOptions(n.options ?? {}).mtu, gateway6 };
}

/** Options and IPAM config checked before anything is created; a bad one is "invalid", naming it. */
function checkNetworkSpec(spec: NetworkSpec): BridgeOptions {
  let opts: BridgeOptions;
  try {
    opts = parseBridgeOptions(spec.options ?? {});
  } catch (err) {
    throw new EngineError("invalid", (err as Error).message);
  }
  checkIpamConfig({ subnet: spec.subnet, gateway: spec.gateway, ipRange: spec.ipRange, auxAddresses: spec.auxAddresses });
  if (spec.enableIpv6 === true && spec.subnet6 === undefined) {
    // dockerd before 27 says "could not find an available, non-overlapping IPv6 address pool" here: its default pools are IPv4 only, as ours are.
    throw new EngineError("invalid", `network ${spec.name}: enable_ipv6 needs an IPv6 subnet in its ipam config (the engine has no default IPv6 address pool)`);
  }
  if (spec.enableIpv6 !== true && spec.subnet6 !== undefined) throw new EngineError("invalid", `network ${spec.name}: the IPv6 subnet ${spec.subnet6} needs enable_ipv6: true`);
  if (spec.subnet6 !== undefined) parseCidr6(spec.subnet6);
  // Without br_netfilter, traffic between two ports of a bridge never meets iptables: the DROP would not hold.
  if (!opts.icc && !existsSync(BR_NETFILTER)) throw new EngineError("invalid", `${BRIDGE_OPTION.icc}=false needs the br_netfilter kernel module (${BR_NETFILTER} is missing)`);
  return opts;
}

interface SandboxRecord {
  containerId: string;
  name: string;
  hostname: string;
  netns: string;
  endpoints: Endpoint[];
  ports: PublishedPort[];
  loopbackUp: boolean;
  /** The container's own resolvers (compose's `dns`); absent in records of older versions. */
  dns?: string[];
  /** Its link aliases (compose's links, external_links). */
  links?: DnsLink[];
  /** Its own search domains (compose's dns_search). */
  dnsSearch?: string[];
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export async function openNetworkManager(opts: NetworkManagerOptions): Promise<LinuxNetworkManager> {
  const prefixes: NamePrefixes = { ...DEFAULT_PREFIXES, ...opts.prefixes };
  checkPrefixes(prefixes);
  await mkdir(join(opts.stateDir, "networks"), { recursive: true, mode: 0o700 });
  await mkdir(join(opts.stateDir, "sandboxes"), { recursive: true, mode: 0o700 });
  const lock = await acquireLock(join(opts.stateDir, "network.lock"));
  try {
    const { ipam, corrupt } = await Ipam.open(join(opts.stateDir, "ipam.json"));
    // The host's resolv.conf is read only for what the options leave open (tests give both).
    const host = opts.upstreamDns && opts.dnsSearch ? { nameservers: [], search: [], options: [] } : await readHostResolvConf();
    const m = new LinuxNetworkManager(opts, prefixes, lock, ipam, opts.upstreamDns ?? upstreamsOf(host), opts.dnsSearch ?? host.search);
    await m.load(corrupt);
    return m;
  } catch (err) {
    await lock.release();
    throw err;
  }
}

export class LinuxNetworkManager implements NetworkManager {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly dns = new Map<string, DnsServer>();
  private readonly registry = new NameRegistry();
  /** Serializes network create/remove and repair (they share the base chains). */
  private readonly netMutex = new Mutex();
  /** Serializes choosing host ports, so two containers cannot both get one. */
  private readonly portsMutex = new Mutex();
  private readonly sandboxMutexes = new KeyedMutex();
  private readonly forward: Forward;
  private readonly pools: readonly AddressPool[];
  private baseReady = false;
  /** The same for ip6tables (only networks with IPv6 put rules there). */
  private baseReady6 = false;
  private hostPrepared = false;
  private ipamCorrupt = false;
  /**
   * Network or sandbox records that could not be read (set aside). While there
   * are any, repair() removes nothing it cannot attribute: the bridge, netns,
   * veths, rules and addresses of an unreadable record may belong to a
   * running container.
   */
  private readonly unreadable: string[] = [];
  private closed = false;

  constructor(
    private readonly opts: NetworkManagerOptions,
    readonly prefixes: NamePrefixes,
    private readonly lock: StateLock,
    private readonly ipam: Ipam,
    private readonly upstreams: DnsUpstream[],
    private readonly search: string[],
  ) {
    this.forward = createForwarder(() => this.upstreams);
    this.pools = opts.pools ?? DEFAULT_POOLS;
  }

  /** Reads the records and fills the DNS registry from them (DNS servers start in repair()). */
  async load(ipamCorrupt: boolean): Promise<void> {
    this.ipamCorrupt = ipamCorrupt;
    for (const { value, corrupt, name } of await readJsonDir<NetworkRecord>(this.dir("networks"))) {
      if (value?.id) this.networks.set(value.id, value);
      else this.unreadable.push(corrupt ?? join(this.dir("networks"), `${name}.json`));
    }
    for (const { value, corrupt, name } of await readJsonDir<SandboxRecord>(this.dir("sandboxes"))) {
      if (value?.containerId) this.sandboxes.set(value.containerId, value);
      else this.unreadable.push(corrupt ?? join(this.dir("sandboxes"), `${name}.json`));
    }
    for (const sb of this.sandboxes.values()) this.register(sb);
  }

  // ---- networks ----

  createNetwork(spec: NetworkSpec): Promise<NetworkInfo> {
    return this.netMutex.run(async () => {
      this.checkOpen();
      if (spec.driver !== "" && spec.driver !== "bridge") throw new EngineError("invalid", `network driver "${spec.driver}" is not supported by the embedded engine (only "bridge")`);
      if (!spec.name) throw new EngineError("invalid", "a network needs a name");
      const opts = checkNetworkSpec(spec);
      if (this.findNetwork(spec.name)?.name === spec.name) throw new EngineError("conflict", `network with name ${spec.name} already exists`);
      const owner = (b: string): NetworkRecord | undefined => [...this.networks.values()].find((n) => n.bridge === b);
      if (opts.bridgeName !== undefined) {
        const b = opts.bridgeName;
        // Our generated names are ours alone: repair() takes an unrecorded one for a leftover.
        if (b.startsWith(this.prefixes.bridge)) throw new EngineError("invalid", `${BRIDGE_OPTION.name}: "${b}" starts with "${this.prefixes.bridge}", the prefix of the engine's own bridge names`);
        const other = owner(b);
        if (other) throw new EngineError("conflict", `${BRIDGE_OPTION.name}: bridge ${b} is already used by network ${other.name}`);
        if (linkExists(b)) throw new EngineError("conflict", `${BRIDGE_OPTION.name}: the host already has a link named ${b}`);
      }
      let id = newId();
      const taken = (candidate: string): boolean => {
        const b = bridgeName(this.prefixes, candidate);
        return linkExists(b) || owner(b) !== undefined;
      };
      while (taken(id)) id = newId();
      const bridge = opts.bridgeName ?? bridgeName(this.prefixes, id);
      const { subnet, gateway } = await this.ipam.allocateSubnet(id, {
        subnet: spec.subnet,
        gateway: spec.gateway,
        ipRange: spec.ipRange,
        reserved: Object.values(spec.auxAddresses ?? {}),
        pools: this.pools,
        hostRoutes: await hostRoutes(),
      });
      const v6 = spec.subnet6 !== undefined ? await this.ipam.allocateSubnet6(id, { subnet: spec.subnet6, gateway: spec.gateway6 }).catch(async (err: unknown) => {
        await this.ipam.releaseSubnet(id, { force: true });
        throw err;
      }) : undefined;
      const rec: NetworkRecord = {
        id,
        name: spec.name,
        driver: "bridge",
        labels: { ...spec.labels },
        subnet,
        gateway,
        internal: spec.internal,
        bridge,
        ...(v6 ? { subnet6: v6.subnet, gateway6: v6.gateway } : {}),
        createdAt: new Date().toISOString(),
        ...(spec.ipRange !== undefined ? { ipRange: spec.ipRange } : {}),
        ...(spec.auxAddresses && Object.keys(spec.auxAddresses).length > 0 ? { auxAddresses: { ...spec.auxAddresses } } : {}),
        ...(spec.options && Object.keys(spec.options).length > 0 ? { options: { ...spec.options } } : {}),
      };
      let rulesAdded = false;
      try {
        await this.prepareHostOnce();
        if (v6) await prepareHostIpv6();
        await createBridge(bridgeSpecOf(rec));
        await pausePoint("network:bridge-created");
        // The server first: its port (the kernel's choice) goes into the DNAT rule.
        await this.startDns(rec);
        const ruleSpec = ruleSpecOf(rec);
        rulesAdded = true;
        await addNetworkRules(this.prefixes, ruleSpec, { baseKnownPresent: this.baseReady });
        this.baseReady = true;
        if (v6) {
          await addNetworkRules(this.prefixes, ruleSpec, { baseKnownPresent: this.baseReady6, family: 6 });
          this.baseReady6 = true;
        }
        await pausePoint("network:rules-added");
        await writeFileAtomic(this.networkFile(id), JSON.stringify(rec));
        this.networks.set(id, rec);
      } catch (err) {
        await this.stopDns(id);
        if (rulesAdded) await deleteByComment(id, v6 ? [4, 6] : [4]).catch(() => undefined);
        await removeBridge(bridge).catch(() => undefined);
        await this.ipam.releaseSubnet(id, { force: true }).catch(() => undefined);
        throw err;
      }
      return toInfo(rec);
    });
  }

  removeNetwork(nameOrId: string): Promise<void> {
    return this.netMutex.run(async () => {
      this.checkOpen();
      const rec = this.findNetwork(nameOrId);
      if (!rec) throw new EngineError("not-found", `network ${nameOrId} not found`);
      const users = [...this.sandboxes.values()].filter((s) => s.endpoints.some((e) => e.networkId === rec.id)).map((s) => s.name);
      const held = Object.values(this.ipam.addresses(rec.id));
      if (users.length > 0 || held.length > 0) {
        throw new EngineError("conflict", `network ${rec.name} has active endpoints (${[...new Set([...users, ...held.map((h) => h.slice(0, 12))])].join(", ")})`);
      }
      // The record goes first: if we crash below, repair() removes the rest as leftovers.
      await rm(this.networkFile(rec.id), { force: true });
      this.networks.delete(rec.id);
      await this.stopDns(rec.id);
      this.registry.removeNetwork(rec.id);
      await removeNetworkRules(this.prefixes, ruleSpecOf(rec), { lastNetwork: this.networks.size === 0 });
      if (this.networks.size === 0) this.baseReady = false;
      if (rec.subnet6 !== undefined) {
        const last6 = ![...this.networks.values()].some((n) => n.subnet6 !== undefined);
        await removeNetworkRules(this.prefixes, ruleSpecOf(rec), { lastNetwork: last6, family: 6 });
        if (last6) this.baseReady6 = false;
      }
      await removeBridge(rec.bridge);
      await this.ipam.releaseSubnet(rec.id, { force: true });
    });
  }

  inspectNetwork(nameOrId: string): Promise<NetworkInfo | undefined> {
    const rec = this.findNetwork(nameOrId);
    return Promise.resolve(rec ? toInfo(rec) : undefined);
  }

  listNetworks(filter?: { labels?: Record<string, string | undefined> }): Promise<NetworkInfo[]> {
    const want = Object.entries(filter?.labels ?? {});
    const out = [...this.networks.values()].filter((n) => want.every(([k, v]) => (v === undefined ? k in n.labels : n.labels[k] === v)));
    return Promise.resolve(out.sort((a, b) => a.name.localeCompare(b.name)).map(toInfo));
  }

  // ---- sandboxes ----

  createSandbox(spec: SandboxSpec): Promise<SandboxInfo> {
    if (!ID_RE.test(spec.containerId)) return Promise.reject(new EngineError("invalid", `invalid container id "${spec.containerId}"`));
    return this.withSandbox(spec.containerId, async () => {
      this.checkOpen();
      if (this.sandboxes.has(spec.containerId)) throw new EngineError("conflict", `container ${spec.containerId.slice(0, 12)} already has a network sandbox`);
      const netns = netnsName(this.prefixes, spec.containerId);
      if (netnsExists(netns)) await teardown(netns, []); // a leftover of a crash: no record owns it
      const rec: SandboxRecord = {
        containerId: spec.containerId,
        name: spec.name.replace(/^\/+/, ""),
        hostname: spec.hostname ?? spec.containerId.slice(0, 12),
        netns,
        endpoints: [],
        ports: [],
        loopbackUp: false,
        dns: [...(spec.dns ?? [])],
        dnsSearch: [...(spec.dnsSearch ?? [])],
        links: (spec.links ?? []).map((l) => ({ alias: l.alias, target: l.target })),
      };
      // A link to a container this one cannot reach would resolve nowhere: refused, as dockerd refuses a link to a missing container.
      const netIds = (spec.networks ?? []).flatMap((r) => this.findNetwork(r.network)?.id ?? []);
      for (const l of (spec.links ?? []).filter((x) => x.required)) {
        if (!this.registry.has(netIds, l.target)) {
          throw new EngineError("invalid", `cannot link ${rec.name} to "${l.target}" (as "${l.alias}"): no container of that name on its networks (${(spec.networks ?? []).map((r) => r.network).join(", ") || "none"})`);
        }
      }
      await this.attachLocked(rec, spec.networks ?? [], true);
      return this.info(rec);
    });
  }

  attach(containerId: string, requests: AttachRequest[]): Promise<SandboxInfo> {
    return this.withSandbox(containerId, async () => {
      this.checkOpen();
      const rec = this.sandboxOrThrow(containerId);
      await this.attachLocked(rec, requests, false);
      return this.info(rec);
    });
  }

  /** Allocates, creates and records endpoints; on failure nothing of this call remains (and with `create`, no netns). */
  private async attachLocked(rec: SandboxRecord, requests: readonly AttachRequest[], create: boolean): Promise<void> {
    const plans: { req: AttachRequest; net: NetworkRecord; plan: EndpointPlan }[] = [];
    const usedIf = new Set(rec.endpoints.map((e) => e.ifname));
    const hasDefault = rec.endpoints.some((e) => e.defaultRoute);
    const nets = requests.map((req) => {
      const net = this.findNetwork(req.network);
      if (!net) throw new EngineError("not-found", `network ${req.network} not found`);
      return net;
    });
    // The default route: the non-internal network of the highest gw_priority, the first of equals.
    let gw: number | undefined;
    if (!hasDefault) {
      for (const [i, net] of nets.entries()) {
        if (!net.internal && (gw === undefined || (requests[i]?.gwPriority ?? 0) > (requests[gw]?.gwPriority ?? 0))) gw = i;
      }
    }
    try {
      for (const [i, req] of requests.entries()) {
        const net = nets[i] as NetworkRecord;
        if (rec.endpoints.some((e) => e.networkId === net.id) || plans.some((p) => p.net.id === net.id)) {
          throw new EngineError("conflict", `container ${rec.name} is already attached to network ${net.name}`);
        }
        if (req.ipv6Address !== undefined && net.subnet6 === undefined) throw new EngineError("invalid", `ipv6_address ${req.ipv6Address}: network ${net.name} has no IPv6 (enable_ipv6)`);
        const ip = await this.ipam.allocateAddress(net.id, rec.containerId, req.ipv4Address);
        const ip6 =
          net.subnet6 !== undefined && net.gateway6 !== undefined
            ? { address: await this.ipam.allocateAddress6(net.id, rec.containerId, req.ipv6Address), prefixLength: parseCidr6(net.subnet6).prefix, gateway: net.gateway6 }
            : undefined;
        let n = 0;
        while (usedIf.has(`eth${n}`)) n++;
        usedIf.add(`eth${n}`);
        const defaultRoute = i === gw;
        const hostVeth = vethName(this.prefixes);
        if (hostVeth.length > IFNAME_MAX) throw new Error(`veth name ${hostVeth} too long`);
        plans.push({
          req,
          net,
          plan: {
            bridge: net.bridge,
            hostVeth,
            ifname: `eth${n}`,
            ip,
            prefixLength: parseCidr(net.subnet).prefix,
            gateway: net.gateway,
            mac: req.macAddress ?? macForIp(parseIp(ip)),
            defaultRoute,
            ip6,
            mtu: parseBridgeOptions(net.options ?? {}).mtu,
          },
        });
      }
      await setupEndpoints(rec.netns, { create, loopback: !rec.loopbackUp, endpoints: plans.map((p) => p.plan), mtu: this.opts.mtu });
    } catch (err) {
      for (const p of plans) await this.ipam.releaseOwner(rec.containerId, p.net.id).catch(() => undefined);
      throw err;
    }
    await pausePoint("sandbox:endpoints-created");
    rec.loopbackUp = true;
    for (const { req, net, plan } of plans) {
      const aliases = [...new Set(req.aliases ?? [])];
      rec.endpoints.push({
        networkId: net.id,
        networkName: net.name,
        ifname: plan.ifname,
        hostVeth: plan.hostVeth,
        ipAddress: plan.ip,
        prefixLength: plan.prefixLength,
        gateway: plan.gateway,
        ...(plan.ip6 ? { ipv6Address: plan.ip6.address, ipv6PrefixLength: plan.ip6.prefixLength, ipv6Gateway: plan.ip6.gateway } : {}),
        macAddress: plan.mac,
        aliases,
        // docker's default network resolves no container names (its containers use links or addresses).
        dnsNames: net.name === DEFAULT_BRIDGE_NETWORK ? [] : [...new Set([rec.name, rec.hostname, rec.containerId.slice(0, 12), ...aliases].map(normalizeName).filter((x) => x !== ""))],
        defaultRoute: plan.defaultRoute,
      });
    }
    try {
      await this.saveSandbox(rec);
    } catch (err) {
      // The record could not be written (a full disk): undo this call's
      // endpoints as if their setup had failed. A netns or veth left here
      // would belong to no record, and its address would keep the network
      // "in use" until a restart's repair.
      rec.endpoints.splice(rec.endpoints.length - plans.length);
      await teardown(create ? rec.netns : undefined, plans.map((p) => p.plan.hostVeth)).catch(() => undefined);
      for (const p of plans) await this.ipam.releaseOwner(rec.containerId, p.net.id).catch(() => undefined);
      throw err;
    }
    this.sandboxes.set(rec.containerId, rec);
    this.register(rec);
  }

  detach(containerId: string, network: string): Promise<SandboxInfo> {
    return this.withSandbox(containerId, async () => {
      this.checkOpen();
      const rec = this.sandboxOrThrow(containerId);
      const net = this.findNetwork(network);
      const ep = rec.endpoints.find((e) => e.networkId === net?.id || e.networkName === network || e.networkId === network);
      if (!ep) throw new EngineError("not-found", `container ${rec.name} is not attached to network ${network}`);
      const ports = rec.ports.filter((p) => p.networkId === ep.networkId);
      if (ports.length > 0) await this.removePortRules(rec.containerId, ports);
      rec.ports = rec.ports.filter((p) => p.networkId !== ep.networkId);
      this.registry.remove(ep.networkId, rec.containerId);
      await teardown(undefined, [ep.hostVeth]);
      rec.endpoints = rec.endpoints.filter((e) => e !== ep);
      if (ep.defaultRoute) {
        const next = rec.endpoints.find((e) => !this.networks.get(e.networkId)?.internal);
        if (next) {
          await setDefaultRoute(rec.netns, { ...next, ip6: next.ipv6Gateway !== undefined ? { gateway: next.ipv6Gateway } : undefined });
          next.defaultRoute = true;
        }
      }
      await this.saveSandbox(rec);
      await this.ipam.releaseOwner(rec.containerId, ep.networkId);
      return this.info(rec);
    });
  }

  removeSandbox(containerId: string): Promise<void> {
    return this.withSandbox(containerId, async () => {
      this.checkOpen();
      const rec = this.sandboxes.get(containerId);
      if (!rec) {
        if (ID_RE.test(containerId)) await teardown(netnsName(this.prefixes, containerId), []);
        return;
      }
      if (rec.ports.length > 0) await this.removePortRules(rec.containerId, rec.ports);
      for (const e of rec.endpoints) this.registry.remove(e.networkId, rec.containerId);
      await teardown(rec.netns, rec.endpoints.map((e) => e.hostVeth));
      await rm(this.sandboxFile(containerId), { force: true });
      this.sandboxes.delete(containerId);
      await this.ipam.releaseOwner(containerId);
    });
  }

  inspectSandbox(containerId: string): Promise<SandboxInfo | undefined> {
    const rec = this.sandboxes.get(containerId);
    return Promise.resolve(rec ? this.info(rec) : undefined);
  }

  // ---- ports ----

  publishPorts(containerId: string, ports: PortBinding[]): Promise<PublishedPort[]> {
    return this.withSandbox(containerId, () =>
      this.portsMutex.run(async () => {
        this.checkOpen();
        const rec = this.sandboxOrThrow(containerId);
        if (ports.length === 0) return [];
        const ep = rec.endpoints.find((e) => !this.networks.get(e.networkId)?.internal);
        if (!ep) throw new EngineError("invalid", `container ${rec.name} has no network that can publish ports (it is on none, or only on internal networks)`);
        const taken = [...this.sandboxes.values()].flatMap((s) => s.ports);
        // A port that names no host address goes on the network's host_binding_ipv4, as dockerd does.
        const binding = parseBridgeOptions(this.networks.get(ep.networkId)?.options ?? {}).hostBindingIpv4;
        const wanted = binding === undefined ? ports : ports.map((p) => (p.hostIp === undefined || p.hostIp === "" ? { ...p, hostIp: binding } : p));
        const chosen = await choosePorts(wanted, taken, { containerIp: ep.ipAddress, containerIp6: ep.ipv6Address, networkId: ep.networkId });
        const specs = chosen.map((p) => portSpec(rec.containerId, p));
        const done: Family[] = [];
        try {
          for (const family of familiesOf(specs)) {
            const rules = portRules(this.prefixes, specs, family);
            // Fast path: one exec. If our chains vanished (a firewall reload flushed them), put them back with the rules.
            await iptablesRestore(restoreText(rules), family).catch(() => applyWithBase(this.prefixes, rules, family));
            done.push(family);
          }
        } catch (err) {
          for (const family of done) await iptablesRestore(restoreText(toDeletes(portRules(this.prefixes, specs, family))), family).catch(() => undefined);
          throw err;
        }
        rec.ports.push(...chosen);
        await this.saveSandbox(rec);
        return chosen;
      }),
    );
  }

  unpublishPorts(containerId: string): Promise<void> {
    return this.withSandbox(containerId, async () => {
      this.checkOpen();
      const rec = this.sandboxes.get(containerId);
      if (!rec || rec.ports.length === 0) return;
      await this.removePortRules(containerId, rec.ports);
      rec.ports = [];
      await this.saveSandbox(rec);
    });
  }

  private async removePortRules(containerId: string, ports: readonly PublishedPort[]): Promise<void> {
    const specs = ports.map((p) => portSpec(containerId, p));
    for (const family of familiesOf(specs)) {
      try {
        await iptablesRestore(restoreText(toDeletes(portRules(this.prefixes, specs, family))), family);
      } catch {
        // Some rule was already gone (a flushed table): remove whatever is left by its comment.
        await deleteByComment(containerId, [family]);
      }
    }
  }

  // ---- repair ----

  repair(): Promise<RepairReport> {
    return this.netMutex.run(async () => {
      this.checkOpen();
      const report: RepairReport = { removed: [], restored: [] };
      if (this.networks.size > 0) await this.prepareHostOnce();

      // 1. Records whose kernel side is gone (a reboot, or someone deleted the netns) are dropped;
      //    endpoints on networks that no longer exist are cut off.
      for (const sb of [...this.sandboxes.values()]) {
        if (!netnsExists(sb.netns)) {
          for (const e of sb.endpoints) this.registry.remove(e.networkId, sb.containerId);
          await rm(this.sandboxFile(sb.containerId), { force: true });
          this.sandboxes.delete(sb.containerId);
          report.removed.push(`sandbox record ${sb.containerId.slice(0, 12)} (its netns is gone)`);
          continue;
        }
        const orphaned = sb.endpoints.filter((e) => !this.networks.has(e.networkId) || !linkExists(e.hostVeth));
        if (orphaned.length > 0) {
          await teardown(undefined, orphaned.map((e) => e.hostVeth));
          for (const e of orphaned) this.registry.remove(e.networkId, sb.containerId);
          sb.endpoints = sb.endpoints.filter((e) => !orphaned.includes(e));
          sb.ports = sb.ports.filter((p) => sb.endpoints.some((e) => e.networkId === p.networkId));
          await this.saveSandbox(sb);
          report.removed.push(...orphaned.map((e) => `endpoint ${e.hostVeth} of ${sb.containerId.slice(0, 12)} (network or veth gone)`));
        }
      }

      if (this.unreadable.length > 0) report.kept = [`everything no record owns: unreadable records ${this.unreadable.join(", ")}`];
      const sure = this.unreadable.length === 0;

      // 2. Kernel objects with our prefixes that no record owns.
      const bridges = new Set([...this.networks.values()].map((n) => n.bridge));
      const veths = new Set([...this.sandboxes.values()].flatMap((s) => s.endpoints.map((e) => e.hostVeth)));
      const namespaces = new Set([...this.sandboxes.values()].map((s) => s.netns));
      if (sure) report.removed.push(...(await removeUnowned(this.prefixes, { bridges, veths, namespaces })));

      // 3. Bridges of recorded networks: created again if missing; endpoints back on their bridge.
      for (const n of this.networks.values()) {
        if (!linkExists(n.bridge)) report.restored.push(`bridge ${n.bridge} (${n.name})`);
        await createBridge(bridgeSpecOf(n));
      }
      const reattach = [...this.sandboxes.values()].flatMap((s) =>
        s.endpoints.map((e) => `link set ${e.hostVeth} master ${this.networks.get(e.networkId)?.bridge ?? ""} up`),
      );
      await ipBatch(reattach, { allowFailure: true });

      // 4. DNS servers for every network, on their recorded ports where still free. Before the
      //    rules: a server that had to take another port changes its network's DNAT rule.
      const moved: NetworkRecord[] = [];
      for (const n of this.networks.values()) {
        if (this.dns.has(n.id)) continue;
        const before = n.dnsPort;
        await this.startDns(n);
        report.restored.push(`DNS server on ${n.gateway}:${n.dnsPort ?? "?"} (${n.name})`);
        if (n.dnsPort !== before) {
          await writeFileAtomic(this.networkFile(n.id), JSON.stringify(n));
          moved.push(n);
        }
      }

      // 5. iptables: our chains rebuilt from the records in one transaction (atomic on nf_tables,
      //    so a published port never stops working while this runs).
      const saved = await iptablesSave();
      if (!sure) {
        // Left as they are: the rebuild would drop the rules of an unreadable record's owner
        // (addNetworkRules checks for the base chains itself while baseReady is false). Only a
        // moved DNS server gets its redirect, inserted ahead of the stale one.
        for (const n of moved) await addNetworkRules(this.prefixes, ruleSpecOf(n), { baseKnownPresent: this.baseReady }).catch(() => undefined);
      } else if (this.networks.size === 0) {
        const lines = removeBaseLines(this.prefixes, saved);
        if (lines.filter.length + lines.nat.length > 0) report.removed.push("iptables chains (no networks left)");
        await iptablesRestore(restoreText(lines));
        this.baseReady = false;
      } else {
        const rebuilt = rebuildText(
          this.prefixes,
          saved,
          [...this.networks.values()].map(ruleSpecOf),
          [...this.sandboxes.values()].flatMap((sb) => sb.ports.map((p) => portSpec(sb.containerId, p))),
        );
        report.removed.push(...rebuilt.unknownOwners.map((o) => `iptables rules of ${o.slice(0, 12)}`));
        await iptablesRestore(rebuilt.text);
        this.baseReady = true;
      }
      // The same for ip6tables, where only networks with IPv6 have rules.
      const nets6 = [...this.networks.values()].filter((n) => n.subnet6 !== undefined);
      if (sure && nets6.length === 0) {
        // Leftovers of a crash after the last IPv6 network went; a host without ip6tables has none.
        const lines = await iptablesSave(6).then((saved6) => removeBaseLines(this.prefixes, saved6)).catch(() => undefined);
        if (lines && lines.filter.length + lines.nat.length + lines.raw.length > 0) {
          report.removed.push("ip6tables chains (no IPv6 networks left)");
          await iptablesRestore(restoreText(lines), 6);
        }
        this.baseReady6 = false;
      } else if (sure) {
        const saved6 = await iptablesSave(6);
        {
          await prepareHostIpv6();
          const rebuilt = rebuildText(
            this.prefixes,
            saved6,
            nets6.map(ruleSpecOf),
            [...this.sandboxes.values()].flatMap((sb) => sb.ports.map((p) => portSpec(sb.containerId, p))),
            6,
          );
          report.removed.push(...rebuilt.unknownOwners.map((o) => `ip6tables rules of ${o.slice(0, 12)}`));
          await iptablesRestore(rebuilt.text, 6);
          this.baseReady6 = true;
        }
      }

      // 6. IPAM from the records: subnets of networks, addresses of endpoints.
      const want = new Map<string, { subnet: string; gateway: string; ipRange?: string | undefined; reserved?: string[]; addresses: Map<string, string>; v6?: Want6 | undefined }>();
      for (const n of this.networks.values()) {
        const v6 = n.subnet6 !== undefined && n.gateway6 !== undefined ? { subnet: n.subnet6, gateway: n.gateway6, addresses: new Map<string, string>() } : undefined;
        want.set(n.id, { subnet: n.subnet, gateway: n.gateway, ipRange: n.ipRange, reserved: Object.values(n.auxAddresses ?? {}), addresses: new Map(), v6 });
      }
      for (const s of this.sandboxes.values()) {
        for (const e of s.endpoints) {
          want.get(e.networkId)?.addresses.set(e.ipAddress, s.containerId);
          if (e.ipv6Address !== undefined) want.get(e.networkId)?.v6?.addresses.set(e.ipv6Address, s.containerId);
        }
      }
      // With an unreadable record, its addresses may be in use: reconcile would free them for reuse.
      const dropped = sure ? await this.ipam.reconcile(want) : [];
      report.removed.push(...dropped.map((d) => `IPAM ${d}`));
      if (this.ipamCorrupt) {
        report.restored.push("IPAM table (rebuilt from the records)");
        this.ipamCorrupt = false;
      }
      return report;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.netMutex.run(async () => {
      for (const id of [...this.dns.keys()]) await this.stopDns(id);
    });
    await this.lock.release();
  }

  // ---- helpers ----

  /** Listens on the gateway: on the recorded port if it is still free, else on one the kernel picks; sets n.dnsPort. */
  private async startDns(n: NetworkRecord): Promise<void> {
    const answers = networkDnsView(n.id, { registry: this.registry, networks: this.networks, search: this.search, containerDns: (id) => this.containerDns(id) });
    const listen = async (port: number): Promise<DnsServer> => {
      const server = new DnsServer({ host: n.gateway, port, answers, forward: this.forward });
      await server.listen();
      return server;
    };
    let server: DnsServer;
    try {
      // A recorded port someone took while the daemon was down: another one, and the caller renews the rule.
      server = n.dnsPort !== undefined ? await listen(n.dnsPort).catch(() => listen(0)) : await listen(0);
    } catch (err) {
      throw new EngineError("unavailable", `cannot start the DNS server of network ${n.name} on ${n.gateway}: ${(err as Error).message}`, { cause: err });
    }
    n.dnsPort = server.port;
    this.dns.set(n.id, server);
  }

  private async stopDns(id: string): Promise<void> {
    const s = this.dns.get(id);
    this.dns.delete(id);
    await s?.close();
  }

  private containerDns(containerId: string): ContainerDns | undefined {
    const rec = this.sandboxes.get(containerId);
    if (!rec) return undefined;
    // dockerd too asks a container's `dns` servers on port 53 only (compose gives addresses, no ports).
    return { servers: (rec.dns ?? []).map((host) => ({ host, port: 53 })), links: rec.links ?? [], search: rec.dnsSearch ?? [] };
  }

  private register(rec: SandboxRecord): void {
    for (const e of rec.endpoints) {
      this.registry.add({ containerId: rec.containerId, networkId: e.networkId, ip: e.ipAddress, ip6: e.ipv6Address, names: e.dnsNames });
    }
  }

  private info(rec: SandboxRecord): SandboxInfo {
    const first = rec.endpoints[0];
    const ns = first?.gateway;
    return {
      containerId: rec.containerId,
      name: rec.name,
      hostname: rec.hostname,
      netns: rec.netns,
      netnsPath: netnsPath(rec.netns),
      endpoints: rec.endpoints.map((e) => ({ ...e, aliases: [...e.aliases], dnsNames: [...e.dnsNames] })),
      ports: rec.ports.map((p) => ({ ...p })),
      // Without a network the container has only loopback: no resolver to name.
      resolvConf: ns !== undefined ? containerResolvConf(ns, this.search) : "",
      hosts: containerHosts(first ? [{ ip: first.ipAddress, names: [rec.hostname, rec.name] }] : []),
    };
  }

  private findNetwork(nameOrId: string): NetworkRecord | undefined {
    const all = [...this.networks.values()];
    const byName = all.find((n) => n.name === nameOrId);
    if (byName) return byName;
    const byId = this.networks.get(nameOrId);
    if (byId) return byId;
    const prefixed = nameOrId.length >= 4 ? all.filter((n) => n.id.startsWith(nameOrId)) : [];
    return prefixed.length === 1 ? prefixed[0] : undefined;
  }

  private sandboxOrThrow(containerId: string): SandboxRecord {
    const rec = this.sandboxes.get(containerId);
    if (!rec) throw new EngineError("not-found", `container ${containerId.slice(0, 12)} has no network sandbox`);
    return rec;
  }

  private withSandbox<T>(containerId: string, fn: () => Promise<T>): Promise<T> {
    return this.sandboxMutexes.run(containerId, fn);
  }

  private async prepareHostOnce(): Promise<void> {
    if (this.hostPrepared) return;
    await prepareHost();
    this.hostPrepared = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new EngineError("unavailable", "the network manager is closed");
  }

  private saveSandbox(rec: SandboxRecord): Promise<void> {
    return writeFileAtomic(this.sandboxFile(rec.containerId), JSON.stringify(rec));
  }

  private dir(sub: string): string {
    return join(this.opts.stateDir, sub);
  }

  private networkFile(id: string): string {
    return join(this.opts.stateDir, "networks", `${id}.json`);
  }

  private sandboxFile(id: string): string {
    return join(this.opts.stateDir, "sandboxes", `${id}.json`);
  }
}

function toInfo(rec: NetworkRecord): NetworkInfo {
  return {
    id: rec.id,
    name: rec.name,
    driver: rec.driver,
    labels: { ...rec.labels },
    subnet: rec.subnet,
    gateway: rec.gateway,
    internal: rec.internal,
    bridge: rec.bridge,
    ...(rec.subnet6 !== undefined ? { subnet6: rec.subnet6, gateway6: rec.gateway6 } : {}),
  };
}

function portSpec(ownerId: string, p: PublishedPort): PortRuleSpec {
  return { ownerId, protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort, containerIp: p.containerIp, containerIp6: p.containerIp6, containerPort: p.containerPort };
}

/** The rule families some of these ports need (ip6tables only for ports with an IPv6 side). */
function familiesOf(ports: readonly PortRuleSpec[]): Family[] {
  return ([4, 6] as const).filter((f) => ports.some((p) => portInFamily(p, f)));
}
