import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Ipam } from "./ipam.js";
import { parseCidr } from "./ipv4.js";
import { parseProcRoutes } from "./routes.js";

const pools = [{ base: "10.213.0.0/16", size: 24 }];
const route = (cidr: string, dev = "eth9"): { network: number; prefix: number; dev: string } => ({ ...parseCidr(cidr), dev });

describe("Ipam", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ipam-"));
    file = join(dir, "ipam.json");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("carves /24s from the pool, skipping taken subnets and host routes, gateway .1", async () => {
    const { ipam } = await Ipam.open(file);
    const hostRoutes = [route("10.213.0.0/23"), route("10.213.3.0/24")];
    expect(await ipam.allocateSubnet("a", { pools, hostRoutes })).toEqual({ subnet: "10.213.2.0/24", gateway: "10.213.2.1" });
    expect(await ipam.allocateSubnet("b", { pools, hostRoutes })).toEqual({ subnet: "10.213.4.0/24", gateway: "10.213.4.1" });
    // Asking again for the same network is idempotent.
    expect(await ipam.allocateSubnet("a", { pools, hostRoutes })).toEqual({ subnet: "10.213.2.0/24", gateway: "10.213.2.1" });
  });

  it("accepts an explicit subnet and gateway, and refuses overlaps with clear errors", async () => {
    const { ipam } = await Ipam.open(file);
    expect(await ipam.allocateSubnet("a", { subnet: "10.213.40.0/22", gateway: "10.213.40.254", pools, hostRoutes: [] })).toEqual({ subnet: "10.213.40.0/22", gateway: "10.213.40.254" });
    await expect(ipam.allocateSubnet("b", { subnet: "10.213.41.0/24", pools, hostRoutes: [] })).rejects.toThrow(/overlaps subnet 10.213.40.0\/22/);
    await expect(ipam.allocateSubnet("c", { subnet: "192.0.2.0/24", pools, hostRoutes: [route("192.0.2.0/24", "eth0")] })).rejects.toThrow(/host's route 192.0.2.0\/24 on eth0/);
    await expect(ipam.allocateSubnet("d", { subnet: "10.213.50.1/24", pools, hostRoutes: [] })).rejects.toThrow(/host bits/);
    await expect(ipam.allocateSubnet("e", { subnet: "10.213.60.0/24", gateway: "10.213.61.1", pools, hostRoutes: [] })).rejects.toThrow(/not a host address/);
  });

  it("hands out dynamic addresses only from ip_range, never an aux address; static ones anywhere in the subnet; a reopened table keeps both", async () => {
    const { ipam } = await Ipam.open(file);
    await ipam.allocateSubnet("n", { subnet: "10.213.70.0/24", ipRange: "10.213.70.8/30", reserved: ["10.213.70.9"], pools, hostRoutes: [] });
    const got = [await ipam.allocateAddress("n", "c1"), await ipam.allocateAddress("n", "c2"), await ipam.allocateAddress("n", "c3")];
    expect(got).toEqual(["10.213.70.8", "10.213.70.10", "10.213.70.11"]);
    await expect(ipam.allocateAddress("n", "c4")).rejects.toThrow(/no free address left in 10.213.70.8\/30/);
    expect(await ipam.allocateAddress("n", "c5", "10.213.70.200")).toBe("10.213.70.200");
    await expect(ipam.allocateAddress("n", "c6", "10.213.70.9")).rejects.toThrow(/reserved/);
    await ipam.releaseOwner("c2");
    const again = (await Ipam.open(file)).ipam;
    expect(await again.allocateAddress("n", "c7")).toBe("10.213.70.10");
    await expect(again.allocateAddress("n", "c8")).rejects.toThrow(/no free address/);
  });

  it("never hands out an address twice, honours static addresses and frees on release", async () => {
    const { ipam } = await Ipam.open(file);
    await ipam.allocateSubnet("n", { subnet: "10.213.70.0/29", pools, hostRoutes: [] });
    // .1 is the gateway; .2-.6 are usable.
    const got = await Promise.all(["c1", "c2", "c3"].map((c) => ipam.allocateAddress("n", c)));
    expect(new Set(got).size).toBe(3);
    expect(got.sort()).toEqual(["10.213.70.2", "10.213.70.3", "10.213.70.4"]);
    await expect(ipam.allocateAddress("n", "c9", "10.213.70.3")).rejects.toThrow(/already in use/);
    await expect(ipam.allocateAddress("n", "c9", "10.213.70.1")).rejects.toThrow(/not a usable host address/);
    expect(await ipam.allocateAddress("n", "c4", "10.213.70.6")).toBe("10.213.70.6");
    expect(await ipam.allocateAddress("n", "c5")).toBe("10.213.70.5");
    await expect(ipam.allocateAddress("n", "c6")).rejects.toThrow(/no free address/);
    await ipam.releaseOwner("c2");
    expect(await ipam.allocateAddress("n", "c6")).toBe("10.213.70.3");
    await expect(ipam.releaseSubnet("n")).rejects.toThrow(/active endpoints/);
  });

  it("does not reuse a just-freed address while others are free", async () => {
    const { ipam } = await Ipam.open(file);
    await ipam.allocateSubnet("n", { subnet: "10.213.71.0/24", pools, hostRoutes: [] });
    const a = await ipam.allocateAddress("n", "c1");
    await ipam.releaseOwner("c1", "n");
    expect(await ipam.allocateAddress("n", "c2")).not.toBe(a);
  });

  it("persists across reopen, and reports a corrupt file", async () => {
    const first = (await Ipam.open(file)).ipam;
    await first.allocateSubnet("n", { pools, hostRoutes: [] });
    const ip = await first.allocateAddress("n", "c1");
    const again = await Ipam.open(file);
    expect(again.corrupt).toBe(false);
    expect(again.ipam.addresses("n")).toEqual({ [ip]: "c1" });
    await writeFile(file, "{ half");
    const broken = await Ipam.open(file);
    expect(broken.corrupt).toBe(true);
    expect(broken.ipam.networkIds()).toEqual([]);
    // The bad file is kept beside, for a human.
    const aside = (await readdir(dirname(file))).filter((n) => n.startsWith(`${basename(file)}.corrupt-`));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(dirname(file), aside[0] ?? ""), "utf8")).toBe("{ half");
  });

  it("reconciles with the records: drops unknown networks and addresses, restores missing ones", async () => {
    const { ipam } = await Ipam.open(file);
    await ipam.allocateSubnet("keep", { subnet: "10.213.80.0/24", pools, hostRoutes: [] });
    await ipam.allocateSubnet("gone", { subnet: "10.213.81.0/24", pools, hostRoutes: [] });
    await ipam.allocateAddress("keep", "live");
    await ipam.allocateAddress("keep", "dead");
    const dropped = await ipam.reconcile(
      new Map([["keep", { subnet: "10.213.80.0/24", gateway: "10.213.80.1", addresses: new Map([["10.213.80.2", "live"], ["10.213.80.9", "other"]]) }]]),
    );
    expect(dropped.join("\n")).toMatch(/10.213.81.0\/24/);
    expect(dropped.join("\n")).toMatch(/10.213.80.3/);
    expect(ipam.networkIds()).toEqual(["keep"]);
    expect(ipam.addresses("keep")).toEqual({ "10.213.80.2": "live", "10.213.80.9": "other" });
  });
});

describe("host routes", () => {
  it("parses /proc/net/route and leaves out the default route", () => {
    const text = [
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
      "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
      "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
      "br0\t0000D50A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
    ].join("\n");
    const routes = parseProcRoutes(text);
    expect(routes).toEqual([
      { dev: "eth0", ...parseCidr("192.0.2.0/24") },
      { dev: "br0", ...parseCidr("10.213.0.0/16") },
    ]);
  });
});
