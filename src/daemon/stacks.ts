// The daemon's memory of each stack: how to load it again (the CLI's project
// options), the last spec that loaded cleanly (kept running when an edit
// breaks the file), the options of the last `up`, and which containers a user
// stopped on purpose. Persisted per stack as JSON with atomic writes, mode 0600
// (the environment may hold secrets), so a daemon killed at any moment finds
// the desired state of every stack when it starts again.
import { mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { EngineTarget } from "../../engine/index.js";
import { checkName } from "../../engine/names.js";
import { noSpaceError } from "../../engine/no-space.js";
import { CORRUPT_SUFFIX, setAsideSync, writeFileAtomicSync } from "../../engine/sys/atomic-file.js";
import type { StackSpec } from "../../model/stack.js";
import type { ProjectRef, UpRequest } from "./api.js";
import type { Logger } from "./log.js";

export interface StackRecord {
  name: string;
  project: ProjectRef;
  spec: StackSpec;
  options: UpRequest["options"];
  /** Container ids a user stopped: supervision leaves them stopped. */
  stoppedByUser: string[];
  updatedAt: string;
  /** The engine the stack runs on, from its first `up` until its `down`; absent (a record older than per-stack engines): the daemon's default. */
  engine?: EngineTarget;
  /**
   * Rebuilt by the daemon from the files the stack's containers name, because
   * the saved record was unreadable: used to supervise, never written nor
   * re-synced (the CLI's environment it was loaded with is unknown); the next
   * `up` replaces it.
   */
  rebuilt?: true;
}

/** A stack whose saved record could not be read: the file was set aside (never deleted). */
export interface UnreadableStack {
  name: string;
  file: string;
  reason: string;
}

export class StackStore {
  private readonly dir: string;
  private readonly records = new Map<string, StackRecord>();
  private readonly unreadableStacks = new Map<string, UnreadableStack>();

  constructor(stateDir: string, log?: Logger) {
    this.dir = join(stateDir, "stacks");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const names = readdirSync(this.dir);
    for (const f of names) {
      if (!f.endsWith(".json")) continue;
      const file = join(this.dir, f);
      const name = f.slice(0, -".json".length);
      try {
        const r = JSON.parse(readFileSync(file, "utf8")) as StackRecord;
        if (typeof r !== "object" || r === null || r.name !== name || typeof r.spec !== "object" || r.spec === null) throw new Error("not the record of this stack");
        this.records.set(r.name, r);
      } catch (err) {
        // Never skipped silently (the stack would silently lose its re-sync and restart
        // policies) and never deleted: set aside for a human, reported in the log and `ls`.
        let kept = file;
        try {
          kept = setAsideSync(file) ?? file;
        } catch {
          // Left where it is: still reported.
        }
        const reason = (err as Error).message;
        this.unreadableStacks.set(name, { name, file: kept, reason });
        log?.error("stack record unreadable: set aside, nothing deleted; the stack is supervised from what its containers say until the next `up`", { stack: name, file, keptAs: kept, reason });
      }
    }
    // Set aside by an earlier start and no good record written since: still reported.
    for (const f of names) {
      const m = f.endsWith(".json") ? undefined : /^(.+)\.json(.+)$/.exec(f);
      if (!m?.[2]?.startsWith(CORRUPT_SUFFIX)) continue;
      if (m?.[1] && !this.records.has(m[1]) && !this.unreadableStacks.has(m[1])) {
        this.unreadableStacks.set(m[1], { name: m[1], file: join(this.dir, f), reason: "set aside as unreadable by an earlier start" });
      }
    }
  }

  /** Stacks whose record was unreadable at start (until an `up` writes a new one). */
  unreadable(): UnreadableStack[] {
    return [...this.unreadableStacks.values()];
  }

  /** A record rebuilt while the stack's own record is unreadable: kept in memory for supervision, not written (only an `up` confirms it). */
  adopt(record: StackRecord & { rebuilt: true }): void {
    this.records.set(record.name, record);
  }

  /** A Map lookup: a name that is not a valid project name finds nothing and touches no file. */
  get(name: string): StackRecord | undefined {
    return this.records.get(name);
  }

  list(): StackRecord[] {
    return [...this.records.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  put(record: StackRecord): void {
    checkName("project", record.name);
    if (record.rebuilt) {
      this.records.set(record.name, record);
      return;
    }
    const file = join(this.dir, `${record.name}.json`);
    try {
      writeFileAtomicSync(file, JSON.stringify(record));
    } catch (err) {
      // A full disk said as the engine says it; the record in memory stays what is on disk.
      throw noSpaceError(err, dirname(this.dir));
    }
    this.unreadableStacks.delete(record.name);
    this.records.set(record.name, record);
  }

  delete(name: string): void {
    checkName("project", name);
    this.records.delete(name);
    rmSync(join(this.dir, `${name}.json`), { force: true });
  }
}
