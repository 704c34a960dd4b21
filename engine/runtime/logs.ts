// Reading a container's log as conmon writes it: the CRI (kubelet) format,
// one record per line:
//   2026-11-23T19:31:52.811149080+00:00 stdout F hello
// `F` ends a line; `P` is a fragment of a longer line (or output without a
// newline yet) and is joined with the following records of the same stream
// until an `F`. Rotation (logrotate.ts) renames the log to <log>.1 and conmon
// makes a new one: readers read the rotated files first, and a follower
// notices the new inode, finishes the old file and goes on with the next.
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { open, stat } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { LogEntry, LogOptions } from "../types.js";
import { logChain } from "./logrotate.js";

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

/**
 * The longest entry a reader hands out, in characters: as Docker's log
 * drivers split lines at 16 KiB, a line longer than that (or output that never
 * ends its line) comes as several entries, all but the last marked partial.
 * Without the bound, a container printing without newlines would make the
 * daemon hold its whole output in one string.
 */
export const MAX_ENTRY = 16 * 1024;

/** Joins P fragments per stream, up to MAX_ENTRY; an entry carries its first fragment's time. */
export class LogAssembler {
  private pending = new Map<"stdout" | "stderr", LogEntry>();

  /** The entries complete with this record: none, one, or several when a long line was split. */
  push(r: CriRecord): LogEntry[] {
    const prev = this.pending.get(r.stream);
    let entry: LogEntry = prev ? { ...prev, line: prev.line + r.text } : { stream: r.stream, time: r.time, timestamp: r.timestamp, line: r.text };
    const out: LogEntry[] = [];
    while (entry.line.length > MAX_ENTRY || (r.partial && entry.line.length === MAX_ENTRY)) {
      out.push({ ...entry, line: entry.line.slice(0, MAX_ENTRY), partial: true });
      // The rest of the line starts with this record: its time from here on.
      entry = { stream: r.stream, time: r.time, timestamp: r.timestamp, line: entry.line.slice(MAX_ENTRY) };
    }
    if (r.partial) {
      if (entry.line.length > 0) this.pending.set(r.stream, entry);
      else this.pending.delete(r.stream);
      return out;
    }
    this.pending.delete(r.stream);
    out.push(entry);
    return out;
  }

  /** Fragments never finished (the container ended without a newline). */
  flush(): LogEntry[] {
    const out = [...this.pending.values()].sort((x, y) => x.time - y.time);
    this.pending.clear();
    return out;
  }
}

/** A record longer than this without a newline is not conmon's (its records are under 9 KiB): skipped, not buffered. */
const MAX_RECORD = 1 << 20;

const CHUNK = 64 * 1024;

/**
 * Where the last `n` complete entries of the accepted streams start in one
 * file, reading it backwards chunk by chunk (a huge log is not read whole for
 * `--tail 10`). complete: false when the file holds fewer than n+1 of them,
 * so the start is 0 and `count` entries were found (the rest are in the
 * rotated file before it).
 */
export async function tailScan(fh: FileHandle, size: number, n: number, accept: (s: string) => boolean): Promise<{ offset: number; count: number; complete: boolean }> {
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
    if (rec && !rec.partial && accept(rec.stream) && ++count > n) return { offset: pos + buf.length, count: n, complete: true };
    buf = buf.subarray(0, lineStart);
    if (buf.length === 0 && pos === 0) return { offset: 0, count, complete: false };
  }
}

/** Byte offset from which the last `n` complete entries of the accepted streams start (0: the whole file). */
export async function tailOffset(fh: FileHandle, size: number, n: number, accept: (s: string) => boolean): Promise<number> {
  return (await tailScan(fh, size, n, accept)).offset;
}

export interface FollowControl {
  /** True once the container has ended: the log is complete after one more read. */
  isDone: () => boolean | Promise<boolean>;
  /** How often to look for appends when no file event arrives. */
  pollMs?: number;
}

interface OpenLog {
  path: string;
  fh: FileHandle;
  ino: number;
  size: number;
}

/**
 * Opens the log and its rotated files (logrotate.ts), oldest first. A
 * rotation between listing and opening shifts the names under us, so every
 * name is checked to still be the file we opened, else we try again.
 */
async function openChain(path: string): Promise<OpenLog[]> {
  for (let attempt = 0; ; attempt++) {
    const out: OpenLog[] = [];
    for (const p of await logChain(path)) {
      const fh = await openIfExists(p);
      if (!fh) continue;
      const st = await fh.stat();
      out.push({ path: p, fh, ino: st.ino, size: st.size });
    }
    const now = await Promise.all(out.map((f) => stat(f.path).then((s) => s.ino, () => -1)));
    if (attempt >= 4 || out.every((f, i) => now[i] === f.ino)) {
      // Whatever happens, never the same file twice.
      const seen = new Set<number>();
      return out.filter((f) => {
        if (seen.has(f.ino)) {
          void f.fh.close().catch(() => undefined);
          return false;
        }
        seen.add(f.ino);
        return true;
      });
    }
    await Promise.all(out.map((f) => f.fh.close().catch(() => undefined)));
  }
}

/**
 * The entries of a container's CRI log: its rotated files (<log>.N … <log>.1)
 * and then the log itself, as one stream. With opts.follow it keeps reading
 * appends (and the next file after a rotation) until opts.signal aborts or
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
  // Open files, closed in finally also when the consumer stops early.
  let files: OpenLog[] = [];
  try {
    files = await openChain(path);
    while (files.length === 0 && follow && !signal?.aborted) {
      if (await control.isDone()) return;
      await waiter?.wait();
      files = await openChain(path);
    }
    if (files.length === 0) return;

    // Where to begin: the whole chain, or the last `tail` entries across it.
    let first = 0;
    let offset = 0;
    if (opts.tail !== undefined && opts.tail >= 0) {
      let need = opts.tail;
      first = -1;
      for (let i = files.length - 1; i >= 0; i--) {
        const f = files[i]!;
        const t = await tailScan(f.fh, f.size, need, accept);
        if (t.complete) {
          first = i;
          offset = t.offset;
          break;
        }
        need -= t.count;
      }
      if (first < 0) first = 0;
    }
    for (const f of files.splice(0, first)) await f.fh.close().catch(() => undefined);

    let rest = Buffer.alloc(0);
    // Inside an over-long record (a damaged file, not conmon's): dropped up to its newline.
    let skipping = false;
    const asm = new LogAssembler();
    const buf = Buffer.alloc(CHUNK);
    let cur = files[0]!;

    for (;;) {
      // Drain what is there.
      for (;;) {
        const { bytesRead } = await cur.fh.read(buf, 0, CHUNK, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        let data = rest.length === 0 ? buf.subarray(0, bytesRead) : Buffer.concat([rest, buf.subarray(0, bytesRead)]);
        let nl: number;
        while ((nl = data.indexOf(0x0a)) >= 0) {
          const line = data.subarray(0, nl);
          data = data.subarray(nl + 1);
          if (skipping) {
            skipping = false;
            continue;
          }
          const rec = parseCriLine(line.toString("utf8"));
          for (const entry of rec ? asm.push(rec) : []) if (keep(entry)) yield entry;
        }
        if (data.length > MAX_RECORD) {
          skipping = true;
          data = Buffer.alloc(0);
        }
        rest = Buffer.from(data);
      }
      // The next file of those opened; a record never spans two files.
      if (files.length > 1) {
        await files.shift()!.fh.close().catch(() => undefined);
        cur = files[0]!;
        offset = 0;
        rest = Buffer.alloc(0);
        skipping = false;
        continue;
      }
      if (!follow || signal?.aborted) break;

      // Rotated (the log renamed away and a new one made) or truncated in place.
      const now = await stat(path).catch(() => undefined);
      if (now && now.ino !== cur.ino) {
        // The writer moved on; what it wrote to ours before that is complete once drained again.
        const { bytesRead } = await cur.fh.read(buf, 0, 1, offset);
        if (bytesRead > 0) continue;
        const next = await successor(path, cur.ino);
        if (next.length > 0) {
          await cur.fh.close().catch(() => undefined);
          files = next;
          cur = files[0]!;
          offset = 0;
          rest = Buffer.alloc(0);
          skipping = false;
          continue;
        }
      } else if (now && now.size < offset) {
        offset = 0;
        rest = Buffer.alloc(0);
        skipping = false;
        continue;
      }
      if (await control.isDone()) {
        // conmon writes the exit file only after draining and syncing the
        // log, so one more read gets everything.
        const { bytesRead } = await cur.fh.read(buf, 0, 1, offset);
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
    await Promise.all(files.map((f) => f.fh.close().catch(() => undefined)));
  }
}

/**
 * The files written after the one with inode `ino`, oldest first: normally
 * just the new log, but a follower that slept through two rotations finds
 * its file at <log>.2 and must read <log>.1 first. A file no longer there
 * (dropped as the oldest, or truncated away) is followed by all there are.
 */
async function successor(path: string, ino: number): Promise<OpenLog[]> {
  const chain = await openChain(path);
  const at = chain.findIndex((f) => f.ino === ino);
  const drop = chain.splice(0, at + 1);
  await Promise.all(drop.map((f) => f.fh.close().catch(() => undefined)));
  return chain;
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
