// Service networks through the whole embedded engine with real containers:
// busybox wget and nc from one container to another by name and by alias,
// a replica set answered round robin, a published port reached from the host
// with node's HTTP client, two stacks' networks isolated from each other, an
// internal network with no way out, and a kill -9 of an engine process in the
// middle of creating a network followed by a clean recovery when the engine
// opens again. All traffic stays on loopback and in namespaces made here;
// names that are not ours go to a dead loopback port.
import { createServer } from "node:net";
import type { Server } from "node:net";
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run as sys } from "../engine/sys/exec.js";
import type { ContainerInfo, ContainerSpec, NetworkInfo, PortBinding } from "../engine/types.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry } from "./fixtures/registry.js";
import type { TestRegistry } from "./fixtures/registry.js";
import { engineWorld, execText, startEngineChild } from "./support/engine.js";
import type { EngineWorld } from "./support/engine.js";
import { isRoot, missing } from "./support/requires.js";
import { eventually } from "./support/wait.js";
import { httpGet } from "../engine/network/testing.js";
import { poolOctet } from "./support/pools.js";

// Skipped without root, a failure under TSCOMPOSE_TEST_REQUIRE_ALL=1 (test/support/requires.ts).
const root = !missing("root", isRoot);

let registry: TestRegistry;
let w: EngineWorld;

const SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];
/** busybox httpd serving the container's hostname as /index.html. */
const HTTPD = ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"];
/** An nc server answering every connection with "pong". */
const PONG = ["nc", "-ll", "-p", "7000", "-e", "echo", "pong"];

async function up(name: string, networks: Record<string, string[]>, over: Partial<ContainerSpec> = {}): Promise<ContainerInfo> {
  const spec = w.spec({
    name,
    hostname: name,
    cmd: SLEEPER,
    networkMode: "bridge",
    networks: Object.fromEntries(Object.entries(networks).map(([net, aliases]) => [net, { aliases, ipv4Address: undefined }])),
    ...over,
  });
  const c = await w.engine.createContainer(spec);
  await w.engine.startContainer(c.id);
  return (await w.engine.inspectContainer(c.id))!;
}

async function wget(client: string, url: string, timeoutS = 3): Promise<{ exitCode: number; body: string; err: string }> {
  // Not wget -T: Debian's busybox 1.35 wget segfaults with it.
  const r = await execText(w.engine, client, ["timeout", String(timeoutS), "wget", "-q", "-O", "-", url]);
  return { exitCode: r.exitCode, body: r.stdout.trim(), err: r.stderr.trim() };
}

/** `nslookup name server` in a container: the addresses answered, in order. */
async function lookup(client: string, name: string, server: string): Promise<string[]> {
  const r = await execText(w.engine, client, ["nslookup", name, server]);
  const answer = r.stdout.split(/\n\s*\n/).slice(1).join("\n");
  return [...answer.matchAll(/^Address:\s*([0-9.]+)\s*$/gm)].map((m) => m[1] ?? "");
}

const ipOf = (c: ContainerInfo, net: string) => c.networks[net]?.ipAddress ?? "?";
const ourLinks = () => readdirSync("/sys/class/net").filter((l) => l.startsWith(w.prefix));

beforeAll(async () => {
  registry = await startRegistry();
  await pushTestImage(registry, "busybox");
  w = await engineWorld({ mirror: registry.url, poolOctet: poolOctet("engine-network") });
  await w.engine.pullImage("busybox");
}, 180_000);

afterAll(async () => {
  if (w) {
    expect(await w.cleanupAndFindLeaks()).toEqual([]);
  }
  await registry?.stop();
}, 120_000);

describe.skipIf(!root)("service networks", () => {
  let app: NetworkInfo;
  let web: ContainerInfo;
  let client: ContainerInfo;
  const n = (s: string) => `${w.prefix}-${s}`;

  beforeAll(async () => {
    app = await w.engine.createNetwork(w.networkSpec(n("app"), { labels: { "com.docker.compose.project": "one" } }));
    expect(app.subnet).toMatch(/^10\.217\./);
    web = await up(n("web"), { [app.name]: ["www", "web"] }, { cmd: HTTPD });
    client = await up(n("client"), { [app.name]: [] });
  });

  it("gives each container an address on the network, the gateway as its resolver and route", async () => {
    expect(ipOf(web, app.name)).toMatch(/^10\.217\./);
    const resolv = await execText(w.engine, client.id, ["cat", "/etc/resolv.conf"]);
    expect(resolv.stdout).toContain(`nameserver ${app.gateway}`);
    const route = await execText(w.engine, client.id, ["ip", "route"]);
    expect(route.stdout).toContain(`default via ${app.gateway}`);
    const lo = await execText(w.engine, client.id, ["ping", "-c", "1", "-W", "2", "127.0.0.1"]);
    expect(lo.exitCode).toBe(0);
  });

  it("extra_hosts' host-gateway names the host's end of the container's network (its gateway), not the literal word", async () => {
    const c = await up(n("hostgw"), { [app.name]: [] }, { extraHosts: ["host.docker.internal:host-gateway", "fixed.example:10.1.2.3"] });
    const hosts = (await execText(w.engine, c.id, ["cat", "/etc/hosts"])).stdout;
    expect(hosts).toMatch(new RegExp(`^${app.gateway.replace(/\./g, "\\.")}\thost\\.docker\\.internal$`, "m"));
    expect(hosts).toMatch(/^10\.1\.2\.3\tfixed\.example$/m);
    expect(hosts).not.toContain("host-gateway");
    // Without a network of its own, there is no host address to name: an error, and no container.
    await expect(w.engine.createContainer(w.spec({ extraHosts: ["h:host-gateway"] }))).rejects.toThrow(/host-gateway needs a network/);
  });

  it("wget reaches another container by its name and by its aliases", async () => {
    const byName = await eventually(() => wget(client.id, `http://${web.name}/`), (r) => r.exitCode === 0, 10_000);
    expect(byName.body).toBe(web.name);
    expect((await wget(client.id, "http://www/")).body).toBe(web.name);
    expect((await wget(client.id, "http://web/")).body).toBe(web.name);
    expect(await lookup(client.id, "www", app.gateway)).toEqual([ipOf(web, app.name)]);
  });

  it("nc reaches another container by name", async () => {
    const pong = await up(n("pong"), { [app.name]: ["pong-svc"] }, { cmd: PONG });
    const r = await eventually(
      () => execText(w.engine, client.id, ["sh", "-c", "nc -w 2 pong-svc 7000 </dev/null"]),
      (x) => x.stdout.trim() === "pong",
      10_000,
    );
    expect(r.exitCode).toBe(0);
    const again = await execText(w.engine, client.id, ["sh", "-c", `nc -w 2 ${pong.name} 7000 </dev/null`]);
    expect(again.stdout.trim()).toBe("pong");
  });

  it("a replica set of three behind one alias answers round robin", async () => {
    const replicas = [];
    for (let i = 1; i <= 3; i++) replicas.push(await up(n(`api-${i}`), { [app.name]: ["api"] }, { cmd: HTTPD }));
    const ips = replicas.map((r) => ipOf(r, app.name)).sort();
    // Every answer holds all three, the first one rotating.
    const firsts = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const answer = await lookup(client.id, "api", app.gateway);
      expect([...answer].sort()).toEqual(ips);
      firsts.add(answer[0] ?? "");
    }
    expect(firsts.size).toBe(3);
    // Requests spread over the replicas.
    const served = new Set<string>();
    for (let i = 0; i < 9; i++) {
      const r = await wget(client.id, "http://api/");
      expect(r.exitCode).toBe(0);
      served.add(r.body);
    }
    expect(served.size).toBeGreaterThanOrEqual(2);
    // A replica that goes away is no longer answered, at once.
    await w.engine.removeContainer(replicas[2]!.id, { force: true });
    expect([...(await lookup(client.id, "api", app.gateway))].sort()).toEqual(replicas.slice(0, 2).map((r) => ipOf(r, app.name)).sort());
  });

  it("a published port is reached from the host with an HTTP client; a port in use fails only that container", async () => {
    const ports: PortBinding[] = [
      { containerPort: 80, protocol: "tcp", hostPort: undefined, hostIp: undefined },
      { containerPort: 80, protocol: "tcp", hostPort: undefined, hostIp: "127.0.0.1" },
    ];
    const pub = await up(n("pub"), { [app.name]: [] }, { cmd: HTTPD, ports });
    expect(pub.ports).toHaveLength(2);
    for (const p of pub.ports) {
      const res = await eventually(() => httpGet("127.0.0.1", Number(p.hostPort)), (r) => r.status === 200, 10_000);
      expect(res.body.trim()).toBe(pub.name);
    }
    // Another container reaches it through the host's published port too (hairpin via the gateway).
    const viaGateway = await wget(client.id, `http://${app.gateway}:${pub.ports[0]!.hostPort}/`);
    expect(viaGateway.body).toBe(pub.name);

    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    const busyPort = (busy.address() as { port: number }).port;
    try {
      const linksBefore = ourLinks().length;
      await expect(
        w.engine.createContainer(w.spec({ name: n("clash"), cmd: HTTPD, networkMode: "bridge", networks: { [app.name]: { aliases: [], ipv4Address: undefined } }, ports: [{ containerPort: 80, protocol: "tcp", hostPort: String(busyPort), hostIp: "127.0.0.1" }] })),
      ).rejects.toThrow(new RegExp(String(busyPort)));
      expect(await w.engine.inspectContainer(n("clash"))).toBeUndefined();
      expect(ourLinks().length).toBe(linksBefore);
      // Nothing else was harmed.
      expect((await httpGet("127.0.0.1", Number(pub.ports[0]!.hostPort))).status).toBe(200);
    } finally {
      busy.close();
    }
    await w.engine.removeContainer(pub.id, { force: true });
    await expect(httpGet("127.0.0.1", Number(pub.ports[0]!.hostPort))).rejects.toThrow();
  });

  it("two stacks on their own networks can neither resolve nor reach each other", async () => {
    const other = await w.engine.createNetwork(w.networkSpec(n("other"), { labels: { "com.docker.compose.project": "two" } }));
    const stranger = await up(n("stranger"), { [other.name]: ["www"] }, { cmd: HTTPD });
    // Its names are not ours: each side only sees its own "www".
    expect(await lookup(client.id, stranger.name, app.gateway)).toEqual([]);
    expect(await lookup(client.id, "www", app.gateway)).toEqual([ipOf(web, app.name)]);
    expect(await lookup(stranger.id, web.name, other.gateway)).toEqual([]);
    expect(await lookup(stranger.id, "www", other.gateway)).toEqual([ipOf(stranger, other.name)]);
    // Not by address either, in both directions.
    expect((await wget(client.id, `http://${ipOf(stranger, other.name)}/`, 2)).exitCode).not.toBe(0);
    expect((await wget(stranger.id, `http://${ipOf(web, app.name)}/`, 2)).exitCode).not.toBe(0);
    // A container on both networks reaches both.
    const both = await up(n("both"), { [app.name]: [], [other.name]: [] });
    expect((await wget(both.id, `http://${web.name}/`)).body).toBe(web.name);
    expect((await wget(both.id, `http://${stranger.name}/`)).body).toBe(stranger.name);
    for (const c of [stranger, both]) await w.engine.removeContainer(c.id, { force: true });
    await w.engine.removeNetwork(other.name);
  });

  it("an internal network has no route out, but its names resolve", async () => {
    const inner = await w.engine.createNetwork(w.networkSpec(n("inner"), { internal: true }));
    const i1 = await up(n("i1"), { [inner.name]: ["db"] }, { cmd: HTTPD });
    const i2 = await up(n("i2"), { [inner.name]: [] });
    expect((await wget(i2.id, "http://db/")).body).toBe(i1.name);
    const route = await execText(w.engine, i2.id, ["ip", "route"]);
    expect(route.stdout).not.toContain("default");
    // Another network's gateway (a host address) is out of reach: no route at all.
    const out = await wget(i2.id, `http://${app.gateway}/`, 2);
    expect(out.exitCode).not.toBe(0);
    expect(out.err).toMatch(/unreachable/i);
    // Names that are not the network's are not forwarded out of it.
    expect(await lookup(i2.id, "example.com", inner.gateway)).toEqual([]);
    // And nothing can be published from it.
    await expect(
      w.engine.createContainer(w.spec({ name: n("i3"), networkMode: "bridge", networks: { [inner.name]: { aliases: [], ipv4Address: undefined } }, ports: [{ containerPort: 80, protocol: "tcp", hostPort: undefined, hostIp: undefined }] })),
    ).rejects.toThrow(/internal/);
    for (const c of [i1, i2]) await w.engine.removeContainer(c.id, { force: true });
    await w.engine.removeNetwork(inner.name);
  });

  it.each(["network:bridge-created", "network:rules-added"])("kill -9 of the engine while it creates a network (at %s), then a clean recovery", async (point) => {
    const before = await w.engine.listNetworks();
    const bridges = new Set(before.map((b) => b.bridge));
    await w.close();

    const child = await startEngineChild({
      stateDir: w.stateDir,
      configFile: w.configFile,
      task: { kind: "create-network", spec: w.networkSpec(n("doomed")), pauseAt: point },
    });
    expect(child.reached).toEqual({ pausedAt: point });
    await child.kill();
    const orphan = ourLinks().find((l) => l.startsWith(`${w.prefix}b-`) && !bridges.has(l));
    expect(orphan, "the killed engine left its bridge behind").toBeDefined();
    if (point === "network:rules-added") expect((await sys("iptables-save", [])).stdout).toContain(orphan!);

    await w.reopen({ alreadyClosed: true });
    expect(ourLinks()).not.toContain(orphan);
    expect((await sys("iptables-save", [])).stdout).not.toContain(orphan!);
    expect((await w.engine.listNetworks()).map((x) => x.name).sort()).toEqual(before.map((x) => x.name).sort());
    // What ran through the crash works again: its DNS is back.
    expect((await wget(client.id, `http://${web.name}/`)).body).toBe(web.name);
    // And the network can be created for real now, on a subnet nobody holds.
    const doomed = await w.engine.createNetwork(w.networkSpec(n("doomed")));
    expect(before.map((x) => x.subnet)).not.toContain(doomed.subnet);
    const d1 = await up(n("d1"), { [doomed.name]: ["alive"] }, { cmd: HTTPD });
    const d2 = await up(n("d2"), { [doomed.name]: [] });
    expect((await wget(d2.id, "http://alive/")).body).toBe(d1.name);
    for (const c of [d1, d2]) await w.engine.removeContainer(c.id, { force: true });
    await w.engine.removeNetwork(doomed.name);
  });

  it("removing the containers and the networks leaves no link, namespace, rule or DNS listener", async () => {
    for (const c of await w.engine.listContainers({ all: true })) await w.engine.removeContainer(c.id, { force: true });
    for (const net of await w.engine.listNetworks()) await w.engine.removeNetwork(net.name);
    expect(ourLinks()).toEqual([]);
    const listeners = (await sys("ss", ["-Hlnu"])).stdout;
    expect(listeners).not.toContain(`${app.gateway}:53 `);
    expect((await w.leaks()).filter((l) => !l.startsWith("DNS"))).toEqual([]);
  });
});
