// `tscompose build [SERVICE...]`: the stack's images built in the daemon,
// its progress printed as docker compose prints it; exit 1 on a failed build.
import { resolve } from "node:path";
import type { ImageBuildRequest, StackBuildRequest, StreamMessage } from "../daemon/api.js";
import type { ProjectOptions } from "../stack/load.js";
import { CliError } from "./errors.js";
import { renderProgress } from "./progress.js";
import { daemon, projectRef } from "./project-name.js";

export interface BuildFlags {
  noCache?: boolean;
  pull?: boolean;
  buildArg?: string[];
  quiet?: boolean;
  withDependencies?: boolean;
  /** build --push: then push the built services' images, as `push SERVICE...`. */
  push?: boolean;
}

/** --build-arg K=V, or K alone for the value in this environment (left out when it has none, as docker does). */
export function buildArgsOf(pairs: readonly string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key === "") throw new CliError(`invalid --build-arg "${pair}": expected KEY=VALUE`);
    const value = eq < 0 ? env[key] : pair.slice(eq + 1);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

export function buildRequest(opts: ProjectOptions, services: string[], flags: BuildFlags): StackBuildRequest {
  const buildArgs = buildArgsOf(flags.buildArg ?? []);
  return {
    project: projectRef(opts),
    options: {
      services,
      ...(flags.withDependencies ? { withDependencies: true } : {}),
      ...(flags.noCache ? { noCache: true } : {}),
      ...(flags.pull ? { pull: true } : {}),
      ...(Object.keys(buildArgs).length > 0 ? { buildArgs } : {}),
    },
  };
}

export async function runBuild(opts: ProjectOptions, services: string[], flags: BuildFlags): Promise<number> {
  const request = buildRequest(opts, services, flags);
  const client = await daemon();
  const { ok } = await renderProgress(client.stream<StreamMessage>("POST", "/stacks/build", request), { quiet: flags.quiet });
  if (!ok) return 1;
  if (!flags.push) return 0;
  const { runPush } = await import("./images.js");
  return runPush(opts, services, { quiet: flags.quiet, includeDeps: flags.withDependencies });
}

export interface ImageBuildFlags {
  tag?: string[];
  file?: string;
  buildArg?: string[];
  target?: string;
  noCache?: boolean;
  pull?: boolean;
  label?: string[];
}

/** `tscompose image build -t TAG [-f FILE] ... CONTEXT`: docker build's flags; paths resolved here, where the user typed them. */
export function imageBuildRequest(context: string, flags: ImageBuildFlags, cwd = process.cwd()): ImageBuildRequest {
  const buildArgs = buildArgsOf(flags.buildArg ?? []);
  const labels: Record<string, string> = {};
  for (const l of flags.label ?? []) {
    const eq = l.indexOf("=");
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? "" : l.slice(eq + 1);
  }
  return {
    contextDir: resolve(cwd, context),
    ...(flags.file !== undefined ? { dockerfile: resolve(cwd, flags.file) } : {}),
    tags: flags.tag ?? [],
    ...(Object.keys(buildArgs).length > 0 ? { buildArgs } : {}),
    ...(flags.target !== undefined ? { target: flags.target } : {}),
    ...(flags.noCache ? { noCache: true } : {}),
    ...(flags.pull ? { pull: true } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
  };
}

export async function runImageBuild(context: string, flags: ImageBuildFlags): Promise<number> {
  const client = await daemon();
  const { ok } = await renderProgress(client.stream<StreamMessage>("POST", "/images/build", imageBuildRequest(context, flags)), { imageBuild: true });
  return ok ? 0 : 1;
}
