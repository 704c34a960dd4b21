// A dual-stack compose network on the embedded engine (enable_ipv6 with an
// IPv6 ipam subnet), as the containers and the host see it: IPv6 addresses
// (dynamic and ipv6_address), AAAA answers for service names, IPv6 traffic
// between services, isolation from another network (with its positive
// control), published ports reachable on the host's IPv6 address, and no
// ip6tables rule or link left after `down` (stopStackSuite's leak check).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectCli, startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";
import { httpGet } from "../engine/network/testing.js";
import { poolOctet } from "./support/pools.js";

let s: StackSuite;
const project = `tv6${process.pid}`;
const hex = (process.pid % 0xffff).toString(16);
const v6 = (n: number): string => `fd00:${hex}:${n}::`;
const net = `10.${poolOctet("ipv6")}.${process.pid % 250}`;

const stack = `
services:
  a:
    image: busybox
    command: ["sleep", "3600"]
    networks: [dual]
  b:
    image: busybox
    command: ["sh", "-c", "echo hello-b > /tmp/index.html && exec httpd -f -p '[::]:80' -h /tmp"]
    networks:
      dual: { ipv6_address: "${v6(1)}b0" }
    ports:
      - "80"
      - { target: 80, host_ip: "::" }
  c:
    image: busybox
    command: ["sleep", "3600"]
    networks: [other]
networks:
  dual:
    enable_ipv6: true
    ipam:
      config:
        - subnet: ${net}.0/26
        - subnet: ${v6(1)}/64
  other:
    enable_ipv6: true
    ipam:
      config:
        - subnet: ${net}.64/26
        - subnet: ${v6(2)}/64
`;

const { cli, sh } = projectCli(() => s, project);

beforeAll(async () => {
  s = await startStackSuite("ipv6", ["busybox"]);
  s.projects.push({ name: project, cwd: s.work });
}, 300_000);

afterAll(async () => {
  expect(await stopStackSuite(s, ["-t", "0"])).toEqual([]);
}, 180_000);

describe("a dual-stack network", () => {
  it("gives containers IPv6 addresses, AAAA names, IPv6 reachability within the network only, and ports on the host's IPv6 address", async () => {
    writeFileSync(join(s.work, "compose.yaml"), stack);
    await cli(["up", "-d"]);

    const addrA = (await sh("a", "ip -6 addr show dev eth0 scope global")).match(/inet6 (\S+)\/64/)?.[1];
    expect(addrA?.startsWith(v6(1))).toBe(true);
    expect(await sh("b", "ip -6 addr show dev eth0 scope global")).toContain(`inet6 ${v6(1)}b0/64`);
    expect(await sh("a", "ip -6 route show default")).toContain(`default via ${v6(1)}1 dev eth0`);

    // network inspect in docker's form: IPv6 on, the IPv6 ipam entry, b's IPv6 address.
    const [dual] = JSON.parse(await cli(["network", "inspect", `${project}_dual`])) as {
      EnableIPv6: boolean;
      IPAM: { Config: { Subnet: string; Gateway: string }[] };
      Containers: Record<string, { Name: string; IPv6Address: string }>;
    }[];
    expect(dual?.EnableIPv6).toBe(true);
    expect(dual?.IPAM.Config).toContainEqual({ Subnet: `${v6(1)}/64`, Gateway: `${v6(1)}1` });
    expect(Object.values(dual?.Containers ?? {}).find((c) => c.Name === `${project}-b-1`)?.IPv6Address).toBe(`${v6(1)}b0/64`);

    // The embedded DNS answers AAAA with b's IPv6 address (and A with its IPv4 one).
    const aaaa = await sh("a", "nslookup -type=AAAA b");
    expect(aaaa).toContain(`Address: ${v6(1)}b0`);
    expect(await sh("a", "nslookup -type=A b")).toMatch(new RegExp(`Address: ${net.replace(/\./g, "\\.")}\\.\\d+`));

    // a reaches b over IPv6 (the positive control of the isolation check below); c, on another network, does not.
    const fetch6 = (from: string): Promise<string> => sh(from, `timeout 3 wget -q -O - http://[${v6(1)}b0]/index.html 2>/dev/null || echo unreachable`);
    let got = "";
    for (let i = 0; i < 20 && got !== "hello-b\n"; i++) got = await fetch6("a");
    expect(got).toBe("hello-b\n");
    expect(await fetch6("c")).toBe("unreachable\n");
    expect(await sh("c", `ping -c 1 -W 2 ${v6(1)}b0 >/dev/null 2>&1 && echo yes || echo no`)).toBe("no\n");
    expect(await sh("c", `ping -c 1 -W 2 ${v6(2)}1 >/dev/null 2>&1 && echo yes || echo no`)).toBe("yes\n");

    // Published ports: "80" on every address (IPv4 and IPv6), host_ip "::" on every IPv6 address only.
    const ps = JSON.parse((await cli(["ps", "--format", "json", "b"])).trim().split("\n")[0] ?? "{}") as { Publishers?: { URL: string; PublishedPort: number }[] };
    const all = ps.Publishers?.find((p) => p.URL === "0.0.0.0")?.PublishedPort ?? 0;
    const only6 = ps.Publishers?.find((p) => p.URL === "::")?.PublishedPort ?? 0;
    expect(all).toBeGreaterThan(0);
    expect(only6).toBeGreaterThan(0);
    // The host's own IPv6 address on the network (its bridge's) reaches b through ip6tables' DNAT.
    expect((await httpGet(`${v6(1)}1`, all, "/index.html")).body).toBe("hello-b\n");
    expect((await httpGet(`${v6(1)}1`, only6, "/index.html")).body).toBe("hello-b\n");
    expect((await httpGet("127.0.0.1", all, "/index.html")).body).toBe("hello-b\n");
    await expect(httpGet("127.0.0.1", only6, "/index.html")).rejects.toThrow();

    await cli(["down", "-t", "0"]);
  }, 600_000);
});
