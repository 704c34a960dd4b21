// Talking to iptables: one iptables-restore --noflush per change (a single
// exec and, on the nf_tables backend, a single atomic transaction however many
// rules), and iptables-save to see what is there. Never `:CHAIN` for a chain
// that exists unless flushing it is intended: with --noflush a chain
// declaration still empties that chain.
import { run } from "../sys/exec.js";
import { chainNames, type NamePrefixes } from "./names.js";
import {
  baseChains,
  baseJumps,
  baseStaticRules,
  emptyLines,
  mergeLines,
  networkRules,
  portRules,
  restoreText,
  TABLES,
  type Family,
  type NetworkRuleSpec,
  type PortRuleSpec,
  type RuleLines,
  type Table,
} from "./rules.js";

export interface SavedTable {
  chains: Set<string>;
  /** "-A <chain> ..." lines as iptables-save prints them. */
  rules: string[];
}

export type Saved = Record<Table, SavedTable>;

export function parseSave(text: string): Saved {
  const out: Saved = { raw: { chains: new Set(), rules: [] }, filter: { chains: new Set(), rules: [] }, nat: { chains: new Set(), rules: [] } };
  let current: SavedTable | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("*")) {
      const t = line.slice(1).trim();
      current = (TABLES as readonly string[]).includes(t) ? out[t as Table] : undefined;
    } else if (!current) {
      continue;
    } else if (line.startsWith(":")) {
      current.chains.add(line.slice(1).split(" ")[0] ?? "");
    } else if (line.startsWith("-A ")) {
      current.rules.push(line.trim());
    }
  }
  return out;
}

const tool = (family: Family, what: "save" | "restore"): string => `${family === 6 ? "ip6tables" : "iptables"}-${what}`;

export async function iptablesSave(family: Family = 4): Promise<Saved> {
  return parseSave((await run(tool(family, "save"), [])).stdout);
}

/** Applies restore input; retried a few times because a concurrent writer (legacy backend lock, nft generation change) fails it transiently. */
export async function iptablesRestore(text: string, family: Family = 4): Promise<void> {
  if (text.trim() === "") return;
  for (let attempt = 0; ; attempt++) {
    const r = await run(tool(family, "restore"), ["--noflush", "-w", "5"], { input: text, allowFailure: true });
    if (r.code === 0) return;
    const transient = /temporarily unavailable|holding the xtables lock|Resource busy|try again/i.test(r.stderr);
    if (!transient || attempt >= 4) {
      const detail = r.stderr.trim().split("\n").slice(0, 3).join("; ");
      throw new Error(`${tool(family, "restore")} failed (exit ${r.code}): ${detail}\n--- input ---\n${text}`);
    }
    await new Promise((res) => setTimeout(res, 20 * (attempt + 1)));
  }
}

/** Lines that create whatever part of our base chains and jumps is missing (nothing when all is there). */
export function missingBase(p: NamePrefixes, saved: Saved, family: Family = 4): { lines: RuleLines; declare: { table: Table; chain: string }[] } {
  const c = chainNames(p);
  const declare = baseChains(c).filter((d) => !saved[d.table].chains.has(d.chain));
  const lines = emptyLines();
  const statics = baseStaticRules(p, family);
  for (const table of TABLES) {
    // A chain we declare now is new and empty, so it needs its static rules.
    for (const l of statics[table]) {
      const chain = l.split(" ")[1] ?? "";
      if (declare.some((d) => d.table === table && d.chain === chain)) lines[table].push(l);
    }
  }
  for (const j of baseJumps(c)) {
    if (!saved[j.table].rules.some((r) => sameRule(r, `-A ${j.chain} ${j.spec}`))) {
      lines[j.table].push(j.insert ? `-I ${j.chain} 1 ${j.spec}` : `-A ${j.chain} ${j.spec}`);
    }
  }
  return { lines, declare };
}

/** Lines that remove every jump to our chains and the chains themselves. */
export function removeBaseLines(p: NamePrefixes, saved: Saved): RuleLines {
  const c = chainNames(p);
  const ours = new Set(baseChains(c).map((d) => d.chain));
  const lines = emptyLines();
  for (const table of TABLES) {
    for (const r of saved[table].rules) {
      const [, chain] = r.split(" ");
      const target = /-j (\S+)/.exec(r)?.[1];
      if (chain && !ours.has(chain) && target && ours.has(target)) lines[table].push(r.replace(/^-A /, "-D "));
    }
    for (const d of baseChains(c)) {
      if (d.table === table && saved[table].chains.has(d.chain)) lines[table].push(`-F ${d.chain}`);
    }
    for (const d of baseChains(c)) {
      if (d.table === table && saved[table].chains.has(d.chain)) lines[table].push(`-X ${d.chain}`);
    }
  }
  return lines;
}

/** Rules in any of our chains (and jumps to them) as iptables-save prints them: what "no leftovers" means. */
export function ourRules(p: NamePrefixes, saved: Saved): string[] {
  const c = chainNames(p);
  const ours = new Set(baseChains(c).map((d) => d.chain));
  const out: string[] = [];
  for (const table of TABLES) {
    for (const r of saved[table].rules) {
      const [, chain] = r.split(" ");
      const target = /-j (\S+)/.exec(r)?.[1];
      if ((chain && ours.has(chain)) || (target && ours.has(target))) out.push(`${table}: ${r}`);
    }
    for (const ch of saved[table].chains) if (ours.has(ch)) out.push(`${table}: chain ${ch}`);
  }
  return out;
}

/** Compares our spec with iptables-save's rendering, which adds implicit matches ("-m tcp") and quotes. */
function sameRule(saved: string, ours: string): boolean {
  const norm = (s: string): string => s.replace(/"/g, "").replace(/\s+/g, " ").trim();
  return norm(saved) === norm(ours);
}

/**
 * One iptables-restore input that makes our chains exactly what the records
 * say: jumps re-created once, every chain of ours flushed (by declaring it)
 * and refilled. Applied as one transaction, so on nf_tables no packet sees a
 * half-built state. Also reports owners of rules that no record knows.
 */
export function rebuildText(
  p: NamePrefixes,
  saved: Saved,
  networks: readonly NetworkRuleSpec[],
  ports: readonly PortRuleSpec[],
  family: Family = 4,
): { text: string; unknownOwners: string[] } {
  const c = chainNames(p);
  const ours = new Set(baseChains(c).map((d) => d.chain));
  const known = new Set([...networks.map((n) => n.id), ...ports.map((q) => q.ownerId)]);
  const unknown = new Set<string>();
  const dropJumps = emptyLines();
  for (const table of TABLES) {
    for (const r of saved[table].rules) {
      const [, chain] = r.split(" ");
      const target = /-j (\S+)/.exec(r)?.[1];
      if (chain && !ours.has(chain) && target && ours.has(target)) dropJumps[table].push(r.replace(/^-A /, "-D "));
      const owner = /tscompose:([A-Za-z0-9_.-]+)/.exec(r)?.[1];
      if (chain && ours.has(chain) && owner !== undefined && !known.has(owner)) unknown.add(owner);
    }
  }
  const jumps = emptyLines();
  for (const j of baseJumps(c)) jumps[j.table].push(j.insert ? `-I ${j.chain} 1 ${j.spec}` : `-A ${j.chain} ${j.spec}`);
  const all = mergeLines(dropJumps, jumps, baseStaticRules(p, family), ...networks.map((n) => networkRules(p, n, family)), portRules(p, ports, family));
  return { text: restoreText(all, baseChains(c)), unknownOwners: [...unknown] };
}
