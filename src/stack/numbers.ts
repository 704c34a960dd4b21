// Strict parsing of the numbers and durations people type: CLI flags (-t,
// --tail, --wait-timeout, --since, --index …) and the daemon API's query
// values. `Number("")` is 0, `Number("10s")` NaN and `parseInt("10s")` 10:
// each of those once turned a typo into a silent default. Here a value is
// exactly what compose accepts, or an Error whose message says what is wrong.
import { MAX_TIMEOUT_MS } from "../../engine/timeout.js";
import { parseDuration } from "./duration.js";

/** A base-10 integer (optionally signed), nothing around it, within [min, max]. */
export function parseInteger(text: string, opts: { min?: number; max?: number } = {}): number {
  const min = opts.min ?? Number.MIN_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^[+-]?\d+$/.test(text)) throw new Error(`"${text}" is not an integer`);
  const n = Number(text);
  if (n < min || n > max) throw new Error(`${text} is out of range (${min} to ${max})`);
  return n;
}

/** The most seconds a timeout may have: node's timers hold 2^31-1 ms. */
export const MAX_TIMEOUT_SECONDS = Math.floor(MAX_TIMEOUT_MS / 1000);

/** compose's -t/--timeout and --wait-timeout: an integer number of seconds (Go's int flag), here 0 or more. */
export function parseSeconds(text: string): number {
  return parseInteger(text, { min: 0, max: MAX_TIMEOUT_SECONDS });
}

/** -n/--tail: "all" (every line) or a count of lines. */
export function parseTail(text: string): number | "all" {
  if (text === "all") return "all";
  try {
    return parseInteger(text, { min: 0 });
  } catch {
    throw new Error(`"${text}" is neither "all" nor a number of lines`);
  }
}

// Docker's timestamps for --since/--until (api/types/time.GetTimestamp):
// RFC 3339 with or without seconds, fraction and zone, or a date alone
// (local time when no zone is given), or Unix seconds with a fraction.
const DATE_TIME = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d)(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)?)?$/;

/**
 * --since/--until: a duration before `now` (Go syntax: 42m, 1h30m, 2.5s), an
 * RFC 3339 time (2013-01-02T13:23:37Z, 2013-01-02T13:23, 2013-01-02), or Unix
 * seconds (1700000000, 1700000000.5). Milliseconds since the epoch.
 */
export function parseTimestamp(text: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const m = DATE_TIME.exec(text);
  if (m) {
    const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "", zone] = m;
    const local = `${y}-${mo}-${d}T${h}:${mi}:${s}${frac.slice(0, 4)}`;
    const t = zone === undefined ? new Date(local).getTime() : Date.parse(`${local}${zone}`);
    // Date takes 2013-02-31 for March 3rd: check the fields themselves.
    const daysInMonth = new Date(Date.UTC(Number(y), Number(mo), 0)).getUTCDate();
    const valid = Number(mo) >= 1 && Number(mo) <= 12 && Number(d) >= 1 && Number(d) <= daysInMonth && Number(h) < 24 && Number(mi) < 60 && Number(s) < 60;
    if (valid && !Number.isNaN(t)) return t;
    throw new Error(`"${text}" is not a valid date and time`);
  }
  try {
    return now - parseDuration(text);
  } catch {
    throw new Error(`"${text}" is neither a timestamp (RFC 3339 or Unix seconds) nor a duration (e.g. 42m, 1h30m)`);
  }
}
