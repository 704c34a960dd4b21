// What /proc says of a process. Not kill(pid, 0): a process that was killed
// stays a zombie until its parent (or init) reaps it, and some inits (this
// machine's) never reap, so "the pid answers" does not mean "it runs".
import { readFileSync } from "node:fs";

export interface ProcStat {
  /** Field 3: R, S, D, Z (zombie), X (dead), ... */
  state: string;
  /** Field 22, clock ticks since boot: with the pid, names one process even after pid reuse. */
  startTime: string;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields counted after the ")" that ends the command name, which may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "", startTime: fields[19] ?? "" };
  } catch {
    return undefined;
  }
}

/** The process's stat when it exists and is not a zombie; else undefined. */
export function runningStat(pid: number): ProcStat | undefined {
  const s = procStat(pid);
  return s !== undefined && s.state !== "Z" && s.state !== "X" ? s : undefined;
}

export function isRunning(pid: number): boolean {
  return runningStat(pid) !== undefined;
}
