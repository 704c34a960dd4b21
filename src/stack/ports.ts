// The short port syntax of compose (`[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]`),
// parsed the way Docker's nat.ParsePortSpec reads it, but stricter where Docker
// silently accepts junk (empty parts, hostnames in place of IPs, bad protocols).
// The schema stage uses it to reject bad ports early; the normalizer uses the
// structured result to build port bindings.
import { isIP } from "node:net";

export type PortProtocol = "tcp" | "udp" | "sctp";

/** An inclusive port range; a single port has start === end. */
export interface PortRange {
  start: number;
  end: number;
}

export interface PortShort {
  target: PortRange;
  /** Undefined when no host port is given: the engine picks a free one. */
  published: PortRange | undefined;
  /** Undefined when the port binds on all host addresses. */
  hostIp: string | undefined;
  protocol: PortProtocol;
}

const PROTOCOLS: readonly string[] = ["tcp", "udp", "sctp"];

/**
 * Parses a short-syntax port: `80`, `"8080:80"`, `"127.0.0.1:8080:80"`,
 * `"8000-8010:8000-8010/udp"`, `"[::1]:80:80"`, `"127.0.0.1::80"`.
 * Throws an Error whose message names the value and what is wrong with it.
 */
export function parsePortShort(spec: string | number): PortShort {
  const text = String(spec);
  const fail = (reason: string): never => {
    throw new Error(`invalid port "${text}": ${reason}`);
  };
  if (typeof spec === "number") {
    if (!Number.isInteger(spec) || spec < 1 || spec > 65535) fail("must be between 1 and 65535");
    return { target: { start: spec, end: spec }, published: undefined, hostIp: undefined, protocol: "tcp" };
  }

  let rest = spec;
  let protocol: PortProtocol = "tcp";
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const proto = rest.slice(slash + 1);
    if (!PROTOCOLS.includes(proto)) fail(`unknown protocol "${proto}" (use tcp, udp or sctp)`);
    protocol = proto as PortProtocol;
    rest = rest.slice(0, slash);
  }

  let hostIp: string | undefined;
  let hostPort: string | undefined;
  let containerPort: string;
  if (rest.startsWith("[")) {
    // Bracketed IPv6: `[::1]:8080:80` or `[::1]::80`. A published part is required
    // after the address, as in Docker, so `[::1]:80` is rejected rather than guessed.
    const close = rest.indexOf("]");
    if (close < 0) fail("missing ] after IPv6 address");
    hostIp = rest.slice(1, close);
    const after = rest.slice(close + 1);
    const parts = after.split(":");
    if (parts.length !== 3 || parts[0] !== "") fail("expected [IP]:PUBLISHED:TARGET");
    hostPort = parts[1];
    containerPort = parts[2] ?? "";
  } else {
    const parts = rest.split(":");
    const n = parts.length;
    containerPort = parts[n - 1] ?? "";
    if (n === 2) {
      hostPort = parts[0];
      if (hostPort === "") fail("empty published port");
    } else if (n >= 3) {
      // More than three parts: an unbracketed IPv6 address, as Docker allows.
      hostIp = parts.slice(0, n - 2).join(":");
      hostPort = parts[n - 2];
    }
  }

  if (hostIp !== undefined && isIP(hostIp) === 0) fail(`"${hostIp}" is not an IP address`);
  const target = parseRange(containerPort, 1, fail, "target");
  const published = hostPort === undefined || hostPort === "" ? undefined : parseRange(hostPort, 0, fail, "published");

  // Docker lets a host range go with a single container port (one host port is
  // picked from the range), but two ranges must have the same length.
  if (published && target.end !== target.start && published.end - published.start !== target.end - target.start) {
    fail(`published range ${hostPort ?? ""} and target range ${containerPort} differ in length`);
  }
  return { target, published, hostIp, protocol };
}

/** Parses `8080` or `8000-8010`, as in a short port or the long form's `published`. */
export function parsePortRange(s: string, min = 0): PortRange {
  const fail = (reason: string): never => {
    throw new Error(`invalid port range "${s}": ${reason}`);
  };
  return parseRange(s, min, fail, "");
}

function parseRange(s: string, min: number, fail: (reason: string) => never, what: string): PortRange {
  const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(s);
  if (!m) {
    // `what` names the part of a short port ("target", "published"); empty for a lone range.
    if (s === "") return fail(what === "" ? "empty" : `missing ${what} port`);
    return fail(`${what === "" ? "" : `${what} port `}"${s}" is not a port number or range`);
  }
  const start = checkPort(m[1] ?? "", min, fail);
  const end = m[2] === undefined ? start : checkPort(m[2], min, fail);
  if (end < start) fail(`range ${s} ends before it starts`);
  return { start, end };
}

function checkPort(digits: string, min: number, fail: (reason: string) => never): number {
  const n = Number(digits);
  if (n < min || n > 65535) fail(`port ${digits} is out of range (${min}-65535)`);
  return n;
}
