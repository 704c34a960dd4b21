// Which URLs serve a reference's domain, configured like Docker's daemon.json:
//
//   { "registry-mirrors": ["http://127.0.0.1:5000"], "insecure-registries": ["myhost:5000", "10.0.0.0/8"] }
//
// As in Docker, mirrors apply to Docker Hub only: they are tried in order
// before Hub itself. Loopback registries (localhost, 127.0.0.0/8, ::1) speak
// plain http; insecure registries are tried over https without certificate
// verification, then over http; everything else is https.
import * as net from "node:net";
import { DOCKER_HUB_REGISTRY } from "./reference.js";

export interface RegistryHostsConfig {
  /** Docker Hub mirrors, full URLs ("http://127.0.0.1:5000"), tried in order before Hub. */
  mirrors: string[];
  /** "host:port" names or IPv4 CIDRs of registries without valid TLS. */
  insecure: string[];
}

export const emptyHostsConfig = (): RegistryHostsConfig => ({ mirrors: [], insecure: [] });

export interface Endpoint {
  /** Base URL without trailing slash: "https://registry-1.docker.io", "http://127.0.0.1:5000". */
  url: string;
  /** host[:port] of the endpoint, for error messages. */
  host: string;
  /** Which login applies: the host itself, "docker.io" for Hub. Mirrors get their own, never Hub's. */
  credentialHost: string;
  mirror: boolean;
  /** https without certificate verification (insecure registry). */
  skipTlsVerify: boolean;
  /** Retry over http when the TLS handshake fails (insecure registry without TLS at all). */
  httpFallback: boolean;
}

/**
 * Checks and normalizes daemon.json's registry-mirrors and insecure-registries
 * (read by engine/config.ts). Throws naming a bad entry.
 */
export function parseHostsConfig(given: RegistryHostsConfig): RegistryHostsConfig {
  const mirrors = given.mirrors.map((m) => {
    let url: URL;
    try {
      url = new URL(m);
    } catch {
      throw new Error(`"registry-mirrors": ${JSON.stringify(m)} is not a URL (write it with its scheme, e.g. https://mirror.example:5000)`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`"registry-mirrors": ${JSON.stringify(m)} must be http or https`);
    if (url.username || url.password || url.search || url.hash) {
      throw new Error(`"registry-mirrors": ${JSON.stringify(m)} must not contain credentials, a query or a fragment`);
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  });
  const insecure = given.insecure.map((h) => h.replace(/^https?:\/\//, "").replace(/\/+$/, ""));
  return { mirrors, insecure };
}

function hostname(hostAndPort: string): string {
  if (hostAndPort.startsWith("[")) return hostAndPort.slice(1, hostAndPort.indexOf("]"));
  return hostAndPort.replace(/:\d+$/, "");
}

export function isLoopback(hostAndPort: string): boolean {
  const name = hostname(hostAndPort).toLowerCase();
  if (name === "localhost" || name === "::1") return true;
  return net.isIPv4(name) && name.startsWith("127.");
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  if (!base || !net.isIPv4(base) || !net.isIPv4(ip) || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const toInt = (a: string): number => a.split(".").reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(base) & mask) >>> 0);
}

export function isInsecure(hostAndPort: string, config: RegistryHostsConfig): boolean {
  const name = hostname(hostAndPort);
  return config.insecure.some((entry) => (entry.includes("/") ? inCidr(name, entry) : entry.toLowerCase() === hostAndPort.toLowerCase()));
}

function endpointFor(hostAndPort: string, config: RegistryHostsConfig, mirror: boolean): Endpoint {
  if (isLoopback(hostAndPort)) {
    return { url: `http://${hostAndPort}`, host: hostAndPort, credentialHost: hostAndPort, mirror, skipTlsVerify: false, httpFallback: false };
  }
  const insecure = isInsecure(hostAndPort, config);
  return { url: `https://${hostAndPort}`, host: hostAndPort, credentialHost: hostAndPort, mirror, skipTlsVerify: insecure, httpFallback: insecure };
}

/**
 * The endpoints to try for `domain`, in order. `dockerHub` replaces Hub's
 * own URL (tests point it at a local server so nothing leaves the machine).
 */
export function endpointsFor(domain: string, config: RegistryHostsConfig, dockerHub = `https://${DOCKER_HUB_REGISTRY}`): Endpoint[] {
  if (domain !== "docker.io") return [endpointFor(domain, config, false)];
  const mirrors = config.mirrors.map((m): Endpoint => {
    const url = new URL(m);
    const insecure = isInsecure(url.host, config);
    return {
      url: m.replace(/\/+$/, ""),
      host: url.host,
      credentialHost: url.host,
      mirror: true,
      skipTlsVerify: url.protocol === "https:" && insecure,
      httpFallback: url.protocol === "https:" && insecure,
    };
  });
  const hub = new URL(dockerHub);
  return [...mirrors, { url: dockerHub.replace(/\/+$/, ""), host: hub.host, credentialHost: "docker.io", mirror: false, skipTlsVerify: false, httpFallback: false }];
}
