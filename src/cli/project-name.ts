// The project name and the daemon connection for read-only commands (ps,
// ls), without loading the stack loader (YAML parser, schema validation) when
// -p or COMPOSE_PROJECT_NAME already names the project: that load is most of
// such a command's start-up, and `ps` is meant to answer in well under 100 ms.
import { connect } from "../daemon/client.js";
import type { DaemonClient } from "../daemon/client.js";
import { daemonPaths } from "../daemon/paths.js";
import type { ProjectOptions } from "../stack/load.js";

/** Same answer as project.ts's projectNameOf; the stack is only loaded when nothing else names the project. */
export async function projectNameLazy(opts: ProjectOptions): Promise<string> {
  if (opts.projectName) return opts.projectName;
  if (opts.files.length === 0 && opts.env.COMPOSE_PROJECT_NAME) return opts.env.COMPOSE_PROJECT_NAME;
  const { projectNameOf } = await import("./project.js");
  return projectNameOf(opts);
}

export function daemonClient(): Promise<DaemonClient> {
  return connect(daemonPaths());
}
