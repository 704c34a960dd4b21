// The stack, loaded in the CLI, for the commands that need it themselves
// (config, run, watch), and the project name when nothing but the files names
// it. Most commands avoid this module: see project-name.ts.
import { loadStack } from "../stack/load.js";
import type { LoadResult, ProjectOptions } from "../stack/load.js";
import { warn } from "./config.js";

export { daemon, projectRef } from "./project-name.js";

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
