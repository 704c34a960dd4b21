// One daemon process owns a network state directory: two processes
// allocating from one IPAM file, or both running repair(), would tear down
// each other's work. The lock is the engine's one cross-process lock,
// flock(2) through engine/sys/flock.ts: the kernel drops it when its holder
// goes, kill -9 included, so a restart needs no stale-lock cleanup and no
// guard against a recycled pid.
import { FileLock } from "../sys/flock.js";
import { EngineError } from "../types.js";

// A daemon killed a moment ago still holds the lock until its flock helper
// sees its stdin end and exits (milliseconds): a restart waits that long at
// most before it says another daemon runs.
const DEAD_OWNER_GRACE_MS = 5_000;

export interface StateLock {
  release(): Promise<void>;
}

export async function acquireLock(path: string): Promise<StateLock> {
  const lock = new FileLock(path, "the network state");
  try {
    if (!(await lock.lock("exclusive", { wait: false }))) await lock.lock("exclusive", { timeoutMs: DEAD_OWNER_GRACE_MS });
  } catch (err) {
    await lock.close();
    throw new EngineError("unavailable", `the network state is locked by another process (${path}); is another tscompose daemon running?`, { cause: err });
  }
  return { release: () => lock.close() };
}
