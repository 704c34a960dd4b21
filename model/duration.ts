// Compose durations are Go durations (time.ParseDuration, which compose-go's
// "duration" format checker uses): a sequence of decimal numbers, each with a
// unit, like `1h30m`, `1.5s`, `100ms`, `10us`; a bare `0` is allowed.
// The schema stage checks the syntax; the normalizer turns them into numbers.
// The Dockerfile frontend (engine/build) reads HEALTHCHECK options with it too.

// Nanoseconds per unit, as in Go. Both micro signs are accepted because Go does.
const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // micro sign
  "\u03bcs": 1_000n, // greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

// Go stores durations in an int64 of nanoseconds; larger values are an error there too.
const MAX_NS = 2n ** 63n - 1n;

/**
 * Parses a compose/Go duration into milliseconds (fractional below 1ms, e.g. `10us` is 0.01).
 * Throws an Error whose message names the value and what is wrong with it.
 * Negative durations are rejected: every compose duration (intervals, timeouts,
 * grace periods, delays) is meaningless below zero, so a `-` is a mistake.
 */
export function parseDuration(s: string): number {
  const fail = (reason: string): never => {
    throw new Error(`invalid duration "${s}": ${reason}`);
  };
  let rest = s;
  if (rest.startsWith("-")) fail("must not be negative");
  if (rest.startsWith("+")) rest = rest.slice(1);
  if (rest === "0") return 0;
  if (rest === "") fail("empty duration");

  let total = 0n;
  // Computed in integer nanoseconds, as Go does, so that `1.1s` is exactly 1100ms.
  while (rest !== "") {
    const m = /^([0-9]*)(?:\.([0-9]*))?/.exec(rest);
    const whole = m?.[1] ?? "";
    const frac = m?.[2] ?? "";
    if (whole === "" && frac === "") fail(`expected a number at "${rest}"`);
    rest = rest.slice(m?.[0].length ?? 0);

    const unitMatch = /^[^0-9.]*/.exec(rest);
    const unit = unitMatch?.[0] ?? "";
    if (unit === "") fail(`missing unit after "${whole}${frac === "" ? "" : `.${frac}`}" (use ns, us, ms, s, m or h)`);
    const perUnit = UNIT_NS[unit];
    if (perUnit === undefined) fail(`unknown unit "${unit}" (use ns, us, ms, s, m or h)`);
    rest = rest.slice(unit.length);

    const unitNs = perUnit as bigint;
    let ns = BigInt(whole === "" ? "0" : whole) * unitNs;
    if (frac !== "") ns += (BigInt(frac) * unitNs) / 10n ** BigInt(frac.length);
    total += ns;
    if (total > MAX_NS) fail("too large");
  }
  return Number(total) / 1e6;
}

/** True when parseDuration would accept the string. */
export function isDuration(s: string): boolean {
  try {
    parseDuration(s);
    return true;
  } catch {
    return false;
  }
}
