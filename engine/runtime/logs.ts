// Reading a container's log as conmon writes it: the CRI (kubelet) format,
// one record per line:
//   2026-11-23T19:31:52.811149080+00:00 stdout F hello
// `F` ends a line; `P` is a fragment of a longer line (or output without a
// newline yet) and is joined with the following records of the same stream
// until an `F`. conmon "rotates" past --log-size-max by renaming a fresh file
// over the old one, so a follower must notice the new inode and start it from
// the top.
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { open, stat } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { LogEntry, LogOptions } from "../types.js";

export interface CriRecord {
  timestamp: string;
  time: number;
  stream: "stdout" | "stderr";
  partial: boolean;
  text: string;
}

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/;

/** ms since epoch of an RFC 3339 timestamp with any number of fractional digits (Date.parse is not reliable past 3). */
export function parseRfc3339Nano(ts: string): number {
  const m = RFC3339.exec(ts);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (frac) ms += Number(`0.${frac}`) * 1000;
  if (zone && zone !== "Z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  return ms;
}

export function parseCriLine(line: string): CriRecord | undefined {
  const a = line.indexOf(" ");
  const b = a < 0 ? -1 : line.indexOf(" ", a + 1);
  const c = b < 0 ? -1 : line.indexOf(" ", b + 1);
  if (c < 0) return undefined;
  const timestamp = line.slice(0, a);
  const stream = line.slice(a + 1, b);
  const tags = line.slice(b + 1, c);
  if (stream !== "stdout" && stream !== "stderr") return undefined;
  const time = parseRfc3339Nano(timestamp);
  if (Number.isNaN(time)) return undefined;
  // Tags are ":"-separated for future use; only P/F is defined.
  return { timestamp, time, stream, partial: tags.split(":")[0] === "P", text: line.slice(c + 1) };
}

/** Joins P fragments per stream; an entry carries its first fragment's time. */
export class LogAssembler {
  private pending = new Map<"stdout" | "stderr", LogEntry>();

  push(r: CriRecord): LogEntry | undefined {
    const prev = this.pending.get(r.stream);
    const entry = prev ? { ...prev, line: prev.line + r.text } : { stream: r.stream, time: r.time, timestamp: r.timestamp, line: r.text };
    if (r.partial) {
      this.pending.set(r.stream, entry);
      return undefined;
    }
    this.pending.delete(r.stream);
    return entry;
  }

  /** Fragments never finished (the container ended without a newline). */
  flush(): LogEntry[] {
    const out = [...this.pending.values()].sort((x, y) => x.time - y.time);
    this.pending.clear();
    return out;
  }
}

const CHUNK = 64 * 1024;

/**
 * Byte offset from which the last `n` complete entries of the accepted
 * streams start, reading the file backwards chunk by chunk (a huge log is not
 * read whole for `--tail 10`).
 */
export async function tailOffset(fh: FileHandle, size: number, n: number, accept: (s: string) => boolean): Promise<number> {
  let pos = size;
  let buf = Buffer.alloc(0);
  let count = 0;
  for (;;) {
    const searchFrom = buf.length - 2; // skip the last line's own "\n"
    const nl = searchFrom >= 0 ? buf.lastIndexOf(0x0a, searchFrom) : -1;
    if (nl < 0 && pos > 0) {
      const start = Math.max(0, pos - CHUNK);
      const chunk = Buffer.alloc(pos - start);
      await fh.read(chunk, 0, chunk.length, start);
      buf = Buffer.concat([chunk, buf]);
      pos = start;
      continue;
    }
    const lineStart = nl + 1;
    const rec = parseCriLine(buf.subarray(lineStart).toString("utf8").replace(/\n$/, ""));
    if (rec && !rec.partial && accept(rec.stream) && ++count > n) return pos + buf.length;
    buf = buf.subarray(0, lineStart);
    if (buf.length === 0 && pos === 0) return 0;
  }
}

export interface FollowControl {
  /** True once the container has ended: the log is complete after one more read. */
  isDone: () => boolean | Promise<boolean>;
  /** How often to look for appends when no file event arrives. */
  pollMs?: number;
}

/**
 * The entries of a CRI log file. With opts.follow it keeps reading appends
 * (and the new file after a rotation) until opts.signal aborts or
 * control.isDone() says the container ended and everything was read.
 */
export async function* readLogs(path: string, opts: LogOptions = {}, control?: FollowControl): AsyncGenerator<LogEntry> {
  const wantOut = opts.stdout ?? true;
  const wantErr = opts.stderr ?? true;
  const accept = (s: string) => (s === "stdout" ? wantOut : wantErr);
  const keep = (e: LogEntry) => accept(e.stream) && (opts.sinceMs === undefined || e.time >= opts.sinceMs) && (opts.untilMs === undefined || e.time <= opts.untilMs);
  const follow = opts.follow === true && control !== undefined;
  const signal = opts.signal;

  const waiter = follow ? new ChangeWaiter(path, control.pollMs ?? 250, signal) : undefined;
  // The open file, closed in finally also when the consumer stops early.
  const held: { fh?: FileHandle } = {};
  try {
    let fh = await openIfExists(path);
    while (!fh && follow && !signal?.aborted) {
      if (await control.isDone()) return;
      await waiter?.wait();
      fh = await openIfExists(path);
    }
    if (!fh) return;
    let cur: FileHandle = fh;
    held.fh = cur;
    const st = await cur.stat();
    let offset = opts.tail !== undefined && opts.tail >= 0 ? await tailOffset(cur, st.size, opts.tail, accept) : 0;
    let rest = Buffer.alloc(0);
    const asm = new LogAssembler();
    const buf = Buffer.alloc(CHUNK);

    for (;;) {
      // Drain what is there.
      for (;;) {
        const { bytesRead } = await cur.read(buf, 0, CHUNK, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        let data = Buffer.concat([rest, buf.subarray(0, bytesRead)]);
        let nl: number;
        while ((nl = data.indexOf(0x0a)) >= 0) {
          const rec = parseCriLine(data.subarray(0, nl).toString("utf8"));
          data = data.subarray(nl + 1);
          const entry = rec && asm.push(rec);
          if (entry && keep(entry)) yield entry;
        }
        rest = Buffer.from(data);
      }
      if (!follow || signal?.aborted) break;

      // Rotated (a new file renamed over ours) or truncated: finish the old one, start the new one.
      const now = await stat(path).catch(() => undefined);
      const mine = await cur.stat();
      if (now && (now.ino !== mine.ino || now.size < offset)) {
        const next = now.ino !== mine.ino ? await openIfExists(path) : undefined;
        if (next) {
          await cur.close();
          cur = next;
          held.fh = cur;
        }
        offset = 0;
        rest = Buffer.alloc(0);
        continue;
      }
      if (await control.isDone()) {
        // conmon writes the exit file only after draining and syncing the
        // log, so one more read gets everything.
        const { bytesRead } = await cur.read(buf, 0, 1, offset);
        if (bytesRead > 0) continue;
        break;
      }
      if (opts.untilMs !== undefined && Date.now() > opts.untilMs) break;
      await waiter?.wait();
    }
    // conmon ends every record with "\n": bytes after the last one are a
    // record being written right now, not something to show half of.
    for (const e of asm.flush()) if (keep(e)) yield e;
  } finally {
    waiter?.close();
    await held.fh?.close().catch(() => undefined);
  }
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Resolves wait() on a change in the log's directory, a poll tick, or abort. */
class ChangeWaiter {
  private watcher: FSWatcher | undefined;
  private wake: (() => void) | undefined;
  private dirty = false;
  private readonly onAbort = () => this.fire();

  constructor(
    path: string,
    private readonly pollMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    const name = basename(path);
    try {
      // The directory, not the file: a rotation replaces the file.
      this.watcher = watch(dirname(path), (_ev, f) => {
        if (f === null || f === name || f.startsWith(`${name}.`)) this.fire();
      });
      this.watcher.on("error", () => this.watcher?.close());
    } catch {
      this.watcher = undefined; // polling still works
    }
    signal?.addEventListener("abort", this.onAbort);
  }

  private fire() {
    this.dirty = true;
    this.wake?.();
  }

  wait(): Promise<void> {
    if (this.dirty || this.signal?.aborted) {
      this.dirty = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        this.dirty = false;
        done();
      };
    });
  }

  close() {
    this.watcher?.close();
    this.signal?.removeEventListener("abort", this.onAbort);
  }
}
