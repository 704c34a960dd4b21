// One daemon process owns a network state directory: two processes
// allocating from one IPAM file, or both running repair(), would tear down
// each other's work. The lock is a file holding the owner's pid and process
// start time; it is stale (and taken over) when that process is gone, which is
// what makes a restart after kill -9 work without manual cleanup. The start
// time guards against a recycled pid.
import { open, readFile, rm } from "node:fs/promises";
import { runningStat } from "../sys/proc.js";
import { EngineError } from "../types.js";

interface LockOwner {
  pid: number;
  start: string | undefined;
}

/** Start time of a running process; undefined when it is gone or a zombie (killed, not yet reaped: some inits never reap). */
function startTimeOf(pid: number): string | undefined {
  return runningStat(pid)?.startTime;
}

function alive(owner: LockOwner): boolean {
  const start = startTimeOf(owner.pid);
  if (start === undefined) return false;
  return owner.start === undefined || owner.start === start;
}

export interface StateLock {
  release(): Promise<void>;
}

export async function acquireLock(path: string): Promise<StateLock> {
  const me: LockOwner = { pid: process.pid, start: startTimeOf(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, "wx", 0o600);
      await fh.writeFile(JSON.stringify(me));
      await fh.close();
      return {
        release: async () => {
          // Only remove the lock if it is still ours (a takeover after we hung must not be undone).
          const owner = await readOwner(path);
          if (owner?.pid === me.pid && owner.start === me.start) await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = await readOwner(path);
    if (owner && alive(owner)) {
      if (owner.pid === me.pid && owner.start === me.start) {
        throw new EngineError("conflict", `network state ${path} is already open in this process`);
      }
      throw new EngineError("unavailable", `network state is locked by process ${owner.pid} (${path}); is another tscompose daemon running?`);
    }
    await rm(path, { force: true }); // stale: the owner died
  }
  throw new EngineError("unavailable", `could not take the lock ${path}`);
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const v = JSON.parse(await readFile(path, "utf8")) as Partial<LockOwner>;
    return typeof v.pid === "number" ? { pid: v.pid, start: typeof v.start === "string" ? v.start : undefined } : undefined;
  } catch {
    return undefined; // unreadable or half-written: treated as stale
  }
}
