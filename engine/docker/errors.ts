// dockerd's answers translated into the one error vocabulary (engine/errors.ts),
// once, at this boundary: everything above the Docker engine sees EngineError
// kinds, never an HTTP status or a dockerode error.
import { EngineError, kindOf } from "../errors.js";
import type { ErrorKind } from "../errors.js";

/** dockerode's error: docker-modem puts the status and dockerd's JSON body on it. */
interface ModemError {
  statusCode?: number;
  json?: unknown;
  message?: string;
}

const STATUS_KINDS: Readonly<Record<number, ErrorKind>> = {
  400: "invalid",
  401: "unauthorized",
  403: "forbidden",
  404: "not-found",
  409: "conflict",
  413: "invalid",
  500: "internal",
  501: "invalid",
  502: "unavailable",
  503: "unavailable",
  504: "timeout",
};

/** The message dockerd gave (its JSON body's `message`), else the error's own. */
export function dockerMessage(err: unknown): string {
  const e = err as ModemError;
  const json = e?.json;
  if (typeof json === "object" && json !== null && typeof (json as { message?: unknown }).message === "string") return (json as { message: string }).message;
  if (typeof json === "string" && json.trim() !== "") return json.trim();
  if (Buffer.isBuffer(json)) {
    const text = json.toString("utf8").trim();
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === "string") return parsed.message;
    } catch {
      // not JSON: the text itself
    }
    if (text !== "") return text;
  }
  return e?.message ?? String(err);
}

/** The HTTP status of a dockerd answer, or undefined for errors that never reached it. */
export function dockerStatus(err: unknown): number | undefined {
  const s = (err as ModemError | undefined)?.statusCode;
  return typeof s === "number" ? s : undefined;
}

// dockerd 20.10 answers some state conflicts with a 500; its words tell them apart.
const CONFLICT_WORDS = /\b(is not running|is already paused|is not paused|is paused|is restarting|already in use|in use by|has active endpoints|is being used)\b/i;

/** Translates any error of a dockerd call; an EngineError passes through unchanged. */
export function translateDockerError(err: unknown, what?: string): EngineError {
  if (err instanceof EngineError) return err;
  const status = dockerStatus(err);
  const message = dockerMessage(err);
  const text = what ? `${what}: ${message}` : message;
  if (status === undefined) {
    // A socket error (ECONNREFUSED ...) keeps the kind its errno says; a dockerd that cannot be reached is worth retrying.
    const kind = kindOf(err);
    return new EngineError(kind === "internal" ? "unavailable" : kind, `docker engine: ${text}`, { cause: err });
  }
  let kind: ErrorKind = STATUS_KINDS[status] ?? (status >= 500 ? "internal" : "invalid");
  if (status === 500 && CONFLICT_WORDS.test(message)) kind = "conflict";
  if (status === 500 && /no space left on device/i.test(message)) kind = "no-space";
  // dockerd could not reach a registry (or another service): worth retrying, as our own registry client says.
  if (status === 500 && /connection refused|dial tcp|i\/o timeout|no such host|TLS handshake timeout|connection reset/i.test(message)) kind = "unavailable";
  return new EngineError(kind, text, { cause: err });
}

/** Runs a dockerd call with its errors translated. */
export async function docker<T>(call: () => Promise<T>, what?: string): Promise<T> {
  try {
    return await call();
  } catch (e) {
    throw translateDockerError(e, what);
  }
}

/** Like docker(), but a 404 is undefined (inspect verbs). */
export async function dockerOrUndefined<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (e) {
    if (dockerStatus(e) === 404) return undefined;
    throw translateDockerError(e);
  }
}

/** Like docker(), but a 304 (already started, already stopped) is success. */
export async function dockerIdempotent(call: () => Promise<unknown>, what?: string): Promise<void> {
  try {
    await call();
  } catch (e) {
    if (dockerStatus(e) === 304) return;
    throw translateDockerError(e, what);
  }
}
