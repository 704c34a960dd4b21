// The embedded DNS server of one network. It listens on the network's gateway
// address, UDP and TCP, in the host's namespace, and containers get
// `nameserver <gateway>` in their resolv.conf.
//
// Not on port 53 itself: on a port the kernel picks (kept in the network's
// record), with a DNAT rule on the network's bridge from <gateway>:53 to it
// (rules.ts). Holding port 53 of every gateway would refuse what dockerd
// allows, publishing port 53 on every host address (a pihole); the rule
// catches only the network's own containers asking their gateway, ahead of
// the published ports' rules, as Docker's 127.0.0.11 redirect lives in each
// container's namespace and never meets them.
//
// Why not Docker's 127.0.0.11: Docker opens a socket inside every container's
// namespace (setns from a Go thread) and adds per-container iptables rules
// redirecting 127.0.0.11:53 to it. Node cannot setns a thread, so the same
// would need a helper process per container: more processes, more execs on
// the start path. The gateway is reachable from every container on the
// network anyway, one socket pair serves all of them, and the source address
// of a query tells which container asked (which is what lets a container on
// two networks resolve names of both). Forwarding from the host namespace also
// means a host resolver on 127.0.0.53 (systemd-resolved) just works, which
// Docker has to special-case.
//
// Only containers of the network are served: anyone else (the host, a LAN
// machine that can route to the gateway, a container of another network) gets
// REFUSED for every query, so the server is no open resolver and reveals no
// names. (REFUSED, not silence: a user debugging from the host sees why at
// once, and the answer is no larger than the query, so it reflects nothing.)
//
// What is answered here (names are case-insensitive, with or without the
// trailing dot, bare or with one of the search domains appended):
//   A     for a name registered on the client's networks: all addresses, rotated
//         on every answer (round robin across replicas)
//   AAAA  for such a name: its IPv6 addresses (endpoints on dual-stack networks), else none
//   other types for such a name: an empty NOERROR (so AAAA lookups fall back to A)
//   PTR   for addresses of our subnets
// Everything else is forwarded, byte for byte, to the upstream resolvers (the
// asking container's own `dns` servers when it has some, as dockerd's embedded
// server does, else the engine's), and their answer is relayed unchanged; if
// none answers, SERVFAIL. A link alias (compose's links, external_links) is a
// name only the linking container resolves, to the linked container.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { connect, createServer, isIPv6, type Server, type Socket as TcpSocket } from "node:net";
import * as dnsPacket from "dns-packet";

export interface DnsUpstream {
  host: string;
  port: number;
}

/** What the server knows about names; the manager implements it over its registry. */
export interface DnsAnswers {
  /** False for a client that is not a container of the network: all its queries are REFUSED. */
  accepts(client: string): boolean;
  /** Addresses of `name` (lower case, no trailing dot) as seen by `client`; undefined when the name is not ours. */
  lookup(name: string, client: string): string[] | undefined;
  /** PTR target for `ip`; null when the address is ours but unused (NXDOMAIN); undefined when not ours (forward). */
  reverse(ip: string, client: string): string | null | undefined;
  /** False for clients that may not reach outside (only on internal networks): their other queries fail. */
  mayForward(client: string): boolean;
  /**
   * The client container's own resolvers (compose's `dns`), which its other
   * queries go to instead of the engine's upstreams, as dockerd's embedded
   * server does; undefined when it has none.
   */
  upstreams(client: string): readonly DnsUpstream[] | undefined;
}

export type Transport = "udp" | "tcp";

/** Relays a query; `via`: resolvers of the asking container, in place of the default upstreams. */
export type Forward = (query: Buffer, transport: Transport, via?: readonly DnsUpstream[]) => Promise<Buffer | undefined>;

/** TTL of our answers: 0, so nothing caches a name that may move on the next container restart. */
const TTL = 0;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

type Decoded = dnsPacket.DecodedPacket & { opcode?: string; rcode?: string };

/** Packet in, packet out: the whole query logic, without sockets (unit-tested directly). undefined = send nothing. */
export async function answerQuery(query: Buffer, client: string, transport: Transport, answers: DnsAnswers, forward: Forward): Promise<Buffer | undefined> {
  let q: Decoded;
  try {
    q = dnsPacket.decode(query);
  } catch {
    return undefined; // not DNS: say nothing (answering garbage invites reflection)
  }
  if (q.type !== "query") return undefined;
  if (!answers.accepts(client)) return reply(q, RCODE.REFUSED, [], transport);
  const question = q.questions?.[0];
  if (q.opcode !== undefined && q.opcode !== "QUERY") return reply(q, RCODE.NOTIMP, [], transport);
  if (!question) return reply(q, RCODE.FORMERR, [], transport);
  const name = question.name.toLowerCase().replace(/\.$/, "");

  if (question.type === "PTR" && name.endsWith(".in-addr.arpa")) {
    const ip = name.slice(0, -".in-addr.arpa".length).split(".").reverse().join(".");
    const target = /^\d+\.\d+\.\d+\.\d+$/.test(ip) ? answers.reverse(ip, client) : undefined;
    if (target === null) return reply(q, RCODE.NXDOMAIN, [], transport);
    if (target !== undefined) {
      return reply(q, RCODE.NOERROR, [{ type: "PTR", name: question.name, class: "IN", ttl: TTL, data: target }], transport);
    }
  } else {
    const ips = answers.lookup(name, client);
    if (ips !== undefined) {
      const any = (question.type as string) === "ANY";
      const records: dnsPacket.Answer[] = [
        ...(question.type === "A" || any ? ips.filter((ip) => !isIPv6(ip)).map((ip): dnsPacket.Answer => ({ type: "A", name: question.name, class: "IN", ttl: TTL, data: ip })) : []),
        ...(question.type === "AAAA" || any ? ips.filter((ip) => isIPv6(ip)).map((ip): dnsPacket.Answer => ({ type: "AAAA", name: question.name, class: "IN", ttl: TTL, data: ip })) : []),
      ];
      return reply(q, RCODE.NOERROR, records, transport);
    }
  }

  if (!answers.mayForward(client)) return reply(q, RCODE.SERVFAIL, [], transport);
  const upstream = await forward(query, transport, answers.upstreams(client));
  return upstream ?? reply(q, RCODE.SERVFAIL, [], transport);
}

function reply(q: Decoded, rcode: number, records: dnsPacket.Answer[], transport: Transport): Buffer {
  const rd = q.flag_rd ? dnsPacket.RECURSION_DESIRED : 0;
  const flags = rd | dnsPacket.RECURSION_AVAILABLE | (records.length > 0 || rcode === RCODE.NXDOMAIN ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | rcode;
  const packet: dnsPacket.Packet = { type: "response", id: q.id ?? 0, flags, questions: q.questions ?? [], answers: records };
  let buf = dnsPacket.encode(packet);
  if (transport === "udp") {
    // A UDP answer must fit the client's buffer: 512 bytes, or what its EDNS OPT record offers.
    const opt = q.additionals?.find((a) => a.type === "OPT") as { udpPayloadSize?: number } | undefined;
    const limit = Math.min(Math.max(opt?.udpPayloadSize ?? 512, 512), 4096);
    if (buf.length > limit) {
      const kept = [...records];
      while (kept.length > 0 && buf.length > limit) {
        kept.pop();
        buf = dnsPacket.encode({ ...packet, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: kept });
      }
    }
  }
  return buf;
}

/** Relays a query to the upstream resolvers in order, each with its own timeout; the first answer wins. */
export function createForwarder(upstreams: () => readonly DnsUpstream[], timeoutMs = 2000): Forward {
  return async (query, transport, via) => {
    for (const u of via ?? upstreams()) {
      try {
        const res = transport === "udp" ? await forwardUdp(query, u, timeoutMs) : await forwardTcp(query, u, timeoutMs);
        if (res) return res;
      } catch {
        // this upstream failed: try the next one
      }
    }
    return undefined;
  };
}

function forwardUdp(query: Buffer, u: DnsUpstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    // One socket per query: a fresh random source port, so answers cannot be confused between
    // clients that chose the same query id, and no id rewriting is needed. Connected to the
    // upstream: the kernel then drops datagrams from anyone else, and an upstream that is
    // not there (ICMP port unreachable) fails the socket at once (ECONNREFUSED) instead of
    // costing the whole timeout before the next upstream is asked.
    const sock = createSocket(isIPv6(u.host) ? "udp6" : "udp4");
    const done = (v: Buffer | undefined): void => {
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on("error", () => done(undefined));
    sock.on("message", (msg, rinfo) => {
      // Only the upstream we asked, answering our id, counts (anything else is noise or spoofing).
      if (rinfo.port !== u.port || msg.length < 2 || msg.readUInt16BE(0) !== query.readUInt16BE(0)) return;
      done(msg);
    });
    sock.connect(u.port, u.host, () => {
      sock.send(query, (err) => {
        if (err) done(undefined);
      });
    });
  });
}

function forwardTcp(query: Buffer, u: DnsUpstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: u.host, port: u.port });
    let buf = Buffer.alloc(0);
    const done = (v: Buffer | undefined): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on("error", () => done(undefined));
    sock.on("connect", () => sock.write(frame(query)));
    sock.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.on("end", () => done(undefined));
  });
}

function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

export interface DnsServerOptions {
  host: string;
  /** 0: a port the kernel picks (the engine's choice, see above); else that port. */
  port: number;
  answers: DnsAnswers;
  forward: Forward;
}

/** UDP and TCP listeners on one address, answering through answerQuery(). */
export class DnsServer {
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  private readonly conns = new Set<TcpSocket>();
  port = 0;

  constructor(private readonly opts: DnsServerOptions) {}

  async listen(): Promise<void> {
    // A wildcard address would serve every interface of the host, the LAN's included.
    if (["", "0.0.0.0", "::"].includes(this.opts.host)) throw new Error(`the DNS server must listen on one address (a gateway), not "${this.opts.host}"`);
    // reuseAddr: a host resolver bound to 0.0.0.0:53 with SO_REUSEADDR (dnsmasq) then still
    // lets us bind the gateway's address, and the kernel delivers to the more specific socket.
    const udp = createSocket({ type: isIPv6(this.opts.host) ? "udp6" : "udp4", reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(this.opts.port, this.opts.host, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    this.udp = udp;
    this.port = udp.address().port;
    udp.on("error", () => undefined); // per-packet send errors (client gone) must not kill the server
    udp.on("message", (msg: Buffer, rinfo: RemoteInfo) => {
      void answerQuery(msg, rinfo.address, "udp", this.opts.answers, this.opts.forward)
        .then((res) => {
          if (res && this.udp) this.udp.send(res, rinfo.port, rinfo.address);
        })
        .catch(() => undefined);
    });
    const tcp = createServer((c) => this.serveTcp(c));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen({ port: this.port, host: this.opts.host, exclusive: true }, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      this.udp = undefined;
      throw err;
    }
    this.tcp = tcp;
  }

  private serveTcp(c: TcpSocket): void {
    this.conns.add(c);
    c.setTimeout(10_000, () => c.destroy());
    c.on("close", () => this.conns.delete(c));
    c.on("error", () => c.destroy());
    let buf = Buffer.alloc(0);
    c.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void answerQuery(Buffer.from(msg), c.remoteAddress ?? "", "tcp", this.opts.answers, this.opts.forward)
          .then((res) => {
            if (res && !c.destroyed) c.write(frame(res));
          })
          .catch(() => undefined);
      }
      if (buf.length > 70_000) c.destroy(); // no sane client sends this much without a complete message
    });
  }

  async close(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    for (const c of this.conns) c.destroy();
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }
}
