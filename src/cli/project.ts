// The stack, loaded in the CLI, for the commands that need it themselves
// (config, run, watch, and a project name that only the files give). Most
// commands avoid this module: see project-name.ts.
import { loadStack } from "../stack/load.js";
import type { LoadResult, ProjectOptions } from "../stack/load.js";
import { warn } from "./config.js";

export { daemon, projectRef } from "./project-name.js";

export function loadProject(opts: ProjectOptions, quiet = false): LoadResult {
  const loaded = loadStack(opts);
  if (!quiet) warn(loaded.warnings);
  return loaded;
}
