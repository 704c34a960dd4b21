import { describe, expect, it } from "vitest";
import { parseSave, missingBase, ourRules, removeBaseLines } from "./iptables.js";
import { DEFAULT_PREFIXES } from "./names.js";
import { networkRules, portRules, restoreText, toDeletes } from "./rules.js";

const p = DEFAULT_PREFIXES;

describe("rules", () => {
  it("an internal network drops traffic to and from outside and is not masqueraded", () => {
    const r = networkRules(p, { id: "n1", bridge: "tsc-aaaa0000", subnet: "10.213.5.0/24", internal: true });
    expect(r.nat).toEqual([]);
    expect(r.filter).toContain('-A TSCOMPOSE-FORWARD -i tsc-aaaa0000 -m comment --comment "tscompose:n1" -j DROP');
    expect(r.filter).toContain('-A TSCOMPOSE-FORWARD -o tsc-aaaa0000 -m comment --comment "tscompose:n1" -j DROP');
  });

  it("a normal network masquerades outbound traffic and loopback-sourced published-port traffic", () => {
    const r = networkRules(p, { id: "n2", bridge: "tsc-bbbb0000", subnet: "10.213.6.0/24", internal: false });
    expect(r.nat).toContain('-A TSCOMPOSE-POSTROUTING -s 10.213.6.0/24 ! -o tsc-bbbb0000 -m comment --comment "tscompose:n2" -j MASQUERADE');
    expect(r.nat).toContain('-A TSCOMPOSE-POSTROUTING -s 127.0.0.0/8 -o tsc-bbbb0000 -m comment --comment "tscompose:n2" -j MASQUERADE');
    expect(r.filter[0]).toBe('-I TSCOMPOSE-ISOLATION 1 -i tsc-bbbb0000 -o tsc-bbbb0000 -m comment --comment "tscompose:n2" -j RETURN');
  });

  it("lets into a normal network's bridge only replies and published (DNATed) traffic: the rest is dropped after them", () => {
    const r = networkRules(p, { id: "n3", bridge: "tsc-cccc0000", subnet: "10.213.7.0/24", internal: false });
    const into = r.filter.filter((l) => l.includes(" -o tsc-cccc0000 ") && !l.includes(" -i tsc-cccc0000 "));
    expect(into).toEqual([
      '-A TSCOMPOSE-FORWARD -o tsc-cccc0000 -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment "tscompose:n3" -j ACCEPT',
      '-A TSCOMPOSE-FORWARD -o tsc-cccc0000 -m comment --comment "tscompose:n3" -j DROP',
    ]);
    // Traffic between containers of the network is accepted before that drop.
    expect(r.filter.indexOf('-A TSCOMPOSE-FORWARD -i tsc-cccc0000 -o tsc-cccc0000 -m comment --comment "tscompose:n3" -j ACCEPT')).toBeLessThan(r.filter.indexOf(into[1]!));
  });

  it("enable_icc=false drops traffic between the bridge's ports; enable_ip_masquerade=false keeps outbound sources, not the loopback hairpin", () => {
    const r = networkRules(p, { id: "n4", bridge: "tsc-dddd0000", subnet: "10.213.8.0/24", internal: false, icc: false, masquerade: false });
    expect(r.filter).toContain('-A TSCOMPOSE-FORWARD -i tsc-dddd0000 -o tsc-dddd0000 -m comment --comment "tscompose:n4" -j DROP');
    expect(r.filter.some((l) => l.includes("-i tsc-dddd0000 -o tsc-dddd0000") && l.endsWith("-j ACCEPT"))).toBe(false);
    expect(r.nat.some((l) => l.includes("! -o tsc-dddd0000"))).toBe(false);
    expect(r.nat).toContain('-A TSCOMPOSE-POSTROUTING -s 127.0.0.0/8 -o tsc-dddd0000 -m comment --comment "tscompose:n4" -j MASQUERADE');
  });

  it("redirects <gateway>:53 from the network's own bridge to the DNS server's port, in a chain ahead of every published port, and accepts it in INPUT", () => {
    const net = { id: "n5", bridge: "tsc-eeee0000", subnet: "10.213.9.0/24", internal: false, dns: { gateway: "10.213.9.1", port: 40053 } };
    const r = networkRules(p, net);
    const cm = '-m comment --comment "tscompose:n5"';
    expect(r.nat.filter((l) => l.includes("-j DNAT"))).toEqual([
      `-A TSCOMPOSE-DNS -i tsc-eeee0000 -d 10.213.9.1/32 -p udp -m udp --dport 53 ${cm} -j DNAT --to-destination 10.213.9.1:40053`,
      `-A TSCOMPOSE-DNS -i tsc-eeee0000 -d 10.213.9.1/32 -p tcp -m tcp --dport 53 ${cm} -j DNAT --to-destination 10.213.9.1:40053`,
    ]);
    expect(r.filter.filter((l) => l.startsWith("-A TSCOMPOSE-INPUT"))).toEqual([
      `-A TSCOMPOSE-INPUT -i tsc-eeee0000 -d 10.213.9.1/32 -p udp -m udp --dport 40053 ${cm} -j ACCEPT`,
      `-A TSCOMPOSE-INPUT -i tsc-eeee0000 -d 10.213.9.1/32 -p tcp -m tcp --dport 40053 ${cm} -j ACCEPT`,
    ]);
    // The chain is jumped to first in PREROUTING: before the published ports' chain (appended), ours or another engine's.
    const miss = missingBase(p, parseSave("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"));
    expect(miss.lines.nat).toContain("-I PREROUTING 1 -j TSCOMPOSE-DNS");
    expect(miss.lines.nat).toContain("-A PREROUTING -m addrtype --dst-type LOCAL -j TSCOMPOSE-DNAT");
    expect(miss.declare).toContainEqual({ table: "nat", chain: "TSCOMPOSE-DNS" });
    expect(toDeletes(r).nat[0]).toMatch(/^-D TSCOMPOSE-DNS -i tsc-eeee0000 /);
    // Internal networks resolve names too; IPv6 rules have no redirect (the server listens on the IPv4 gateway).
    expect(networkRules(p, { ...net, internal: true }).nat).toHaveLength(2);
    expect(networkRules(p, { ...net, subnet6: "fd00:9::/64" }, 6).nat.some((l) => l.includes("--dport 53"))).toBe(false);
    // A network whose server has no port yet has no DNS rule.
    expect(networkRules(p, { ...net, dns: undefined }).filter.some((l) => l.includes("INPUT"))).toBe(false);
  });

  it("ports become DNAT rules with the owner's comment; deletes mirror adds", () => {
    const r = portRules(p, [
      { ownerId: "c1", protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080, containerIp: "10.213.6.2", containerPort: 80 },
      { ownerId: "c1", protocol: "udp", hostIp: "127.0.0.1", hostPort: 5353, containerIp: "10.213.6.2", containerPort: 53 },
    ]);
    expect(r.nat).toEqual([
      '-A TSCOMPOSE-DNAT -p tcp -m tcp --dport 8080 -m comment --comment "tscompose:c1" -j DNAT --to-destination 10.213.6.2:80',
      '-A TSCOMPOSE-DNAT -d 127.0.0.1/32 -p udp -m udp --dport 5353 -m comment --comment "tscompose:c1" -j DNAT --to-destination 10.213.6.2:53',
    ]);
    expect(toDeletes(r).nat[0]).toMatch(/^-D TSCOMPOSE-DNAT -p tcp /);
    expect(toDeletes({ raw: [], filter: ["-I X 1 -i a -j RETURN"], nat: [] }).filter).toEqual(["-D X -i a -j RETURN"]);
    expect(restoreText(r)).toMatch(/^\*nat\n-A TSCOMPOSE-DNAT .*\nCOMMIT\n$/s);
  });

  it("drops packets from any of our bridges to the host's loopback in raw, ahead of conntrack and DNAT", () => {
    const empty = parseSave("*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
    const miss = missingBase(p, empty);
    expect(miss.declare).toContainEqual({ table: "raw", chain: "TSCOMPOSE-PREROUTING" });
    expect(miss.lines.raw).toEqual(["-A TSCOMPOSE-PREROUTING -d 127.0.0.0/8 -i tsc-+ -j DROP", "-I PREROUTING 1 -j TSCOMPOSE-PREROUTING"]);
    // The table is written out (iptables-restore input lists raw first).
    expect(restoreText(miss.lines, miss.declare)).toMatch(/^\*raw\n:TSCOMPOSE-PREROUTING - \[0:0\]\n-A TSCOMPOSE-PREROUTING -d 127\.0\.0\.0\/8 -i tsc-\+ -j DROP\n/);
  });

  it("gives a user-named bridge its own isolation (both directions, via the second stage) and loopback guard", () => {
    const named = networkRules(p, { id: "n9", bridge: "br-mine", subnet: "10.9.0.0/24", internal: false });
    const cm = '-m comment --comment "tscompose:n9"';
    expect(named.filter).toEqual(
      expect.arrayContaining([
        `-A TSCOMPOSE-ISOLATION -i br-mine ! -o br-mine ${cm} -j TSCOMPOSE-ISOLATION2`,
        `-A TSCOMPOSE-ISOLATION -i tsc-+ -o br-mine ${cm} -j DROP`,
        `-A TSCOMPOSE-ISOLATION2 -o br-mine ${cm} -j DROP`,
      ]),
    );
    expect(named.raw).toEqual([`-A TSCOMPOSE-PREROUTING -d 127.0.0.0/8 -i br-mine ${cm} -j DROP`]);
    // A bridge of ours needs none of it: the wildcard rules cover it.
    const ours = networkRules(p, { id: "n8", bridge: "tsc-12345678", subnet: "10.8.0.0/24", internal: false });
    expect(ours.raw).toEqual([]);
    expect(ours.filter.join("\n")).not.toContain("ISOLATION2");
  });

  it("knows which base pieces are missing and how to remove them all", () => {
    const empty = parseSave("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n");
    const miss = missingBase(p, empty);
    expect(miss.declare.map((d) => d.chain).sort()).toEqual(["TSCOMPOSE-DNAT", "TSCOMPOSE-DNS", "TSCOMPOSE-FORWARD", "TSCOMPOSE-INPUT", "TSCOMPOSE-ISOLATION", "TSCOMPOSE-ISOLATION2", "TSCOMPOSE-POSTROUTING", "TSCOMPOSE-PREROUTING"]);
    expect(miss.lines.filter).toContain("-I FORWARD 1 -j TSCOMPOSE-FORWARD");
    expect(miss.lines.filter).toContain("-A TSCOMPOSE-ISOLATION -i tsc-+ -o tsc-+ -j DROP");
    expect(miss.lines.filter).toContain("-A TSCOMPOSE-ISOLATION2 -o tsc-+ -j DROP");

    const full = parseSave(
      [
        "*filter",
        ":FORWARD ACCEPT [0:0]",
        ":TSCOMPOSE-FORWARD - [0:0]",
        ":TSCOMPOSE-ISOLATION - [0:0]",
        ":TSCOMPOSE-ISOLATION2 - [0:0]",
        ":TSCOMPOSE-INPUT - [0:0]",
        "-A INPUT -j TSCOMPOSE-INPUT",
        "-A FORWARD -j TSCOMPOSE-FORWARD",
        "-A FORWARD -j DOCKER-USER",
        "-A TSCOMPOSE-FORWARD -j TSCOMPOSE-ISOLATION",
        "COMMIT",
        "*nat",
        ":TSCOMPOSE-DNAT - [0:0]",
        ":TSCOMPOSE-DNS - [0:0]",
        ":TSCOMPOSE-POSTROUTING - [0:0]",
        "-A PREROUTING -j TSCOMPOSE-DNS",
        "-A PREROUTING -m addrtype --dst-type LOCAL -j TSCOMPOSE-DNAT",
        "-A OUTPUT -m addrtype --dst-type LOCAL -j TSCOMPOSE-DNAT",
        "-A POSTROUTING -j TSCOMPOSE-POSTROUTING",
        "COMMIT",
        "*raw",
        ":PREROUTING ACCEPT [0:0]",
        ":TSCOMPOSE-PREROUTING - [0:0]",
        "-A PREROUTING -j TSCOMPOSE-PREROUTING",
        "-A TSCOMPOSE-PREROUTING -d 127.0.0.0/8 -i tsc-+ -j DROP",
        "COMMIT",
      ].join("\n"),
    );
    const none = missingBase(p, full);
    expect(none.declare).toEqual([]);
    expect(none.lines).toEqual({ raw: [], filter: [], nat: [] });
    const rm = removeBaseLines(p, full);
    expect(rm.filter).toContain("-D FORWARD -j TSCOMPOSE-FORWARD");
    expect(rm.filter).not.toContain("-D FORWARD -j DOCKER-USER");
    expect(rm.filter.at(-1)).toMatch(/^-X /);
    expect(rm.raw).toEqual(["-D PREROUTING -j TSCOMPOSE-PREROUTING", "-F TSCOMPOSE-PREROUTING", "-X TSCOMPOSE-PREROUTING"]);
    expect(rm.nat).toContain("-D PREROUTING -j TSCOMPOSE-DNS");
    expect(rm.nat).toContain("-X TSCOMPOSE-DNS");
    expect(ourRules(p, full).length).toBeGreaterThan(0);
  });
});
