// Name resolution keys through the real CLI and daemon, checked inside the
// containers: `dns` goes through the network's DNS server (service names keep
// resolving, other names reach the service's own resolver, a tiny one this
// test runs on a loopback address), dns_search and dns_opt in resolv.conf,
// links and external_links as names only the linking container resolves,
// mac_address on eth0, and a long-syntax port with name/app_protocol/mode.
import { randomInt } from "node:crypto";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCli } from "./support/e2e.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";
import { fakeUpstream, httpGet } from "../engine/network/testing.js";

let s: StackSuite;
const project = `tnd${process.pid}`;
const broken = `tndx${process.pid}`;
// external_links name a container of another project on a network both use, as they do in real stacks.
const legacy = `tndl${process.pid}`;
const shared = `tndnet${process.pid}`;
// The service's own resolver: a loopback address of its own, so nothing else on the host answers there.
const resolverIp = `127.77.${randomInt(1, 250)}.53`;
const TEST_NAME = "ext.netdns.test";
const TEST_ADDR = "192.0.2.77";
let resolver: Awaited<ReturnType<typeof fakeUpstream>> | undefined;
const asked = (): string[] => resolver?.queries ?? [];

const legacyStack = `
services:
  olddb:
    image: busybox
    command: ["sleep", "3600"]
networks:
  default:
    name: ${shared}
`;

const stack = `
networks:
  default:
    name: ${shared}
    external: true
services:
  db:
    image: busybox
    command: ["sleep", "3600"]
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && httpd -p 80 -h /www && exec sleep 3600"]
    dns: ["${resolverIp}"]
    dns_search: [search.netdns.test]
    dns_opt: ["timeout:1", "attempts:2"]
    links: ["db:database"]
    mac_address: "02:42:0a:de:00:01"
    ports:
      - { target: 80, host_ip: 127.0.0.1, name: http, app_protocol: http, mode: host }
  plain:
    image: busybox
    command: ["sleep", "3600"]
    external_links: ["${legacy}-olddb-1:legacydb"]
    networks:
      default:
        mac_address: "02:42:0a:de:00:02"
  hostnet:
    image: busybox
    command: ["sleep", "3600"]
    network_mode: host
    dns: ["${resolverIp}"]
    dns_opt: [rotate]
`;

async function cli(args: string[], cwd = s.work): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = spawnCli(s.daemon, args, { cwd });
  const code = await run.exited(240_000);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}
async function ok(args: string[], cwd = s.work): Promise<string> {
  const r = await cli(args, cwd);
  if (r.code !== 0) throw new Error(`tscompose ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
const sh = (service: string, script: string): Promise<string> => ok(["-p", project, "exec", "-T", service, "sh", "-c", script]);
/** The A records busybox nslookup printed after the server's own lines; [] when the lookup failed. */
async function lookup(service: string, name: string): Promise<string[]> {
  const out = await sh(service, `nslookup ${name} 2>&1; echo "exit=$?"`);
  if (!out.includes("exit=0")) return [];
  const answer = out.split(/\nName:/).slice(1).join("\n");
  return [...answer.matchAll(/Address(?: \d+)?:\s*(\d+\.\d+\.\d+\.\d+)/g)].map((m) => m[1]!);
}
const eth0Ip = async (service: string): Promise<string> => /inet (\d+\.\d+\.\d+\.\d+)/.exec(await sh(service, "ip -4 -o addr show eth0"))?.[1] ?? "none";

beforeAll(async () => {
  resolver = await fakeUpstream({ [TEST_NAME]: TEST_ADDR }, { host: resolverIp, port: 53 });
  s = await startStackSuite("netdns", ["busybox"]);
  // Taken down in this order: the legacy project's network outlives the project that uses it.
  s.projects.push({ name: project, cwd: s.work }, { name: legacy, cwd: join(s.work, "legacy") }, { name: broken, cwd: join(s.work, "broken") });
}, 300_000);

afterAll(async () => {
  await resolver?.close();
  expect(await stopStackSuite(s)).toEqual([]);
}, 180_000);

describe("name resolution keys", () => {
  it("dns forwards through the network's server, dns_search/dns_opt shape resolv.conf, links resolve for the linker only, MACs and a named port apply", async () => {
    mkdirSync(join(s.work, "legacy"), { recursive: true });
    writeFileSync(join(s.work, "legacy", "compose.yaml"), legacyStack);
    await ok(["-p", legacy, "up", "-d"], join(s.work, "legacy"));
    writeFileSync(join(s.work, "compose.yaml"), stack);
    await ok(["-p", project, "up", "-d"]);

    // resolv.conf keeps naming the network's server (the gateway), with the user's search and options.
    const conf = (await sh("web", "cat /etc/resolv.conf")).split("\n");
    const gateway = /default via (\S+)/.exec(await sh("web", "ip route"))?.[1];
    expect(conf.filter((l) => l.startsWith("nameserver"))).toEqual([`nameserver ${gateway}`]);
    expect(conf).toContain("search search.netdns.test");
    expect(conf).toContain("options timeout:1 attempts:2 ndots:0");

    // Service names still resolve; other names go to the service's own resolver.
    const dbIp = await eth0Ip("db");
    const oldDbIp = /inet (\d+\.\d+\.\d+\.\d+)/.exec(await ok(["-p", legacy, "exec", "-T", "olddb", "ip", "-4", "-o", "addr", "show", "eth0"], join(s.work, "legacy")))?.[1];
    expect(await lookup("web", "db")).toEqual([dbIp]);
    expect(await lookup("web", TEST_NAME)).toEqual([TEST_ADDR]);
    expect(asked()).toContain(TEST_NAME);

    // Without `dns`, the same name is not asked of that resolver (it goes to the engine's upstream, dead here).
    const before = asked().length;
    expect(await lookup("plain", TEST_NAME)).toEqual([]);
    expect(asked().slice(before)).toEqual([]);
    expect(await lookup("plain", "db")).toEqual([dbIp]); // the positive control of the same container

    // links: "database" is db for web only; external_links: "legacydb" is the other project's container for plain only.
    expect(await lookup("web", "database")).toEqual([dbIp]);
    expect(await lookup("plain", "database")).toEqual([]);
    expect(await lookup("plain", "legacydb")).toEqual([oldDbIp]);
    expect(await lookup("web", "legacydb")).toEqual([]);

    // mac_address: the service's on its network, a network's own on that network.
    expect((await sh("web", "cat /sys/class/net/eth0/address")).trim()).toBe("02:42:0a:de:00:01");
    expect((await sh("plain", "cat /sys/class/net/eth0/address")).trim()).toBe("02:42:0a:de:00:02");

    // The long-syntax port with name, app_protocol and mode: host is published like any other.
    const published = /127\.0\.0\.1:(\d+)/.exec(await ok(["-p", project, "port", "web", "80"]))?.[1];
    expect(published).toBeDefined();
    expect((await httpGet("127.0.0.1", Number(published), "/index.html")).body.trim()).toBe("hello-from-web");

    // A daemon restart keeps each container's resolvers and links (its DNS servers are rebuilt from the records).
    await s.daemon.stop();
    await s.daemon.start();
    const asked2 = asked().length;
    expect(await lookup("web", TEST_NAME)).toEqual([TEST_ADDR]);
    expect(asked().length).toBeGreaterThan(asked2);
    expect(await lookup("web", "database")).toEqual([dbIp]);
    expect(await lookup("plain", "legacydb")).toEqual([oldDbIp]);

    // With the host's network, dns and dns_opt are written into resolv.conf, as dockerd does.
    const hostConf = (await sh("hostnet", "cat /etc/resolv.conf")).split("\n");
    expect(hostConf.filter((l) => l.startsWith("nameserver"))).toEqual([`nameserver ${resolverIp}`]);
    expect(hostConf).toContain("options rotate");
  }, 900_000);

  it("refuses an external link to a container that shares no network, naming it, and leaves no container behind", async () => {
    const dir = join(s.work, "broken");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "compose.yaml"), `services:\n  app:\n    image: busybox\n    command: ["sleep", "3600"]\n    external_links: ["nosuch-container:legacy"]\n`);
    const r = await cli(["-p", broken, "up", "-d"], dir);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/nosuch-container/);
    expect((await ok(["-p", broken, "ps", "-a", "-q"], dir)).trim()).toBe("");
  }, 600_000);
});
