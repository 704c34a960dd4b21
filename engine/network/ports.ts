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
import { isIPv6 } from "node:net";
import { isIpv4 } from "./ipv4.js";
import { canonicalIp6 } from "./ipv6.js";

export interface PublishedPort {
  containerPort: number;
  protocol: "tcp" | "udp" | "sctp";
  /** "0.0.0.0" for every host address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  /** The container's IPv6 address on a dual-stack network: ports on every address and on IPv6 ones lead there too (ip6tables). */
  containerIp6?: string | undefined;
  networkId: string;
}

function conflicts(a: { protocol: string; hostIp: string; hostPort: number }, b: { protocol: string; hostIp: string; hostPort: number }): boolean {
  const any = (ip: string): boolean => ip === "0.0.0.0" || ip === "::";
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIp === b.hostIp || any(a.hostIp) || any(b.hostIp));
}

function describe(p: { protocol: string; hostIp: string; hostPort: number }): string {
  return `${p.hostIp.includes(":") ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort}/${p.protocol}`;
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
      const sock = createSocket(hostIp.includes(":") ? "udp6" : "udp4");
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

function normalizeHostIp(ip: string | undefined, containerIp6: string | undefined): string {
  if (ip === undefined || ip === "") return "0.0.0.0";
  if (isIpv4(ip)) return ip;
  const bare = ip.replace(/^\[(.*)\]$/, "$1");
  if (!isIPv6(bare)) throw new EngineError("invalid", `host IP "${ip}" is not an IP address`);
  // Forwarding IPv6 to an IPv4-only container would need a userland proxy (dockerd's docker-proxy): refused, as dockerd without it does.
  if (containerIp6 === undefined) throw new EngineError("invalid", `host IP "${ip}": an IPv6 host address needs the container's network to have IPv6 (enable_ipv6)`);
  const v6 = canonicalIp6(bare);
  // A ::1 source never leaves the host's loopback (IPv6 has no route_localnet), so a DNAT from [::1] could not work.
  if (v6 === "::1") throw new EngineError("invalid", `host IP "${ip}": ports cannot be published on IPv6 loopback (the kernel does not route ::1 into a container); use 127.0.0.1, "::" or an address of the host`);
  return v6;
}

function parseHostPorts(spec: string | undefined): { from: number; to: number } | undefined {
  if (spec === undefined || spec === "" || spec === "0") return undefined;
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  const from = Number(m?.[1]);
  const to = m?.[2] !== undefined ? Number(m[2]) : from;
  if (!m || from < 1 || to > 65535 || to < from) throw new EngineError("invalid", `invalid host port "${spec}" (expected a port or a range like 8000-8010)`);
  return { from, to };
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
export async function choosePorts(bindings: readonly PortBinding[], taken: readonly PublishedPort[], target: { containerIp: string; containerIp6?: string | undefined; networkId: string }): Promise<PublishedPort[]> {
  const chosen: PublishedPort[] = [];
  for (const b of bindings) {
    if (!Number.isInteger(b.containerPort) || b.containerPort < 1 || b.containerPort > 65535) {
      throw new EngineError("invalid", `invalid container port ${b.containerPort}`);
    }
    const protocol = b.protocol;
    const hostIp = normalizeHostIp(b.hostIp, target.containerIp6);
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
        else why = err === "EADDRINUSE" ? "already in use by another process on the host" : `not bindable (${err})`;
      }
      if (hostPort === undefined) {
        const what =
          range.from === range.to
            ? `host port ${describe({ protocol, hostIp, hostPort: range.from })} is ${why}`
            : `no port of the host range ${hostIp}:${range.from}-${range.to}/${protocol} is free (the last one is ${why})`;
        throw new EngineError("conflict", `cannot publish ${b.containerPort}/${protocol}: ${what}`);
      }
    }
    chosen.push({
      containerPort: b.containerPort,
      protocol,
      hostIp,
      hostPort,
      containerIp: target.containerIp,
      ...(target.containerIp6 !== undefined ? { containerIp6: target.containerIp6 } : {}),
      networkId: target.networkId,
    });
  }
  return chosen;
}
