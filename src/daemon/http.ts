// What every request handler of the daemon shares: the one mapping between
// error kinds (engine/errors.ts) and HTTP statuses, the error that carries a
// status of its own, and the decoding of request data (path parameters,
// query values), each of which answers 400 on bad input instead of throwing
// something the server cannot map to a status.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Writable } from "node:stream";
import { kindOf } from "../../model/errors.js";
import type { ErrorKind, KindedError } from "../../model/errors.js";

/** The status the daemon answers for each kind of error; the client reads it back with kindOfStatus. */
export const STATUS_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  "not-found": 404,
  conflict: 409,
  internal: 500,
  unavailable: 503,
  timeout: 504,
  "no-space": 507,
};

/** The kind of an answer's status: the inverse of STATUS_OF_KIND, other 4xx being invalid and other 5xx internal. */
export function kindOfStatus(status: number): ErrorKind {
  for (const [kind, s] of Object.entries(STATUS_OF_KIND)) if (s === status) return kind as ErrorKind;
  return status >= 400 && status < 500 ? "invalid" : "internal";
}

/** The status to answer for anything thrown while serving a request. */
export function statusOf(err: unknown): number {
  return err instanceof HttpError ? err.status : STATUS_OF_KIND[kindOf(err)];
}

/** The JSON body of an error answer (or a stream's or an attach session's last message): the client rebuilds the error from it. */
export function errorBody(err: unknown): { message: string; code?: string; kind: ErrorKind } {
  const code = (err as { code?: unknown } | undefined)?.code;
  return { message: err instanceof Error ? err.message : String(err), ...(typeof code === "string" ? { code } : {}), kind: kindOf(err) };
}

/** An error with the HTTP status to answer (413, 405 ... that no kind names); its kind follows from the status. */
export class HttpError extends Error implements KindedError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
    this.kind = kindOfStatus(status);
  }

  readonly kind: ErrorKind;
}

/** A percent-encoded path segment; `%E0%A4%A` (invalid UTF-8 or a broken escape) is a 400, not a URIError. */
export function decodeParam(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `invalid percent-encoding in the request path: "${segment}"`);
  }
}

/** The request's URL; a target node's URL parser refuses is a 400. */
export function requestUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? "/", "http://daemon");
  } catch {
    throw new HttpError(400, `invalid request target: ${JSON.stringify(target)}`);
  }
}

/**
 * The largest request body accepted, for every endpoint. The largest
 * legitimate ones carry a client's whole environment (up, run: the daemon
 * interpolates the stack with it) plus file paths and a command: the kernel
 * caps a process's arguments and environment together at 3/4 of the 8 MiB
 * stack limit (6 MiB), so 8 MiB leaves room for JSON's escaping and the rest.
 */
export const MAX_BODY = 8 << 20;

const tooLarge = (): HttpError => new HttpError(413, `request body too large: the limit is ${MAX_BODY} bytes (8 MiB)`);

/** Checks a Content-Length header before anything is read: a body announced too large is refused at once. */
export function announcedLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  if (!/^\d+$/.test(header)) throw new HttpError(400, `invalid Content-Length: ${JSON.stringify(header)}`);
  const length = Number(header);
  if (length > MAX_BODY) throw tooLarge();
  return length;
}

/**
 * The request's body parsed as JSON; an empty body is undefined. At most
 * MAX_BODY bytes are held (413 beyond, counted as they arrive, whatever the
 * Content-Length said); what the client sends after a refusal is discarded by
 * node's server, within its requestTimeout.
 */
export async function readJsonBody(req: AsyncIterable<unknown> & { headers: Record<string, string | string[] | undefined> }): Promise<unknown> {
  announcedLength(req.headers["content-length"] as string | undefined);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw tooLarge();
    chunks.push(c as Buffer);
  }
  return parseJson(Buffer.concat(chunks));
}

/** JSON text to a value; a syntax error is a 400 with the parser's message. */
export function parseJson(body: Buffer): unknown {
  const text = body.toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, `invalid JSON in the request body: ${(err as Error).message}`);
  }
}

/** A query flag: absent, "0" or "false" is false; "1" or "true" true; anything else a 400. */
export function queryFlag(q: URLSearchParams, key: string): boolean {
  const v = q.get(key);
  if (v === null || v === "0" || v === "false") return false;
  if (v === "1" || v === "true") return true;
  throw new HttpError(400, `invalid query parameter ${key}=${JSON.stringify(v)}: expected 1 or 0`);
}

/** A query value through a strict parser (src/stack/numbers.ts); absent is undefined, a bad one a 400 naming it. */
export function queryValue<T>(q: URLSearchParams, key: string, parse: (text: string) => T): T | undefined {
  const v = q.get(key);
  if (v === null) return undefined;
  try {
    return parse(v);
  } catch (err) {
    throw new HttpError(400, `invalid query parameter ${key}: ${(err as Error).message}`);
  }
}

/**
 * Resolves when a client has read what was buffered for it, or is gone:
 * a producer that can wait (logs, attach output) awaits it after a write
 * that returned false, so a slow reader never grows the daemon's memory.
 */
export function drained(stream: Writable): Promise<void> {
  if (stream.destroyed || !stream.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}

/**
 * Reads the rest of a request's body and drops it (for `maxMs` at most), for
 * an answer sent before the body was read: the server closes the connection
 * after an error answer, and a socket closed with unread bytes sends a reset,
 * on which the client's kernel drops the answer it had not read yet (the
 * client sees EPIPE, not why: a 413, a cp into a file that is no directory).
 */
export function discardBody(req: IncomingMessage, maxMs = 5000): Promise<void> {
  if (req.readableEnded || req.destroyed) return Promise.resolve();
  req.unpipe();
  req.resume();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      req.off("end", done);
      req.off("close", done);
      resolve();
    };
    const timer = setTimeout(done, maxMs);
    req.once("end", done);
    req.once("close", done);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/**
 * Starts an NDJSON stream; returns a writer that survives a client hanging up.
 * It returns false when the client is not keeping up (the socket's buffer is
 * full): a producer that can wait must then await drained(res).
 */
export function stream(res: ServerResponse): (m: unknown) => boolean {
  res.writeHead(200, { "content-type": "application/x-ndjson" });
  return (m) => !res.destroyed && res.write(`${JSON.stringify(m)}\n`);
}
