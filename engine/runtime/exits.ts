// Noticing container exits. conmon writes <exit dir>/<id> (atomically: a
// temp file renamed into place) after the container's last process is gone
// and its output is drained into the log. We watch that directory with
// inotify (fs.watch) and, because watches can miss events (overflow, a
// directory recreated, filesystems without inotify), also poll the
// containers we believe are running at a slower pace.
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";

export interface ExitStatus {
  code: number;
  /** When conmon wrote it (the exit file's mtime), ISO. */
  at: string;
}

/** Reads conmon's exit file; undefined while the container runs. */
export async function readExitFile(exitDir: string, id: string): Promise<ExitStatus | undefined> {
  const path = join(exitDir, id);
  try {
    const [text, st] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    const code = Number.parseInt(text.trim(), 10);
    // conmon writes -1 when it timed out the container itself (--timeout); treat as a kill.
    return { code: Number.isNaN(code) ? 255 : code < 0 ? 137 : code, at: st.mtime.toISOString() };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

export class ExitWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly exitDir: string,
    /** Called with a container id whose exit file may have appeared (or on every poll for each active id). */
    private readonly onMaybeExited: (id: string) => void,
    /** The ids to poll. */
    private readonly activeIds: () => Iterable<string>,
    private readonly pollMs = 1000,
  ) {}

  start(): void {
    if (!this.watcher) {
      try {
        this.watcher = watch(this.exitDir, (_event, name) => {
          if (name && !name.startsWith(".")) this.onMaybeExited(name);
          else if (!name) this.pollNow();
        });
        this.watcher.unref();
        this.watcher.on("error", () => {
          this.watcher?.close();
          this.watcher = undefined;
        });
      } catch {
        this.watcher = undefined; // polling alone still works
      }
    }
    if (!this.timer) {
      this.timer = setInterval(() => this.pollNow(), this.pollMs);
      // Watching must never keep a CLI process alive.
      this.timer.unref();
    }
  }

  pollNow(): void {
    for (const id of this.activeIds()) this.onMaybeExited(id);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
