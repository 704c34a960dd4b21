// One HTTP exchange with a registry endpoint, with everything the
// distribution API needs around it: the Authorization header (and one resend
// after a 401 challenge), retries with exponential backoff on 5xx, 429 and
// dropped connections, redirects (blob downloads are often redirected to a
// storage host, which must not see our registry token), and the https -> http
// fallback of insecure registries. Answers other than 401/403 are returned to
// the caller, which knows what a 404 means for its request.
import type { Readable } from "node:stream";
import { Agent, type Dispatcher } from "undici";
import type { Authorizer } from "./auth.js";
import { describeErrorBody, RegistryError } from "./errors.js";
import type { Endpoint } from "./hosts.js";
import { formatLimit, MAX_ERROR_BODY, MAX_TOKEN_BODY } from "./limits.js";

export interface RetryPolicy {
  /** Total tries of one request, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 8_000 };

export type Method = "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";

export interface RegistryRequest {
  method: Method;
  /** Path and query below the endpoint ("/v2/library/busybox/manifests/latest"), or an absolute URL (upload Locations). */
  path: string;
  headers?: Record<string, string>;
  /** A factory for stream bodies, so a retry can send them again. */
  body?: Buffer | (() => Readable);
  /** Token scopes the request needs. */
  scopes: string[];
  /** What the request is about, for error messages ("127.0.0.1:5000/library/busybox:latest"). */
  what: string;
  /** Whether resending is safe (default: GET and HEAD only). */
  retry?: boolean;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
  /** The URL that answered, after redirects. */
  url: URL;
}

export interface TransportOptions {
  authorizer: Authorizer;
  /** Pool for normal requests; default an undici Agent with keep-alive. */
  dispatcher?: Dispatcher;
  /** Pool for insecure registries' https (certificate not verified). */
  insecureDispatcher?: Dispatcher;
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  /** How long to wait for response headers, and for each piece of a body (ms). */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
// Errors after which the same request may well succeed: the connection died
// or stalled. A refused connection is not among them: the endpoint is down,
// and the caller moves on to the next one (mirror -> upstream) right away.
const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
]);

export function errorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  if (typeof e?.code === "string") return e.code;
  if (typeof e?.cause?.code === "string") return e.cause.code;
  return undefined;
}

export function isRetryableNetworkError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && RETRYABLE_CODES.has(code);
}

function isTlsFailure(err: unknown): boolean {
  const code = errorCode(err) ?? "";
  return code === "EPROTO" || code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || /SSL|TLS/i.test((err as Error)?.message ?? "");
}

export function describeNetworkError(err: unknown): string {
  const code = errorCode(err);
  const message = (err as Error)?.message ?? String(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Transport {
  readonly retry: RetryPolicy;
  readonly #auth: Authorizer;
  readonly #dispatcher: Dispatcher;
  readonly #insecure: Dispatcher;
  readonly #owned: Dispatcher[] = [];
  readonly #userAgent: string;
  readonly #headersTimeout: number;
  readonly #bodyTimeout: number;
  // Insecure registries found to speak plain http: later requests go there directly.
  readonly #plainHttp = new Set<string>();

  constructor(opts: TransportOptions) {
    this.#auth = opts.authorizer;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    const keepAlive = { keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000, connections: 16 };
    this.#dispatcher = opts.dispatcher ?? this.#own(new Agent(keepAlive));
    this.#insecure = opts.insecureDispatcher ?? this.#own(new Agent({ ...keepAlive, connect: { rejectUnauthorized: false } }));
    this.#userAgent = opts.userAgent ?? "tscompose";
    this.#headersTimeout = opts.headersTimeoutMs ?? 60_000;
    this.#bodyTimeout = opts.bodyTimeoutMs ?? 60_000;
  }

  #own(d: Dispatcher): Dispatcher {
    this.#owned.push(d);
    return d;
  }

  /** Closes the connection pools this transport created (not ones passed in). */
  async close(): Promise<void> {
    await Promise.all(this.#owned.map((d) => d.close()));
  }

  /** Backoff before retry number `attempt` (0-based): doubling, capped, with jitter so parallel pulls spread out. */
  backoff(attempt: number, retryAfter?: string | string[]): number {
    const after = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    if (Number.isFinite(after) && after >= 0) return Math.min(after * 1000, this.retry.maxDelayMs);
    const exp = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt);
    return exp / 2 + (Math.random() * exp) / 2;
  }

  baseUrl(endpoint: Endpoint): string {
    return this.#plainHttp.has(endpoint.url) ? endpoint.url.replace(/^https:/, "http:") : endpoint.url;
  }

  /** Fetches a token realm (used by the Authorizer), through the same pools. */
  async fetchToken(url: URL, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    const res = await this.#dispatcher.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: "GET",
      headers: { "user-agent": this.#userAgent, ...headers },
      headersTimeout: this.#headersTimeout,
      bodyTimeout: this.#bodyTimeout,
    });
    const body = await readBodyLimited(res.body, MAX_TOKEN_BODY, () =>
      new RegistryError("protocol", `token server ${url.origin}${url.pathname}: token response exceeds the ${formatLimit(MAX_TOKEN_BODY)} limit`),
    );
    return { status: res.statusCode, body: body.toString("utf8") };
  }

  async request(endpoint: Endpoint, req: RegistryRequest): Promise<RegistryResponse> {
    const retryable = req.retry ?? (req.method === "GET" || req.method === "HEAD");
    let url = new URL(req.path, `${this.baseUrl(endpoint)}/`);
    let attempt = 0;
    let redirects = 0;
    let authResent = false;
    for (;;) {
      const sameOrigin = url.origin === new URL(this.baseUrl(endpoint)).origin;
      // Redirect targets (storage hosts) never see the registry's credentials.
      const authorization = sameOrigin ? await this.#auth.authorize(endpoint, req.scopes) : undefined;
      const headers: Record<string, string> = { "user-agent": this.#userAgent, ...req.headers };
      if (authorization) headers.authorization = authorization;
      let res: Dispatcher.ResponseData;
      try {
        res = await (endpoint.skipTlsVerify && url.protocol === "https:" ? this.#insecure : this.#dispatcher).request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: req.method,
          headers,
          body: typeof req.body === "function" ? req.body() : req.body,
          headersTimeout: this.#headersTimeout,
          bodyTimeout: this.#bodyTimeout,
        });
      } catch (err) {
        if (endpoint.httpFallback && url.protocol === "https:" && sameOrigin && isTlsFailure(err)) {
          this.#plainHttp.add(endpoint.url);
          url = new URL(url.href.replace(/^https:/, "http:"));
          continue;
        }
        if (retryable && isRetryableNetworkError(err) && attempt + 1 < this.retry.attempts) {
          await sleep(this.backoff(attempt++));
          continue;
        }
        throw new RegistryError("unavailable", `${req.what}: ${req.method} ${url.origin}${url.pathname} failed: ${describeNetworkError(err)}`, { cause: err });
      }
      const status = res.statusCode;
      if (status === 401 && sameOrigin && !authResent) {
        authResent = true;
        const body = await errorBodyText(res.body);
        if (this.#auth.challenged(endpoint, req.scopes, res.headers["www-authenticate"], authorization)) continue;
        throw this.#authError(endpoint, req, 401, body);
      }
      if (status === 401 || status === 403) {
        throw this.#authError(endpoint, req, status, await errorBodyText(res.body));
      }
      if (REDIRECTS.has(status) && (req.method === "GET" || req.method === "HEAD")) {
        const location = res.headers.location;
        await res.body.dump().catch(() => {});
        if (typeof location !== "string" || redirects >= MAX_REDIRECTS) {
          throw new RegistryError("protocol", `${req.what}: ${endpoint.host} redirected ${redirects >= MAX_REDIRECTS ? "too often" : "without a Location"}`, { status });
        }
        redirects++;
        url = new URL(location, url);
        continue;
      }
      if ((status >= 500 || status === 429) && retryable && attempt + 1 < this.retry.attempts) {
        await res.body.dump().catch(() => {});
        await sleep(this.backoff(attempt++, res.headers["retry-after"]));
        continue;
      }
      return { status, headers: res.headers, body: res.body, url };
    }
  }

  #authError(endpoint: Endpoint, req: RegistryRequest, status: number, body: string): RegistryError {
    const detail = describeErrorBody(body);
    const suffix = detail ? `: ${detail}` : "";
    if (status === 403) {
      return new RegistryError("denied", `${req.what}: registry ${endpoint.host} denied access (403 Forbidden)${suffix}`, { status });
    }
    // Whether we had a login matters more than whether a header went out:
    // anonymous clients send anonymous bearer tokens too.
    const login = this.#auth.credentialsFor(endpoint);
    const hint = login
      ? `the login ${JSON.stringify(login.username)} for ${endpoint.credentialHost} was not accepted`
      : `no credentials for ${endpoint.credentialHost} (log in with docker login ${endpoint.credentialHost}, or add them to ~/.docker/config.json)`;
    return new RegistryError("unauthorized", `${req.what}: registry ${endpoint.host} answered 401 Unauthorized${suffix}; ${hint}`, { status });
  }
}

type Body = RegistryResponse["body"];

/**
 * Reads a whole body of at most `limit` bytes; a longer one fails with
 * `tooLarge()` as soon as it is known to be longer (its Content-Length, or
 * the byte past the limit), and the connection is dropped, not drained.
 */
export async function readBodyLimited(body: Body, limit: number, tooLarge: () => Error, contentLength?: string | string[]): Promise<Buffer> {
  const declared = Number(Array.isArray(contentLength) ? contentLength[0] : contentLength);
  if (Number.isFinite(declared) && declared > limit) {
    body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      body.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Reads a whole (small) response, refusing one larger than `limit` bytes: "<noun> of <what> exceeds the 4 MiB limit". */
export function readBody(res: RegistryResponse, limit: number, what: string, noun = "response"): Promise<Buffer> {
  return readBodyLimited(res.body, limit, () => new RegistryError("protocol", `${noun} of ${what} exceeds the ${formatLimit(limit)} limit`), res.headers["content-length"]);
}

/**
 * The start of an error body, for its message: at most MAX_ERROR_BODY bytes
 * are read, the rest is never downloaded. Never fails.
 */
export async function errorBodyText(body: Body): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= MAX_ERROR_BODY) break;
    }
  } catch {
    // A body that fails midway: what arrived is all the detail there is.
  }
  // Leaving the loop early left the rest unread: drop the connection rather than drain it.
  if (!body.readableEnded) body.destroy();
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY).toString("utf8");
}

/** The error for an answer the caller did not expect, with the registry's own error text. */
export async function unexpectedStatus(endpoint: Endpoint, res: RegistryResponse, what: string, action: string): Promise<RegistryError> {
  const detail = describeErrorBody(await errorBodyText(res.body));
  const suffix = detail ? `: ${detail}` : "";
  if (res.status === 404) return new RegistryError("not-found", `${what}: not found on ${endpoint.host} (${action}, 404)${suffix}`, { status: 404 });
  if (res.status >= 500 || res.status === 429) {
    return new RegistryError("unavailable", `${what}: registry ${endpoint.host} failed ${action} (${res.status})${suffix}`, { status: res.status });
  }
  return new RegistryError("protocol", `${what}: registry ${endpoint.host} answered ${res.status} to ${action}${suffix}`, { status: res.status });
}
