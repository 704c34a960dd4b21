// Where the Docker engine finds its dockerd: DOCKER_HOST semantics (unix://
// and tcp://, TLS from DOCKER_TLS_VERIFY/DOCKER_CERT_PATH as the docker CLI
// reads them), and the API version negotiated from /_ping: the server's, capped
// at the newest this engine knows, refused below 1.41 (dockerd 20.10).
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { EngineError } from "../errors.js";
import { docker } from "./errors.js";

export const MIN_API_VERSION = "1.41";
/** The newest API whose create body this engine writes (one create with several networks, start_interval). */
export const MAX_API_VERSION = "1.44";
export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

/** TLS to a tcp:// dockerd, verified against `ca`, with a client certificate: the docker CLI's --tlsverify --tlscacert --tlscert --tlskey (files). */
export interface DockerTlsFiles {
  ca: string;
  cert: string;
  key: string;
}

export interface DockerConnectionOptions {
  /** DOCKER_HOST's syntax; undefined: env DOCKER_HOST, else the local socket. */
  host?: string;
  /** TLS files for a tcp:// host; undefined: the environment's DOCKER_TLS_VERIFY/DOCKER_CERT_PATH say. */
  tls?: DockerTlsFiles;
  /** Defaults to the process's. */
  env?: NodeJS.ProcessEnv;
}

/** The TLS files DOCKER_TLS_VERIFY/DOCKER_CERT_PATH name as the docker CLI reads them ($DOCKER_CERT_PATH, else ~/.docker), or undefined: no TLS. */
export function tlsFromEnv(env: NodeJS.ProcessEnv, home: string = homedir()): DockerTlsFiles | undefined {
  const certPath = env.DOCKER_CERT_PATH || undefined;
  if ((env.DOCKER_TLS_VERIFY ?? "") === "" && certPath === undefined) return undefined;
  const dir = certPath ?? join(home, ".docker");
  return { ca: join(dir, "ca.pem"), cert: join(dir, "cert.pem"), key: join(dir, "key.pem") };
}

/** dockerode's connection options for a DOCKER_HOST value. */
export function connectionOptions(opts: DockerConnectionOptions = {}): Docker.DockerOptions {
  const env = opts.env ?? process.env;
  const host = opts.host ?? (env.DOCKER_HOST || DEFAULT_DOCKER_HOST);
  // dockerode fills what is not given from the daemon's own DOCKER_HOST/DOCKER_CERT_PATH: say explicitly what this connection does not use.
  const none = { host: undefined, ca: undefined, cert: undefined, key: undefined };
  if (host.startsWith("unix://")) {
    const socketPath = host.slice("unix://".length);
    if (socketPath === "") throw new EngineError("invalid", `docker host ${JSON.stringify(host)}: no socket path`);
    return { ...none, socketPath };
  }
  if (host.startsWith("tcp://")) {
    let url: URL;
    try {
      url = new URL(`http://${host.slice("tcp://".length)}`);
    } catch {
      throw new EngineError("invalid", `docker host ${JSON.stringify(host)}: not host:port`);
    }
    const tls = opts.tls ?? tlsFromEnv(env);
    const defaultPort = tls ? 2376 : 2375;
    const base: Docker.DockerOptions = { ...none, host: url.hostname.replace(/^\[|\]$/g, ""), port: url.port === "" ? defaultPort : Number(url.port), protocol: tls ? "https" : "http" };
    if (!tls) return base;
    const read = (file: string, flag: string): Buffer => {
      try {
        return readFileSync(file);
      } catch (e) {
        throw new EngineError("invalid", `docker TLS: cannot read ${file} (${flag}, DOCKER_CERT_PATH)`, { cause: e });
      }
    };
    return { ...base, ca: read(tls.ca, "--tlscacert"), cert: read(tls.cert, "--tlscert"), key: read(tls.key, "--tlskey") };
  }
  throw new EngineError("invalid", `docker host ${JSON.stringify(host)}: only unix:// and tcp:// are supported`);
}

// Node's codes for a server certificate the given CA does not vouch for (or that names another host).
const UNTRUSTED_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** A TLS verification failure as the user can act on it: which host, that its certificate was not trusted, by which CA file; undefined for any other error. */
export function untrusted(err: unknown, opts: DockerConnectionOptions): EngineError | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string" || !UNTRUSTED_CODES.has(code)) return undefined;
  const env = opts.env ?? process.env;
  const host = opts.host ?? (env.DOCKER_HOST || DEFAULT_DOCKER_HOST);
  const ca = (opts.tls ?? tlsFromEnv(env))?.ca;
  return new EngineError("forbidden", `docker host ${host}: its TLS certificate was not trusted${ca ? ` by the CA in ${ca} (--tlscacert, DOCKER_CERT_PATH)` : ""}: ${(err as Error).message}`, { cause: err });
}

/** -1, 0, 1 as a < b, =, > for "1.41"-style versions. */
export function compareApiVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** The version to speak to a server that says it speaks `server`. */
export function negotiateApiVersion(server: string | undefined): string {
  if (server === undefined || !/^\d+\.\d+$/.test(server)) throw new EngineError("unavailable", `dockerd did not say its API version in /_ping (got ${JSON.stringify(server)})`);
  if (compareApiVersions(server, MIN_API_VERSION) < 0) throw new EngineError("invalid", `dockerd speaks API ${server}; tscompose needs ${MIN_API_VERSION} (Docker 20.10) or newer`);
  return compareApiVersions(server, MAX_API_VERSION) > 0 ? MAX_API_VERSION : server;
}

/** A dockerode client speaking the negotiated version, and that version. */
export async function connectDocker(opts: DockerConnectionOptions = {}): Promise<{ client: Docker; apiVersion: string }> {
  const base = connectionOptions(opts);
  const probe = new Docker(base);
  const res = await docker(
    () =>
      new Promise<{ headers: Record<string, string | string[] | undefined>; resume(): void }>((resolve, reject) => {
        probe.modem.dial({ path: "/_ping", method: "GET", isStream: true, statusCodes: { 200: true, 500: "server error" } }, (err, r) => (err ? reject(err) : resolve(r as never)));
      }).catch((err: unknown) => {
        throw untrusted(err, opts) ?? err;
      }),
    "ping",
  );
  res.resume();
  const header = res.headers["api-version"];
  const apiVersion = negotiateApiVersion(Array.isArray(header) ? header[0] : header);
  return { client: new Docker({ ...base, version: `v${apiVersion}` }), apiVersion };
}
