// Helpers for the network tests that use real namespaces. Every kernel object
// a test run creates carries a random tag in its name, the address pool is a
// block of its pool (test/support/pools.ts) that no host route touches, and the only DNS upstream
// is a fake server on 127.0.0.1: no test traffic leaves the machine.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { readdir } from "node:fs/promises";
import { request } from "node:http";
import * as dnsPacket from "dns-packet";
import { run, type RunResult } from "../sys/exec.js";
import type { DnsUpstream } from "./dns.js";
import type { PausePoint } from "./hooks.js";
import type { AddressPool } from "./ipam.js";
import { formatCidr, overlaps, parseCidr } from "./ipv4.js";
import type { NamePrefixes } from "./names.js";
import { hostRoutes } from "./routes.js";
import { isRoot, missing } from "../../test/support/requires.js";
import { poolOctet } from "../../test/support/pools.js";

export const canUseNamespaces = !missing("root (network namespaces)", isRoot);

export function testPrefixes(): { tag: string; prefixes: NamePrefixes } {
  const tag = randomBytes(2).toString("hex");
  return { tag, prefixes: { bridge: `tb${tag}-`, veth: `tv${tag}`, netns: `tn${tag}-`, chain: `TT${tag}` } };
}

const UNIT_POOL = poolOctet("engine-network-units");

/** A /20 of this file's 10.X.0.0/16 (test/support/pools.ts; carved into /24s) that overlaps no host route right now; `avoid` keeps parallel test files apart. */
export async function testPool(avoid: readonly number[] = []): Promise<AddressPool & { cidr: string }> {
  const routes = await hostRoutes();
  const blocks = Array.from({ length: 16 }, (_, i) => i).filter((i) => !avoid.includes(i));
  for (let tries = 0; tries < 64; tries++) {
    const i = blocks[Math.floor(Math.random() * blocks.length)] ?? 0;
    const cidr = { network: parseCidr(`10.${UNIT_POOL}.${i * 16}.0/20`).network, prefix: 20 };
    if (!routes.some((r) => overlaps(r, cidr))) return { base: formatCidr(cidr), size: 24, cidr: formatCidr(cidr) };
  }
  throw new Error(`no free /20 in 10.${UNIT_POOL}.0.0/16 for the test`);
}

/** Runs busybox inside a namespace ("a container"). Never throws on a non-zero exit. */
export function inNs(ns: string, args: string[], timeoutMs = 10_000): Promise<RunResult> {
  return run("timeout", [String(Math.ceil(timeoutMs / 1000)), "ip", "netns", "exec", ns, "busybox", ...args], { allowFailure: true });
}

/** Starts a long-running process in a namespace; `ip netns exec` execs it, so the pid is the process's own. */
export function spawnInNs(ns: string, cmd: string, args: string[]): ChildProcess {
  const child = spawn("ip", ["netns", "exec", ns, cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

export function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/** Addresses from `busybox nslookup` output, in answer order (the server's own address lines excluded). */
export function nslookupAddresses(out: string): string[] {
  const answer = out.split(/\n\s*\n/).slice(1).join("\n");
  return [...answer.matchAll(/^Address:\s*([0-9a-f.:]+)\s*$/gim)].map((m) => m[1] ?? "");
}

/** A fake upstream resolver on 127.0.0.1: `known` names get their address, everything else NXDOMAIN. */
export async function fakeUpstream(
  known: Record<string, string>,
  at: { host: string; port: number } = { host: "127.0.0.1", port: 0 },
): Promise<{ upstream: DnsUpstream; queries: string[]; close(): Promise<void> }> {
  const sock: Socket = createSocket("udp4");
  const queries: string[] = [];
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(at.port, at.host, () => resolve());
  });
  sock.on("message", (msg, rinfo) => {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    const name = (question?.name ?? "").toLowerCase();
    queries.push(name);
    const ip = known[name];
    const answers: dnsPacket.Answer[] = ip !== undefined && question?.type === "A" ? [{ type: "A", name: question.name, class: "IN", ttl: 60, data: ip }] : [];
    const rcode = ip !== undefined ? 0 : 3;
    sock.send(dnsPacket.encode({ type: "response", id: q.id ?? 0, flags: dnsPacket.RECURSION_AVAILABLE | rcode, questions: q.questions ?? [], answers }), rinfo.port, rinfo.address);
  });
  return {
    upstream: { host: at.host, port: sock.address().port },
    queries,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

/** Everything carrying the run's prefixes that still exists: links, namespaces, iptables and ip6tables chains and rules, DNS listeners on `gateways`. */
export async function leftovers(p: NamePrefixes, gateways: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const link of await readdir("/sys/class/net")) {
    if (link.startsWith(p.bridge) || link.startsWith(p.veth)) out.push(`link ${link}`);
  }
  for (const ns of await readdir("/var/run/netns").catch(() => [] as string[])) {
    if (ns.startsWith(p.netns)) out.push(`netns ${ns}`);
  }
  for (const tool of ["iptables", "ip6tables"]) {
    const saved = await run(`${tool}-save`, []);
    for (const line of saved.stdout.split("\n")) if (line.includes(p.chain)) out.push(`${tool} ${line}`);
  }
  for (const gw of gateways) for (const l of await listenersOn(gw)) out.push(`DNS listener on ${l}`);
  return out;
}

/** "<address>:<port>" of every UDP and TCP socket listening on `ip`: a DNS server listens on a port the kernel picked (dns.ts). */
export async function listenersOn(ip: string): Promise<string[]> {
  const local = (await run("ss", ["-Hlnut"])).stdout.split("\n").map((l) => l.split(/\s+/)[4] ?? "");
  return [...new Set(local.filter((a) => a.startsWith(`${ip}:`)))].sort();
}

/**
 * The source of a tiny DNS server for node (a "pihole" in a container's
 * namespace): on udp port 53 it answers every A question with `ip`, other
 * questions with no record. No dependencies, so it runs from a bare file.
 */
export function fixedAnswerResolver(ip: string): string {
  return [
    "const s = require('dgram').createSocket('udp4');",
    "s.on('message', (q, r) => {",
    "  const question = q.subarray(12, q.indexOf(0, 12) + 5);",
    "  const a = question.readUInt16BE(question.length - 4) === 1;",
    "  const head = Buffer.from(q.subarray(0, 12)); head.writeUInt16BE(0x8180, 2); head.writeUInt16BE(1, 4); head.writeUInt16BE(a ? 1 : 0, 6); head.writeUInt32BE(0, 8);",
    // The answer names the question by a pointer to offset 12; type A, class IN, TTL 60, 4 bytes.
    `  const answer = a ? Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ${ip.split(".").join(", ")}]) : Buffer.alloc(0);`,
    "  s.send(Buffer.concat([head, question, answer]), r.port, r.address);",
    "});",
    "s.bind(53);",
  ].join("\n");
}

/** A records `busybox nslookup` on the host gets from `server` (port 53); [] when nothing answered. */
export async function hostLookup(name: string, server: string): Promise<string[]> {
  return nslookupAddresses((await run("timeout", ["5", "busybox", "nslookup", name, server], { allowFailure: true })).stdout);
}

/** What crash.test.ts tells crash-child.ts (through the environment). */
export interface CrashChildConfig {
  stateDir: string;
  prefixes: NamePrefixes;
  pool: AddressPool;
  upstream: DnsUpstream;
  keeperId: string;
  victimId: string;
  pauseAt: PausePoint;
}

export const CRASH_CONFIG_ENV = "TSC_CRASH_CHILD_CONFIG";

/** One HTTP GET (a published port, a container's server) with a 5 s limit: its status and body. */
export function httpGet(host: string, port: number, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout on ${host}:${port}`)));
    req.on("error", reject);
    req.end();
  });
}
