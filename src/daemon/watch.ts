// Watch mode: the daemon watches a stack's files (the stack files, env files,
// and every file they include or extend, as the loader reports them) and on a
// change reloads and converges. Only services whose config hash changed are
// recreated (the planner's rule). An edit that does not load (a typo mid-save)
// is reported with file:line:col and the running stack is left as it was.
// Editors save in bursts (write, rename, chmod): changes are debounced.
import { watch } from "chokidar";
import type { FSWatcher } from "chokidar";
import { loadStack } from "../stack/load.js";

export interface WatchCallbacks {
  /** The files loaded cleanly into a new spec: converge to it. */
  onChange(project: string, changedFiles: string[]): Promise<void>;
  /** The files do not load: report and keep what runs. */
  onError(project: string, message: string): void;
  /** Watching a project started (or its files were updated: called on every watch()) or stopped. */
  watching?(project: string, on: boolean): void;
}

export const DEBOUNCE_MS = 75;

export class StackWatcher {
  private readonly watchers = new Map<string, { watcher: FSWatcher; files: Set<string>; timer?: NodeJS.Timeout; changed: Set<string> }>();

  constructor(private readonly callbacks: WatchCallbacks) {}

  isWatching(project: string): boolean {
    return this.watchers.has(project);
  }

  /** Starts (or updates) watching a project's files. */
  watch(project: string, files: string[]): void {
    this.callbacks.watching?.(project, true);
    const current = this.watchers.get(project);
    if (current) {
      const added = files.filter((f) => !current.files.has(f));
      if (added.length > 0) current.watcher.add(added);
      for (const f of added) current.files.add(f);
      return;
    }
    const watcher = watch(files, { ignoreInitial: true, awaitWriteFinish: false, atomic: true });
    const entry = { watcher, files: new Set(files), changed: new Set<string>(), timer: undefined as NodeJS.Timeout | undefined };
    const fire = (path: string): void => {
      entry.changed.add(path);
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = setTimeout(() => {
        const changed = [...entry.changed];
        entry.changed.clear();
        this.callbacks.onChange(project, changed).catch((err: unknown) => this.callbacks.onError(project, (err as Error).message));
      }, DEBOUNCE_MS);
    };
    watcher.on("change", fire).on("add", fire).on("unlink", fire);
    this.watchers.set(project, entry);
  }

  unwatch(project: string): void {
    this.callbacks.watching?.(project, false);
    const entry = this.watchers.get(project);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    void entry.watcher.close();
    this.watchers.delete(project);
  }

  async close(): Promise<void> {
    for (const p of [...this.watchers.keys()]) this.unwatch(p);
    await Promise.resolve();
  }
}

/** The files a stack depends on, as the loader read them. */
export function watchedFilesOf(project: Parameters<typeof loadStack>[0]): string[] {
  return loadStack(project).watchedFiles;
}
