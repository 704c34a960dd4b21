// The client side of the daemon API, used by the CLI and the TUI. When the
// daemon is not running, the CLI starts it in the background (as Docker
// Desktop or podman's socket activation would) and waits for its socket.
import { existsSync, mkdirSync, openSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { request } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, RequestOptions } from "node:http";
import { createConnection } from "node:net";
import { dirname, resolve } from "node:path";
import type { Duplex } from "node:stream";
import { API_VERSION, API_VERSION_HEADER, ENGINE_HEADER } from "./api.js";
import type { EngineChoice, PingResponse } from "./api.js";
import { UPGRADE_PROTOCOL } from "./attach.js";
import { ensureStateDir } from "../../engine/sys/state-dir.js";
import type { DaemonPaths } from "./paths.js";
import { isErrorKind } from "../../model/errors.js";
import type { ErrorKind, KindedError } from "../../model/errors.js";
import { kindOfStatus } from "./http.js";

/** The daemon's error answer, its kind as the daemon named it (or, from an older daemon, as the status says). */
export class DaemonError extends Error implements KindedError {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
    kind?: unknown,
  ) {
    super(message);
    this.name = "DaemonError";
    this.kind = isErrorKind(kind) ? kind : kindOfStatus(status);
  }

  readonly kind: ErrorKind;
}

/** The error an answer of status >= 400 stands for, from its JSON body (http.ts errorBody). */
function answerError(status: number | undefined, body: { message?: string; code?: string; kind?: string }): DaemonError {
  return new DaemonError(body.message ?? `daemon answered ${status}`, status ?? 500, body.code, body.kind);
}

/**
 * Refuses an answer from a daemon that speaks another version of the API (an
 * old daemon still running after an upgrade, or one from another checkout),
 * before anything in it is read as this version's shapes.
 */
/** The `code` of the DaemonError for an answer of another API version. */
export const API_VERSION_MISMATCH = "api-version";

export function versionMismatch(headers: IncomingHttpHeaders, socket: string): DaemonError | undefined {
  const theirs = headers[API_VERSION_HEADER];
  if (theirs === API_VERSION) return undefined;
  const what = theirs === undefined ? "an older API that does not state its version" : `API ${String(theirs)}`;
  return new DaemonError(
    `the tscompose daemon at ${socket} speaks ${what}, this client ${API_VERSION}: restart the daemon (stop it; the next command starts the one of this version)`,
    505,
    API_VERSION_MISMATCH,
  );
}

/** A connection that never reached the daemon: nothing was sent, so the request may be retried. */
const unreachable = (err: unknown): boolean => ["ENOENT", "ECONNREFUSED"].includes((err as { code?: string }).code ?? "");

export class DaemonClient {
  /**
   * Called once when the socket does not answer (connect() starts the daemon here): the
   * first request is the check, where a separate ping cost every command a round trip.
   */
  private whenUnreachable: (() => Promise<void>) | undefined;
  /** The engine the user asked for, sent with every request (ENGINE_HEADER); undefined: the daemon's default. */
  engineChoice: EngineChoice | undefined;

  constructor(
    readonly socket: string,
    whenUnreachable?: () => Promise<void>,
  ) {
    this.whenUnreachable = whenUnreachable;
  }

  private async reaching<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const recover = this.whenUnreachable;
      if (!recover || !unreachable(err)) throw err;
      this.whenUnreachable = undefined;
      await recover();
      return fn();
    }
  }

  /** Hands on an answer of this API version; another version's is discarded unread and refused. */
  private answered(res: IncomingMessage, resolve: (res: IncomingMessage) => void, reject: (err: Error) => void): void {
    const mismatch = versionMismatch(res.headers, this.socket);
    if (!mismatch) return resolve(res);
    res.resume();
    reject(mismatch);
  }

  /**
   * Our own connection, not the http Agent: one request per connection is all we make,
   * and the Agent's server-name handling costs a CLI ~10 ms of regex compilation.
   */
  private options(method: string, path: string, headers: Record<string, string | number>, signal?: AbortSignal): RequestOptions {
    const withEngine = this.engineChoice ? { ...headers, [ENGINE_HEADER]: JSON.stringify(this.engineChoice) } : headers;
    return { createConnection: () => createConnection(this.socket), method, path: `/${API_VERSION}${path}`, headers: withEngine, signal };
  }

  private raw(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.reaching(
      () =>
        new Promise((resolvePromise, reject) => {
          const req = request(this.options(method, path, { "content-type": "application/json" }, signal), (res) => this.answered(res, resolvePromise, reject));
          req.on("error", reject);
          req.end(body === undefined ? undefined : JSON.stringify(body));
        }),
    );
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const parsed = (text ? JSON.parse(text) : {}) as T & { message?: string; code?: string; kind?: string };
    if ((res.statusCode ?? 500) >= 400) throw answerError(res.statusCode, parsed);
    return parsed;
  }

  /** Sends input's bytes (a tar) as the body; the answer is JSON, as json()'s. */
  async upload<T>(method: string, path: string, input: NodeJS.ReadableStream): Promise<T> {
    const res = await this.reaching(
      () =>
        new Promise<IncomingMessage>((resolvePromise, reject) => {
          const req = request(this.options(method, path, { "content-type": "application/x-tar", "transfer-encoding": "chunked" }), (res) => {
            // Refused while we send (413 for its size): the rest would only be read and dropped.
            if ((res.statusCode ?? 500) >= 400) {
              input.unpipe(req);
              req.end();
            }
            this.answered(res, resolvePromise, reject);
          });
          req.on("error", reject);
          input.pipe(req);
        }),
    );
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as T & { message?: string; code?: string; kind?: string };
    if ((res.statusCode ?? 500) >= 400) throw answerError(res.statusCode, parsed);
    return parsed;
  }

  /** Pipes a response's bytes (a tar) to out; an error answer is a DaemonError, with nothing written. */
  async bytes(method: string, path: string, out: NodeJS.WritableStream): Promise<void> {
    const res = await this.raw(method, path);
    if ((res.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { message?: string; code?: string; kind?: string };
      throw answerError(res.statusCode, parsed);
    }
    await pipeline(res, out);
  }

  /** Streams NDJSON messages from a request. */
  async *stream<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): AsyncGenerator<T> {
    const res = await this.raw(method, path, body, signal);
    if ((res.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const parsed = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { message?: string; code?: string; kind?: string };
      throw answerError(res.statusCode, parsed);
    }
    let buffered = "";
    try {
      for await (const chunk of res) {
        buffered += (chunk as Buffer).toString("utf8");
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.trim() !== "") yield JSON.parse(line) as T;
        }
      }
    } catch (err) {
      if (!signal?.aborted) throw err;
    }
  }

  /**
   * Opens an attach session (exec, run): POSTs the JSON body with an Upgrade
   * and resolves with the raw socket once the daemon answered 101, plus any
   * frames that came with the answer. Any other answer is an error.
   */
  upgrade(path: string, body: unknown): Promise<{ socket: Duplex; head: Buffer }> {
    const payload = Buffer.from(JSON.stringify(body));
    return this.reaching(() => new Promise((resolvePromise, reject) => {
      const req = request(
        this.options("POST", path, { "content-type": "application/json", "content-length": payload.length, connection: "Upgrade", upgrade: UPGRADE_PROTOCOL }),
      );
      req.on("upgrade", (res, socket, head) => {
        const mismatch = versionMismatch(res.headers, this.socket);
        if (!mismatch) return resolvePromise({ socket, head });
        socket.destroy();
        reject(mismatch);
      });
      req.on("response", (res) => {
        const mismatch = versionMismatch(res.headers, this.socket);
        if (mismatch) {
          res.resume();
          reject(mismatch);
          return;
        }
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          let parsed: { message?: string; code?: string; kind?: string } = {};
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as typeof parsed;
          } catch {
            // not JSON: the status says enough
          }
          reject(answerError(res.statusCode, parsed));
        });
      });
      req.on("error", reject);
      req.end(payload);
    }));
  }

  /** The daemon, or undefined when none answers; one of another API version is an error, not "none". */
  async ping(): Promise<PingResponse | undefined> {
    try {
      return await this.json<PingResponse>("GET", "/ping");
    } catch (err) {
      if (err instanceof DaemonError && err.code === API_VERSION_MISMATCH) throw err;
      return undefined;
    }
  }
}

/**
 * A client of the daemon, which is started in the background when its socket does not
 * answer: at once when there is no socket, else on the first request that finds no one
 * there (a killed daemon leaves its socket file behind).
 */
export async function connect(paths: DaemonPaths, opts: { autostart?: boolean; timeoutMs?: number } = {}): Promise<DaemonClient> {
  const start = (): Promise<void> => startDaemon(paths, opts);
  const client = new DaemonClient(paths.socket, start);
  if (!existsSync(paths.socket)) await start();
  return client;
}

async function startDaemon(paths: DaemonPaths, opts: { autostart?: boolean; timeoutMs?: number }): Promise<void> {
  if (opts.autostart === false || process.env.TSCOMPOSE_NO_AUTOSTART === "1") throw new DaemonError(`cannot connect to the tscompose daemon at ${paths.socket}: is it running?`, 503);
  // The CLI may be the first to touch the state dir: it is created private here as well.
  ensureStateDir(paths.stateDir);
  mkdirSync(dirname(paths.logFile), { recursive: true });
  const out = openSync(paths.logFile, "a", 0o600);
  const bin = resolve(dirname(new URL(import.meta.url).pathname), "../../../bin/tscompose");
  // Imported here: only a command that starts the daemon needs it (~5 ms of every CLI's start-up).
  const { spawn } = await import("node:child_process");
  const child = spawn(process.execPath, [bin, "daemon", "--state-dir", paths.stateDir], {
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, TSCOMPOSE_SOCKET: paths.socket, TSCOMPOSE_LOG: paths.logFile },
  });
  child.unref();
  const probe = new DaemonClient(paths.socket);
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (existsSync(paths.socket) && (await probe.ping())) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new DaemonError(`the tscompose daemon did not start; see ${paths.logFile}`, 503);
}
