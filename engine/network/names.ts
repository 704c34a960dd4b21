// Names of everything the network manager creates in the kernel. Every name
// starts with a fixed prefix, which is how repair() finds leftovers after a
// crash and how cleanup can never touch a device someone else made. Tests
// pass their own prefixes (with a random tag) so parallel runs and a real
// daemon on the same host never see each other's objects.
import { randomBytes } from "node:crypto";
import { EngineError } from "../types.js";

export interface NamePrefixes {
  /** Bridge devices: prefix + 8 hex of the network id ("tsc-1a2b3c4d"). */
  bridge: string;
  /** Host ends of veth pairs: prefix + random hex up to 15 characters ("tv" + 13 hex). */
  veth: string;
  /** Network namespaces under /var/run/netns: prefix + 12 hex of the container id ("tsc-0123456789ab"). */
  netns: string;
  /** iptables chains: prefix + "-FORWARD" etc. ("TSCOMPOSE-FORWARD"). */
  chain: string;
}

export const DEFAULT_PREFIXES: NamePrefixes = { bridge: "tsc-", veth: "tv", netns: "tsc-", chain: "TSCOMPOSE" };

/** Linux interface names are at most 15 bytes (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

export function checkPrefixes(p: NamePrefixes): void {
  const ok = /^[A-Za-z0-9_-]+$/;
  if (!ok.test(p.bridge) || p.bridge.length + 8 > IFNAME_MAX) throw new EngineError("invalid", `bridge prefix "${p.bridge}" must be at most ${IFNAME_MAX - 8} of [A-Za-z0-9_-]`);
  if (!ok.test(p.veth) || p.veth.length + 6 > IFNAME_MAX) throw new EngineError("invalid", `veth prefix "${p.veth}" must be at most ${IFNAME_MAX - 6} of [A-Za-z0-9_-]`);
  if (!ok.test(p.netns)) throw new EngineError("invalid", `netns prefix "${p.netns}" must be of [A-Za-z0-9_-]`);
  if (!/^[A-Za-z0-9_]+$/.test(p.chain) || p.chain.length > 16) throw new EngineError("invalid", `chain prefix "${p.chain}" must be at most 16 of [A-Za-z0-9_]`);
  // The bridge wildcard in the isolation rule ("<bridge>+") must not match our veths.
  if (p.veth.startsWith(p.bridge) || p.bridge.startsWith(p.veth)) throw new EngineError("invalid", `bridge prefix "${p.bridge}" and veth prefix "${p.veth}" must not be prefixes of each other`);
}

export function bridgeName(p: NamePrefixes, networkId: string): string {
  return p.bridge + networkId.slice(0, 8);
}

export function netnsName(p: NamePrefixes, containerId: string): string {
  return p.netns + containerId.slice(0, 12);
}

/** Random, not derived from ids: two attachments of one container must differ, and a crashed attach must not block the next one by name. */
export function vethName(p: NamePrefixes): string {
  const hex = randomBytes(8).toString("hex");
  return p.veth + hex.slice(0, IFNAME_MAX - p.veth.length);
}

export interface ChainNames {
  filterForward: string;
  filterIsolation: string;
  /** The second stage for bridges named by the user (see rules.ts). */
  filterIsolation2: string;
  filterInput: string;
  natDnat: string;
  /** The redirects of each network's <gateway>:53 to its DNS server (rules.ts). */
  natDns: string;
  natPostrouting: string;
  rawPrerouting: string;
}

export function chainNames(p: NamePrefixes): ChainNames {
  return {
    filterForward: `${p.chain}-FORWARD`,
    filterIsolation: `${p.chain}-ISOLATION`,
    filterIsolation2: `${p.chain}-ISOLATION2`,
    filterInput: `${p.chain}-INPUT`,
    natDnat: `${p.chain}-DNAT`,
    natDns: `${p.chain}-DNS`,
    natPostrouting: `${p.chain}-POSTROUTING`,
    rawPrerouting: `${p.chain}-PREROUTING`,
  };
}

/** The comment on every rule we add: names its owner (network or container id) so cleanup can find it. */
export function ruleComment(ownerId: string): string {
  return `tscompose:${ownerId}`;
}

export function newId(): string {
  return randomBytes(32).toString("hex");
}
