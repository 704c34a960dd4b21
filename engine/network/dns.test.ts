// DNS without root: packets in, packets out, and the sockets on 127.0.0.1.
// The "upstream" is always a fake server on loopback started here.
import { createSocket, type Socket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import * as dnsPacket from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerQuery, createForwarder, DnsServer, type DnsAnswers, type DnsUpstream, type Forward } from "./dns.js";
import { NameRegistry } from "./registry.js";

type Decoded = dnsPacket.DecodedPacket & { rcode?: string };

function query(name: string, type: dnsPacket.RecordType = "A", id = 4242): Buffer {
  return dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: "IN" }] });
}

function decode(buf: Buffer | undefined): Decoded {
  expect(buf).toBeDefined();
  return dnsPacket.decode(buf!);
}

function addresses(p: Decoded): string[] {
  return (p.answers ?? []).filter((a) => a.type === "A").map((a) => (a as { data: string }).data);
}

/** Answers from a registry for one network, the way the manager does for a single network. */
function answersOf(
  reg: NameRegistry,
  net: string,
  opts: { mayForward?: boolean; accepts?: (client: string) => boolean; upstreams?: (client: string) => readonly DnsUpstream[] | undefined } = {},
): DnsAnswers {
  return {
    accepts: (client) => opts.accepts?.(client) ?? true,
    lookup: (name) => reg.lookup([net], name),
    reverse: (ip) => {
      if (!ip.startsWith("10.213.7.")) return undefined;
      const r = reg.at(net, ip);
      return r ? `${r.names[0]}.testnet` : null;
    },
    mayForward: () => opts.mayForward ?? true,
    upstreams: (client) => opts.upstreams?.(client),
  };
}

const noForward: Forward = () => Promise.reject(new Error("must not forward"));

describe("answerQuery", () => {
  const reg = new NameRegistry();
  reg.add({ containerId: "c1", networkId: "n1", ip: "10.213.7.2", names: ["proj-web-1", "web", "Alias-One"] });
  reg.add({ containerId: "c2", networkId: "n1", ip: "10.213.7.3", names: ["proj-db-1", "db"] });
  reg.add({ containerId: "c9", networkId: "n2", ip: "10.213.8.2", names: ["other"] });
  for (const [i, id] of ["r1", "r2", "r3"].entries()) {
    reg.add({ containerId: id, networkId: "n1", ip: `10.213.7.${10 + i}`, names: [`proj-api-${i + 1}`, "api"] });
  }
  const answers = answersOf(reg, "n1");

  it("answers A for names and aliases, case-insensitive, with or without the trailing dot", async () => {
    for (const name of ["web", "WEB", "web.", "proj-web-1", "alias-one", "ALIAS-ONE."]) {
      const res = decode(await answerQuery(query(name), "10.213.7.3", "udp", answers, noForward));
      expect(res.type).toBe("response");
      expect(res.id).toBe(4242);
      expect(res.rcode).toBe("NOERROR");
      expect(addresses(res)).toEqual(["10.213.7.2"]);
      expect(res.answers?.[0]?.name).toBe(name.replace(/\.$/, ""));
      expect(res.flag_rd).toBe(true);
    }
  });

  it("rotates the addresses of a name with several replicas on every answer", async () => {
    const seen: string[][] = [];
    for (let i = 0; i < 3; i++) seen.push(addresses(decode(await answerQuery(query("api"), "10.213.7.2", "udp", answers, noForward))));
    for (const s of seen) expect([...s].sort()).toEqual(["10.213.7.10", "10.213.7.11", "10.213.7.12"]);
    expect(new Set(seen.map((s) => s[0])).size).toBe(3);
  });

  it("gives an empty NOERROR for other record types of our names (AAAA falls back to A)", async () => {
    const res = decode(await answerQuery(query("web", "AAAA"), "10.213.7.3", "udp", answers, noForward));
    expect(res.rcode).toBe("NOERROR");
    expect(res.answers).toEqual([]);
  });

  it("does not see names of another network and forwards them instead", async () => {
    const asked: string[] = [];
    const fwd: Forward = (q) => {
      asked.push(dnsPacket.decode(q).questions?.[0]?.name ?? "");
      return Promise.resolve(undefined);
    };
    const res = decode(await answerQuery(query("other"), "10.213.7.2", "udp", answers, fwd));
    expect(asked).toEqual(["other"]);
    expect(res.rcode).toBe("SERVFAIL");
    expect(res.id).toBe(4242);
  });

  it("forwards through the asking container's own resolvers when it has some (compose's dns), else the default ones", async () => {
    const own: DnsUpstream[] = [{ host: "192.0.2.53", port: 53 }];
    const perClient = answersOf(reg, "n1", { upstreams: (client) => (client === "10.213.7.2" ? own : undefined) });
    const vias: (readonly DnsUpstream[] | undefined)[] = [];
    const fwd: Forward = (_q, _t, via) => {
      vias.push(via);
      return Promise.resolve(undefined);
    };
    await answerQuery(query("example.test"), "10.213.7.2", "udp", perClient, fwd);
    await answerQuery(query("example.test"), "10.213.7.3", "udp", perClient, fwd);
    // A name of ours is still answered here, whatever the client's resolvers.
    expect(addresses(decode(await answerQuery(query("web"), "10.213.7.2", "udp", perClient, noForward)))).toEqual(["10.213.7.2"]);
    expect(vias).toEqual([own, undefined]);
  });

  it("relays the upstream's answer unchanged", async () => {
    const upstreamAnswer = dnsPacket.encode({
      type: "response",
      id: 4242,
      flags: dnsPacket.RECURSION_AVAILABLE,
      questions: [{ type: "A", name: "example.test", class: "IN" }],
      answers: [{ type: "A", name: "example.test", class: "IN", ttl: 30, data: "192.0.2.99" }],
    });
    const res = await answerQuery(query("example.test"), "10.213.7.2", "udp", answers, () => Promise.resolve(upstreamAnswer));
    expect(res?.equals(upstreamAnswer)).toBe(true);
  });

  it("refuses to forward for clients that may not reach outside (internal networks)", async () => {
    const res = decode(await answerQuery(query("example.test"), "10.213.7.2", "udp", answersOf(reg, "n1", { mayForward: false }), noForward));
    expect(res.rcode).toBe("SERVFAIL");
  });

  it("refuses every query of a client that is not a container of the network, and forwards nothing for it", async () => {
    const strangerAnswers = answersOf(reg, "n1", { accepts: (client) => client !== "192.0.2.50" });
    for (const q of [query("web"), query("example.test"), query("2.7.213.10.in-addr.arpa", "PTR")]) {
      const res = decode(await answerQuery(q, "192.0.2.50", "udp", strangerAnswers, noForward));
      expect(res.rcode).toBe("REFUSED");
      expect(res.id).toBe(4242);
      expect(res.answers).toEqual([]);
    }
    // The same query from a client it accepts is answered.
    expect(addresses(decode(await answerQuery(query("web"), "10.213.7.3", "udp", strangerAnswers, noForward)))).toEqual(["10.213.7.2"]);
  });

  it("answers PTR for our addresses and NXDOMAIN for unused ones of our subnet", async () => {
    const ptr = decode(await answerQuery(query("2.7.213.10.in-addr.arpa", "PTR"), "10.213.7.3", "udp", answers, noForward));
    expect(ptr.answers?.[0]).toMatchObject({ type: "PTR", data: "proj-web-1.testnet" });
    const none = decode(await answerQuery(query("99.7.213.10.in-addr.arpa", "PTR"), "10.213.7.3", "udp", answers, noForward));
    expect(none.rcode).toBe("NXDOMAIN");
  });

  it("truncates an oversized UDP answer and sets TC; over TCP it is whole", async () => {
    const big = new NameRegistry();
    for (let i = 0; i < 60; i++) big.add({ containerId: `c${i}`, networkId: "n", ip: `10.213.9.${i + 2}`, names: ["many"] });
    const a = answersOf(big, "n");
    const udp = decode(await answerQuery(query("many"), "10.213.9.200", "udp", a, noForward));
    expect(udp.flag_tc).toBe(true);
    expect(addresses(udp).length).toBeLessThan(60);
    const tcp = decode(await answerQuery(query("many"), "10.213.9.200", "tcp", a, noForward));
    expect(tcp.flag_tc).toBe(false);
    expect(addresses(tcp)).toHaveLength(60);
  });

  it("ignores garbage and responses", async () => {
    expect(await answerQuery(Buffer.from("nonsense"), "10.213.7.2", "udp", answers, noForward)).toBeUndefined();
    const response = dnsPacket.encode({ type: "response", id: 1, questions: [{ type: "A", name: "web", class: "IN" }] });
    expect(await answerQuery(response, "10.213.7.2", "udp", answers, noForward)).toBeUndefined();
  });

  it("forgets names at once when an endpoint leaves", () => {
    const r = new NameRegistry();
    r.add({ containerId: "a", networkId: "n", ip: "10.213.1.2", names: ["svc"] });
    r.add({ containerId: "b", networkId: "n", ip: "10.213.1.3", names: ["svc"] });
    r.remove("n", "a");
    expect(r.lookup(["n"], "svc")).toEqual(["10.213.1.3"]);
    r.removeNetwork("n");
    expect(r.lookup(["n"], "svc")).toBeUndefined();
  });
});

describe("DnsServer on 127.0.0.1 with a fake upstream on 127.0.0.1", () => {
  let upstreamUdp: Socket;
  let upstreamTcp: Server;
  let upstream: DnsUpstream;
  let server: DnsServer;
  const upstreamQueries: string[] = [];

  const upstreamAnswer = (msg: Buffer): Buffer => {
    const q = dnsPacket.decode(msg);
    const name = q.questions?.[0]?.name ?? "";
    upstreamQueries.push(name);
    return dnsPacket.encode({
      type: "response",
      id: q.id ?? 0,
      flags: dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions ?? [],
      answers: [{ type: "A", name, class: "IN", ttl: 60, data: "198.51.100.7" }],
    });
  };

  beforeAll(async () => {
    upstreamUdp = createSocket("udp4");
    await new Promise<void>((r) => upstreamUdp.bind(0, "127.0.0.1", () => r()));
    upstreamUdp.on("message", (msg, rinfo) => upstreamUdp.send(upstreamAnswer(msg), rinfo.port, rinfo.address));
    const port = upstreamUdp.address().port;
    upstreamTcp = createServer((c) => {
      c.on("data", (d: Buffer) => {
        const res = upstreamAnswer(d.subarray(2));
        const len = Buffer.alloc(2);
        len.writeUInt16BE(res.length);
        c.end(Buffer.concat([len, res]));
      });
    });
    // The same port for TCP when free; the test only needs some port that answers.
    await new Promise<void>((r) => upstreamTcp.listen(port, "127.0.0.1", () => r())).catch(() => undefined);
    upstream = { host: "127.0.0.1", port };

    const reg = new NameRegistry();
    reg.add({ containerId: "c1", networkId: "n1", ip: "10.213.7.2", names: ["web"] });
    server = new DnsServer({ host: "127.0.0.1", port: 0, answers: answersOf(reg, "n1"), forward: createForwarder(() => [upstream], 300) });
    await server.listen();
  });

  afterAll(async () => {
    await server.close();
    upstreamUdp.close();
    await new Promise<void>((r) => upstreamTcp.close(() => r()));
  });

  async function askUdp(msg: Buffer): Promise<Decoded> {
    const sock = createSocket("udp4");
    try {
      return await new Promise<Decoded>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no answer")), 3000);
        sock.on("message", (m) => {
          clearTimeout(t);
          resolve(dnsPacket.decode(m));
        });
        sock.send(msg, server.port, "127.0.0.1");
      });
    } finally {
      sock.close();
    }
  }

  async function askTcp(msg: Buffer): Promise<Decoded> {
    return new Promise<Decoded>((resolve, reject) => {
      const c = connect(server.port, "127.0.0.1");
      let buf = Buffer.alloc(0);
      const t = setTimeout(() => reject(new Error("no answer")), 3000);
      c.on("connect", () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(msg.length);
        c.write(Buffer.concat([len, msg]));
      });
      c.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(t);
          c.destroy();
          resolve(dnsPacket.decode(buf.subarray(2)));
        }
      });
      c.on("error", reject);
    });
  }

  it("will not listen on a wildcard address (every interface of the host)", async () => {
    for (const host of ["0.0.0.0", "::", ""]) {
      await expect(new DnsServer({ host, port: 0, answers: answersOf(new NameRegistry(), "n"), forward: noForward }).listen()).rejects.toThrow(/one address/);
    }
  });

  it("answers our names over UDP and TCP", async () => {
    expect(addresses(await askUdp(query("web")))).toEqual(["10.213.7.2"]);
    expect(addresses(await askTcp(query("web.")))).toEqual(["10.213.7.2"]);
  });

  it("forwards other names to the upstream over UDP and over TCP", async () => {
    const u = await askUdp(query("elsewhere.test", "A", 77));
    expect(u.id).toBe(77);
    expect(addresses(u)).toEqual(["198.51.100.7"]);
    const t = await askTcp(query("viatcp.test", "A", 78));
    expect(t.id).toBe(78);
    expect(addresses(t)).toEqual(["198.51.100.7"]);
    expect(upstreamQueries).toEqual(["elsewhere.test", "viatcp.test"]);
  });

  it("skips an upstream that refuses (nothing listens) at once, not after its timeout", async () => {
    const dead = createSocket("udp4");
    await new Promise<void>((r) => dead.bind(0, "127.0.0.1", () => r()));
    const deadPort = dead.address().port;
    dead.close();
    // A timeout longer than the test's: only a refusal noticed at once lets the second upstream answer in time.
    const forward = createForwarder(() => [{ host: "127.0.0.1", port: deadPort }, upstream], 600_000);
    const answer = await forward(query("second.test", "A", 79), "udp");
    expect(answer).toBeDefined();
    expect(addresses(dnsPacket.decode(answer!))).toEqual(["198.51.100.7"]);
  }, 20_000);

  it("asks the resolvers given for a query in place of its default upstreams", async () => {
    const dead = createSocket("udp4");
    await new Promise<void>((r) => dead.bind(0, "127.0.0.1", () => r()));
    const deadPort = dead.address().port;
    dead.close();
    const forward = createForwarder(() => [{ host: "127.0.0.1", port: deadPort }], 2000);
    expect(await forward(query("default.test", "A", 80), "udp")).toBeUndefined(); // the default: nobody answers
    const answer = await forward(query("own.test", "A", 81), "udp", [upstream]);
    expect(addresses(dnsPacket.decode(answer!))).toEqual(["198.51.100.7"]);
  }, 20_000);

  it("answers SERVFAIL when no upstream answers", async () => {
    const dead = createSocket("udp4");
    await new Promise<void>((r) => dead.bind(0, "127.0.0.1", () => r()));
    const deadPort = dead.address().port;
    dead.close(); // nobody listens there now: the query goes to a closed loopback port
    const saved = upstream;
    upstream = { host: "127.0.0.1", port: deadPort };
    try {
      expect((await askUdp(query("unanswered.test"))).rcode).toBe("SERVFAIL");
    } finally {
      upstream = saved;
    }
  });
});
