// Small helpers shared by the end-to-end tests that drive stacks through the CLI.
import type { TestDaemon } from "./daemon.js";

/** A row of `ps -a --format json`, the fields the tests read. */
export interface PsRow {
  Name: string;
  Service: string;
  State: string;
  Health: string;
  ExitCode: number;
  RestartCount: number;
  ID: string;
}

export function psRows(d: TestDaemon, project: string, cwd: string): PsRow[] {
  const r = d.cli(["-p", project, "ps", "-a", "--format", "json"], { cwd });
  return r.code === 0 ? (JSON.parse(r.stdout) as PsRow[]) : [];
}

/** Polls fn until ok says yes; throws with the last value seen. No timing is asserted: the deadline is only a safety net. */
export async function until<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let v = await fn();
  while (!ok(v)) {
    if (Date.now() > deadline) throw new Error(`state not reached: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
    v = await fn();
  }
  return v;
}
