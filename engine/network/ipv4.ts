// IPv4 arithmetic on unsigned 32-bit numbers. Everything in IPAM, the DNS
// registry and the rule builders works on these, so parsing is strict: a
// malformed address is a user error reported with the text that was given.
import { EngineError } from "../types.js";

export interface Cidr {
  /** Network address (host bits cleared). */
  network: number;
  prefix: number;
}

export function parseIp(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4) throw new EngineError("invalid", `invalid IPv4 address "${text}"`);
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) throw new EngineError("invalid", `invalid IPv4 address "${text}"`);
    const n = Number(part);
    if (n > 255) throw new EngineError("invalid", `invalid IPv4 address "${text}"`);
    value = value * 256 + n;
  }
  return value;
}

export function isIpv4(text: string): boolean {
  try {
    parseIp(text);
    return true;
  } catch {
    return false;
  }
}

export function formatIp(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/n"; host bits must be zero, as Docker requires of a subnet. */
export function parseCidr(text: string): Cidr {
  const [addr, len, extra] = text.split("/");
  if (addr === undefined || len === undefined || extra !== undefined || !/^\d{1,2}$/.test(len) || Number(len) > 32) {
    throw new EngineError("invalid", `invalid IPv4 subnet "${text}" (expected a.b.c.d/n)`);
  }
  const prefix = Number(len);
  const ip = parseIp(addr);
  const network = (ip & maskOf(prefix)) >>> 0;
  if (network !== ip) throw new EngineError("invalid", `invalid subnet "${text}": host bits are set (did you mean ${formatIp(network)}/${prefix}?)`);
  return { network, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.network)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function broadcast(c: Cidr): number {
  return (c.network + size(c) - 1) >>> 0;
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & maskOf(c.prefix)) >>> 0) === c.network;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.network <= broadcast(b) && b.network <= broadcast(a);
}

/** Docker-style MAC for an address (02:42 + the four bytes): the same IP always gets the same MAC, so a neighbour's stale ARP entry for a reused IP stays right. */
export function macForIp(ip: number): string {
  const bytes = [0x02, 0x42, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
