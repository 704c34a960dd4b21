// `tscompose up`: converge the stack through the daemon, then either return
// (-d) or stay attached, streaming every container's log with a coloured
// service prefix until Ctrl-C, which stops the stack as compose does.
import type { ContainerView, StreamMessage, UpRequest } from "../daemon/api.js";
import type { DaemonClient } from "../daemon/client.js";
import type { ProjectOptions } from "../stack/load.js";
import { CliError } from "./errors.js";
import { dockerConfigLocation } from "./images.js";
import { followLogs } from "./logs.js";
import { renderProgress } from "./progress.js";
import { daemon, projectRef } from "./project-name.js";

export interface UpFlags {
  detach?: boolean;
  wait?: boolean;
  /** Seconds, parsed by commander (flag-values.ts). */
  waitTimeout?: number;
  forceRecreate?: boolean;
  recreate?: boolean;
  deps?: boolean;
  scale?: string[];
  removeOrphans?: boolean;
  pull?: "always" | "missing" | "never";
  abortOnContainerExit?: boolean;
  exitCodeFrom?: string;
  watch?: boolean;
  color?: boolean;
  quietPull?: boolean;
  renewAnonVolumes?: boolean;
  dryRun?: boolean;
  /** --build (true) / --no-build (false). */
  build?: boolean;
}

// The CLI does not load the stack: the daemon does (it must anyway), and checks the
// services named here. Loading it in the CLI too cost ~90 ms of every `up`'s start-up
// (the YAML parser, the schema validator and the load itself); the daemon's errors
// name the file, line and column all the same.
/** The request `up` sends: what the flags say, checked here so that a bad value stops before anything is sent. */
export function upRequest(opts: ProjectOptions, services: string[], flags: UpFlags): UpRequest {
  const scale = scaleOf(flags.scale ?? [], "--scale");
  return {
    project: projectRef(opts),
    auth: dockerConfigLocation(),
    options: {
      services,
      noDeps: flags.deps === false,
      forceRecreate: flags.forceRecreate,
      noRecreate: flags.recreate === false,
      scale,
      removeOrphans: flags.removeOrphans,
      pull: flags.pull,
      wait: flags.wait,
      waitTimeoutMs: flags.waitTimeout !== undefined ? flags.waitTimeout * 1000 : undefined,
      watch: flags.watch,
      mustExist: flags.exitCodeFrom ? [flags.exitCodeFrom] : undefined,
      renewAnonVolumes: flags.renewAnonVolumes,
      build: flags.build === true ? "always" : flags.build === false ? "never" : undefined,
      dryRun: flags.dryRun,
    },
  };
}

/** SERVICE=NUM pairs (up --scale, scale): replicas by service. */
export function scaleOf(pairs: string[], what: string): Record<string, number> {
  const scale: Record<string, number> = {};
  for (const s of pairs) {
    const m = /^([^=]+)=(\d+)$/.exec(s);
    if (!m) throw new CliError(`invalid ${what} "${s}": expected SERVICE=NUM`);
    scale[m[1] as string] = Number(m[2]);
  }
  return scale;
}

export async function runUp(opts: ProjectOptions, services: string[], flags: UpFlags): Promise<number> {
  const request = upRequest(opts, services, flags);
  const client = await daemon();
  const { ok, project, notAttached, detached } = await renderProgress(client.stream<StreamMessage>("POST", "/stacks/up", request), { dryRun: flags.dryRun });
  if (!ok || project === undefined) return 1;
  if (flags.detach || flags.wait || flags.dryRun || detached) return 0;
  return attach(client, project, services, flags, notAttached);
}

/** Attached mode: logs of every container of the stack until Ctrl-C or, with --abort-on-container-exit, the first exit. */
async function attach(client: DaemonClient, project: string, services: string[], flags: UpFlags, notAttached: string[]): Promise<number> {
  const abort = new AbortController();
  let exitCode = 0;
  let stopping = false;
  let codeFrom = flags.exitCodeFrom;
  // `attach: false` services run, but their output stays out of this one (`logs` still shows it), as in compose.
  const containers = (await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`)).filter(
    (c) => services.length === 0 || services.includes(c.service ?? ""),
  );
  const shown = containers.filter((c) => !notAttached.includes(c.service ?? ""));
  process.stdout.write(`Attaching to ${shown.map((c) => c.name).join(", ")}\n`);
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("Gracefully stopping... (press Ctrl+C again to force)\n");
    await Promise.all(containers.map((c) => client.json("POST", `/containers/${c.id}/stop`).catch(() => undefined)));
    abort.abort();
  };
  const onSigint = (): void => {
    if (stopping) {
      abort.abort();
      return;
    }
    exitCode = 130;
    void stopAll();
  };
  process.on("SIGINT", onSigint);
  try {
    await followLogs(client, shown, {
      follow: true,
      signal: abort.signal,
      color: flags.color !== false,
      onExit: (c, code) => {
        // As compose: --exit-code-from implies --abort-on-container-exit; without it the
        // first service to exit gives the code, not the ones stopped because of it.
        if (!flags.exitCodeFrom && !flags.abortOnContainerExit) return;
        codeFrom ??= c.service;
        if (c.service === codeFrom) exitCode = code;
        void stopAll();
      },
    });
  } finally {
    process.off("SIGINT", onSigint);
  }
  return exitCode;
}

export type CreateFlags = Pick<UpFlags, "forceRecreate" | "recreate" | "pull" | "removeOrphans" | "scale" | "dryRun" | "build">;

/** `tscompose create`: the containers `up` would make, made and left stopped; the next `up` starts them. */
export async function runCreate(opts: ProjectOptions, services: string[], flags: CreateFlags): Promise<number> {
  if (flags.forceRecreate && flags.recreate === false) throw new CliError("--force-recreate and --no-recreate are incompatible");
  const request = upRequest(opts, services, flags);
  request.options.noStart = true;
  const client = await daemon();
  const { ok } = await renderProgress(client.stream<StreamMessage>("POST", "/stacks/up", request), { dryRun: flags.dryRun });
  return ok ? 0 : 1;
}

/**
 * `tscompose scale SERVICE=N...`: `up -d --scale` of just those services (and, unless
 * --no-deps, what they depend on), down as well as up.
 */
export async function runScale(opts: ProjectOptions, pairs: string[], flags: Pick<UpFlags, "deps" | "dryRun">): Promise<number> {
  if (pairs.length === 0) throw new CliError('"scale" requires at least one SERVICE=NUM argument');
  const services = Object.keys(scaleOf(pairs, "scale argument"));
  const request = upRequest(opts, services, { scale: pairs, deps: flags.deps, dryRun: flags.dryRun });
  const client = await daemon();
  const { ok } = await renderProgress(client.stream<StreamMessage>("POST", "/stacks/up", request), { dryRun: flags.dryRun });
  return ok ? 0 : 1;
}
