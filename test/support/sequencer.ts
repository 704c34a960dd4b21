// The order the test run starts its files in: longest first, so that the
// workers finish together instead of one long file running alone at the end
// (the run's wall time is at least its longest file's start plus duration).
// Durations come from test/durations.json (committed: a fresh clone and CI
// have no vitest cache; scripts/test-durations.mjs refreshes it), then from
// vitest's cache for files it does not list, then size as vitest does.
import { readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const root = join(import.meta.dirname, "../..");

/** Seconds per file (relative path) from the committed table. */
export function committedDurations(): Record<string, number> {
  return JSON.parse(readFileSync(join(root, "test/durations.json"), "utf8")) as Record<string, number>;
}

/** `files` longest first by `seconds` (unknown ones after the known, larger files first), stable otherwise. */
export function longestFirst<T>(files: readonly T[], seconds: (f: T) => number | undefined, size: (f: T) => number): T[] {
  const keyed = files.map((f, i) => ({ f, i, s: seconds(f), z: size(f) }));
  keyed.sort((a, b) => {
    if (a.s !== undefined && b.s !== undefined) return b.s - a.s || a.i - b.i;
    if (a.s !== undefined) return -1;
    if (b.s !== undefined) return 1;
    return b.z - a.z || a.i - b.i;
  });
  return keyed.map((k) => k.f);
}

export class LongestFirstSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const table = committedDurations();
    const path = (f: TestSpecification): string => relative(this.ctx.config.root, f.moduleId);
    const seconds = (f: TestSpecification): number | undefined => {
      const cached = this.ctx.cache.getFileStats(`${f.project.name}:${path(f)}`) ? this.ctx.cache.getFileTestResults(`${f.project.name}:${path(f)}`) : undefined;
      return table[path(f)] ?? (cached ? cached.duration / 1000 : undefined);
    };
    const size = (f: TestSpecification): number => {
      try {
        return statSync(f.moduleId).size;
      } catch {
        return 0;
      }
    };
    return Promise.resolve(longestFirst(files, seconds, size));
  }
}
