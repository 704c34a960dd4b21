// Leases protect content that an operation in flight is about to use from
// garbage collection (containerd's leases): a pull leases the blobs and chain
// IDs of its image before it looks for them, so a concurrent rmi of another
// image sharing a layer cannot delete that layer between "Already exists" and
// the record that would have kept it alive; a create leases the image's
// layers until its container snapshot exists.
//
// Leases are files, one per lease, because the CLI's image commands and the
// daemon run the image service in two processes: the garbage collector of
// one must see what the other holds. A lease file is named by its owner (pid
// and process start time); one whose owner no longer runs is stale (kill -9
// mid-pull) and removed by the next collection. Leases are taken, and read
// for a collection, under the store lock (service.ts), so a collection sees
// every lease taken before it and none appears half-way through it. They are
// not fsynced: after a crash their owner is gone and they mean nothing.
import { mkdir, readdir, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runningStat } from "../sys/proc.js";

const me = (): string => `${process.pid}-${runningStat(process.pid)?.startTime ?? "0"}`;

export class Leases {
  readonly #dir: string;
  #next = 0;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async open(dir: string): Promise<Leases> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new Leases(dir);
  }

  /**
   * Leases every item until the returned function is called (idempotent).
   * Call with the store lock held.
   */
  async acquire(items: Iterable<string>): Promise<() => Promise<void>> {
    const file = join(this.#dir, `${me()}-${++this.#next}.json`);
    await writeFile(file, JSON.stringify([...new Set(items)]), { mode: 0o600 });
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await unlink(file).catch(() => undefined);
    };
  }

  /** Everything leased by a running process; stale leases are removed. Call with the store lock held. */
  async held(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const name of await readdir(this.#dir)) {
      const m = /^(\d+)-(\d+)-\d+\.json$/.exec(name);
      const path = join(this.#dir, name);
      if (!m || runningStat(Number(m[1]))?.startTime !== m[2]) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      let items: unknown;
      try {
        items = JSON.parse(await readFile(path, "utf8"));
      } catch {
        continue; // released meanwhile
      }
      if (Array.isArray(items)) for (const i of items) if (typeof i === "string") out.add(i);
    }
    return out;
  }
}
