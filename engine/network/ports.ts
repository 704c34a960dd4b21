// Published ports: choosing and checking host ports. The forwarding itself is
// an iptables DNAT rule per port (rules.ts), in PREROUTING for traffic from
// elsewhere and OUTPUT for the host's own, 127.0.0.1 included (with
// route_localnet on the bridge and a MASQUERADE so the reply comes back).
//
// Why iptables and not a userland proxy (Docker's docker-proxy): a rule costs
// nothing per connection, keeps the client's source address, is installed for
// all of a container's ports in one exec, and survives a daemon restart or
// upgrade, like the containers do. A proxy in the daemon would die with it;
// a proxy process per port would cost an exec and memory per port.
//
// The price: nothing holds the host port, so a process could still bind it
// later (its traffic would be shadowed by the DNAT). We check before
// publishing, by binding the port on the host for a moment and against our own
// records, and fail with the port named.
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import type { PortBinding } from "../types.js";
import { EngineError } from "../types.js";
import { isIpv4 } from "./ipv4.js";

export interface PublishedPort {
  containerPort: number;
  protocol: "tcp" | "udp" | "sctp";
  /** "0.0.0.0" for every host address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  networkId: string;
}

function conflicts(a: { protocol: string; hostIp: string; hostPort: number }, b: { protocol: string; hostIp: string; hostPort: number }): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIp === b.hostIp || a.hostIp === "0.0.0.0" || b.hostIp === "0.0.0.0");
}

function describe(p: { protocol: string; hostIp: string; hostPort: number }): string {
  return `${p.hostIp}:${p.hostPort}/${p.protocol}`;
}

/** Tries to bind the port on the host; resolves to an error code ("EADDRINUSE", "EADDRNOTAVAIL", ...) or undefined when free. Port 0: returns the port the kernel chose. */
export function probe(protocol: "tcp" | "udp", hostIp: string, port: number): Promise<{ error: string | undefined; port: number }> {
  return new Promise((resolve) => {
    if (protocol === "tcp") {
      const srv = createServer();
      srv.once("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, port }));
      srv.listen({ host: hostIp, port, exclusive: true }, () => {
        const got = (srv.address() as { port: number }).port;
        srv.close(() => resolve({ error: undefined, port: got }));
      });
    } else {
      const sock = createSocket("udp4");
      sock.once("error", (e: NodeJS.ErrnoException) => {
        sock.close();
        resolve({ error: e.code ?? e.message, port });
      });
      sock.bind({ address: hostIp, port, exclusive: true }, () => {
        const got = sock.address().port;
        sock.close(() => resolve({ error: undefined, port: got }));
      });
    }
  });
}

function normalizeHostIp(ip: string | undefined): string {
  if (ip === undefined || ip === "") return "0.0.0.0";
  if (!isIpv4(ip)) throw new EngineError("invalid", `host IP "${ip}": only IPv4 host addresses can be published (this engine has no IPv6 networks)`);
  return ip;
}

function parseHostPorts(spec: string | undefined): { from: number; to: number } | undefined {
  if (spec === undefined || spec === "" || spec === "0") return undefined;
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  const from = Number(m?.[1]);
  const to = m?.[2] !== undefined ? Number(m[2]) : from;
  if (!m || from < 1 || to > 65535 || to < from) throw new EngineError("invalid", `invalid host port "${spec}" (expected a port or a range like 8000-8010)`);
  return { from, to };
}

/**
 * Why a host port is in use. Port 53 on every address cannot be published
 * while any network exists: the embedded DNS servers hold port 53 of each
 * network's gateway address in the host's namespace (dns.ts says why), so the
 * error names them and the way out.
 */
export function inUseReason(port: number, hostIp: string): string {
  const why = "already in use by another process on the host";
  if (port !== 53 || hostIp !== "0.0.0.0") return why;
  return `${why}, or by the embedded DNS servers, which listen on port 53 of every network's gateway address (publish on one host address instead, e.g. "127.0.0.1:53:53/udp")`;
}

async function freeOnHost(protocol: PublishedPort["protocol"], hostIp: string, port: number): Promise<string | undefined> {
  if (protocol === "sctp") return undefined; // Node cannot open SCTP sockets: our own records are the only check
  const r = await probe(protocol, hostIp, port);
  if (r.error === "EADDRNOTAVAIL") throw new EngineError("invalid", `cannot publish on ${hostIp}: it is not an address of this host`);
  return r.error;
}

/**
 * Turns requested bindings into concrete ports: ephemeral ones chosen, ranges
 * resolved to their first free port, each checked against `taken` (our own
 * records) and the host. All or nothing: the first conflict throws, naming the
 * port, before anything is installed.
 */
export async function choosePorts(bindings: readonly PortBinding[], taken: readonly PublishedPort[], target: { containerIp: string; networkId: string }): Promise<PublishedPort[]> {
  const chosen: PublishedPort[] = [];
  for (const b of bindings) {
    if (!Number.isInteger(b.containerPort) || b.containerPort < 1 || b.containerPort > 65535) {
      throw new EngineError("invalid", `invalid container port ${b.containerPort}`);
    }
    const protocol = b.protocol;
    const hostIp = normalizeHostIp(b.hostIp);
    const range = parseHostPorts(b.hostPort);
    const busy = (port: number): PublishedPort | undefined => [...taken, ...chosen].find((t) => conflicts(t, { protocol, hostIp, hostPort: port }));
    let hostPort: number | undefined;
    if (range === undefined) {
      // Ephemeral: let the kernel pick a free port, as Docker does from the same range.
      for (let i = 0; i < 20 && hostPort === undefined; i++) {
        const got = protocol === "sctp" ? { error: undefined, port: 32768 + Math.floor(Math.random() * 28000) } : await probe(protocol, hostIp, 0);
        if (got.error === "EADDRNOTAVAIL") throw new EngineError("invalid", `cannot publish on ${hostIp}: it is not an address of this host`);
        if (got.error === undefined && !busy(got.port)) hostPort = got.port;
      }
      if (hostPort === undefined) throw new EngineError("unavailable", `no free ephemeral host port for ${b.containerPort}/${protocol}`);
    } else {
      let why = "";
      for (let port = range.from; port <= range.to && hostPort === undefined; port++) {
        const ours = busy(port);
        if (ours) {
          why = `already published by ${ours.networkId === target.networkId && ours.containerIp === target.containerIp ? "this container" : `the container at ${ours.containerIp}`}`;
          continue;
        }
        const err = await freeOnHost(protocol, hostIp, port);
        if (err === undefined) hostPort = port;
        else why = err === "EADDRINUSE" ? inUseReason(port, hostIp) : `not bindable (${err})`;
      }
      if (hostPort === undefined) {
        const what =
          range.from === range.to
            ? `host port ${describe({ protocol, hostIp, hostPort: range.from })} is ${why}`
            : `no port of the host range ${hostIp}:${range.from}-${range.to}/${protocol} is free (the last one is ${why})`;
        throw new EngineError("conflict", `cannot publish ${b.containerPort}/${protocol}: ${what}`);
      }
    }
    chosen.push({ containerPort: b.containerPort, protocol, hostIp, hostPort, containerIp: target.containerIp, networkId: target.networkId });
  }
  return chosen;
}
