// IPv6 on the embedded engine's networks: the address arithmetic, the
// ip6tables rules as text, and a dual-stack network on the real kernel
// (addresses, AAAA answers, reachability, a published port, isolation,
// masquerade, teardown including ip6tables). Traffic goes only to namespaces
// this file creates and to addresses of their bridges.
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../sys/exec.js";
import type { NetworkInfo } from "../types.js";
import { BRIDGE_OPTION } from "./bridge-options.js";
import { canonicalIp6, formatIp6, parseCidr6, parseIp6 } from "./ipv6.js";
import { openNetworkManager, type LinuxNetworkManager } from "./manager.js";
import { networkRules, portRules } from "./rules.js";
import { canUseNamespaces, fakeUpstream, httpGet, inNs, leftovers, nslookupAddresses, spawnInNs, stopChild, testPool, testPrefixes } from "./testing.js";
import type { SandboxInfo } from "./types.js";
import { eventually } from "../../test/support/wait.js";

describe("ipv6 arithmetic", () => {
  it("parses and prints addresses in the canonical form", () => {
    expect(canonicalIp6("fd00:0:0:0:0:0:0:1")).toBe("fd00::1");
    expect(canonicalIp6("FD00:1::0:2")).toBe("fd00:1::2");
    expect(canonicalIp6("::")).toBe("::");
    expect(canonicalIp6("1:0:0:2:0:0:0:3")).toBe("1:0:0:2::3");
    expect(canonicalIp6("::ffff:10.0.0.1")).toBe("::ffff:a00:1");
    expect(formatIp6(parseIp6("2001:db8::8:800:200c:417a"))).toBe("2001:db8::8:800:200c:417a");
    expect(() => parseIp6("10.0.0.1")).toThrow(/invalid IPv6 address/);
    expect(() => parseIp6("fd00::1::2")).toThrow(/invalid IPv6 address/);
  });

  it("checks subnets as docker does", () => {
    expect(parseCidr6("fd00:1::/64").prefix).toBe(64);
    expect(() => parseCidr6("fd00:1::5/64")).toThrow(/host bits are set \(did you mean fd00:1::\/64\?\)/);
    expect(() => parseCidr6("fd00:1::/129")).toThrow(/invalid IPv6 subnet/);
  });

  it("builds ip6tables rules without the IPv4 loopback masquerade, DNAT to the container's IPv6 address", () => {
    const p = { bridge: "tsc-", veth: "tv", netns: "tsc-", chain: "TSC" };
    const net = { id: "n1", bridge: "tsc-1", subnet: "10.1.0.0/24", subnet6: "fd00:1::/64", internal: false };
    const v6 = networkRules(p, net, 6);
    expect(v6.nat).toContain('-A TSC-POSTROUTING -s fd00:1::/64 ! -o tsc-1 -m comment --comment "tscompose:n1" -j MASQUERADE');
    expect(v6.nat.join("\n")).not.toContain("127.0.0.0/8");
    expect(networkRules(p, { ...net, subnet6: undefined }, 6).filter).toEqual([]);
    const ports = [
      { ownerId: "c", protocol: "tcp" as const, hostIp: "0.0.0.0", hostPort: 8080, containerIp: "10.1.0.2", containerIp6: "fd00:1::2", containerPort: 80 },
      { ownerId: "c", protocol: "tcp" as const, hostIp: "fd00:1::1", hostPort: 8081, containerIp: "10.1.0.2", containerIp6: "fd00:1::2", containerPort: 80 },
      { ownerId: "d", protocol: "tcp" as const, hostIp: "0.0.0.0", hostPort: 8082, containerIp: "10.1.0.3", containerPort: 80 },
    ];
    expect(portRules(p, ports, 6).nat).toEqual([
      '-A TSC-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "tscompose:c" -j DNAT --to-destination [fd00:1::2]:80',
      '-A TSC-DNAT -d fd00:1::1/128 -p tcp -m tcp --dport 8081 -m comment --comment "tscompose:c" -j DNAT --to-destination [fd00:1::2]:80',
    ]);
    // The IPv6 host address has no IPv4 rule; an IPv4-only container no IPv6 one.
    expect(portRules(p, ports, 4).nat.map((l) => /--dport (\d+)/.exec(l)?.[1])).toEqual(["8080", "8082"]);
  });
});

const { tag, prefixes } = testPrefixes();
const OUTSIDE_NS = `to${tag}6`;
const OUTSIDE_LINK = `to${tag}k`;
const V6 = (n: number): string => `fd00:${tag}:${n}::`;

describe.skipIf(!canUseNamespaces)("a dual-stack network on the real kernel", () => {
  let stateDir: string;
  let wwwDir: string;
  let m: LinuxNetworkManager;
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  const children: ChildProcess[] = [];
  const gateways: string[] = [];
  let dual: NetworkInfo;
  let other: NetworkInfo;
  let a: SandboxInfo;
  let b: SandboxInfo;
  let c: SandboxInfo;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "tsc-net6-"));
    wwwDir = await mkdtemp(join(tmpdir(), "tsc-www6-"));
    await writeFile(join(wwwDir, "index.html"), "hello over v6\n");
    upstream = await fakeUpstream({});
    // "The outside": a namespace on its own link with no route back to the containers' subnets, so only a masqueraded packet gets an answer.
    await run("ip", ["netns", "add", OUTSIDE_NS]);
    await run("ip", ["link", "add", OUTSIDE_LINK, "type", "veth", "peer", "name", "eth0", "netns", OUTSIDE_NS]);
    await run("ip", ["addr", "add", `${V6(255)}1/64`, "dev", OUTSIDE_LINK, "nodad"]);
    await run("ip", ["link", "set", OUTSIDE_LINK, "up"]);
    await run("ip", ["-n", OUTSIDE_NS, "-batch", "-"], { input: `link set lo up\naddr add ${V6(255)}2/64 dev eth0 nodad\nlink set eth0 up\n` });
    m = await openNetworkManager({ stateDir, prefixes, pools: [await testPool()], upstreamDns: [upstream.upstream], dnsSearch: [] });
    await m.repair();
  });

  afterAll(async () => {
    for (const ch of children) await stopChild(ch);
    if (m) {
      for (const sb of [a, b, c]) if (sb) await m.removeSandbox(sb.containerId);
      for (const n of await m.listNetworks()) await m.removeNetwork(n.id);
      await m.close();
    }
    await run("ip", ["netns", "del", OUTSIDE_NS], { allowFailure: true });
    await run("ip", ["link", "del", OUTSIDE_LINK], { allowFailure: true });
    await upstream?.close();
    await rm(stateDir, { recursive: true, force: true });
    await rm(wwwDir, { recursive: true, force: true });
    expect(await leftovers(prefixes, gateways)).toEqual([]);
  });

  it("refuses enable_ipv6 without an IPv6 subnet, and an IPv6 subnet without enable_ipv6", async () => {
    const base = { labels: {}, driver: "bridge", internal: false, subnet: undefined, gateway: undefined };
    await expect(m.createNetwork({ ...base, name: `no6-${tag}`, enableIpv6: true })).rejects.toThrow(/enable_ipv6 needs an IPv6 subnet/);
    await expect(m.createNetwork({ ...base, name: `no6-${tag}`, subnet6: `${V6(1)}/64` })).rejects.toThrow(/needs enable_ipv6: true/);
    expect(await m.listNetworks()).toEqual([]);
  });

  it("gives the bridge its IPv6 gateway and containers addresses from the subnet (or the one asked for)", async () => {
    const base = { labels: {}, driver: "bridge", internal: false, subnet: undefined, gateway: undefined, enableIpv6: true };
    dual = await m.createNetwork({ ...base, name: `dual-${tag}`, subnet6: `${V6(1)}/64` });
    other = await m.createNetwork({ ...base, name: `other-${tag}`, subnet6: `${V6(2)}/64` });
    gateways.push(dual.gateway, other.gateway);
    expect([dual.subnet6, dual.gateway6]).toEqual([`${V6(1)}/64`, `${V6(1)}1`]);
    await expect(m.createNetwork({ ...base, name: `clash-${tag}`, subnet6: `${V6(1)}/80` })).rejects.toThrow(/overlaps subnet/);
    expect((await run("ip", ["-6", "addr", "show", "dev", dual.bridge!])).stdout).toContain(`${V6(1)}1/64`);

    a = await m.createSandbox({ containerId: `a6${tag}` + "0".repeat(58), name: "p-a-1", networks: [{ network: dual.name, aliases: ["alpha"] }] });
    b = await m.createSandbox({ containerId: `b6${tag}` + "0".repeat(58), name: "p-b-1", networks: [{ network: dual.name, aliases: ["beta"], ipv6Address: `${V6(1)}beef` }] });
    c = await m.createSandbox({ containerId: `c6${tag}` + "0".repeat(58), name: "p-c-1", networks: [{ network: other.name, aliases: ["gamma"] }] });
    expect(a.endpoints[0]?.ipv6Address).toBe(`${V6(1)}2`);
    expect(b.endpoints[0]?.ipv6Address).toBe(`${V6(1)}beef`);
    const inside = await inNs(a.netns, ["ip", "-6", "addr", "show", "dev", "eth0"]);
    expect(inside.stdout).toContain(`${V6(1)}2/64`);
    expect((await inNs(a.netns, ["ip", "-6", "route"])).stdout).toContain(`default via ${V6(1)}1 dev eth0`);
    await expect(m.createSandbox({ containerId: `d6${tag}` + "0".repeat(58), name: "p-d-1", networks: [{ network: dual.name, ipv6Address: `${V6(1)}beef` }] })).rejects.toThrow(/already in use/);
  });

  it("answers AAAA for names on the network, and the containers reach each other over IPv6", async () => {
    const aaaa = await inNs(a.netns, ["nslookup", "-type=AAAA", "beta", dual.gateway], 8000);
    expect(nslookupAddresses(aaaa.stdout)).toEqual([`${V6(1)}beef`]);
    const plain = await inNs(a.netns, ["nslookup", "-type=A", "beta", dual.gateway], 8000);
    expect(nslookupAddresses(plain.stdout)).toEqual([b.endpoints[0]!.ipAddress]);
    children.push(spawnInNs(b.netns, "busybox", ["httpd", "-f", "-p", "[::]:8080", "-h", wwwDir]));
    const get = async (ns: string, host: string): Promise<string> => (await inNs(ns, ["wget", "-q", "-O", "-", `http://[${host}]:8080/index.html`], 4000)).stdout;
    expect(await eventually(() => get(a.netns, `${V6(1)}beef`), (body) => body !== "", 30_000, "httpd over IPv6")).toBe("hello over v6\n");
    // Isolation: another network's container gets nothing from the same server (its positive control is the line above).
    expect(await get(c.netns, `${V6(1)}beef`)).toBe("");
    const ping = async (ns: string, ip: string): Promise<number> => (await inNs(ns, ["ping", "-c", "1", "-W", "1", ip], 4000)).code;
    expect(await ping(a.netns, `${V6(1)}beef`)).toBe(0);
    expect(await ping(c.netns, `${V6(1)}beef`)).not.toBe(0);
    expect(await ping(c.netns, c.endpoints[0]!.ipv6Gateway!)).toBe(0);
  });

  it("masquerades outbound IPv6 traffic (and not with enable_ip_masquerade=false)", async () => {
    expect(await eventually(async () => (await inNs(a.netns, ["ping", "-c", "1", "-W", "1", `${V6(255)}2`], 4000)).code, (code) => code === 0, 15_000, "ping to the outside")).toBe(0);
    // The outside has no route back to the subnets: without masquerade its answer goes nowhere.
    const bare = await m.createNetwork({
      name: `bare-${tag}`,
      labels: {},
      driver: "bridge",
      internal: false,
      subnet: undefined,
      gateway: undefined,
      enableIpv6: true,
      subnet6: `${V6(3)}/64`,
      options: { [BRIDGE_OPTION.masquerade]: "false" },
    });
    gateways.push(bare.gateway);
    const d = await m.createSandbox({ containerId: `d6${tag}` + "1".repeat(58), name: "p-d-1", networks: [{ network: bare.name }] });
    try {
      expect((await inNs(d.netns, ["ping", "-c", "1", "-W", "1", bare.gateway6!], 4000)).code).toBe(0);
      expect((await inNs(d.netns, ["ping", "-c", "2", "-W", "1", `${V6(255)}2`], 5000)).code).not.toBe(0);
    } finally {
      await m.removeSandbox(d.containerId);
      await m.removeNetwork(bare.id);
    }
  });

  it("publishes a port on every address over IPv6 too, and on an IPv6 host address; never on ::1", async () => {
    const ports = await m.publishPorts(b.containerId, [
      { containerPort: 8080, protocol: "tcp", hostPort: undefined, hostIp: undefined },
      { containerPort: 8080, protocol: "tcp", hostPort: undefined, hostIp: dual.gateway6 },
    ]);
    expect(ports.map((p) => [p.hostIp, p.containerIp6])).toEqual([
      ["0.0.0.0", `${V6(1)}beef`],
      [`${V6(1)}1`, `${V6(1)}beef`],
    ]);
    // The host's own IPv6 address (the gateway's) on the published ports; IPv4 still works.
    expect((await httpGet(dual.gateway6!, ports[0]!.hostPort, "/index.html")).body).toBe("hello over v6\n");
    expect((await httpGet(dual.gateway6!, ports[1]!.hostPort, "/index.html")).body).toBe("hello over v6\n");
    expect((await httpGet("127.0.0.1", ports[0]!.hostPort, "/index.html")).body).toBe("hello over v6\n");
    await expect(m.publishPorts(b.containerId, [{ containerPort: 80, protocol: "tcp", hostPort: undefined, hostIp: "::1" }])).rejects.toThrow(/IPv6 loopback/);
    const saved = (await run("ip6tables-save", ["-t", "nat"])).stdout;
    expect(saved).toContain(`--to-destination [${V6(1)}beef]:8080`);
    await m.unpublishPorts(b.containerId);
    expect((await run("ip6tables-save", ["-t", "nat"])).stdout).not.toContain(`[${V6(1)}beef]:8080`);
  });

  it("rebuilds the ip6tables rules on repair after they were flushed", async () => {
    await run("ip6tables", ["-t", "nat", "-F", `${prefixes.chain}-POSTROUTING`]);
    await m.repair();
    expect((await run("ip6tables-save", ["-t", "nat"])).stdout).toContain(`-s ${V6(1)}/64`);
  });
});
