// `tscompose down`: stop and remove the stack's containers (dependants
// first, the rest in parallel), then its networks, and with -v its volumes.
import type { DownRequest, StreamMessage } from "../daemon/api.js";
import type { ProjectOptions } from "../stack/load.js";
import { renderProgress } from "./progress.js";
import { daemon, namedProject, projectRef } from "./project-name.js";

export interface DownFlags {
  volumes?: boolean;
  removeOrphans?: boolean;
  /** --rmi, checked by commander's choices. */
  rmi?: "local" | "all";
  /** Seconds, parsed by commander (flag-values.ts). */
  timeout?: number;
  dryRun?: boolean;
}

/** The request `down` sends. The daemon loads the files (and takes the project's name from them); see up.ts. */
export function downRequest(opts: ProjectOptions, flags: DownFlags): DownRequest {
  return {
    projectName: namedProject(opts),
    project: projectRef(opts),
    options: {
      removeVolumes: flags.volumes,
      removeOrphans: flags.removeOrphans,
      ...(flags.rmi !== undefined ? { removeImages: flags.rmi } : {}),
      timeoutMs: flags.timeout !== undefined ? flags.timeout * 1000 : undefined,
      dryRun: flags.dryRun,
    },
  };
}

export async function runDown(opts: ProjectOptions, flags: DownFlags): Promise<number> {
  const request = downRequest(opts, flags);
  const client = await daemon();
  const { ok } = await renderProgress(client.stream<StreamMessage>("POST", "/stacks/down", request), { dryRun: flags.dryRun });
  return ok ? 0 : 1;
}
