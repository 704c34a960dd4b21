// The files a container's name resolution reads: the host's resolv.conf (for
// the upstream resolvers and search domains), and the resolv.conf and hosts
// the runtime writes into each container.
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import type { DnsUpstream } from "./dns.js";

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === "nameserver" && rest[0] && isIP(rest[0].replace(/%.*$/, ""))) out.nameservers.push(rest[0].replace(/%.*$/, ""));
    else if (key === "search" || key === "domain") out.search = rest.filter((s) => s !== "" && s !== ".");
    else if (key === "options") out.options.push(...rest);
  }
  return out;
}

export async function readHostResolvConf(path = "/etc/resolv.conf"): Promise<ResolvConf> {
  try {
    return parseResolvConf(await readFile(path, "utf8"));
  } catch {
    return { nameservers: [], search: [], options: [] };
  }
}

export function upstreamsOf(conf: ResolvConf): DnsUpstream[] {
  return conf.nameservers.map((host) => ({ host, port: 53 }));
}

/**
 * ndots:0 makes the resolver try a name as given before the search domains:
 * "db" goes to our server as "db" at once instead of first as
 * "db.<host's domain>" (a round trip upstream per lookup, and a wrong answer
 * if that name exists out there).
 */
export function containerResolvConf(nameserver: string, search: readonly string[]): string {
  let text = `nameserver ${nameserver}\n`;
  if (search.length > 0) text += `search ${search.join(" ")}\n`;
  text += "options ndots:0\n";
  return text;
}

export function containerHosts(entries: readonly { ip: string; names: readonly string[] }[]): string {
  let text = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
  for (const e of entries) {
    const names = [...new Set(e.names.filter((n) => n !== ""))];
    if (names.length > 0) text += `${e.ip}\t${names.join(" ")}\n`;
  }
  return text;
}
