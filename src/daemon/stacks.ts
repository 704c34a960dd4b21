// The daemon's memory of each stack: how to load it again (the CLI's project
// options), the last spec that loaded cleanly (kept running when an edit
// breaks the file), the options of the last `up`, and which containers a user
// stopped on purpose. Persisted per stack as JSON with atomic writes, mode 0600
// (the environment may hold secrets), so a daemon killed at any moment finds
// the desired state of every stack when it starts again.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { noSpaceError } from "../../engine/no-space.js";
import type { StackSpec } from "../../reconciler/model.js";
import type { ProjectRef, UpRequest } from "./api.js";

export interface StackRecord {
  name: string;
  project: ProjectRef;
  spec: StackSpec;
  options: UpRequest["options"];
  /** Container ids a user stopped: supervision leaves them stopped. */
  stoppedByUser: string[];
  updatedAt: string;
}

export class StackStore {
  private readonly dir: string;
  private readonly records = new Map<string, StackRecord>();

  constructor(stateDir: string) {
    this.dir = join(stateDir, "stacks");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith(".json")) continue;
      try {
        const r = JSON.parse(readFileSync(join(this.dir, f), "utf8")) as StackRecord;
        this.records.set(r.name, r);
      } catch {
        // A torn file cannot happen with rename-into-place; anything unreadable is skipped, not fatal.
      }
    }
  }

  get(name: string): StackRecord | undefined {
    return this.records.get(name);
  }

  list(): StackRecord[] {
    return [...this.records.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  put(record: StackRecord): void {
    const file = join(this.dir, `${record.name}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      // A full disk said as the engine says it; the record in memory stays what is on disk.
      throw noSpaceError(err, dirname(this.dir));
    }
    this.records.set(record.name, record);
  }

  delete(name: string): void {
    this.records.delete(name);
    rmSync(join(this.dir, `${name}.json`), { force: true });
  }
}
