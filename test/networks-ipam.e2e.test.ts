// Network settings of a compose file as the containers see them on the
// embedded engine: ipam ip_range and aux_addresses (which addresses are handed
// out), the bridge's MTU (eth0 inside), enable_icc=false (neighbours cannot
// talk, with a positive control on another network), gw_priority (which
// network holds the default route) and host_binding_ipv4 (where a port that
// names no host address is published).
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCli } from "./support/e2e.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";
import { httpGet } from "../engine/network/testing.js";
import { poolOctet } from "./support/pools.js";

let s: StackSuite;
const project = `tni${process.pid}`;
// A pool of the suite's own (test/support/pools.ts), away from the test daemons' automatic ones.
const net = `10.${poolOctet("networks-ipam")}.${process.pid % 250}`;

const modes = `tnm${process.pid}`;
const modesStack = `
services:
  x:
    image: busybox
    command: ["sleep", "3600"]
    network_mode: bridge
  y:
    image: busybox
    command: ["sleep", "3600"]
    network_mode: bridge
  z:
    image: busybox
    command: ["sleep", "3600"]
    network_mode: "service:x"
  v:
    image: busybox
    command: ["sleep", "3600"]
`;

const conn = `tnc${process.pid}`;
const connStack = `
services:
  p:
    image: busybox
    command: ["sleep", "3600"]
    networks: [one]
  q:
    image: busybox
    command: ["sleep", "3600"]
    networks: [two]
networks:
  one: {}
  two: {}
`;

const stack = `
services:
  a:
    image: busybox
    command: ["sleep", "3600"]
    networks:
      quiet: {}
      out: { gw_priority: 10 }
  b:
    image: busybox
    command: ["sleep", "3600"]
    networks: [quiet]
  c:
    image: busybox
    command: ["sh", "-c", "echo hello-c > /tmp/index.html && exec httpd -f -p 80 -h /tmp"]
    networks: [out]
    ports: ["80"]
networks:
  quiet:
    driver_opts:
      com.docker.network.driver.mtu: "1400"
      com.docker.network.bridge.enable_icc: "false"
    ipam:
      config:
        - subnet: ${net}.0/24
          ip_range: ${net}.64/28
          aux_addresses: { printer: ${net}.64 }
  out:
    driver_opts:
      com.docker.network.bridge.host_binding_ipv4: 127.0.0.1
`;

async function cli(args: string[], proj = project): Promise<string> {
  const run = spawnCli(s.daemon, ["-p", proj, ...args], { cwd: s.work });
  const code = await run.exited(240_000);
  if (code !== 0) throw new Error(`tscompose ${args.join(" ")} exited ${code}: ${run.stderr()}`);
  return run.stdout();
}
const sh = (service: string, script: string, proj = project): Promise<string> => cli(["exec", "-T", service, "sh", "-c", script], proj);
/** `ip -o -4 addr` of a container: interface -> address. */
async function addresses(service: string, proj = project): Promise<Record<string, string>> {
  const out = await sh(service, "ip -o -4 addr show", proj);
  const found: Record<string, string> = {};
  for (const m of out.matchAll(/^\d+: (\S+)\s+inet (\S+)\//gm)) if (m[1] !== "lo") found[m[1] as string] = m[2] as string;
  return found;
}
const ifOn = (addrs: Record<string, string>, prefix: string): string | undefined => Object.entries(addrs).find(([, ip]) => ip.startsWith(`${prefix}.`))?.[0];

beforeAll(async () => {
  s = await startStackSuite("networks-ipam", ["busybox"]);
  s.projects.push({ name: project, cwd: s.work }, { name: modes, cwd: s.work }, { name: conn, cwd: join(s.work, "conn") });
}, 300_000);

afterAll(async () => {
  // The default bridge network outlives every stack, as docker's does: the test removes it once its stack is down.
  await cli(["-f", "modes.yaml", "down", "-t", "0"], modes).catch(() => undefined);
  await cli(["network", "rm", "bridge"]).catch(() => undefined);
  expect(await stopStackSuite(s, ["-t", "0"])).toEqual([]);
}, 180_000);

describe("network ipam and bridge options", () => {
  it("ip_range, aux_addresses, mtu, enable_icc=false, gw_priority and host_binding_ipv4 as the containers see them", async () => {
    writeFileSync(join(s.work, "compose.yaml"), stack);
    await cli(["up", "-d"]);
    const a = await addresses("a");
    const b = await addresses("b");
    const c = await addresses("c");

    // Dynamic addresses come from the range (.64-.79) and skip the aux address .64.
    const quietA = ifOn(a, net);
    const quietB = ifOn(b, net);
    expect(quietA).toBeDefined();
    for (const ip of [a[quietA as string], b[quietB as string]]) {
      const last = Number(ip?.split(".")[3]);
      expect(last).toBeGreaterThan(64);
      expect(last).toBeLessThan(80);
    }

    // The network's MTU is the container's interface MTU; the other network keeps the default.
    expect(await sh("a", `cat /sys/class/net/${quietA}/mtu`)).toBe("1400\n");
    const outA = Object.keys(a).find((i) => i !== quietA) as string;
    expect(await sh("a", `cat /sys/class/net/${outA}/mtu`)).toBe("1500\n");

    // gw_priority: the default route goes through "out" although "quiet" is attached first.
    expect(await sh("a", "ip route show default")).toMatch(new RegExp(`dev ${outA}\\b`));

    // enable_icc=false: a cannot reach b on "quiet"; positive control: a reaches c on "out".
    const ipC = Object.values(c)[0] as string;
    expect(await sh("a", `ping -c 1 -W 2 ${ipC} >/dev/null && echo ok`)).toBe("ok\n");
    expect(await sh("a", `ping -c 1 -W 2 ${b[quietB as string] ?? ""} >/dev/null && echo ok || echo blocked`)).toBe("blocked\n");

    // host_binding_ipv4: the port is published on 127.0.0.1 only, not on the host's other addresses.
    const port = Number(/:(\d+)\s*$/.exec((await cli(["port", "c", "80"])).trim())?.[1]);
    expect(port).toBeGreaterThan(0);
    expect((await httpGet("127.0.0.1", port, "/index.html")).body).toBe("hello-c\n");
    const gatewayOut = (await sh("c", "ip route show default")).match(/via (\S+)/)?.[1] as string;
    await expect(httpGet(gatewayOut, port, "/index.html")).rejects.toThrow();

    await cli(["down", "-t", "0"]);
  }, 600_000);

  it("network_mode: bridge joins docker's default network (no service names on it, left by down); service:x shares x's interfaces", async () => {
    writeFileSync(join(s.work, "modes.yaml"), modesStack);
    const m = (args: string[]): Promise<string> => cli(["-f", "modes.yaml", ...args], modes);
    await m(["up", "-d"]);
    const x = await addresses("x", modes);
    const y = await addresses("y", modes);
    const ipX = Object.values(x)[0] as string;
    const ipY = Object.values(y)[0] as string;
    expect(ipX).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // Both on the one default network: same /24, and they reach each other by address.
    expect(ipY.split(".").slice(0, 3)).toEqual(ipX.split(".").slice(0, 3));
    expect(await m(["exec", "-T", "x", "sh", "-c", `ping -c 1 -W 2 ${ipY} >/dev/null && echo ok`])).toBe("ok\n");
    // No service-name DNS there; positive control: v, on the project's default network, resolves itself by name.
    expect(await m(["exec", "-T", "v", "sh", "-c", "timeout 5 nslookup v >/dev/null 2>&1 && echo found || echo none"])).toBe("found\n");
    expect(await m(["exec", "-T", "x", "sh", "-c", "timeout 5 nslookup y >/dev/null 2>&1 && echo found || echo none"])).toBe("none\n");
    // service:x: z has x's interfaces and address.
    expect(await addresses("z", modes)).toEqual(x);

    await m(["down", "-t", "0"]);
    expect(await cli(["network", "inspect", "bridge"])).toMatch(/bridge/);
  }, 600_000);

  it("network connect/disconnect: a running container joins another network (reaches its containers by name, answers to its alias there) and leaves it (its veth gone)", async () => {
    const dir = join(s.work, "conn");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "compose.yaml"), connStack);
    const c = async (args: string[]): Promise<string> => {
      const run = spawnCli(s.daemon, ["-p", conn, ...args], { cwd: dir });
      const code = await run.exited(240_000);
      if (code !== 0) throw new Error(`tscompose ${args.join(" ")} exited ${code}: ${run.stderr()}`);
      return run.stdout();
    };
    const inP = (script: string): Promise<string> => c(["exec", "-T", "p", "sh", "-c", script]);
    const reach = (from: string, name: string): Promise<string> => c(["exec", "-T", from, "sh", "-c", `ping -c 1 -W 2 ${name} >/dev/null 2>&1 && echo yes || echo no`]);
    const hostHasIfindex = (index: string): boolean => execFileSync("ip", ["-o", "link"], { encoding: "utf8" }).split("\n").some((l) => l.startsWith(`${index}: `));
    await c(["up", "-d"]);
    // Positive control first: each reaches itself by name; p does not reach q across networks.
    expect(await reach("p", "p")).toBe("yes\n");
    expect(await reach("p", "q")).toBe("no\n");

    // What inspect shows: the network's containers and the container's networks (ps --format json's Networks).
    const members = async (network: string): Promise<string[]> => {
      const [n] = JSON.parse(await c(["network", "inspect", network])) as { Containers: Record<string, { Name: string }> }[];
      return Object.values(n?.Containers ?? {}).map((x) => x.Name).sort();
    };
    const networksOfP = async (): Promise<string> => (JSON.parse((await c(["ps", "--format", "json", "p"])).trim()) as { Networks: string }).Networks;
    expect(await members(`${conn}_two`)).toEqual([`${conn}-q-1`]);
    expect(await networksOfP()).toBe(`${conn}_one`);

    await c(["network", "connect", "--alias", "pp", `${conn}_two`, `${conn}-p-1`]);
    expect(await members(`${conn}_two`)).toEqual([`${conn}-p-1`, `${conn}-q-1`]);
    expect(await networksOfP()).toBe(`${conn}_one,${conn}_two`);
    expect(await reach("p", "q")).toBe("yes\n");
    expect(await reach("q", "pp")).toBe("yes\n");
    expect(await inP("ls /sys/class/net | sort | tr '\\n' ' '")).toBe("eth0 eth1 lo ");
    const hostEnd = (await inP("cat /sys/class/net/eth1/iflink")).trim();
    expect(hostHasIfindex(hostEnd)).toBe(true);

    await c(["network", "disconnect", `${conn}_two`, `${conn}-p-1`]);
    expect(await members(`${conn}_two`)).toEqual([`${conn}-q-1`]);
    expect(await networksOfP()).toBe(`${conn}_one`);
    expect(await reach("p", "q")).toBe("no\n");
    expect(await reach("q", "pp")).toBe("no\n");
    expect(await inP("ls /sys/class/net | sort | tr '\\n' ' '")).toBe("eth0 lo ");
    expect(hostHasIfindex(hostEnd)).toBe(false);
    // -f: disconnecting again is no error; without it, it is.
    await c(["network", "disconnect", "-f", `${conn}_two`, `${conn}-p-1`]);
    await expect(c(["network", "disconnect", `${conn}_two`, `${conn}-p-1`])).rejects.toThrow(/not attached/);
    await c(["down", "-t", "0"]);
  }, 600_000);
});
