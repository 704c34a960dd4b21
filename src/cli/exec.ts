// `tscompose exec SERVICE COMMAND...`: a command in a running container of a
// service (container #1 unless --index), attached both ways, with a tty when
// the CLI's stdin is a terminal (as compose; -T turns it off). The process's
// exit code is the CLI's.
import type { ContainerView, ExecRequest } from "../daemon/api.js";
import type { DaemonClient } from "../daemon/client.js";
import { LABEL } from "../../model/labels.js";
import type { ProjectOptions } from "../stack/load.js";
import { attach } from "./attach.js";
import { CliError } from "./errors.js";
import { daemon, projectNameLazy } from "./project-name.js";

export interface ExecFlags {
  detach?: boolean;
  /** false with -T. */
  TTY?: boolean;
  env?: string[];
  user?: string;
  workdir?: string;
  /** Parsed by commander (flag-values.ts). */
  index?: number;
  privileged?: boolean;
}

/** `-e KEY=VALUE` as given; `-e KEY` takes KEY's value from the environment, or is dropped when unset (as docker). */
export function resolveEnv(entries: string[] | undefined, env: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const e of entries ?? []) {
    if (e.includes("=")) out.push(e);
    else if (env[e] !== undefined) out.push(`${e}=${env[e]}`);
  }
  return out;
}

/** The running container #index of a service (not a one-off), with compose's messages when there is none. */
export async function serviceContainer(client: DaemonClient, project: string, service: string, index: number): Promise<ContainerView> {
  const running = await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=0`);
  const mine = running.filter((c) => c.service === service && c.labels[LABEL.oneoff] !== "True");
  if (mine.length === 0) throw new CliError(`service "${service}" is not running`);
  const target = mine.find((c) => c.number === index);
  if (!target) throw new CliError(`service "${service}" is not running container #${index}`);
  return target;
}

export async function runExec(opts: ProjectOptions, service: string, command: string[], flags: ExecFlags): Promise<number> {
  if (command.length === 0) throw new CliError('"exec" requires at least 2 arguments');
  const project = await projectNameLazy(opts);
  const client = await daemon();
  const target = await serviceContainer(client, project, service, flags.index ?? 1);
  const detach = flags.detach === true;
  const tty = !detach && flags.TTY !== false && process.stdin.isTTY === true;
  const body: ExecRequest = {
    cmd: command,
    env: resolveEnv(flags.env, opts.env),
    user: flags.user,
    workingDir: flags.workdir,
    tty,
    detach,
    ...(flags.privileged === true ? { privileged: true } : {}),
    rows: process.stdout.rows,
    cols: process.stdout.columns,
  };
  return attach(client, `/containers/${encodeURIComponent(target.id)}/exec`, body, { tty, stdin: !detach, forwardSignals: !tty && !detach });
}
