// docker login's check: are these credentials good for that registry? Asks
// the registry's /v2/ endpoint; on a Basic challenge the login is sent as is,
// on a Bearer challenge a token is requested from the realm with it (as the
// distribution token spec has clients do). Nothing is stored here.
import { request, type Dispatcher } from "undici";
import { parseChallenges } from "../content/auth.js";
import type { RegistryCredentials } from "../content/credentials.js";
import { endpointsFor, type RegistryHostsConfig } from "../content/hosts.js";
import { EngineError } from "../types.js";

/** Where Docker keeps Docker Hub logins in config.json. */
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";

const HUB_NAMES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** The registry host a login names ("localhost:5000"), "docker.io" for Hub, and its key in config.json. */
export function loginServer(server: string | undefined): { domain: string; key: string } {
  const host = (server ?? "").replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").split("/")[0]?.toLowerCase() ?? "";
  if (host === "" || HUB_NAMES.has(host)) return { domain: "docker.io", key: DOCKER_HUB_AUTH_KEY };
  return { domain: host, key: host };
}

export interface CheckLoginOptions {
  hosts: RegistryHostsConfig;
  dockerHubUrl?: string;
  dispatcher?: Dispatcher;
}

const basic = (c: RegistryCredentials): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;

export async function checkLogin(server: string | undefined, creds: RegistryCredentials, opts: CheckLoginOptions): Promise<void> {
  const { domain } = loginServer(server);
  const endpoint = endpointsFor(domain, opts.hosts, opts.dockerHubUrl).find((e) => !e.mirror);
  if (!endpoint) throw new EngineError("invalid", `no registry endpoint for ${domain}`);
  const get = async (url: string, headers: Record<string, string>): Promise<{ status: number; challenge: string | undefined }> => {
    let res;
    try {
      res = await request(url, { method: "GET", headers: { "user-agent": "tscompose", ...headers }, ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}) });
    } catch (err) {
      throw new EngineError("unavailable", `login to ${endpoint.host}: ${url} unreachable: ${(err as Error).message}`, { cause: err });
    }
    await res.body.dump().catch(() => undefined);
    const h = res.headers["www-authenticate"];
    return { status: res.statusCode, challenge: Array.isArray(h) ? h.join(", ") : h };
  };
  const v2 = `${endpoint.url}/v2/`;
  const first = await get(v2, {});
  if (first.status === 200) return;
  const challenges = first.status === 401 && first.challenge ? parseChallenges(first.challenge) : [];
  const bearer = challenges.find((c) => c.scheme === "bearer");
  const refused = (): never => {
    throw new EngineError("unauthorized", `login to ${endpoint.host} failed: unauthorized: incorrect username or password`);
  };
  if (bearer?.params.realm) {
    const url = new URL(bearer.params.realm);
    if (bearer.params.service) url.searchParams.set("service", bearer.params.service);
    url.searchParams.set("account", creds.username);
    const token = await get(url.href, { authorization: basic(creds) });
    if (token.status === 200) return;
    if (token.status === 401 || token.status === 403) refused();
    throw new EngineError("unavailable", `login to ${endpoint.host}: the token server answered ${token.status}`);
  }
  if (challenges.some((c) => c.scheme === "basic")) {
    const again = await get(v2, { authorization: basic(creds) });
    if (again.status === 200) return;
    if (again.status === 401 || again.status === 403) refused();
    throw new EngineError("unavailable", `login to ${endpoint.host}: the registry answered ${again.status}`);
  }
  throw new EngineError("unavailable", `login to ${endpoint.host}: ${v2} answered ${first.status}`);
}
