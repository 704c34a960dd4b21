// The network manager against the real kernel: bridges, namespaces, veths,
// iptables and DNS. "Containers" are network namespaces running busybox
// applets (and node for a UDP echo). Every object carries this run's random
// tag; afterAll removes everything and asserts nothing of it remains. Traffic
// goes only to loopback and to namespaces this file creates: the DNS upstream
// is a fake on 127.0.0.1, and "the outside" is a namespace on its own link.
import type { ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import * as dnsPacket from "dns-packet";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observeCommands, run } from "../sys/exec.js";
import { EngineError, type NetworkInfo } from "../types.js";
import { parseCidr, formatIp } from "./ipv4.js";
import { openNetworkManager, type LinuxNetworkManager } from "./manager.js";
import { probe } from "./ports.js";
import { canUseNamespaces, fakeUpstream, fixedAnswerResolver, hostLookup, httpGet, inNs, leftovers, listenersOn, nslookupAddresses, spawnInNs, stopChild, testPool, testPrefixes } from "./testing.js";
import type { SandboxInfo } from "./types.js";
import { eventually } from "../../test/support/wait.js";

const { tag, prefixes } = testPrefixes();
const OUTSIDE_NS = `to${tag}x`; // deliberately not our netns prefix: repair() must not take it for a leftover
const OUTSIDE_LINK = `to${tag}h`;

function udpRoundTrip(host: string, port: number, text: string): Promise<string> {
  const sock = createSocket("udp4");
  return new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => sock.send(text, port, host), 300); // resent until the echo server is up
    const stop = setTimeout(() => {
      clearInterval(timer);
      reject(new Error("no UDP echo"));
    }, 8000);
    sock.on("message", (m) => {
      clearInterval(timer);
      clearTimeout(stop);
      resolve(m.toString());
    });
    sock.send(text, port, host);
  }).finally(() => sock.close());
}

async function pingable(ns: string, ip: string): Promise<boolean> {
  const r = await inNs(ns, ["ping", "-c", "1", "-W", "1", ip], 4000);
  return r.code === 0;
}

async function lookup(ns: string, name: string, server: string): Promise<string[]> {
  const r = await inNs(ns, ["nslookup", name, server], 8000);
  return nslookupAddresses(r.stdout);
}

/** One A query over TCP to <server>:53 from inside a namespace (busybox nslookup has no TCP mode): the addresses answered. */
async function tcpLookup(ns: string, name: string, server: string): Promise<string[]> {
  const query = dnsPacket.encode({ type: "query", id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name, class: "IN" }] });
  const client = [
    `const c = require("net").connect(53, ${JSON.stringify(server)});`,
    `const q = Buffer.from(${JSON.stringify(query.toString("base64"))}, "base64");`,
    "const len = Buffer.alloc(2); len.writeUInt16BE(q.length);",
    "c.on('connect', () => c.write(Buffer.concat([len, q])));",
    "let got = Buffer.alloc(0);",
    "c.on('data', (d) => { got = Buffer.concat([got, d]); if (got.length >= 2 + got.readUInt16BE(0)) { process.stdout.write(got.subarray(2).toString('base64')); c.destroy(); } });",
    "c.on('error', () => process.exit(1));",
  ].join("\n");
  const r = await run("timeout", ["5", "ip", "netns", "exec", ns, process.execPath, "-e", client], { allowFailure: true });
  if (r.code !== 0 || r.stdout === "") return [];
  return (dnsPacket.decode(Buffer.from(r.stdout, "base64")).answers ?? []).flatMap((a) => (a.type === "A" ? [a.data] : []));
}

describe.skipIf(!canUseNamespaces)("LinuxNetworkManager on the real kernel", () => {
  let stateDir: string;
  let wwwDir: string;
  let m: LinuxNetworkManager;
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  let outsideIp = "";
  const children: ChildProcess[] = [];
  const gateways: string[] = [];
  let front: NetworkInfo;
  let back: NetworkInfo;
  let internal: NetworkInfo;
  let web: SandboxInfo;
  let db: SandboxInfo;
  let lonely: SandboxInfo;
  let walled: SandboxInfo;
  /** db's published ports: [0] 8080/tcp ephemeral on every address, [1] 8080/tcp fixed on 127.0.0.1, [2] 9999/udp ephemeral. */
  let dbPorts: Awaited<ReturnType<LinuxNetworkManager["publishPorts"]>>;
  /** Sandboxes a test made for itself, removed by afterAll if the test did not get to it. */
  const own: string[] = [];

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "tsc-net-"));
    wwwDir = await mkdtemp(join(tmpdir(), "tsc-www-"));
    await writeFile(join(wwwDir, "index.html"), "hello from web\n");
    const pool = await testPool([0, 15]);
    upstream = await fakeUpstream({ "outside.example": "198.51.100.7" });

    // The fake outside host: its own namespace on its own link, with the last /24 of our pool.
    const outsideNet = parseCidr(pool.cidr).network + 15 * 256;
    outsideIp = formatIp(outsideNet + 2);
    await run("ip", ["netns", "add", OUTSIDE_NS]);
    await run("ip", ["link", "add", OUTSIDE_LINK, "type", "veth", "peer", "name", "eth0", "netns", OUTSIDE_NS]);
    await run("ip", ["addr", "add", `${formatIp(outsideNet + 1)}/24`, "dev", OUTSIDE_LINK]);
    await run("ip", ["link", "set", OUTSIDE_LINK, "up"]);
    await run("ip", ["-n", OUTSIDE_NS, "-batch", "-"], {
      input: `link set lo up\naddr add ${outsideIp}/24 dev eth0\nlink set eth0 up\nroute add default via ${formatIp(outsideNet + 1)}\n`,
    });

    m = await openNetworkManager({ stateDir, prefixes, pools: [pool], upstreamDns: [upstream.upstream], dnsSearch: ["corp.test"] });
    await m.repair();

    // The world every test reads (and none changes; a test that changes something makes its own):
    // networks front, back and internal; web on front+back, db on front with httpd and a udp echo
    // behind published ports, lonely on back, walled on internal.
    front = await m.createNetwork({ name: `front-${tag}`, labels: { "com.docker.compose.project": "p" }, driver: "bridge", internal: false, subnet: undefined, gateway: undefined });
    back = await m.createNetwork({ name: `back-${tag}`, labels: {}, driver: "bridge", internal: false, subnet: undefined, gateway: undefined });
    internal = await m.createNetwork({ name: `int-${tag}`, labels: {}, driver: "bridge", internal: true, subnet: undefined, gateway: undefined });
    gateways.push(front.gateway, back.gateway, internal.gateway);
    web = await m.createSandbox({ containerId: `a1${tag}` + "0".repeat(58), name: `p-web-1`, networks: [{ network: front.name, aliases: ["web"] }, { network: back.name, aliases: ["web"] }] });
    db = await m.createSandbox({ containerId: `b2${tag}` + "0".repeat(58), name: `p-db-1`, hostname: "dbhost", networks: [{ network: front.name, aliases: ["db", "database"], ipv4Address: formatIp(parseCidr(front.subnet).network + 200) }] });
    lonely = await m.createSandbox({ containerId: `d4${tag}` + "0".repeat(58), name: "p-lonely-1", networks: [{ network: back.name, aliases: ["lonely"] }] });
    walled = await m.createSandbox({ containerId: `e5${tag}` + "0".repeat(58), name: "p-walled-1", networks: [{ network: internal.name, aliases: ["walled"] }] });
    children.push(spawnInNs(db.netns, "busybox", ["httpd", "-f", "-p", "8080", "-h", wwwDir]));
    const echo = "require('dgram').createSocket('udp4').on('message',function(m,r){this.send(m,r.port,r.address)}).bind(9999)";
    children.push(spawnInNs(db.netns, process.execPath, ["-e", echo]));
    const fixed = (await probe("tcp", "127.0.0.1", 0)).port;
    dbPorts = await m.publishPorts(db.containerId, [
      { containerPort: 8080, protocol: "tcp", hostPort: undefined, hostIp: undefined },
      { containerPort: 8080, protocol: "tcp", hostPort: String(fixed), hostIp: "127.0.0.1" },
      { containerPort: 9999, protocol: "udp", hostPort: undefined, hostIp: undefined },
    ]);
    // httpd was just started in the background: wait until it answers.
    const get = async () => (await inNs(web.netns, ["wget", "-q", "-O", "-", `http://${db.endpoints[0]!.ipAddress}:8080/index.html`], 5000)).stdout;
    await eventually(get, (b) => b !== "", 30_000, "httpd answering");
  }, 120_000);

  afterAll(async () => {
    for (const c of children) await stopChild(c);
    if (m) {
      for (const sb of [web, db, lonely, walled]) if (sb) await m.removeSandbox(sb.containerId);
      for (const id of own) await m.removeSandbox(id);
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

  it("creates networks: bridge up with the gateway, subnets from the pool, away from the outside link", async () => {
    expect(front.bridge).toMatch(new RegExp(`^tb${tag}-[0-9a-f]{8}$`));
    expect(front.gateway).toBe(formatIp(parseCidr(front.subnet).network + 1));
    expect(new Set([front.subnet, back.subnet, internal.subnet]).size).toBe(3);
    expect([front.subnet, back.subnet, internal.subnet]).not.toContain(`${outsideIp.replace(/\.2$/, ".0")}/24`);
    const addr = await run("ip", ["-j", "addr", "show", "dev", front.bridge!]);
    expect(addr.stdout).toContain(front.gateway);
    await expect(m.createNetwork({ name: `front-${tag}`, labels: {}, driver: "bridge", internal: false, subnet: undefined, gateway: undefined })).rejects.toThrow(/already exists/);
    expect((await m.listNetworks({ labels: { "com.docker.compose.project": "p" } })).map((n) => n.name)).toEqual([`front-${tag}`]);
    expect((await m.inspectNetwork(front.id.slice(0, 10)))?.name).toBe(`front-${tag}`);
    // Positive control for the leftover check in afterAll: a live DNS server is seen.
    expect(await leftovers(prefixes, [front.gateway])).toContainEqual(expect.stringMatching(new RegExp(`^DNS listener on ${front.gateway.replace(/\./g, "\\.")}:\\d+$`)));
  });

  it("creates sandboxes attached with aliases; containers reach each other by name", async () => {
    expect(web.netnsPath).toBe(`/var/run/netns/tn${tag}-a1${tag}000000`);
    expect(web.endpoints.map((e) => [e.networkName, e.ifname, e.defaultRoute])).toEqual([
      [front.name, "eth0", true],
      [back.name, "eth1", false],
    ]);
    expect(db.endpoints[0]?.ipAddress).toBe(formatIp(parseCidr(front.subnet).network + 200));
    expect(web.resolvConf).toBe(`nameserver ${front.gateway}\nsearch corp.test\noptions ndots:0\n`);
    expect(db.hosts).toContain(`${db.endpoints[0]?.ipAddress}\tdbhost p-db-1\n`);

    const routes = await run("ip", ["-n", web.netns, "route"]);
    expect(routes.stdout).toContain(`default via ${front.gateway} dev eth0`);
    const lo = await run("ip", ["-n", web.netns, "-br", "link", "show", "lo"]);
    expect(lo.stdout).toMatch(/UNKNOWN|UP/);

    const dbIp = db.endpoints[0]!.ipAddress;
    for (const name of ["db", "DB.", "database", "p-db-1", "dbhost", "db.corp.test", `db.${front.name}`]) {
      expect(await lookup(web.netns, name, front.gateway), name).toEqual([dbIp]);
    }
    expect((await inNs(web.netns, ["wget", "-q", "-O", "-", `http://${dbIp}:8080/index.html`], 5000)).stdout).toBe("hello from web\n");
  });

  it("answers round robin across a replica set of three", async () => {
    const commands: string[] = [];
    const replicas: SandboxInfo[] = [];
    const stop = observeCommands((cmd, args) => commands.push(`${cmd} ${args.join(" ")}`));
    try {
      for (let i = 1; i <= 3; i++) {
        own.push(`c${i}${tag}` + "0".repeat(58));
        replicas.push(await m.createSandbox({ containerId: `c${i}${tag}` + "0".repeat(58), name: `p-api-${i}`, networks: [{ network: front.name, aliases: ["api"] }] }));
      }
    } finally {
      stop();
    }
    // The speed promise: a new container on a network costs two execs (host batch, namespace batch).
    expect(commands).toHaveLength(6);
    const all = replicas.map((r) => r.endpoints[0]!.ipAddress).sort();
    const firsts = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const got = await lookup(web.netns, "api", front.gateway);
      expect([...got].sort()).toEqual(all);
      firsts.add(got[0]!);
    }
    expect(firsts.size).toBeGreaterThan(1);
    for (const r of replicas) await m.removeSandbox(r.containerId);
    expect(await lookup(web.netns, "api", front.gateway)).toEqual([]);
  });

  it("keeps names per network and forwards the rest to the upstream", async () => {
    // web is on both networks: it resolves a back-only name; db (front only) does not.
    expect(await lookup(web.netns, "lonely", front.gateway)).toEqual([lonely.endpoints[0]!.ipAddress]);
    expect(await lookup(db.netns, "lonely", front.gateway)).toEqual([]);
    expect(await lookup(lonely.netns, "db", back.gateway)).toEqual([]);
    // On back, web answers with its back address.
    expect(await lookup(lonely.netns, "web", back.gateway)).toEqual([web.endpoints[1]!.ipAddress]);
    expect(await lookup(db.netns, "outside.example", front.gateway)).toEqual(["198.51.100.7"]);
    expect(upstream.queries).toContain("outside.example");
    expect(upstream.queries).toContain("lonely");
  });

  it("isolates networks from each other, and lets a normal network out", async () => {
    expect(await pingable(db.netns, web.endpoints[0]!.ipAddress)).toBe(true); // same network
    expect(await pingable(db.netns, lonely.endpoints[0]!.ipAddress)).toBe(false); // other network
    expect(await pingable(lonely.netns, db.endpoints[0]!.ipAddress)).toBe(false);
    expect(await pingable(db.netns, outsideIp)).toBe(true); // routed and masqueraded to the fake outside
  });

  it("gives an internal network no way out, but its DNS works", async () => {
    expect(walled.endpoints[0]?.defaultRoute).toBe(false);
    expect((await run("ip", ["-n", walled.netns, "route"])).stdout).not.toContain("default");
    expect(await pingable(walled.netns, outsideIp)).toBe(false);
    // Even with a default route added by hand (in a sandbox of this test's own), the host drops its forwarded traffic.
    const rogueId = `e6${tag}` + "0".repeat(58);
    own.push(rogueId);
    const rogue = await m.createSandbox({ containerId: rogueId, name: "p-rogue-1", networks: [{ network: internal.name }] });
    await run("ip", ["-n", rogue.netns, "route", "add", "default", "via", internal.gateway]);
    expect(await pingable(rogue.netns, outsideIp)).toBe(false);
    expect(await pingable(rogue.netns, internal.gateway)).toBe(true);
    await m.removeSandbox(rogueId);
    expect(await lookup(walled.netns, "walled", internal.gateway)).toEqual([walled.endpoints[0]!.ipAddress]);
    // Names that are not ours are not forwarded for a container only on internal networks.
    const before = upstream.queries.length;
    expect(await lookup(walled.netns, "outside.example", internal.gateway)).toEqual([]);
    expect(upstream.queries.length).toBe(before);
    await expect(m.publishPorts(walled.containerId, [{ containerPort: 80, protocol: "tcp", hostPort: undefined, hostIp: undefined }])).rejects.toThrow(/internal/);
  });

  it("publishes ports reachable from the host on 127.0.0.1 and on the gateway, tcp and udp", async () => {
    const ports = dbPorts;
    const fixed = ports[1]!.hostPort;
    expect(ports[1]).toMatchObject({ hostIp: "127.0.0.1", containerIp: db.endpoints[0]!.ipAddress });
    expect(ports[0]).toMatchObject({ hostIp: "0.0.0.0" });
    const eph = ports[0]!.hostPort;
    expect((await httpGet("127.0.0.1", eph, "/index.html")).body).toBe("hello from web\n");
    expect((await httpGet(front.gateway, eph, "/index.html")).body).toBe("hello from web\n");
    expect((await httpGet("127.0.0.1", fixed, "/index.html")).body).toBe("hello from web\n");
    // From containers through the host address: a neighbour, and the container itself.
    for (const ns of [web.netns, db.netns]) {
      const r = await inNs(ns, ["wget", "-q", "-O", "-", `http://${front.gateway}:${eph}/index.html`], 5000);
      expect(r.stdout, ns).toBe("hello from web\n");
    }
    await expect(httpGet(front.gateway, fixed, "/index.html")).rejects.toThrow(); // bound to 127.0.0.1 only

    expect(await udpRoundTrip("127.0.0.1", ports[2]!.hostPort, "ping-udp")).toBe("ping-udp");
    expect((await m.inspectSandbox(db.containerId))?.ports).toHaveLength(3);
  });

  it("publishes port 53 on every host address (a pihole) while the network's containers still reach its DNS server at <gateway>:53", async (ctx) => {
    // Held by another process (another engine's DNS server on port 53 of its gateways): nothing to show here.
    if ((await probe("udp", "0.0.0.0", 53)).error !== undefined) return ctx.skip("udp port 53 of the host is held by another process");
    const pihole = await m.createSandbox({ containerId: `a9${tag}` + "0".repeat(58), name: "p-pihole-1", networks: [{ network: front.name }] });
    try {
      const published = await m.publishPorts(pihole.containerId, [{ containerPort: 53, protocol: "udp", hostPort: "53", hostIp: undefined }]);
      expect(published[0]).toMatchObject({ hostIp: "0.0.0.0", hostPort: 53 });
      children.push(spawnInNs(pihole.netns, process.execPath, ["-e", fixedAnswerResolver("192.0.2.53")]));
      // From the host over loopback, and on the gateway's address, port 53 is the pihole's, as on docker.
      expect(await eventually(() => hostLookup("anything.example", "127.0.0.1"), (a) => a.length > 0, 10_000, "the pihole to answer on 127.0.0.1:53")).toEqual(["192.0.2.53"]);
      expect(await hostLookup("anything.example", front.gateway)).toEqual(["192.0.2.53"]);
      // The network's containers asking their gateway (their resolv.conf) get the engine's server: names, and forwarding.
      expect(await lookup(web.netns, "db", front.gateway)).toEqual([db.endpoints[0]!.ipAddress]);
      expect(await lookup(db.netns, "outside.example", front.gateway)).toEqual(["198.51.100.7"]);
      expect(await lookup(pihole.netns, "p-web-1", front.gateway)).toEqual([web.endpoints[0]!.ipAddress]);
      // Over TCP too (the redirect has a rule per protocol).
      expect(await tcpLookup(web.netns, "db", front.gateway)).toEqual([db.endpoints[0]!.ipAddress]);
      // ... and the pihole itself by its address, as any container reaches another.
      expect(await lookup(web.netns, "anything.example", pihole.endpoints[0]!.ipAddress)).toEqual(["192.0.2.53"]);
    } finally {
      await m.removeSandbox(pihole.containerId);
    }
    // Unpublished: nothing answers on 127.0.0.1:53 any more, while the control above did.
    expect(await hostLookup("anything.example", "127.0.0.1")).toEqual([]);
  });

  it("fails clearly on a host port in use and harms nothing else", async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, "0.0.0.0", () => r()));
    const port = (busy.address() as { port: number }).port;
    const rulesBefore = (await run("iptables-save", ["-t", "nat"])).stdout.split("\n").filter((l) => l.includes(prefixes.chain));
    try {
      const err = await m
        .publishPorts(web.containerId, [
          { containerPort: 80, protocol: "tcp", hostPort: undefined, hostIp: undefined },
          { containerPort: 80, protocol: "tcp", hostPort: String(port), hostIp: undefined },
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EngineError);
      expect((err as EngineError).code).toBe("conflict");
      expect((err as Error).message).toContain(`0.0.0.0:${port}/tcp`);
      expect((err as Error).message).toMatch(/in use/);
      // Our own records count too: db already holds its fixed 127.0.0.1 port.
      const dbPort = (await m.inspectSandbox(db.containerId))!.ports[1]!.hostPort;
      await expect(m.publishPorts(web.containerId, [{ containerPort: 80, protocol: "tcp", hostPort: String(dbPort), hostIp: undefined }])).rejects.toThrow(/already published/);
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
    const rulesAfter = (await run("iptables-save", ["-t", "nat"])).stdout.split("\n").filter((l) => l.includes(prefixes.chain));
    expect(rulesAfter).toEqual(rulesBefore);
    expect((await m.inspectSandbox(web.containerId))?.ports).toEqual([]);
    const eph = (await m.inspectSandbox(db.containerId))!.ports[0]!.hostPort;
    expect((await httpGet("127.0.0.1", eph, "/index.html")).body).toBe("hello from web\n");
  });

  it("detach removes the name and the address at once; remove refuses a network in use", async () => {
    await expect(m.removeNetwork(back.name)).rejects.toThrow(/active endpoints/);
    // A pair of this test's own, as web and lonely are: one on front and back, one on back only.
    const [twoId, soloId, againId] = ["f3", "f4", "f6"].map((p) => `${p}${tag}` + "0".repeat(58)) as [string, string, string];
    own.push(twoId, soloId, againId);
    const two = await m.createSandbox({ containerId: twoId, name: "p-two-1", networks: [{ network: front.name, aliases: ["two"] }, { network: back.name, aliases: ["two"] }] });
    const solo = await m.createSandbox({ containerId: soloId, name: "p-solo-1", networks: [{ network: back.name, aliases: ["solo"] }] });
    const soloIp = solo.endpoints[0]!.ipAddress;
    expect(await lookup(solo.netns, "two", back.gateway)).toEqual([two.endpoints[1]!.ipAddress]); // the control
    expect(await lookup(two.netns, "solo", front.gateway)).toEqual([soloIp]);
    const after = await m.detach(twoId, back.name);
    expect(after.endpoints.map((e) => e.networkName)).toEqual([front.name]);
    expect(await lookup(solo.netns, "two", back.gateway)).toEqual([]);
    expect(await lookup(two.netns, "solo", front.gateway)).toEqual([]);
    expect((await run("ip", ["-n", two.netns, "-br", "link"])).stdout).not.toContain("eth1");
    await m.removeSandbox(soloId);
    await m.removeSandbox(soloId); // idempotent
    // The freed address can be had again (statically).
    const again = await m.createSandbox({ containerId: againId, name: "p-again-1", networks: [{ network: back.name, ipv4Address: soloIp }] });
    expect(again.endpoints[0]?.ipAddress).toBe(soloIp);
    await m.removeSandbox(againId);
    await m.removeSandbox(twoId);
  });

  it("a sandbox whose record cannot be written (a full disk) leaves no netns, veth or address behind", async () => {
    // Names only: a bridge's operstate flips on its own a moment after its last port left (another test's detach).
    const links = async (): Promise<string> => (await run("ip", ["-br", "link"])).stdout.split("\n").filter((l) => l.includes(tag)).map((l) => l.split(/\s+/)[0]).sort().join("\n");
    const namespaces = async (): Promise<string> => (await run("ip", ["netns", "list"])).stdout.split("\n").filter((l) => l.includes(tag)).sort().join("\n");
    const [linksBefore, nsBefore] = [await links(), await namespaces()];
    const sandboxes = join(stateDir, "sandboxes");
    // A file where the records' directory was: the record's write fails after the netns and veth exist.
    await rename(sandboxes, `${sandboxes}.away`);
    await writeFile(sandboxes, "");
    const id = `f7${tag}` + "0".repeat(58);
    try {
      await expect(m.createSandbox({ containerId: id, name: "p-norecord-1", networks: [{ network: back.name }] })).rejects.toThrow();
    } finally {
      await rm(sandboxes);
      await rename(`${sandboxes}.away`, sandboxes);
    }
    expect(await links()).toBe(linksBefore);
    expect(await namespaces()).toBe(nsBefore);
    // Nothing of it is left to conflict with: the same container can have its sandbox now.
    const again = await m.createSandbox({ containerId: id, name: "p-norecord-1", networks: [{ network: back.name }] });
    expect(again.endpoints).toHaveLength(1);
    await m.removeSandbox(id);
  });

  it("repair() on a healthy state changes nothing that works and removes a stray leftover", async () => {
    const strayNs = `tn${tag}-deadbeef0000`;
    await run("ip", ["netns", "add", strayNs]);
    await run("ip", ["link", "add", `tv${tag}abcdef012`, "type", "veth", "peer", "name", `tv${tag}abcdef013`]);
    const report = await m.repair();
    expect(report.removed).toContain(`netns ${strayNs}`);
    expect(report.removed).toContain(`veth tv${tag}abcdef012`);
    expect(await lookup(web.netns, "db", front.gateway)).toEqual([db.endpoints[0]!.ipAddress]);
    const eph = (await m.inspectSandbox(db.containerId))!.ports[0]!.hostPort;
    expect((await httpGet("127.0.0.1", eph, "/index.html")).body).toBe("hello from web\n");
    expect(await pingable(db.netns, walled.endpoints[0]!.ipAddress)).toBe(false);
  });

  it("survives a restart of the manager: records, DNS and ports come back", async () => {
    const dnsBefore = await listenersOn(front.gateway);
    await m.close();
    expect(await listenersOn(front.gateway)).toEqual([]);
    m = await openNetworkManager({ stateDir, prefixes, pools: [], upstreamDns: [upstream.upstream], dnsSearch: ["corp.test"] });
    await m.repair();
    // Back on the port the DNAT rule names (kept in the network's record).
    expect(await listenersOn(front.gateway)).toEqual(dnsBefore);
    expect((await m.listNetworks()).length).toBe(3);
    expect(await lookup(web.netns, "p-db-1", front.gateway)).toEqual([db.endpoints[0]!.ipAddress]);
    const eph = (await m.inspectSandbox(db.containerId))!.ports[0]!.hostPort;
    expect((await httpGet("127.0.0.1", eph, "/index.html")).body).toBe("hello from web\n");
    // Unpublishing after the restart works on what the new manager read back: a sandbox of this test's own.
    const mineId = `f8${tag}` + "0".repeat(58);
    own.push(mineId);
    const mine = await m.createSandbox({ containerId: mineId, name: "p-mine-1", networks: [{ network: front.name }] });
    children.push(spawnInNs(mine.netns, "busybox", ["httpd", "-f", "-p", "8080", "-h", wwwDir]));
    const [published] = await m.publishPorts(mineId, [{ containerPort: 8080, protocol: "tcp", hostPort: undefined, hostIp: undefined }]);
    await m.close();
    m = await openNetworkManager({ stateDir, prefixes, pools: [], upstreamDns: [upstream.upstream], dnsSearch: ["corp.test"] });
    await m.repair();
    const body = await eventually(() => httpGet("127.0.0.1", published!.hostPort, "/index.html").then((r) => r.body, () => ""), (b) => b !== "", 30_000, "httpd of mine answering");
    expect(body).toBe("hello from web\n");
    await m.unpublishPorts(mineId);
    await expect(httpGet("127.0.0.1", published!.hostPort, "/index.html")).rejects.toThrow();
    await m.removeSandbox(mineId);
  });

  it("a truncated sandbox record: set aside, and repair() removes nothing it cannot attribute (the container keeps its netns and address)", async () => {
    await m.close();
    const file = join(stateDir, "sandboxes", `${web.containerId}.json`);
    const good = await readFile(file, "utf8");
    await writeFile(file, good.slice(0, good.length >> 1));
    m = await openNetworkManager({ stateDir, prefixes, pools: [], upstreamDns: [upstream.upstream], dnsSearch: ["corp.test"] });
    const report = await m.repair();
    expect(report.kept?.join(" ")).toContain(`${file}.corrupt-`);
    expect(report.removed).toEqual([]);
    expect((await readdir("/run/netns"))).toContain(web.netns);
    expect(await pingable(web.netns, db.endpoints[0]!.ipAddress)).toBe(true);
    const aside = (await readdir(join(stateDir, "sandboxes"))).filter((n) => n.startsWith(`${web.containerId}.json.corrupt-`));
    expect(aside).toHaveLength(1);
    // An operator puts the good record back: known again, cleaned up by afterAll as usual.
    await m.close();
    await writeFile(file, good);
    await rm(join(stateDir, "sandboxes", aside[0]!));
    m = await openNetworkManager({ stateDir, prefixes, pools: [], upstreamDns: [upstream.upstream], dnsSearch: ["corp.test"] });
    expect((await m.repair()).kept).toBeUndefined();
    expect(await m.inspectSandbox(web.containerId)).toBeDefined();
  });
});

describe.skipIf(!canUseNamespaces)("state lock", () => {
  it("a second manager on the same state dir is refused while the first lives", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tsc-lock-"));
    const up = await fakeUpstream({});
    const opts = { stateDir: dir, prefixes: testPrefixes().prefixes, upstreamDns: [up.upstream], dnsSearch: [] };
    const first = await openNetworkManager(opts);
    await expect(openNetworkManager(opts)).rejects.toThrow(/already open|locked/);
    await first.close();
    const second = await openNetworkManager(opts);
    await second.close();
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });
});
