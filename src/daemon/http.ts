// What every request handler of the daemon shares: the error that carries an
// HTTP status, and the decoding of request data (path parameters, query
// values), each of which answers 400 on bad input instead of throwing
// something the server cannot map to a status.

/** An error with the HTTP status to answer: a client's mistake (4xx), never the daemon's. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
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
