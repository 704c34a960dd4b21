// The scheduled jobs' state per stack: for each scheduled service the latest
// cron slot acted on, the runs in flight and the history (exit codes, log
// tails). One JSON file per stack under <state dir>/jobs, written whole and
// renamed into place after every change, mode 0600 (logs may hold secrets),
// so a daemon killed at any moment finds the last state it decided on.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { JobStoreLike, PersistedJobs } from "./scheduler.js";

export class JobStore implements JobStoreLike {
  private readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, "jobs");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private file(project: string): string {
    return join(this.dir, `${project}.json`);
  }

  load(project: string): PersistedJobs | undefined {
    try {
      return JSON.parse(readFileSync(this.file(project), "utf8")) as PersistedJobs;
    } catch {
      // Missing, or unreadable (cannot be torn: writes are renamed into place): no state.
      return undefined;
    }
  }

  save(jobs: PersistedJobs): void {
    const file = this.file(jobs.project);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(jobs), { mode: 0o600 });
    renameSync(tmp, file);
  }

  delete(project: string): void {
    rmSync(this.file(project), { force: true });
  }
}
