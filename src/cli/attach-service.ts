// `tscompose attach SERVICE`: the terminal joined to a service container's
// main process, as `docker compose attach` (docker attach underneath): its
// output from now on, stdout and stderr apart without a tty; the CLI's stdin
// when the service has stdin_open (raw mode and resizes with tty: true);
// SIGINT/SIGTERM forwarded to the container unless --sig-proxy=false; the
// detach keys (ctrl-p,ctrl-q) leave it running, with docker's "read escape
// sequence" and exit code 1. When the container stops, its exit code is the
// CLI's.
//
// Whether the container has a tty and a stdin is the container's own (as
// docker attach reads its config), so `-p NAME attach SERVICE` needs no stack
// file.
import type { AttachRequest, ContainerView } from "../daemon/api.js";
import type { ProjectOptions } from "../stack/load.js";
import { attach } from "./attach.js";
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from "./detach-keys.js";
import { CliError } from "./errors.js";
import { serviceContainer } from "./exec.js";
import { daemon, projectNameLazy } from "./project-name.js";

export interface AttachFlags {
  index?: number;
  /** false with --no-stdin. */
  stdin?: boolean;
  sigProxy?: boolean;
  detachKeys?: string;
}

export async function runAttach(opts: ProjectOptions, service: string, flags: AttachFlags): Promise<number> {
  const detachKeys = parseDetachKeys(flags.detachKeys ?? DEFAULT_DETACH_KEYS);
  const project = await projectNameLazy(opts);
  const client = await daemon();
  // The project as its containers have it (compose's view without a file): a service none was made for is unknown.
  const all = await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`);
  if (!all.some((c) => c.service === service)) throw new CliError(`no such service: ${service}`);
  const target = await serviceContainer(client, project, service, flags.index ?? 1);
  const stdin = target.openStdin && flags.stdin !== false;
  const sigProxy = flags.sigProxy !== false;
  const body: AttachRequest = { stdin, sigProxy, rows: process.stdout.rows, cols: process.stdout.columns };
  return attach(client, `/containers/${encodeURIComponent(target.id)}/attach`, body, {
    tty: target.tty,
    stdin,
    // With a tty in raw mode Ctrl-C is a byte for the container's terminal, not a signal.
    forwardSignals: sigProxy && !(target.tty && stdin && process.stdin.isTTY === true),
    detachKeys: stdin ? detachKeys : undefined,
  });
}
