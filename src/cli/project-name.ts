// The project name, the request's project reference and the daemon connection,
// without loading the stack loader (YAML parser, schema validation) when -p or
// COMPOSE_PROJECT_NAME already names the project: that load is most of a
// command's start-up. (up and down never load the stack here: the daemon does.)
import type { EngineChoice, ProjectRef } from "../daemon/api.js";
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

/**
 * The project's name when the command line names it: -p, or COMPOSE_PROJECT_NAME when
 * no file is given (as in compose, enough for commands like `down` and `ps`).
 */
export function namedProject(opts: ProjectOptions): string | undefined {
  if (opts.projectName) return opts.projectName;
  if (opts.files.length === 0 && opts.env.COMPOSE_PROJECT_NAME) return opts.env.COMPOSE_PROJECT_NAME;
  return undefined;
}

/** The project's name; the stack is only loaded when nothing else names the project. */
export async function projectNameLazy(opts: ProjectOptions): Promise<string> {
  const named = namedProject(opts);
  if (named !== undefined) return named;
  const { loadProject } = await import("./project.js");
  return loadProject(opts, true).stack.name;
}

/** The engine the command line asked for (program.ts, its global flags), sent with every request. */
let engineChoice: EngineChoice | undefined;

export function useEngineChoice(choice: EngineChoice | undefined): void {
  engineChoice = choice;
}

export async function daemon(): Promise<DaemonClient> {
  const client = await connect(daemonPaths());
  client.engineChoice = engineChoice;
  return client;
}
