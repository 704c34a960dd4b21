// A container's network namespace and its veth pairs. Cost per container is
// two execs however many networks it joins, and less when containers are set up
// at once (the host-side batches of concurrent calls share one process, see
// ip-batch.ts):
//   1. `ip -batch` in the host: create the netns (first time), and per network a
//      veth pair whose host end is created up and on the bridge while the other
//      end is created directly inside the netns under its final name (eth0...),
//      so it never exists in the host, where "eth0" is taken.
//   2. `ip -n <ns> -batch` inside: loopback up, addresses, links up, default route.
// (Addresses cannot be set before the move: moving a link between namespaces
// drops them. That is why it takes two.)
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { run } from "../sys/exec.js";
import { linkExists } from "./bridge.js";
import { ipBatch } from "./ip-batch.js";
import { IFNAME_MAX, type NamePrefixes } from "./names.js";

export const NETNS_DIR = "/var/run/netns";

export interface EndpointPlan {
  bridge: string;
  hostVeth: string;
  /** Name inside the namespace: eth0, eth1, ... */
  ifname: string;
  ip: string;
  prefixLength: number;
  gateway: string;
  mac: string;
  /** Route the container's default traffic through this network's gateway. */
  defaultRoute: boolean;
  /** On a dual-stack network: the IPv6 address, prefix length and gateway. */
  ip6?: { address: string; prefixLength: number; gateway: string } | undefined;
  /** The network's MTU (both veth ends); default: the manager's. */
  mtu?: number | undefined;
}

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

/** Creates the namespace (when `create`) and the endpoints; on failure removes what this call created. */
export async function setupEndpoints(netns: string, opts: { create: boolean; loopback: boolean; endpoints: readonly EndpointPlan[]; mtu?: number }): Promise<void> {
  const host: string[] = [];
  if (opts.create) host.push(`netns add ${netns}`);
  for (const e of opts.endpoints) {
    const m = e.mtu ?? opts.mtu;
    const mtu = m !== undefined ? ` mtu ${m}` : "";
    host.push(`link add ${e.hostVeth}${mtu} up master ${e.bridge} type veth peer name ${e.ifname}${mtu} address ${e.mac} netns ${netns}`);
    // Hairpin: with br_netfilter, a container's connection to its own published port is
    // DNATed back to itself and bridged out of the port it came in on, which a bridge
    // refuses unless the port is in hairpin mode (Docker sets it for the same case).
    host.push(`link set ${e.hostVeth} type bridge_slave hairpin on`);
  }
  const inside: string[] = [];
  if (opts.loopback) inside.push("link set lo up");
  for (const e of opts.endpoints) {
    inside.push(`addr add ${e.ip}/${e.prefixLength} brd + dev ${e.ifname}`);
    // nodad: the address is ours by IPAM; duplicate address detection would only keep it tentative (unusable) for a second or two.
    if (e.ip6) inside.push(`addr add ${e.ip6.address}/${e.ip6.prefixLength} dev ${e.ifname} nodad`);
    inside.push(`link set ${e.ifname} up`);
    if (e.defaultRoute) inside.push(...defaultRoutes(e));
  }
  try {
    await ipBatch(host);
    if (inside.length > 0) await run("ip", ["-n", netns, "-batch", "-"], { input: inside.join("\n") + "\n" });
  } catch (err) {
    await teardown(
      opts.create ? netns : undefined,
      opts.endpoints.map((e) => e.hostVeth),
    );
    throw err;
  }
}

/** `ip route` lines for an endpoint's default routes (ip takes the family from the gateway's address). */
function defaultRoutes(e: { gateway: string; ifname: string; ip6?: { gateway: string } | undefined }): string[] {
  return [`route replace default via ${e.gateway} dev ${e.ifname}`, ...(e.ip6 ? [`route replace default via ${e.ip6.gateway} dev ${e.ifname}`] : [])];
}

/** Points the default route at another endpoint (the one that had it was detached). */
export async function setDefaultRoute(netns: string, e: { gateway: string; ifname: string; ip6?: { gateway: string } | undefined }): Promise<void> {
  await run("ip", ["-n", netns, "-batch", "-"], { input: defaultRoutes(e).join("\n") + "\n" });
}

/**
 * Deletes the namespace, when given, and the host veth ends. Deleting the
 * namespace takes its veth pairs with it, in the kernel's batched namespace
 * cleanup: 12 ms per container here, against 39 ms when each host end is
 * deleted first (one synchronous unregister each). Host ends still there
 * after that (a process still held the namespace), and those of a namespace
 * that stays, are deleted explicitly, carrying on past missing pieces.
 */
export async function teardown(netns: string | undefined, hostVeths: readonly string[]): Promise<void> {
  let r: { stderr: string } = { stderr: "" };
  if (netns !== undefined && netnsExists(netns)) {
    r = await ipBatch([`netns del ${netns}`], { allowFailure: true });
    // The cleanup runs in a kernel worker: the pairs go a moment later.
    for (let i = 0; i < 20 && hostVeths.some((v) => linkExists(v)); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const lines = hostVeths.filter((v) => linkExists(v)).map((v) => `link del ${v}`);
  if (lines.length > 0) r = await ipBatch(lines, { allowFailure: true });
  const left = [...hostVeths.filter((v) => linkExists(v)), ...(netns !== undefined && netnsExists(netns) ? [`netns ${netns}`] : [])];
  if (left.length > 0) throw new Error(`could not remove ${left.join(", ")}: ${r.stderr.trim()}`);
}

/**
 * Deletes links and namespaces that carry our prefixes but are not in
 * `keep` (repair after a crash), in one (shared) exec. Matching is strict (prefix plus
 * the exact generated length and hex) so nobody else's device is touched.
 */
export async function removeUnowned(p: NamePrefixes, keep: { bridges: ReadonlySet<string>; veths: ReadonlySet<string>; namespaces: ReadonlySet<string> }): Promise<string[]> {
  const removed: string[] = [];
  const batch: string[] = [];
  for (const link of await readdir("/sys/class/net").catch(() => [] as string[])) {
    if (generated(link, p.bridge, 8) && !keep.bridges.has(link)) {
      batch.push(`link del ${link}`);
      removed.push(`bridge ${link}`);
    } else if (generated(link, p.veth, IFNAME_MAX - p.veth.length) && !keep.veths.has(link)) {
      batch.push(`link del ${link}`);
      removed.push(`veth ${link}`);
    }
  }
  for (const ns of await readdir(NETNS_DIR).catch(() => [] as string[])) {
    if (ns.startsWith(p.netns) && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(ns.slice(p.netns.length)) && !keep.namespaces.has(ns)) {
      batch.push(`netns del ${ns}`);
      removed.push(`netns ${ns}`);
    }
  }
  await ipBatch(batch, { allowFailure: true });
  return removed;
}

function generated(name: string, prefix: string, hexLen: number): boolean {
  return name.length === prefix.length + hexLen && name.startsWith(prefix) && /^[0-9a-f]+$/.test(name.slice(prefix.length));
}
