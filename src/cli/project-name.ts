// The project name, the request's project reference and the daemon connection,
// without loading the stack loader (YAML parser, schema validation) when -p or
// COMPOSE_PROJECT_NAME already names the project: that load is most of a
// command's start-up. (up and down never load the stack here: the daemon does.)
import type { ProjectRef } from "../daemon/api.js";
import { connect } from "../daemon/client.js";
import type { DaemonClient } from "../daemon/client.js";
import { daemonPaths } from "../daemon/paths.js";
import type { ProjectOptions } from "../stack/load.js";

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

/** Same answer as project.ts's projectNameOf; the stack is only loaded when nothing else names the project. */
export async function projectNameLazy(opts: ProjectOptions): Promise<string> {
  if (opts.projectName) return opts.projectName;
  if (opts.files.length === 0 && opts.env.COMPOSE_PROJECT_NAME) return opts.env.COMPOSE_PROJECT_NAME;
  const { projectNameOf } = await import("./project.js");
  return projectNameOf(opts);
}

export function daemon(): Promise<DaemonClient> {
  return connect(daemonPaths());
}
