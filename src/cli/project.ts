// What every stack command does first: load the stack here (so a bad file
// fails with file:line:col before anything is sent), and connect to the
// daemon, which loads the same files again and does the work.
import { connect } from "../daemon/client.js";
import type { DaemonClient } from "../daemon/client.js";
import type { ProjectRef } from "../daemon/api.js";
import { daemonPaths } from "../daemon/paths.js";
import { loadStack } from "../stack/load.js";
import type { LoadResult, ProjectOptions } from "../stack/load.js";
import { warn } from "./config.js";

export function projectRef(opts: ProjectOptions): ProjectRef {
  return {
    files: opts.files,
    projectName: opts.projectName,
    projectDirectory: opts.projectDirectory,
    envFiles: opts.envFiles,
    profiles: opts.profiles,
    env: opts.env,
    cwd: opts.cwd,
  };
}

export function loadProject(opts: ProjectOptions, quiet = false): LoadResult {
  const loaded = loadStack(opts);
  if (!quiet) warn(loaded.warnings);
  return loaded;
}

/**
 * The project name without requiring a stack file: -p or COMPOSE_PROJECT_NAME
 * are enough for commands like `down` and `ps`, as in compose.
 */
export function projectNameOf(opts: ProjectOptions): string {
  if (opts.projectName) return opts.projectName;
  if (opts.files.length === 0 && opts.env.COMPOSE_PROJECT_NAME) return opts.env.COMPOSE_PROJECT_NAME;
  return loadProject(opts, true).stack.name;
}

export function daemon(): Promise<DaemonClient> {
  return connect(daemonPaths());
}
