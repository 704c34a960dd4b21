// IPv6 arithmetic on 128-bit bigints, the counterpart of ipv4.ts for the
// dual-stack networks (enable_ipv6). Parsing leans on node:net's isIPv6 for
// what is a valid address and expands it here; text is always printed in the
// canonical compressed form (RFC 5952), so records, rules and DNS agree.
import { isIPv6 } from "node:net";
import { EngineError } from "../errors.js";

export interface Cidr6 {
  network: bigint;
  prefix: number;
}

const ALL = (1n << 128n) - 1n;

export function parseIp6(text: string): bigint {
  if (!isIPv6(text) || text.includes("%")) throw new EngineError("invalid", `invalid IPv6 address "${text}"`);
  let [head = "", tail] = text.split("::") as [string, string | undefined];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = (s: string): string =>
    s.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a: string, b: string, c: string, d: string) => `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
  head = v4(head);
  tail = tail === undefined ? undefined : v4(tail);
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export function formatIp6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // The longest run of two or more zero groups becomes "::" (the first such run on a tie).
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(":");
  return `${hex.slice(0, best.at).join(":")}::${hex.slice(best.at + best.len).join(":")}`;
}

/** The canonical text of an address (what records and rules hold). */
export function canonicalIp6(text: string): string {
  return formatIp6(parseIp6(text));
}

export function maskOf6(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL << BigInt(128 - prefix)) & ALL;
}

/** Parses "addr/n"; host bits must be zero, as docker requires of a subnet. */
export function parseCidr6(text: string): Cidr6 {
  const [addr, len, extra] = text.split("/");
  if (addr === undefined || len === undefined || extra !== undefined || !/^\d{1,3}$/.test(len) || Number(len) > 128) {
    throw new EngineError("invalid", `invalid IPv6 subnet "${text}" (expected addr/n)`);
  }
  const prefix = Number(len);
  const ip = parseIp6(addr);
  const network = ip & maskOf6(prefix);
  if (network !== ip) throw new EngineError("invalid", `invalid subnet "${text}": host bits are set (did you mean ${formatIp6(network)}/${prefix}?)`);
  return { network, prefix };
}

export function formatCidr6(c: Cidr6): string {
  return `${formatIp6(c.network)}/${c.prefix}`;
}

export function contains6(c: Cidr6, ip: bigint): boolean {
  return (ip & maskOf6(c.prefix)) === c.network;
}

export function last6(c: Cidr6): bigint {
  return c.network | (ALL >> BigInt(c.prefix));
}

export function overlaps6(a: Cidr6, b: Cidr6): boolean {
  return a.network <= last6(b) && b.network <= last6(a);
}
