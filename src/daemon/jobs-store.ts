// The scheduled jobs' state per stack: for each scheduled service the latest
// cron slot acted on, the runs in flight and the history (exit codes, log
// tails). One JSON file per stack under <state dir>/jobs, written atomically
// (engine/sys/atomic-file.ts) after every change, mode 0600 (logs may hold secrets),
// so a daemon killed at any moment finds the last state it decided on.
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { checkName } from "../../engine/names.js";
import { setAsideSync, writeFileAtomicSync } from "../../engine/sys/atomic-file.js";
import type { JobStoreLike, PersistedJobs } from "./scheduler.js";

export class JobStore implements JobStoreLike {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, "jobs");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private file(project: string): string {
    // The name becomes a file name: never a path (the API checks too; this is the last line).
    return join(this.dir, `${checkName("project", project)}.json`);
  }

  load(project: string): PersistedJobs | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(project), "utf8");
    } catch {
      return undefined; // missing (or not a valid name): no state yet
    }
    try {
      return JSON.parse(text) as PersistedJobs;
    } catch {
      // Unreadable: the schedule starts afresh, and the old history is kept aside (never overwritten).
      setAsideSync(this.file(project));
      return undefined;
    }
  }

  save(jobs: PersistedJobs): void {
    const file = this.file(jobs.project);
    writeFileAtomicSync(file, JSON.stringify(jobs));
  }

  delete(project: string): void {
    rmSync(this.file(project), { force: true });
  }
}
