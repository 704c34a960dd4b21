// Registry authentication, as the distribution spec and Docker's token spec
// describe it: a request without (valid) credentials gets 401 with a
// WWW-Authenticate challenge; for "Basic" the client resends with its login,
// for "Bearer" it first fetches a token from the challenge's realm
// (GET realm?service=...&scope=repository:<path>:pull, with Basic credentials
// when it has a login, anonymously otherwise) and resends with that token.
// Challenges are remembered per endpoint and tokens per endpoint and scope, so
// only the first request to an endpoint pays the extra round trip.
import type { CredentialLookup, RegistryCredentials } from "./credentials.js";
import { describeErrorBody, RegistryError } from "./errors.js";
import type { Endpoint } from "./hosts.js";

export interface Challenge {
  /** Lowercased: "bearer", "basic". */
  scheme: string;
  /** Parameter names lowercased: realm, service, scope, error. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
// Unquoted values should be RFC tokens, but some servers send URLs unquoted: take up to a comma or space.
const BARE_VALUE = /[^\s,]+/y;

/** Parses a WWW-Authenticate header value (RFC 7235), which may hold several challenges. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let pos = 0;
  const skip = (chars: RegExp): void => {
    while (pos < header.length && chars.test(header.charAt(pos))) pos++;
  };
  const token = (): string | undefined => {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(header);
    if (!m) return undefined;
    pos += m[0].length;
    return m[0];
  };
  const bare = (): string => {
    BARE_VALUE.lastIndex = pos;
    const m = BARE_VALUE.exec(header);
    pos += m ? m[0].length : 0;
    return m ? m[0] : "";
  };
  const quoted = (): string => {
    let value = "";
    pos++; // opening quote
    while (pos < header.length && header[pos] !== '"') {
      if (header[pos] === "\\" && pos + 1 < header.length) pos++;
      value += header[pos];
      pos++;
    }
    pos++; // closing quote
    return value;
  };
  for (;;) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const start = pos;
      const name = token();
      if (!name) break;
      skip(/\s/);
      if (header[pos] !== "=") {
        // Not a parameter: the next challenge's scheme.
        pos = start;
        break;
      }
      pos++;
      skip(/\s/);
      const value = header[pos] === '"' ? quoted() : bare();
      challenge.params[name.toLowerCase()] = value;
    }
  }
  return out;
}

export const pullScope = (path: string): string => `repository:${path}:pull`;
export const pushScope = (path: string): string => `repository:${path}:pull,push`;

/** Fetches a token URL; the transport supplies it so tokens use the same connection pool. */
export type TokenFetcher = (url: URL, headers: Record<string, string>) => Promise<{ status: number; body: string }>;

interface CachedToken {
  header: string;
  expiresAt: number;
}

const basicHeader = (c: RegistryCredentials): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;

export class Authorizer {
  readonly #credentials: CredentialLookup;
  readonly #fetchToken: TokenFetcher;
  readonly #now: () => number;
  readonly #challenges = new Map<string, Challenge>();
  // Promises, so concurrent layer downloads share one token request.
  readonly #tokens = new Map<string, Promise<CachedToken>>();

  constructor(credentials: CredentialLookup, fetchToken: TokenFetcher, now: () => number = Date.now) {
    this.#credentials = credentials;
    this.#fetchToken = fetchToken;
    this.#now = now;
  }

  /** The login that applies to `endpoint`, if any (for error messages). */
  credentialsFor(endpoint: Endpoint): RegistryCredentials | undefined {
    return this.#credentials(endpoint.credentialHost);
  }

  /** The Authorization header for a request needing `scopes`, once the endpoint has challenged us. */
  async authorize(endpoint: Endpoint, scopes: string[]): Promise<string | undefined> {
    const challenge = this.#challenges.get(endpoint.url);
    if (!challenge) return undefined;
    const creds = this.#credentials(endpoint.credentialHost);
    if (challenge.scheme === "basic") return creds ? basicHeader(creds) : undefined;
    const key = `${endpoint.url}\n${[...scopes].sort().join(" ")}`;
    const cached = this.#tokens.get(key);
    if (cached) {
      const token = await cached.catch(() => undefined);
      if (token && token.expiresAt > this.#now()) return token.header;
      if (this.#tokens.get(key) === cached) this.#tokens.delete(key);
    }
    const pending = this.#requestToken(endpoint, challenge, scopes, creds);
    this.#tokens.set(key, pending);
    pending.catch(() => this.#tokens.get(key) === pending && this.#tokens.delete(key));
    return (await pending).header;
  }

  /**
   * Records the challenge of a 401 answer. Returns whether resending can
   * help: a Bearer challenge always gets one fresh token, a Basic one only
   * when we have a login we did not send yet.
   */
  challenged(endpoint: Endpoint, scopes: string[], header: string | string[] | undefined, sent: string | undefined): boolean {
    const challenges = (Array.isArray(header) ? header : header ? [header] : []).flatMap(parseChallenges);
    const challenge = challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
    if (!challenge) return false;
    this.#challenges.set(endpoint.url, challenge);
    // Whatever token we sent is no good for these scopes any more.
    const key = `${endpoint.url}\n${[...scopes].sort().join(" ")}`;
    this.#tokens.delete(key);
    if (challenge.scheme === "basic") {
      const creds = this.#credentials(endpoint.credentialHost);
      return creds !== undefined && basicHeader(creds) !== sent;
    }
    return challenge.params.realm !== undefined;
  }

  async #requestToken(endpoint: Endpoint, challenge: Challenge, scopes: string[], creds: RegistryCredentials | undefined): Promise<CachedToken> {
    const realm = challenge.params.realm;
    if (!realm) throw new RegistryError("protocol", `registry ${endpoint.host} sent a Bearer challenge without a realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch (err) {
      throw new RegistryError("protocol", `registry ${endpoint.host} sent an invalid token realm ${JSON.stringify(realm)}`, { cause: err });
    }
    if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
    // The registry may name the scope it wants (e.g. for a cross-repository mount); ask for both.
    const wanted = new Set(scopes);
    if (challenge.params.scope) for (const s of challenge.params.scope.split(" ")) if (s) wanted.add(s);
    for (const scope of wanted) url.searchParams.append("scope", scope);
    const headers: Record<string, string> = {};
    if (creds) {
      url.searchParams.set("account", creds.username);
      headers.authorization = basicHeader(creds);
    }
    const started = this.#now();
    let res: { status: number; body: string };
    try {
      res = await this.#fetchToken(url, headers);
    } catch (err) {
      // The transport's own refusal (a token body over its limit) is the token server's fault, not a connection failure.
      if (err instanceof RegistryError) throw new RegistryError(err.code, `registry ${endpoint.host}: ${err.message}`, { cause: err });
      throw new RegistryError("unavailable", `registry ${endpoint.host}: token server ${url.origin}${url.pathname} unreachable: ${(err as Error).message}`, { cause: err });
    }
    const who = creds ? `the credentials of ${JSON.stringify(creds.username)}` : "anonymous access";
    if (res.status === 401 || res.status === 403) {
      const detail = describeErrorBody(res.body);
      throw new RegistryError(
        res.status === 401 ? "unauthorized" : "denied",
        `registry ${endpoint.host}: token server ${url.origin}${url.pathname} refused ${who} (${res.status})${detail ? `: ${detail}` : ""}`,
        { status: res.status },
      );
    }
    if (res.status !== 200) {
      throw new RegistryError("protocol", `registry ${endpoint.host}: token server ${url.origin}${url.pathname} answered ${res.status}`, { status: res.status });
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(res.body) as typeof body;
    } catch {
      throw new RegistryError("protocol", `registry ${endpoint.host}: token server ${url.origin}${url.pathname} sent invalid JSON`);
    }
    const token = typeof body.token === "string" && body.token ? body.token : body.access_token;
    if (typeof token !== "string" || token === "") {
      throw new RegistryError("protocol", `registry ${endpoint.host}: token server ${url.origin}${url.pathname} sent no token`);
    }
    // The token spec's default lifetime is 60 s; renew a little early so a token never expires in flight.
    const lifetime = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
    return { header: `Bearer ${token}`, expiresAt: started + Math.max(1, lifetime - 5) * 1000 };
  }
}
