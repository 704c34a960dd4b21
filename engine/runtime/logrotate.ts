// Log rotation like Docker's json-file driver (max-size, max-file), with
// conmon still the only process writing a container's log.
//
// conmon's own --log-size-max is no help: past the limit it opens
// <log>.tmp with O_TRUNC and renames it over <log>, so everything written
// so far is gone and no older file is kept (conmon 2.1.6,
// ctr_logging.c reopen_k8s_file). What conmon does offer is the same
// reopen on request: "2 0 0\n" written to the `ctl` FIFO in its bundle (what
// CRI-O's ReopenContainerLog sends for kubelet's log rotation). So we rotate
// the way kubelet does:
//
//   1. <log>.{n-1} is dropped, <log>.k becomes <log>.{k+1}, <log> becomes
//      <log>.1 (with max-file 1: <log> is unlinked, Docker's truncation);
//   2. conmon is asked to reopen: it closes its descriptor (until then it
//      kept appending to the renamed file, so no line is lost) and creates a
//      fresh <log>.
//
// The engine notices a log reaching max-size with inotify on the container's
// directory (coalesced: one stat per CHECK_MS at most) plus a slow poll.
// While no engine runs, nothing rotates and nothing is lost: the log grows
// past max-size and is rotated as soon as an engine tracks the container
// again. A rotation cut short by a crash (renamed, reopen never sent) is
// finished then: a running container whose <log> is missing gets its reopen.
//
// Readers see the files oldest first: <log>.{n-1} … <log>.1, <log>.
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { close, constants, open, write } from "node:fs";
import { readdir, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname } from "node:path";

export interface RotationPolicy {
  /** Rotate once the log has this many bytes. */
  maxSize: number;
  /** Files kept, the current one included (Docker's max-file; 1 = truncate). */
  maxFiles: number;
}

/** Docker's json-file defaults: no rotation without max-size; max-file 1. */
export function rotationPolicy(log: { maxSize: number | undefined; maxFiles: number | undefined }): RotationPolicy | undefined {
  if (log.maxSize === undefined || !(log.maxSize > 0)) return undefined;
  const maxFiles = log.maxFiles === undefined || !(log.maxFiles >= 1) ? 1 : Math.floor(log.maxFiles);
  return { maxSize: log.maxSize, maxFiles };
}

/** The log's rotated files and the log itself, oldest first (only those that exist, plus the log). */
export async function logChain(path: string): Promise<string[]> {
  const name = basename(path);
  const dir = dirname(path);
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const rotated = names
    .map((n) => (n.startsWith(`${name}.`) ? /^\d+$/.exec(n.slice(name.length + 1)) : null))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[0]))
    .filter((k) => k >= 1)
    .sort((a, b) => b - a);
  return [...rotated.map((k) => `${path}.${k}`), path];
}

function ignoreMissing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
}

/** Step 1: shifts the files; <log> is gone afterwards. */
export async function shiftLogs(path: string, maxFiles: number): Promise<void> {
  if (maxFiles <= 1) {
    await unlink(path).catch(ignoreMissing);
    return;
  }
  // Also files past the limit (none unless a crash or an older layout left them).
  for (const p of await logChain(path)) {
    const k = p === path ? 0 : Number(p.slice(path.length + 1));
    if (k >= maxFiles - 1) await unlink(p).catch(ignoreMissing);
  }
  for (let k = maxFiles - 2; k >= 1; k--) await rename(`${path}.${k}`, `${path}.${k + 1}`).catch(ignoreMissing);
  await rename(path, `${path}.1`).catch(ignoreMissing);
}

/**
 * Step 2: asks conmon to reopen its log (it creates <log> anew). False when
 * no conmon listens (the container ended: the next start creates the file).
 */
export function requestReopen(ctlPath: string): Promise<boolean> {
  return writeConmonControl(ctlPath, "2 0 0\n");
}

/**
 * Writes one message to conmon's control FIFO (`TYPE A B\n`: 1 rows cols
 * resizes the tty, 2 0 0 reopens the log); false when conmon is not there.
 */
export function writeConmonControl(ctlPath: string, message: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    // Non-blocking: with no reader (conmon gone) this fails with ENXIO instead of hanging.
    open(ctlPath, constants.O_WRONLY | constants.O_NONBLOCK, (err, fd) => {
      if (err) {
        if (err.code === "ENXIO" || err.code === "ENOENT") resolve(false);
        else reject(err);
        return;
      }
      const msg = Buffer.from(message);
      write(fd, msg, 0, msg.length, null, (werr) => {
        close(fd, () => undefined);
        if (!werr) resolve(true);
        else if (werr.code === "EPIPE" || werr.code === "EAGAIN") resolve(false);
        else reject(werr);
      });
    });
  });
}

export interface TrackedLog {
  /** The log conmon writes (<bundle>/ctr.log). */
  logPath: string;
  /** conmon's control FIFO (<bundle>/ctl). */
  ctlPath: string;
  policy: RotationPolicy;
}

interface Entry extends TrackedLog {
  watcher: FSWatcher | undefined;
  running: Promise<void> | undefined;
  again: boolean;
  timer: NodeJS.Timeout | undefined;
  lastCheck: number;
}

/** The least time between two size checks of one log (inotify fires on every write). */
const CHECK_MS = 20;

export class LogRotator {
  private readonly logs = new Map<string, Entry>();
  private poller: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pollMs = 1000,
    /** Told about failures (they are retried on the next event or poll). */
    private readonly onError: (id: string, err: unknown) => void = () => undefined,
  ) {}

  /**
   * Rotates this container's log from now on (its conmon running). Checks
   * at once; with `recover` (a new engine adopting a running container) that
   * also finishes a rotation the previous engine left half done.
   */
  track(id: string, t: TrackedLog, recover = false): Promise<void> {
    this.untrack(id);
    if (this.closed) return Promise.resolve();
    const e: Entry = { ...t, watcher: undefined, running: undefined, again: false, timer: undefined, lastCheck: 0 };
    const name = basename(t.logPath);
    try {
      e.watcher = watch(dirname(t.logPath), (_ev, f) => {
        if (f === null || f === name) this.schedule(id, e);
      });
      e.watcher.on("error", () => {
        e.watcher?.close();
        e.watcher = undefined; // the poll still works
      });
      e.watcher.unref();
    } catch {
      e.watcher = undefined;
    }
    this.logs.set(id, e);
    if (!this.poller) {
      this.poller = setInterval(() => {
        for (const [i, x] of this.logs) this.schedule(i, x);
      }, this.pollMs);
      this.poller.unref();
    }
    return this.check(id, e, recover);
  }

  untrack(id: string): void {
    const e = this.logs.get(id);
    if (!e) return;
    this.logs.delete(id);
    e.watcher?.close();
    if (e.timer) clearTimeout(e.timer);
    if (this.logs.size === 0 && this.poller) {
      clearInterval(this.poller);
      this.poller = undefined;
    }
  }

  /** Checks now and waits for any rotation it starts (tests). */
  async checkNow(id: string): Promise<void> {
    const e = this.logs.get(id);
    if (e) await this.check(id, e, false);
  }

  close(): void {
    this.closed = true;
    for (const id of [...this.logs.keys()]) this.untrack(id);
  }

  private schedule(id: string, e: Entry): void {
    if (e.timer || this.logs.get(id) !== e) return;
    const wait = Math.max(0, e.lastCheck + CHECK_MS - Date.now());
    e.timer = setTimeout(() => {
      e.timer = undefined;
      void this.check(id, e, false);
    }, wait);
  }

  private check(id: string, e: Entry, recover: boolean): Promise<void> {
    if (e.running) {
      e.again = true;
      return e.running;
    }
    const run = async (): Promise<void> => {
      do {
        e.again = false;
        e.lastCheck = Date.now();
        if (this.logs.get(id) !== e) return;
        const st = await stat(e.logPath).catch((err: unknown) => {
          ignoreMissing(err);
          return undefined;
        });
        if (!st) {
          // Only a new engine asks: its predecessor may have died between rename and reopen.
          // Asking while conmon is still creating the file of our own rotation would truncate it.
          if (recover) await requestReopen(e.ctlPath);
          return;
        }
        if (st.size < e.policy.maxSize) continue;
        await shiftLogs(e.logPath, e.policy.maxFiles);
        await requestReopen(e.ctlPath);
      } while (e.again);
    };
    const p = run()
      .catch((err: unknown) => this.onError(id, err))
      .finally(() => {
        e.running = undefined;
      });
    e.running = p;
    return p;
  }
}
