// The one check of a timeout the engine is given: a NaN sets no timer at all
// (a stop would wait forever, its container's lock held), a negative one is
// meaningless, and node's timers hold at most 2^31-1 ms: a longer one fires
// after 1 ms, which for a stop's grace period means an immediate SIGKILL.
import { EngineError } from "./types.js";

export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Throws EngineError "invalid" unless ms is undefined (the default applies) or a finite number in [0, MAX_TIMEOUT_MS]. */
export function checkTimeoutMs(ms: number | undefined, what: string): void {
  if (ms === undefined) return;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0 || ms > MAX_TIMEOUT_MS) {
    throw new EngineError("invalid", `invalid ${what}: ${String(ms)} ms (expected a number of milliseconds from 0 to ${MAX_TIMEOUT_MS})`);
  }
}
