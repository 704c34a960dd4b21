// The step cache: a step's key (its parent image, the stage's config so far,
// the expanded instruction with its build args and mounts, and for COPY/ADD
// the content key of the files it reads) -> the image the step produced.
// One small file per key, written atomically, so a build killed mid-write
// leaves a whole record or none. A record whose image has gone (rmi, prune)
// is a miss: the step runs again and the record is replaced.
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { readJsonFile, writeFileAtomic } from "../sys/atomic-file.js";

/**
 * The builder's semantics version, part of every key: raise it when a change
 * makes the same step produce a different filesystem or config (owners,
 * modes, links ...), so steps cached by the older builder miss instead of
 * handing back what it made. 2: BuildKit's owners for WORKDIR/COPY, hard
 * links kept (the build corpus's fixes).
 */
export const STEP_CACHE_VERSION = 2;

interface CacheRecord {
  imageId: string;
}

export class StepCache {
  constructor(private readonly dir: string) {}

  /** sha256 of the parts, each length-prefixed so that no two lists of parts collide. */
  static key(parts: readonly unknown[]): string {
    const h = createHash("sha256");
    h.update(`tscompose-step-cache/${STEP_CACHE_VERSION}\n`);
    for (const p of parts) {
      const s = JSON.stringify(p) ?? "undefined";
      h.update(`${Buffer.byteLength(s)}:${s}`);
    }
    return h.digest("hex");
  }

  async get(key: string): Promise<string | undefined> {
    const rec = await readJsonFile<CacheRecord>(join(this.dir, `${key}.json`)).catch(() => undefined);
    return typeof rec?.imageId === "string" ? rec.imageId : undefined;
  }

  async put(key: string, imageId: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir, `${key}.json`), JSON.stringify({ imageId } satisfies CacheRecord));
  }
}
