// A network in the kernel: a Linux bridge holding the gateway address, the
// host settings it needs, and its iptables rules. One `ip -batch` exec (shared
// with other host-side batches waiting at the time, see ip-batch.ts) creates
// the device, one iptables-restore installs its rules (plus one iptables-save
// the first time, to add our base chains if they are missing).
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { ipBatch } from "./ip-batch.js";
import { macForIp, parseIp } from "./ipv4.js";
import { iptablesRestore, iptablesSave, missingBase, removeBaseLines } from "./iptables.js";
import type { NamePrefixes } from "./names.js";
import { emptyLines, mergeLines, networkRules, restoreText, TABLES, toDeletes, type Family, type NetworkRuleSpec, type RuleLines } from "./rules.js";

export interface BridgeSpec extends NetworkRuleSpec {
  gateway: string;
  prefixLength: number;
  /** A dual-stack network's IPv6 gateway address and prefix length. */
  gateway6?: { address: string; prefixLength: number } | undefined;
  mtu?: number | undefined;
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** Creates the bridge with its gateway address and brings it up; an existing bridge of that name is reused (repair after a crash). */
export async function createBridge(spec: BridgeSpec): Promise<void> {
  const b = spec.bridge;
  const lines: string[] = [];
  if (!linkExists(b)) {
    // A fixed MAC: otherwise the bridge takes the lowest MAC of its ports and changes it as
    // containers come and go, which makes every container's ARP entry for the gateway stale.
    lines.push(`link add ${b} address ${macForIp(parseIp(spec.gateway))} type bridge`);
  }
  // An empty bridge takes any MTU; once ports join it follows the smallest of theirs (so veths get the same).
  if (spec.mtu !== undefined) lines.push(`link set ${b} mtu ${spec.mtu}`);
  lines.push(`addr replace ${spec.gateway}/${spec.prefixLength} brd + dev ${b}`);
  if (spec.gateway6) lines.push(`addr replace ${spec.gateway6.address}/${spec.gateway6.prefixLength} dev ${b} nodad`);
  lines.push(`link set ${b} up`);
  try {
    await ipBatch(lines);
  } catch (err) {
    if (lines[0]?.startsWith("link add")) await removeBridge(b);
    throw err;
  }
  // Published ports on 127.0.0.1 are DNATed from the host's OUTPUT path into the bridge with
  // a loopback source address, which the kernel drops unless route_localnet is on for the
  // outgoing device. Per bridge, as Docker does, rather than for every interface of the host.
  // It also makes the kernel accept packets *to* 127.0.0.0/8 arriving on the bridge, i.e. a
  // container could reach the host's loopback services (CVE-2020-8558): the raw-table guard
  // in rules.ts drops those. (The alternative, a userland proxy per published port like
  // docker-proxy, would need no route_localnet but costs a process per port, see ports.ts.)
  if (!spec.internal) await writeSysctl(`/proc/sys/net/ipv4/conf/${b}/route_localnet`, "1");
}

/**
 * IPv6 forwarding, once a network has IPv6 (dockerd sets it too). Written only
 * then: on a host that takes its own address from router advertisements,
 * forwarding=1 makes the kernel stop accepting them (unless accept_ra=2).
 */
export async function prepareHostIpv6(): Promise<void> {
  await writeSysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
}

export async function removeBridge(name: string): Promise<void> {
  const r = await ipBatch([`link del ${name}`], { allowFailure: true });
  if (r.failures.length > 0 && linkExists(name)) throw new Error(`ip link del ${name} failed: ${r.stderr.trim()}`);
}

/** Exists when the br_netfilter module is loaded. */
export const BR_NETFILTER = "/proc/sys/net/bridge/bridge-nf-call-iptables";

/** Host-wide settings a routed bridge needs; each is written only when it differs. */
export async function prepareHost(): Promise<void> {
  await writeSysctl("/proc/sys/net/ipv4/ip_forward", "1");
  // br_netfilter is loaded when this file exists. With it on, conntrack sees traffic bridged
  // between two containers, so replies to a DNATed connection are translated back even when
  // they never leave the bridge (Docker sets it for the same reason). Our FORWARD rules accept
  // same-bridge traffic explicitly, so a host with FORWARD policy DROP keeps working.
  if (existsSync(BR_NETFILTER)) await writeSysctl(BR_NETFILTER, "1");
}

async function writeSysctl(path: string, value: string): Promise<void> {
  try {
    if ((await readFile(path, "utf8")).trim() === value) return;
  } catch {
    // unreadable: try writing anyway, the write reports the real problem
  }
  await writeFile(path, value);
}

/** Installs the network's rules, creating our base chains and jumps first if any is missing. */
export async function addNetworkRules(p: NamePrefixes, spec: NetworkRuleSpec, opts: { baseKnownPresent: boolean; family?: Family }): Promise<void> {
  const family = opts.family ?? 4;
  const rules = networkRules(p, spec, family);
  if (opts.baseKnownPresent) {
    try {
      await iptablesRestore(restoreText(rules), family);
      return;
    } catch {
      // Our chains were removed behind our back (a firewall reload): check and recreate below.
    }
  }
  await applyWithBase(p, rules, family);
}

/** Applies `rules` together with whatever part of our base chains and jumps is missing, in one transaction. */
export async function applyWithBase(p: NamePrefixes, rules: RuleLines, family: Family = 4): Promise<void> {
  const base = missingBase(p, await iptablesSave(family), family);
  await iptablesRestore(restoreText(mergeLines(base.lines, rules), base.declare), family);
}

/**
 * Removes the network's rules by their exact spec (one exec). If that fails
 * (a rule is already gone: someone flushed the table), falls back to deleting
 * whatever carries the network's comment. With `lastNetwork`, the base chains
 * and jumps go too, so a host without tscompose networks has no trace of us.
 */
export async function removeNetworkRules(p: NamePrefixes, spec: NetworkRuleSpec, opts: { lastNetwork: boolean; family?: Family }): Promise<void> {
  const family = opts.family ?? 4;
  if (opts.lastNetwork) {
    await iptablesRestore(restoreText(removeBaseLines(p, await iptablesSave(family))), family);
    return;
  }
  try {
    await iptablesRestore(restoreText(toDeletes(networkRules(p, spec, family))), family);
  } catch {
    await deleteByComment(spec.id, [family]);
  }
}

/** Deletes every rule (in any table we use, of each family) whose comment names `ownerId`. */
export async function deleteByComment(ownerId: string, families: readonly Family[] = [4]): Promise<void> {
  for (const family of families) {
    const saved = await iptablesSave(family);
    const tag = `tscompose:${ownerId}`;
    const lines = emptyLines();
    for (const table of TABLES) {
      for (const r of saved[table].rules) {
        if (r.includes(`"${tag}"`) || r.includes(` ${tag} `)) lines[table].push(r.replace(/^-A /, "-D "));
      }
    }
    await iptablesRestore(restoreText(lines), family);
  }
}
