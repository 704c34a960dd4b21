// `tscompose cp SERVICE:SRC DST` and `tscompose cp SRC SERVICE:DST`: docker
// compose's cp, into every container of the service or out of its first
// (or the one --index names), running or stopped. The daemon does the copy (with docker cp's path rules and the
// link-safe copiers); the CLI finds the container and makes the host path
// absolute, keeping the trailing "/" or "/." that changes what is copied.
import { posix } from "node:path";
import type { ContainerView, CopyRequest, CopyResponse } from "../daemon/api.js";
import { LABEL } from "../../model/labels.js";
import type { ProjectOptions } from "../stack/load.js";
import { CliError } from "./errors.js";
import { daemon, projectNameLazy } from "./project-name.js";

export interface CpFlags {
  index?: number;
  archive?: boolean;
  followLink?: boolean;
}

export interface CpArg {
  service: string | undefined;
  path: string;
}

/** compose's split: an absolute or ./ path is local; else "SERVICE:PATH" names a service; else a local path. */
export function splitCpArg(arg: string): CpArg {
  if (arg.startsWith("/") || arg.startsWith(".")) return { service: undefined, path: arg };
  const colon = arg.indexOf(":");
  if (colon <= 0) return { service: undefined, path: arg };
  return { service: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

/** A host path made absolute against cwd, its trailing "/" or "/." (or a last "." component) kept: they say what is copied. */
export function absoluteHostPath(p: string, cwd: string): string {
  const abs = posix.resolve(cwd, p);
  if (p === "." || p.endsWith("/.")) return abs === "/" ? "/." : `${abs}/.`;
  return p.endsWith("/") && abs !== "/" ? `${abs}/` : abs;
}

/** A container path: relative ones are relative to "/" (docker cp's: the container's working directory is not consulted). */
const absoluteContainerPath = (p: string): string => (p.startsWith("/") ? p : `/${p}`);

export async function runCp(opts: ProjectOptions, source: string, destination: string, flags: CpFlags): Promise<number> {
  const src = splitCpArg(source);
  const dst = splitCpArg(destination);
  if (src.service !== undefined && dst.service !== undefined) throw new CliError("copying between services is not supported");
  if (src.service === undefined && dst.service === undefined) throw new CliError("unknown copy direction");
  const service = (src.service ?? dst.service) as string;
  const local = src.service === undefined ? src : dst;
  const remote = src.service === undefined ? dst : src;
  if (remote.path === "") throw new CliError(`no path given in the container: "${service}:"`);
  const project = await projectNameLazy(opts);
  const client = await daemon();
  // Stopped containers too: cp works on them.
  const all = await client.json<ContainerView[]>("GET", `/containers?project=${encodeURIComponent(project)}&all=1`);
  const mine = all.filter((c) => c.service === service && c.labels[LABEL.oneoff] !== "True").sort((a, b) => (a.number ?? 0) - (b.number ?? 0));
  if (mine.length === 0) throw new CliError(`no container found for service "${service}"`);
  // compose: --index picks one; without it a copy goes into every container of the service, and out of the first.
  let targets = mine;
  if (flags.index !== undefined) {
    const one = mine.find((c) => c.number === flags.index);
    if (!one) throw new CliError(`service "${service}" has no container #${flags.index}`);
    targets = [one];
  } else if (src.service !== undefined) targets = mine.slice(0, 1);
  if (local.path === "-" && src.service === undefined) {
    // SRC "-": a tar on stdin, unpacked into DST (an existing directory) of each container.
    if (targets.length > 1) throw new CliError("a tar from stdin can go into one container only: give --index");
    const q = new URLSearchParams({ path: absoluteContainerPath(remote.path) });
    if (flags.archive === true) q.set("archive", "1");
    await client.upload<CopyResponse>("PUT", `/containers/${encodeURIComponent((targets[0] as ContainerView).id)}/archive?${q.toString()}`, process.stdin);
    return 0;
  }
  if (local.path === "-") {
    // DST "-": SRC as a tar on stdout, as docker cp writes it.
    const q = new URLSearchParams({ path: absoluteContainerPath(remote.path) });
    if (flags.followLink === true) q.set("follow", "1");
    await client.bytes("GET", `/containers/${encodeURIComponent((targets[0] as ContainerView).id)}/archive?${q.toString()}`, process.stdout);
    return 0;
  }
  const body: CopyRequest = {
    direction: src.service === undefined ? "toContainer" : "fromContainer",
    hostPath: absoluteHostPath(local.path, opts.cwd),
    containerPath: absoluteContainerPath(remote.path),
    followLink: flags.followLink === true,
    archive: flags.archive === true,
  };
  for (const target of targets) await client.json<CopyResponse>("POST", `/containers/${encodeURIComponent(target.id)}/copy`, body);
  return 0;
}
