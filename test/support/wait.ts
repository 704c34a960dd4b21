// Waiting for a state in tests: poll until a condition holds. The deadline is
// only a safety net; no test asserts how long anything took. This is the one
// polling loop of the test code (tests, fixtures, engine/*/testing.ts): wait
// with it rather than with a loop of one's own. No vitest here: the benches
// and the fixture tools use it too.

/** Thrown by the polled function to stop waiting at once (e.g. the process that was to answer has died). */
export class StopWaiting extends Error {}

export async function eventually<T>(
  fn: () => Promise<T> | T,
  ok: (v: T) => boolean,
  timeoutMs = 30_000,
  what = "condition",
  pollMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (err) {
      if (err instanceof StopWaiting) throw err;
      lastErr = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  // A string (a screen, a log) reads better as it is than JSON-escaped.
  const shown = typeof last === "string" ? `\n${last}` : JSON.stringify(last);
  throw new Error(`${what} not met in ${timeoutMs} ms; last value: ${shown} ${lastErr instanceof Error ? lastErr.message : ""}`, { cause: lastErr });
}
