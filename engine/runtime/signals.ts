// Signal names as Docker accepts them: "SIGTERM", "TERM", "term", or a number.
import { constants } from "node:os";
import { EngineError } from "../types.js";

const SIGNALS = constants.signals as Readonly<Record<string, number>>;

/** Normalizes to "SIGxxx" (runc accepts that form); throws "invalid" for unknown signals. */
export function normalizeSignal(sig: string | number): string {
  const s = String(sig).trim();
  if (/^\d+$/.test(s)) {
    const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === Number(s));
    if (!name) throw new EngineError("invalid", `invalid signal: ${s}`);
    return name;
  }
  const up = s.toUpperCase();
  const name = up.startsWith("SIG") ? up : `SIG${up}`;
  if (SIGNALS[name] === undefined) throw new EngineError("invalid", `invalid signal: ${s}`);
  return name;
}

export function signalNumber(sig: string): number | undefined {
  return SIGNALS[sig];
}
