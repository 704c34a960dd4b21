// A full disk under the state dir, said so. Node's own message ("ENOSPC: no
// space left on device, write") names neither the file nor where to free
// space, and it reaches the user through pulls, creates, starts and record
// writes alike; runc, ip and conmon report it only as text on stderr. Every
// engine call is wrapped once (boundary.ts), so each of them fails the same
// readable way and callers never need to know which layer ran out of space.
import { EngineError } from "./errors.js";

const NO_SPACE_CODES = new Set(["ENOSPC", "EDQUOT"]);
const NO_SPACE_TEXT = /no space left on device|disk quota exceeded/i;

/** true when err, or any error in its cause chain, is a full filesystem or an exceeded quota. */
export function isNoSpace(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && NO_SPACE_CODES.has(code)) return true;
    if (NO_SPACE_TEXT.test(e.message)) return true;
  }
  return false;
}

/** The error a user sees for a full state dir; anything else is returned as it is. */
export function noSpaceError(err: unknown, stateDir: string): unknown {
  if (!isNoSpace(err) || (err instanceof EngineError && err.message.startsWith(NO_SPACE_PREFIX))) return err;
  // What was being done when it ran out (a layer, an entry, a file), kept as the detail.
  const detail = err instanceof Error ? err.message : String(err);
  const path = (err as NodeJS.ErrnoException).path;
  const where = path && !detail.includes(path) ? `, ${path}` : "";
  return new EngineError("no-space", `${NO_SPACE_PREFIX} for the state dir ${stateDir}: free space on that filesystem and retry (${detail}${where})`, { cause: err });
}
const NO_SPACE_PREFIX = "no space left on device";
