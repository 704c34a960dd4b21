// A DNS client for bench/network.ts, run inside a container's network
// namespace (`nsenter --net=/proc/<pid>/ns/net node dist-dev/bench/dns-probe.js`)
// so it asks exactly what the container's resolver would, while its timing is
// not the container's exec path. It starts once (node's start-up stays out of
// the figures) and takes commands on stdin, one per line:
//   until <server> <port> <name>
//       asks for <name> every 5 ms until an answer with an A record comes;
//       prints `ok <ms>` (or `timeout`)
//   load <server> <port> <name> <count> <concurrency> [fresh]
//       <count> queries, never more than <concurrency> outstanding; prints
//       `load {"latencies": [...ms], "errors": n, "wallMs": ms}`. With
//       `fresh`, each query from a socket of its own (a new source port, as
//       the C libraries' resolvers ask): a new conntrack entry each, so the
//       cost of a NAT rule on the path is in every query, not just the first.
import { createSocket } from "node:dgram";
import { createInterface } from "node:readline";
import * as dnsPacket from "dns-packet";

const sock = createSocket("udp4");
const pending = new Map<number, (answers: number) => void>();
let nextId = 1;

sock.on("message", (msg) => {
  let p: dnsPacket.DecodedPacket;
  try {
    p = dnsPacket.decode(msg);
  } catch {
    return;
  }
  const cb = pending.get(p.id ?? -1);
  if (!cb) return;
  pending.delete(p.id ?? -1);
  cb((p.answers ?? []).filter((a) => a.type === "A").length);
});

/** One query from its own socket: the answer's latency, -1 without an A record, undefined on timeout. */
function askFresh(server: string, port: number, name: string, timeoutMs: number): Promise<number | undefined> {
  const own = createSocket("udp4");
  const t0 = process.hrtime.bigint();
  return new Promise<number | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    own.on("message", (msg) => {
      clearTimeout(timer);
      let answers = 0;
      try {
        answers = (dnsPacket.decode(msg).answers ?? []).filter((a) => a.type === "A").length;
      } catch {
        // not DNS: counted as an answer without a record
      }
      resolve(answers > 0 ? Number(process.hrtime.bigint() - t0) / 1e6 : -1);
    });
    own.send(dnsPacket.encode({ type: "query", id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }] }), port, server);
  }).finally(() => own.close());
}

function ask(server: string, port: number, name: string, timeoutMs: number): Promise<number | undefined> {
  const id = nextId;
  nextId = (nextId % 65535) + 1;
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      resolve(undefined);
    }, timeoutMs);
    pending.set(id, (answers) => {
      clearTimeout(timer);
      resolve(answers > 0 ? Number(process.hrtime.bigint() - t0) / 1e6 : -1);
    });
    sock.send(dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }] }), port, server);
  });
}

async function until(server: string, port: number, name: string): Promise<string> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const tick = setInterval(() => {
      if (Date.now() - t0 > 30_000) finish("timeout");
      else void ask(server, port, name, 2000).then((r) => r !== undefined && r >= 0 && finish(`ok ${Date.now() - t0}`));
    }, 5);
    const finish = (line: string) => {
      if (done) return;
      done = true;
      clearInterval(tick);
      resolve(line);
    };
  });
}

async function load(server: string, port: number, name: string, count: number, concurrency: number, fresh: boolean): Promise<string> {
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const t0 = process.hrtime.bigint();
  const worker = async () => {
    while (sent < count) {
      sent++;
      const r = await (fresh ? askFresh : ask)(server, port, name, 1000);
      if (r === undefined || r < 0) errors++;
      else latencies.push(r);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return `load ${JSON.stringify({ latencies, errors, wallMs: Number(process.hrtime.bigint() - t0) / 1e6 })}`;
}

sock.bind(0, () => {
  process.stdout.write("ready\n");
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    const [cmd, server = "", port = "53", name = "", count = "0", conc = "1", mode = ""] = line.trim().split(/\s+/);
    const done = (out: string) => process.stdout.write(`${out}\n`);
    if (cmd === "until") void until(server, Number(port), name).then(done);
    else if (cmd === "load") void load(server, Number(port), name, Number(count), Number(conc), mode === "fresh").then(done);
  });
  rl.on("close", () => sock.close());
});
