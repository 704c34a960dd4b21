// Waiting for a state in tests: poll until a condition holds. The deadline is
// only a safety net; no test asserts how long anything took.

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
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`${what} not met in ${timeoutMs} ms; last value: ${JSON.stringify(last)} ${lastErr instanceof Error ? lastErr.message : ""}`);
}
