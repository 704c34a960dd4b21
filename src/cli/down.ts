// `tscompose down`: stop and remove the stack's containers (dependants
// first, the rest in parallel), then its networks, and with -v its volumes.
import type { DownRequest, StreamMessage } from "../daemon/api.js";
import type { StackSpec } from "../../reconciler/model.js";
import type { ProjectOptions } from "../stack/load.js";
import { renderProgress } from "./progress.js";
import { daemon, loadProject, projectRef } from "./project.js";

export interface DownFlags {
  volumes?: boolean;
  removeOrphans?: boolean;
  timeout?: string;
}

export async function runDown(opts: ProjectOptions, flags: DownFlags): Promise<number> {
  // Like compose, down works without a stack file when -p names the project.
  let stack: StackSpec | undefined;
  let projectName = opts.projectName ?? (opts.files.length === 0 ? opts.env.COMPOSE_PROJECT_NAME : undefined);
  try {
    stack = loadProject(opts).stack;
    projectName = stack.name;
  } catch (err) {
    if (!projectName) throw err;
  }
  const request: DownRequest = {
    projectName: projectName,
    project: stack ? projectRef(opts) : undefined,
    options: {
      removeVolumes: flags.volumes,
      removeOrphans: flags.removeOrphans,
      timeoutMs: flags.timeout !== undefined ? Number(flags.timeout) * 1000 : undefined,
    },
  };
  const client = await daemon();
  const ok = await renderProgress(client.stream<StreamMessage>("POST", "/stacks/down", request), stack);
  return ok ? 0 : 1;
}
