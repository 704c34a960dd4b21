// RUN --mount=type=cache directories and their `sharing` modes, as BuildKit
// has them: `shared` (the default) gives every build the id's directory at
// once; `locked` gives it to one RUN at a time, the next waits until the
// first ends; `private` gives a RUN that finds the directory in use another
// of the id's directories (`<dir>.<n>`), kept for later builds as BuildKit
// keeps it. The daemon is the one process using a state dir, so who uses
// which directory is known in this process alone.
import { chmod, chown, mkdir } from "node:fs/promises";
import { lstatOrUndefined } from "../copy.js";
import { KeyedMutex } from "../sys/keyed-mutex.js";

export type CacheSharing = "shared" | "private" | "locked";

export interface CacheDirOwner {
  mode: number;
  uid: number;
  gid: number;
}

/** A directory lent to one RUN: give it back with release() when the step's container is gone. */
export interface LentCacheDir {
  dir: string;
  release(): void;
}

const users = new Map<string, number>();
const locks = new KeyedMutex();

/** The id's directory (`base`) or, for `private`, one no RUN uses now; made with the mount's owner and mode the first time. */
export async function lendCacheDir(base: string, sharing: CacheSharing, owner: CacheDirOwner): Promise<LentCacheDir> {
  let dir = base;
  if (sharing === "private") for (let n = 1; (users.get(dir) ?? 0) > 0; n++) dir = `${base}.${n}`;
  // Counted before any await, so a second private user in the same tick sees this one.
  users.set(dir, (users.get(dir) ?? 0) + 1);
  let unlock = (): void => undefined;
  try {
    if (sharing === "locked") unlock = await holdLock(dir);
    if (!(await lstatOrUndefined(dir))) {
      await mkdir(dir, { recursive: true, mode: owner.mode });
      await chown(dir, owner.uid, owner.gid);
      await chmod(dir, owner.mode);
    }
  } catch (err) {
    unlock();
    giveBack(dir);
    throw err;
  }
  let released = false;
  return {
    dir,
    release: () => {
      if (released) return;
      released = true;
      unlock();
      giveBack(dir);
    },
  };
}

function giveBack(dir: string): void {
  const left = (users.get(dir) ?? 1) - 1;
  if (left > 0) users.set(dir, left);
  else users.delete(dir);
}

/** Waits for the directory's lock; resolves with the function that lets the next waiter in. */
async function holdLock(dir: string): Promise<() => void> {
  let unlock!: () => void;
  const held = new Promise<void>((resolve) => (unlock = resolve));
  await new Promise<void>((entered) => {
    void locks.run(dir, async () => {
      entered();
      await held;
    });
  });
  return unlock;
}
