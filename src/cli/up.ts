// `tscompose up`: converge the stack through the daemon, then either return
// (-d) or stay attached, streaming every container's log with a coloured
// service prefix until Ctrl-C, which stops the stack as compose does.
import type { ContainerView, StreamMessage, UpRequest } from "../daemon/api.js";
import type { DaemonClient } from "../daemon/client.js";
import type { ProjectOptions } from "../stack/load.js";
import { CliError } from "./errors.js";
import { dockerConfigLocation } from "./images.js";
import { selectServices } from "../../model/dependencies.js";
import { followLogs } from "./logs.js";
import { loadProject } from "./project.js";
import { renderProgress } from "./progress.js";
import { daemon, projectRef } from "./project-name.js";

export interface UpFlags {
  detach?: boolean;
  wait?: boolean;
  /** Seconds, parsed by commander (flag-values.ts). */
  waitTimeout?: number;
  forceRecreate?: boolean;
  recreate?: boolean;
  alwaysRecreateDeps?: boolean;
  /** -t: seconds, parsed by commander (flag-values.ts). */
  timeout?: number;
  deps?: boolean;
  scale?: string[];
  removeOrphans?: boolean;
  pull?: "always" | "missing" | "never";
  abortOnContainerExit?: boolean;
  /** --abort-on-container-failure: stop all when a container exits non-zero; its code is up's. */
  abortOnContainerFailure?: boolean;
  exitCodeFrom?: string;
  /** --attach (repeatable): only these services' output; --no-attach: not these. */
  attach?: string[];
  noAttach?: string[];
  attachDependencies?: boolean;
  timestamps?: boolean;
  /** false with --no-log-prefix. */
  logPrefix?: boolean;
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
      alwaysRecreateDeps: flags.alwaysRecreateDeps,
      timeoutMs: flags.timeout !== undefined ? flags.timeout * 1000 : undefined,
      scale,
      removeOrphans: flags.removeOrphans,
      pull: flags.pull,
      wait: flags.wait,
      waitTimeoutMs: flags.waitTimeout !== undefined ? flags.waitTimeout * 1000 : undefined,
      watch: flags.watch,
      mustExist: mustExist(flags),
      renewAnonVolumes: flags.renewAnonVolumes,
      build: flags.build === true ? "always" : flags.build === false ? "never" : undefined,
      dryRun: flags.dryRun,
    },
  };
}

/** Services the flags name, which the daemon checks exist before it changes anything. */
function mustExist(flags: UpFlags): string[] | undefined {
  const named = [...(flags.exitCodeFrom ? [flags.exitCodeFrom] : []), ...(flags.attach ?? [])];
  return named.length > 0 ? named : undefined;
}

/** Combinations compose refuses before doing anything (its validateFlags). */
export function checkUpFlags(services: string[], flags: UpFlags): void {
  const attaching = (flags.attach ?? []).length > 0;
  if (flags.abortOnContainerExit && flags.abortOnContainerFailure) throw new CliError("--abort-on-container-failure cannot be combined with --abort-on-container-exit");
  if (attaching && flags.attachDependencies) throw new CliError("cannot combine --attach and --attach-dependencies");
  if (flags.wait && (flags.attachDependencies || flags.abortOnContainerExit || attaching)) {
    throw new CliError("--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies");
  }
  if (flags.detach && (flags.attachDependencies || flags.abortOnContainerExit || flags.abortOnContainerFailure || attaching)) {
    throw new CliError("--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch");
  }
  if (flags.alwaysRecreateDeps && flags.recreate === false) throw new CliError("--always-recreate-deps and --no-recreate are incompatible");
  // With --no-deps the up is only the services named: attaching to another is attaching to nothing.
  const outside = flags.deps === false && services.length > 0 ? (flags.attach ?? []).filter((s) => !services.includes(s)) : [];
  if (outside.length > 0) throw new CliError(`cannot attach to services not included in up: ${outside.join(", ")}`);
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
  checkUpFlags(services, flags);
  const request = upRequest(opts, services, flags);
  const client = await daemon();
  const { ok, project, notAttached, detached } = await renderProgress(client.stream<StreamMessage>("POST", "/stacks/up", request), { dryRun: flags.dryRun, quietPull: flags.quietPull });
  if (!ok || project === undefined) return 1;
  if (flags.detach || flags.wait || flags.dryRun || detached) return 0;
  const withDependencies = flags.attachDependencies && services.length > 0 ? selectServices(loadProject(opts, true).stack, services) : undefined;
  return attach(client, project, services, flags, attachedServices(services, flags, notAttached, withDependencies));
}

/**
 * Which services' output an attached `up` shows, as compose picks them: the
 * --attach list as given; else the services named (all when none), with
 * what they depend on under --attach-dependencies (withDependencies), less
 * those whose `attach: false` opts them out; then less --no-attach. A
 * predicate, as "all" is not a list the CLI knows without the stack.
 */
export function attachedServices(services: string[], flags: Pick<UpFlags, "attach" | "noAttach">, notAttached: string[], withDependencies?: string[]): (service: string) => boolean {
  const noAttach = new Set(flags.noAttach ?? []);
  const given = flags.attach ?? [];
  if (given.length > 0) return (s) => given.includes(s) && !noAttach.has(s);
  const selected = withDependencies ?? services;
  return (s) => (selected.length === 0 || selected.includes(s)) && !notAttached.includes(s) && !noAttach.has(s);
}

/**
 * Attached mode: logs of the attached services' containers until Ctrl-C or,
 * with --abort-on-container-exit/-failure, the first (failed) exit. The
 * containers of the services up was asked for are watched for exits even when
 * their output is not shown, as compose watches them.
 */
async function attach(client: DaemonClient, project: string, services: string[], flags: UpFlags, shows: (service: string) => boolean): Promise<number> {
  const abort = new AbortController();
  let exitCode = 0;
  let stopping = false;
  let codeFrom = flags.exitCodeFrom;
  const all = await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`);
  const containers = all.filter((c) => services.length === 0 || services.includes(c.service ?? ""));
  const shown = all.filter((c) => shows(c.service ?? ""));
  const unseen = containers.filter((c) => !shown.includes(c));
  process.stdout.write(`Attaching to ${shown.map((c) => c.name).join(", ")}\n`);
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("Gracefully stopping... (press Ctrl+C again to force)\n");
    const t = flags.timeout !== undefined ? `?t=${flags.timeout}` : "";
    await Promise.all(containers.map((c) => client.json("POST", `/containers/${c.id}/stop${t}`).catch(() => undefined)));
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
  const onExit = (c: ContainerView, code: number): void => {
    // As compose: --exit-code-from implies --abort-on-container-exit; without it the
    // first service to exit gives the code, not the ones stopped because of it.
    // --abort-on-container-failure: only a failure (non-zero) stops the rest, and gives its code.
    if (flags.abortOnContainerFailure) {
      if (stopping || code === 0) return;
      exitCode = code;
    } else {
      if (!flags.exitCodeFrom && !flags.abortOnContainerExit) return;
      codeFrom ??= c.service;
      if (c.service === codeFrom) exitCode = code;
    }
    void stopAll();
  };
  process.on("SIGINT", onSigint);
  try {
    const follow = { follow: true, signal: abort.signal, color: flags.color !== false, timestamps: flags.timestamps, prefix: flags.logPrefix, onExit };
    await Promise.all([followLogs(client, shown, follow), followLogs(client, unseen, { ...follow, silent: true })]);
  } finally {
    process.off("SIGINT", onSigint);
  }
  return exitCode;
}

export type CreateFlags = Pick<UpFlags, "forceRecreate" | "recreate" | "pull" | "removeOrphans" | "scale" | "dryRun" | "build" | "quietPull">;

/** `tscompose create`: the containers `up` would make, made and left stopped; the next `up` starts them. */
export async function runCreate(opts: ProjectOptions, services: string[], flags: CreateFlags): Promise<number> {
  if (flags.forceRecreate && flags.recreate === false) throw new CliError("--force-recreate and --no-recreate are incompatible");
  const request = upRequest(opts, services, flags);
  request.options.noStart = true;
  const client = await daemon();
  const { ok } = await renderProgress(client.stream<StreamMessage>("POST", "/stacks/up", request), { dryRun: flags.dryRun, quietPull: flags.quietPull });
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
