// Network boundaries of the embedded engine, attacked from real containers
// (runc, busybox) and from a "LAN peer": a network namespace made here,
// linked to the host by a veth, that routes the containers' subnets through
// this host as a machine on the same LAN could. Each negative check has a
// positive control of the same command shape, so a check that cannot fail
// (a missing tool, a wrong address) shows up as a failed control. Traffic goes
// only to loopback, to the engine's namespaces and to the LAN peer's.
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import * as dnsPacket from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeUpstream, httpGet, inNs, listenersOn, nslookupAddresses } from "../../engine/network/testing.js";
import { run as sys } from "../../engine/sys/exec.js";
import type { ContainerInfo, ContainerSpec, NetworkInfo } from "../../engine/types.js";
import { pushTestImage } from "../fixtures/push.js";
import { startRegistry, type TestRegistry } from "../fixtures/registry.js";
import { engineWorld, execText, type EngineWorld } from "../support/engine.js";
import { isRoot, missing } from "../support/requires.js";
import { eventually } from "../support/wait.js";
import { poolOctet } from "../support/pools.js";

// Skipped without root, a failure under TSCOMPOSE_TEST_REQUIRE_ALL=1 (test/support/requires.ts).
const root = !missing("root", isRoot);

const POOL_OCTET = poolOctet("security-network");
/** The LAN between the host and the peer: a /24 of the pool's /16 that IPAM skips (it avoids host routes). */
const LAN_HOST_IP = `10.${POOL_OCTET}.255.1`;
const LAN_PEER_IP = `10.${POOL_OCTET}.255.2`;
const lanTag = randomBytes(2).toString("hex");
// Not the engine's prefixes: repair() must not take them for its own leftovers.
const LAN_NS = `lan${lanTag}`;
const LAN_LINK = `lan${lanTag}h`;

const SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];
/** busybox httpd serving the container's hostname as /index.html. */
const HTTPD = ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"];

let registry: TestRegistry;
let w: EngineWorld;
let upstream: Awaited<ReturnType<typeof fakeUpstream>>;

async function up(name: string, networks: string[], over: Partial<ContainerSpec> = {}): Promise<ContainerInfo> {
  const spec = w.spec({
    name,
    hostname: name,
    cmd: SLEEPER,
    networkMode: "bridge",
    networks: Object.fromEntries(networks.map((net) => [net, { aliases: [], ipv4Address: undefined }])),
    ...over,
  });
  const c = await w.engine.createContainer(spec);
  await w.engine.startContainer(c.id);
  return (await w.engine.inspectContainer(c.id))!;
}

/** A bounded wget in a container (busybox's wget -T crashes here: `timeout` bounds it instead). */
async function wget(client: string, url: string): Promise<{ exitCode: number; body: string }> {
  const r = await execText(w.engine, client, ["timeout", "3", "wget", "-q", "-O", "-", url]);
  return { exitCode: r.exitCode, body: r.stdout.trim() };
}

/** The same wget from the LAN peer's namespace. */
async function wgetFromLan(url: string): Promise<{ exitCode: number; body: string }> {
  const r = await inNs(LAN_NS, ["timeout", "3", "busybox", "wget", "-q", "-O", "-", url], 6000);
  return { exitCode: r.code, body: r.stdout.trim() };
}

/** A TCP service on the host's 127.0.0.1 that records who connected and answers a secret. */
async function loopbackService(): Promise<{ port: number; peers: string[]; close(): Promise<void> }> {
  const peers: string[] = [];
  const srv: Server = createServer((s) => {
    peers.push(s.remoteAddress ?? "?");
    s.end("loopback-secret\n");
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return { port: (srv.address() as { port: number }).port, peers, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

/**
 * One UDP query for an A record to server:port, from the host or from inside a network namespace
 * (a path: /proc/<pid>/ns/net, /var/run/netns/<name>); busybox nslookup cannot name a port. The
 * answer's rcode, "no answer" when nothing answered within 3 s (or the port was unreachable).
 */
async function dnsQuery(server: string, port: number, name: string, netns?: string): Promise<string> {
  const q = dnsPacket.encode({ type: "query", id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name, class: "IN" }] });
  const client = [
    "const s = require('dgram').createSocket('udp4');",
    "setTimeout(() => process.exit(2), 3000);",
    "s.on('message', (m) => { process.stdout.write(String(m[3] & 15)); process.exit(0); });",
    "s.on('error', () => process.exit(2));",
    `s.send(Buffer.from(${JSON.stringify(q.toString("base64"))}, "base64"), ${port}, ${JSON.stringify(server)});`,
  ].join("\n");
  const node = [process.execPath, "-e", client];
  const r = await sys(netns ? "nsenter" : node[0]!, netns ? [`--net=${netns}`, ...node] : node.slice(1), { allowFailure: true });
  const names = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
  return r.code === 0 ? (names[Number(r.stdout)] ?? r.stdout) : "no answer";
}

const ipOf = (c: ContainerInfo, net: string) => c.networks[net]?.ipAddress ?? "?";
const chain = () => `${w.prefix.toUpperCase()}-PREROUTING`;
const loopbackGuard = () => ["-t", "raw", "-D", chain(), "-d", "127.0.0.0/8", "-i", `${w.prefix}b-+`, "-j", "DROP"];

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry, "busybox");
  w = await engineWorld({ mirror: registry.url, poolOctet: POOL_OCTET });
  // Forwarded names go to a fake resolver on loopback (engineWorld's default is a dead port).
  upstream = await fakeUpstream({ "outside.example": "198.51.100.7" });
  const cfg = JSON.parse(await readFile(w.configFile, "utf8")) as Record<string, unknown>;
  await writeFile(w.configFile, JSON.stringify({ ...cfg, dns: [`${upstream.upstream.host}:${upstream.upstream.port}`] }));
  await w.reopen();
  await w.engine.pullImage("busybox");

  // The LAN peer: its own namespace on its own link, routing 10.<octet>.0.0/16 through the host.
  await sys("ip", ["netns", "add", LAN_NS]);
  await sys("ip", ["link", "add", LAN_LINK, "type", "veth", "peer", "name", "eth0", "netns", LAN_NS]);
  await sys("ip", ["addr", "add", `${LAN_HOST_IP}/24`, "dev", LAN_LINK]);
  await sys("ip", ["link", "set", LAN_LINK, "up"]);
  await sys("ip", ["-n", LAN_NS, "-batch", "-"], {
    input: `link set lo up\naddr add ${LAN_PEER_IP}/24 dev eth0\nlink set eth0 up\nroute add 10.${POOL_OCTET}.0.0/16 via ${LAN_HOST_IP}\n`,
  });
}, 180_000);

afterAll(async () => {
  await sys("ip", ["netns", "del", LAN_NS], { allowFailure: true });
  await sys("ip", ["link", "del", LAN_LINK], { allowFailure: true });
  if (w) {
    expect(await w.cleanupAndFindLeaks()).toEqual([]);
  }
  await upstream?.close();
  await registry?.stop();
  const links = (await sys("ip", ["-br", "link"])).stdout;
  expect(links).not.toContain(LAN_LINK);
}, 120_000);

describe.skipIf(!root)("network boundaries", () => {
  let app: NetworkInfo;
  const n = (s: string) => `${w.prefix}-${s}`;

  beforeAll(async () => {
    app = await w.engine.createNetwork(w.networkSpec(n("app"), { labels: { "com.docker.compose.project": "one" } }));
  });

  it("a container cannot reach the host's 127.0.0.1 services, even with CAP_NET_ADMIN and a route to 127.0.0.0/8", async () => {
    const svc = await loopbackService();
    try {
      // The attacker points 127.0.0.0/8 at the gateway and accepts replies from 127.x on eth0
      // (the CVE-2020-8558 set-up: the host has route_localnet on the bridge).
      const attacker = await up(n("attacker"), [app.name], { capAdd: ["NET_ADMIN"], sysctls: { "net.ipv4.conf.all.route_localnet": "1" } });
      const route = await execText(w.engine, attacker.id, ["sh", "-c", `ip addr flush dev lo && ip route add 127.0.0.0/8 via ${app.gateway} dev eth0 && ip route get 127.0.0.1`]);
      expect(route.stdout).toContain(`via ${app.gateway}`);
      const knock = () => execText(w.engine, attacker.id, ["sh", "-c", `timeout 3 nc 127.0.0.1 ${svc.port} </dev/null`]);

      expect((await knock()).stdout).not.toContain("loopback-secret");
      expect(svc.peers).toEqual([]);

      // Positive control: the same knock with the guard rule taken away gets through, so the
      // check above can fail (the kernel here does deliver such packets).
      await sys("iptables", loopbackGuard());
      try {
        expect((await knock()).stdout).toContain("loopback-secret");
        expect(svc.peers).toEqual([ipOf(attacker, app.name)]);
      } finally {
        await sys("iptables", loopbackGuard().map((a) => (a === "-D" ? "-A" : a)));
      }
      expect((await knock()).stdout).not.toContain("loopback-secret");
      expect(svc.peers).toHaveLength(1);
      await w.engine.removeContainer(attacker.id, { force: true });
    } finally {
      await svc.close();
    }
  });

  it("a port published on 127.0.0.1 works from the host and stays out of a container's reach through 127.0.0.1", async () => {
    const pub = await up(n("local"), [app.name], { cmd: HTTPD, ports: [{ containerPort: 80, protocol: "tcp", hostPort: undefined, hostIp: "127.0.0.1" }] });
    const port = Number(pub.ports[0]!.hostPort);
    expect(await eventually(() => httpGet("127.0.0.1", port).then((r) => r.body.trim(), () => ""), (b) => b === pub.name, 10_000)).toBe(pub.name);
    const attacker = await up(n("attacker2"), [app.name], { capAdd: ["NET_ADMIN"], sysctls: { "net.ipv4.conf.all.route_localnet": "1" } });
    // Control: the service answers the attacker on the container's own address.
    expect((await wget(attacker.id, `http://${ipOf(pub, app.name)}/`)).body).toBe(pub.name);
    await execText(w.engine, attacker.id, ["sh", "-c", `ip addr flush dev lo && ip route add 127.0.0.0/8 via ${app.gateway} dev eth0`]);
    expect((await wget(attacker.id, `http://127.0.0.1:${port}/`)).body).toBe("");
    // Still fine from the host afterwards.
    expect((await httpGet("127.0.0.1", port)).body.trim()).toBe(pub.name);
    for (const c of [pub, attacker]) await w.engine.removeContainer(c.id, { force: true });
  });

  it("a LAN peer routing the subnet through this host reaches published ports, never unpublished ones", async () => {
    const hidden = await up(n("hidden"), [app.name], { cmd: HTTPD });
    const shown = await up(n("shown"), [app.name], { cmd: HTTPD, ports: [{ containerPort: 80, protocol: "tcp", hostPort: undefined, hostIp: undefined }] });
    const neighbour = await up(n("neighbour"), [app.name]);
    const hiddenUrl = `http://${ipOf(hidden, app.name)}/`;
    // As on a host whose firewall forwards LAN traffic (FORWARD policy ACCEPT, the default
    // without Docker), whatever the policy is right now: appended, so it comes after our chain.
    const lanForward = ["FORWARD", "-i", LAN_LINK, "-j", "ACCEPT"];
    await sys("iptables", ["-A", ...lanForward]);
    try {
      // Controls: the service answers on its own network; the LAN peer's route to the subnet works.
      expect((await eventually(() => wget(neighbour.id, hiddenUrl), (r) => r.exitCode === 0, 10_000)).body).toBe(hidden.name);
      expect((await inNs(LAN_NS, ["ping", "-c", "1", "-W", "2", app.gateway], 5000)).code).toBe(0);
      // A published port, through the host's LAN address: reachable.
      expect((await wgetFromLan(`http://${LAN_HOST_IP}:${shown.ports[0]!.hostPort}/`)).body).toBe(shown.name);
      // Container addresses, routed: nothing, neither an unpublished service nor the published one's own port.
      expect(await wgetFromLan(hiddenUrl)).toMatchObject({ body: "" });
      expect((await wgetFromLan(`http://${ipOf(shown, app.name)}/`)).body).toBe("");
      expect((await inNs(LAN_NS, ["ping", "-c", "1", "-W", "1", ipOf(hidden, app.name)], 4000)).code).not.toBe(0);

      // Positive control: without the network's drop rule the same wget gets through.
      const drop = ["-o", app.bridge!, "-m", "comment", "--comment", `tscompose:${app.id}`, "-j", "DROP"];
      await sys("iptables", ["-D", `${w.prefix.toUpperCase()}-FORWARD`, ...drop]);
      try {
        expect((await wgetFromLan(hiddenUrl)).body).toBe(hidden.name);
      } finally {
        await sys("iptables", ["-A", `${w.prefix.toUpperCase()}-FORWARD`, ...drop]);
      }
      expect((await wgetFromLan(hiddenUrl)).body).toBe("");
    } finally {
      await sys("iptables", ["-D", ...lanForward]);
    }
    for (const c of [hidden, shown, neighbour]) await w.engine.removeContainer(c.id, { force: true });
  });

  it("containers on the networks of two stacks cannot reach each other; one on both networks reaches both", async () => {
    const other = await w.engine.createNetwork(w.networkSpec(n("other"), { labels: { "com.docker.compose.project": "two" } }));
    const mine = await up(n("mine"), [app.name], { cmd: HTTPD });
    const theirs = await up(n("theirs"), [other.name], { cmd: HTTPD });
    const both = await up(n("both"), [app.name, other.name]);
    const mineUrl = `http://${ipOf(mine, app.name)}/`;
    const theirsUrl = `http://${ipOf(theirs, other.name)}/`;
    // Controls: the same wget from a container on both networks.
    expect((await eventually(() => wget(both.id, mineUrl), (r) => r.exitCode === 0, 10_000)).body).toBe(mine.name);
    expect((await eventually(() => wget(both.id, theirsUrl), (r) => r.exitCode === 0, 10_000)).body).toBe(theirs.name);
    expect(await wget(mine.id, theirsUrl)).toMatchObject({ body: "" });
    expect(await wget(theirs.id, mineUrl)).toMatchObject({ body: "" });
    for (const c of [mine, theirs, both]) await w.engine.removeContainer(c.id, { force: true });
    await w.engine.removeNetwork(other.name);
  });

  it("the DNS server serves only containers of its network: the host, a LAN peer and other networks' containers are REFUSED", async () => {
    const other = await w.engine.createNetwork(w.networkSpec(n("dnsother"), { labels: { "com.docker.compose.project": "two" } }));
    const named = await up(n("named"), [app.name]);
    const client = await up(n("client"), [app.name]);
    const stranger = await up(n("stranger"), [other.name]);
    const nslookup = async (run: (args: string[]) => Promise<string>, name: string, server: string) => {
      const out = await run(["nslookup", name, server]);
      return { addresses: nslookupAddresses(out), out };
    };
    const fromContainer = (id: string) => async (args: string[]) => (await execText(w.engine, id, ["timeout", "5", ...args])).stdout;
    const fromLan = async (args: string[]) => {
      const r = await inNs(LAN_NS, ["timeout", "5", "busybox", ...args], 8000);
      return r.stdout + r.stderr;
    };

    // Controls: a container of the network resolves a neighbour and a forwarded name; the
    // stranger resolves through its own network's server.
    expect((await nslookup(fromContainer(client.id), named.name, app.gateway)).addresses).toEqual([ipOf(named, app.name)]);
    expect((await nslookup(fromContainer(client.id), "outside.example", app.gateway)).addresses).toEqual(["198.51.100.7"]);
    expect((await nslookup(fromContainer(stranger.id), stranger.name, other.gateway)).addresses).toEqual([ipOf(stranger, other.name)]);
    const forwarded = upstream.queries.length;

    // The server's own port: containers of the network reach it at <gateway>:53 through a DNAT on the bridge (rules.ts).
    const listening = await listenersOn(app.gateway);
    expect(listening).toHaveLength(1); // udp and tcp on one port
    const port = Number(listening[0]!.split(":")[1]);
    const container = (c: ContainerInfo) => `/proc/${c.pid ?? 0}/ns/net`;
    // Control of the query helper: a container of the network, at the server's port, gets answers.
    expect(await dnsQuery(app.gateway, port, named.name, container(client))).toBe("NOERROR");

    // The same lookups from outside the network: the server's port REFUSES them, and port 53
    // of the gateway is not redirected for them (nothing is published there, so nothing answers).
    const lan = await nslookup(fromLan, named.name, app.gateway);
    expect(lan.addresses).toEqual([]);
    expect(await dnsQuery(app.gateway, 53, named.name, `/var/run/netns/${LAN_NS}`)).toBe("no answer");
    expect(await dnsQuery(app.gateway, port, named.name, `/var/run/netns/${LAN_NS}`)).toBe("REFUSED");
    expect(await dnsQuery(app.gateway, port, "outside.example", `/var/run/netns/${LAN_NS}`)).toBe("REFUSED");
    expect((await nslookup(fromLan, "outside.example", app.gateway)).addresses).toEqual([]);
    expect((await nslookup(fromContainer(stranger.id), named.name, app.gateway)).addresses).toEqual([]);
    expect(await dnsQuery(app.gateway, 53, named.name, container(stranger))).toBe("no answer");
    expect(await dnsQuery(app.gateway, port, named.name, container(stranger))).toBe("REFUSED");
    expect(await dnsQuery(app.gateway, port, named.name)).toBe("REFUSED");
    expect(await dnsQuery(app.gateway, port, "outside.example")).toBe("REFUSED");
    expect(upstream.queries.length).toBe(forwarded); // nothing was forwarded for them

    // And the engine's DNS sockets (UDP and TCP) are bound to its gateways only, never to a wildcard address.
    const ours = (await sys("ss", ["-Hlntup"])).stdout.split("\n").filter((l) => l.includes(`pid=${process.pid},`));
    const bound = [...new Set(ours.map((l) => l.split(/\s+/)[4] ?? ""))];
    const otherPort = (await listenersOn(other.gateway))[0]!;
    expect(bound.filter((a) => a.endsWith(`:${port}`) || a.endsWith(`:${otherPort.split(":")[1]}`)).sort()).toEqual([`${app.gateway}:${port}`, otherPort].sort());
    for (const c of [named, client, stranger]) await w.engine.removeContainer(c.id, { force: true });
    await w.engine.removeNetwork(other.name);
  });
});

