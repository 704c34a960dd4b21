import { describe, expect, it } from "vitest";
import { networkDnsView, type DnsViewNetwork } from "./dnsview.js";
import { NameRegistry } from "./registry.js";

const networks = new Map<string, DnsViewNetwork>([
  ["front", { name: "proj_front", subnet: "10.213.1.0/24", internal: false }],
  ["back", { name: "proj_back", subnet: "10.213.2.0/24", internal: true }],
]);
const registry = new NameRegistry();
registry.add({ containerId: "web", networkId: "front", ip: "10.213.1.2", names: ["proj-web-1", "web"] });
registry.add({ containerId: "web", networkId: "back", ip: "10.213.2.2", names: ["proj-web-1", "web"] });
registry.add({ containerId: "db", networkId: "back", ip: "10.213.2.3", names: ["proj-db-1", "db"] });
registry.add({ containerId: "proxy", networkId: "front", ip: "10.213.1.3", names: ["proxy"] });
const ctx = { registry, networks, search: ["corp.test"] };

describe("networkDnsView", () => {
  const front = networkDnsView("front", ctx);
  const back = networkDnsView("back", ctx);

  it("lets a container on two networks resolve names of both through one server", () => {
    expect(front.lookup("db", "10.213.1.2")).toEqual(["10.213.2.3"]);
    expect(front.lookup("proxy", "10.213.1.2")).toEqual(["10.213.1.3"]);
  });

  it("hides other networks from a container on one network, and everything from strangers", () => {
    expect(front.lookup("db", "10.213.1.3")).toBeUndefined();
    expect(front.lookup("proxy", "10.213.2.3")).toBeUndefined(); // a client from another subnet
  });

  it("accepts only containers registered on the network: not the host, not unknown addresses, not other networks' containers", () => {
    expect(front.accepts("10.213.1.2")).toBe(true);
    expect(front.accepts("10.213.1.3")).toBe(true);
    expect(back.accepts("10.213.2.3")).toBe(true);
    expect(front.accepts("10.213.1.1")).toBe(false); // the host, through the gateway address
    expect(front.accepts("10.213.1.77")).toBe(false); // an address of the subnet no container holds
    expect(front.accepts("10.213.2.3")).toBe(false); // db, a container of another network
    expect(front.accepts("192.168.1.20")).toBe(false); // a LAN machine routed to the gateway
    expect(front.mayForward("10.213.1.1")).toBe(false);
    expect(front.lookup("proxy", "10.213.1.1")).toBeUndefined();
  });

  it("prefers the address on the network asked through, and honours search domains and network suffixes", () => {
    expect(back.lookup("web", "10.213.2.3")).toEqual(["10.213.2.2"]);
    expect(front.lookup("web", "10.213.1.3")).toEqual(["10.213.1.2"]);
    expect(front.lookup("proxy.corp.test", "10.213.1.2")).toEqual(["10.213.1.3"]);
    expect(front.lookup("web.proj_back", "10.213.1.2")).toEqual(["10.213.2.2"]);
  });

  it("does not forward for clients only on internal networks", () => {
    expect(back.mayForward("10.213.2.3")).toBe(false);
    expect(front.mayForward("10.213.1.2")).toBe(true);
    expect(back.mayForward("10.213.2.2")).toBe(true); // web is also on front
  });

  it("resolves a container's link aliases for that container only, before other names, and gives its own resolvers", () => {
    const own = [{ host: "192.0.2.53", port: 53 }];
    const withLinks = networkDnsView("front", {
      ...ctx,
      containerDns: (id) => (id === "web" ? { servers: own, links: [{ alias: "database", target: "db" }, { alias: "proxy", target: "proj-db-1" }], search: ["own.test"] } : undefined),
    });
    expect(withLinks.lookup("database", "10.213.1.2")).toEqual(["10.213.2.3"]);
    expect(withLinks.lookup("database.corp.test", "10.213.1.2")).toEqual(["10.213.2.3"]);
    expect(withLinks.lookup("db.own.test", "10.213.1.2")).toEqual(["10.213.2.3"]); // its own dns_search
    expect(withLinks.lookup("web.own.test", "10.213.1.3")).toBeUndefined(); // not another container's
    expect(withLinks.lookup("proxy", "10.213.1.2")).toEqual(["10.213.2.3"]); // the alias wins over the container named proxy
    expect(withLinks.lookup("database", "10.213.1.3")).toBeUndefined(); // proxy has no such link
    expect(withLinks.lookup("proxy", "10.213.1.3")).toEqual(["10.213.1.3"]);
    expect(withLinks.upstreams("10.213.1.2")).toEqual(own);
    expect(withLinks.upstreams("10.213.1.3")).toBeUndefined();
    expect(front.upstreams("10.213.1.2")).toBeUndefined();
  });

  it("answers PTR inside our subnets only", () => {
    expect(front.reverse("10.213.1.3", "10.213.1.2")).toBe("proxy.proj_front");
    expect(front.reverse("10.213.1.99", "10.213.1.2")).toBeNull();
    expect(front.reverse("192.0.2.7", "10.213.1.2")).toBeUndefined();
  });
});
