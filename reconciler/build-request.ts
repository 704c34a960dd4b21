// A service's build: as the engine's BuildRequest: the image named as compose
// names it (`image:`, else `<project>-<service>`) plus build.tags, the
// secrets resolved from the stack's top-level secrets, and the flags of
// `tscompose build` / `up --build` over the file's.
import { normalizedName, parseReference } from "../engine/content/reference.js";
import type { BuildRequest } from "../engine/types.js";
import type { ServiceSpec, StackSpec } from "../model/stack.js";
import { imageOf } from "./plan.js";

/** What the command line adds to every build (tscompose build --no-cache --pull --build-arg). */
export interface BuildFlags {
  noCache?: boolean;
  pull?: boolean;
  buildArgs?: Record<string, string>;
}

const DOCKER_IMAGE = "docker-image://";

export function buildRequestOf(stack: StackSpec, svc: ServiceSpec, flags: BuildFlags = {}): BuildRequest {
  const b = svc.build;
  if (b === undefined) throw new Error(`service ${svc.name} has no build section`);
  const tags = [...new Set([imageOf(stack, svc), ...(b.tags ?? [])].map((t) => normalizedName(parseReference(t))))];
  const secrets: NonNullable<BuildRequest["secrets"]> = {};
  for (const name of b.secrets ?? []) {
    const s = stack.secrets[name];
    if (s?.file !== undefined) secrets[name] = { file: s.file };
    else if (s?.environmentValue !== undefined) secrets[name] = { value: s.environmentValue };
    else if (s?.content !== undefined) secrets[name] = { value: s.content };
    else throw new Error(`service "${svc.name}" refers to undefined build secret ${name}`);
  }
  const contexts: NonNullable<BuildRequest["additionalContexts"]> = {};
  for (const [name, where] of Object.entries(b.additionalContexts ?? {})) {
    contexts[name] = where.startsWith(DOCKER_IMAGE) ? { image: where.slice(DOCKER_IMAGE.length) } : { dir: where };
  }
  const network = b.network === "none" || b.network === "host" || b.network === "default" ? b.network : undefined;
  return {
    contextDir: b.context,
    ...(b.dockerfile !== undefined ? { dockerfile: b.dockerfile } : {}),
    ...(b.dockerfileInline !== undefined ? { dockerfileInline: b.dockerfileInline } : {}),
    buildArgs: { ...b.args, ...flags.buildArgs },
    ...(b.target !== undefined ? { target: b.target } : {}),
    tags,
    ...(b.labels ? { labels: b.labels } : {}),
    ...(b.noCache || flags.noCache ? { noCache: true } : {}),
    ...(b.pull || flags.pull ? { pull: true } : {}),
    ...(network !== undefined ? { network } : {}),
    ...(b.shmSize !== undefined ? { shmSize: b.shmSize } : {}),
    ...(b.extraHosts ? { extraHosts: b.extraHosts } : {}),
    ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
    ...(Object.keys(contexts).length > 0 ? { additionalContexts: contexts } : {}),
    ...(b.platforms?.[0] !== undefined ? { platform: b.platforms[0] } : svc.platform !== undefined ? { platform: svc.platform } : {}),
  };
}
