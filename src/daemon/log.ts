// The daemon's log: one JSON object per line with the time, the level, the
// message and context fields (stack, service, container), so every line says
// what it is about and can be grepped or parsed.
//
// It rotates by size so a long-lived daemon cannot fill the disk: past
// maxSize, daemon.log.{k} becomes daemon.log.{k+1}, the oldest goes, and
// daemon.log is copied to daemon.log.1 and truncated (logrotate's
// copytruncate). Copy-and-truncate, not rename as container logs do
// (engine/runtime/logrotate.ts): other writers hold daemon.log open in append
// mode and cannot be told to reopen it (an autostarted daemon's own stdout and
// stderr, which carry a crash's stack trace; the launcher's stderr), so after
// a rename they would go on writing into the rotated file without bound.
// Defaults as Docker's "local" log driver: 20 MiB, 5 files.
import { appendFileSync, copyFileSync, mkdirSync, renameSync, statSync, truncateSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";

export type Fields = Record<string, unknown>;

export interface Logger {
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

export interface LogRotation {
  /** Rotate once the log has this many bytes. */
  maxSize: number;
  /** Files kept, daemon.log included (at least 2). */
  maxFiles: number;
}

export const DEFAULT_LOG_ROTATION: LogRotation = { maxSize: 20 * 1024 * 1024, maxFiles: 5 };

// Writes by others (stderr) are not counted as they happen: the file's real size is looked at this often too.
const RESTAT_EVERY = 1000;

export function fileLogger(path: string, alsoStderr = false, rotation: LogRotation = DEFAULT_LOG_ROTATION): Logger {
  if (!(rotation.maxSize > 0) || !Number.isInteger(rotation.maxFiles) || rotation.maxFiles < 2) {
    throw new RangeError(`log rotation needs a positive size and at least 2 files, got ${rotation.maxSize} bytes, ${rotation.maxFiles} files`);
  }
  mkdirSync(dirname(path), { recursive: true });
  let size = sizeOf(path);
  let writes = 0;
  const write = (level: string, msg: string, fields: Fields = {}): void => {
    const line = `${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`;
    // Synchronous on purpose: the last lines before a crash are the ones that matter.
    // 0600 when created: errors may quote a container's environment.
    appendFileSync(path, line, { mode: 0o600 });
    if (alsoStderr) process.stderr.write(line);
    size += Buffer.byteLength(line);
    if (++writes % RESTAT_EVERY === 0 || size >= rotation.maxSize) size = sizeOf(path);
    if (size >= rotation.maxSize) {
      try {
        rotate(path, rotation.maxFiles);
        size = sizeOf(path);
      } catch (err) {
        // A log that cannot rotate (disk full, a read-only dir) must not take the daemon down
        // with it; the next try comes after another maxSize of lines, not at every line.
        process.stderr.write(`tscompose: cannot rotate ${path}: ${(err as Error).message}\n`);
        size = 0;
      }
    }
  };
  return {
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** path.{n-1} goes, path.{k} -> path.{k+1}, path is copied to path.1 and emptied. */
export function rotate(path: string, maxFiles: number): void {
  const ignoreMissing = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  };
  ignoreMissing(() => unlinkSync(`${path}.${maxFiles - 1}`));
  for (let k = maxFiles - 2; k >= 1; k--) ignoreMissing(() => renameSync(`${path}.${k}`, `${path}.${k + 1}`));
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
}
