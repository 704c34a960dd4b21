// The host's IPv4 routes, to keep automatically chosen subnets away from
// networks the host already reaches (its LAN, a VPN, Docker's bridges).
// Read from /proc/net/route rather than `ip -j route`: the same main table,
// without an exec on the network-creation path.
import { readFile } from "node:fs/promises";
import { endianness } from "node:os";
import type { Cidr } from "./ipv4.js";

export interface HostRoute extends Cidr {
  dev: string;
}

function hexToIp(hex: string): number {
  const v = parseInt(hex, 16) >>> 0;
  if (endianness() === "BE") return v;
  // The kernel prints the network-order word as a host-order number: swap bytes back.
  return (((v & 0xff) << 24) | (((v >>> 8) & 0xff) << 16) | (((v >>> 16) & 0xff) << 8) | (v >>> 24)) >>> 0;
}

function prefixOfMask(mask: number): number {
  let n = 0;
  while (n < 32 && (mask & (0x80000000 >>> n)) !== 0) n++;
  return n;
}

export function parseProcRoutes(text: string): HostRoute[] {
  const out: HostRoute[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [dev, dst, , , , , , mask] = f;
    if (dev === undefined || dst === undefined || mask === undefined) continue;
    const prefix = prefixOfMask(hexToIp(mask));
    if (prefix === 0) continue; // a default route overlaps everything; it is not a network we could collide with
    out.push({ dev, network: hexToIp(dst), prefix });
  }
  return out;
}

export async function hostRoutes(): Promise<HostRoute[]> {
  return parseProcRoutes(await readFile("/proc/net/route", "utf8"));
}
