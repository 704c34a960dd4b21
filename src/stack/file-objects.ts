// Secrets and configs: the top-level definitions (file, environment, content,
// external), the services' references to them (target, uid, gid, mode), and
// the checks that must pass before `up` touches anything: an external one
// needs a swarm, a missing file is an error (never a directory made on the
// host), an unset variable is an error, as compose says at `up`.
import { existsSync } from "node:fs";
import type { FileObjectSpec, ServiceFileRef, StackSpec } from "../../model/stack.js";
import { isDict, scalarText as text } from "./dict.js";
import type { Dict } from "./dict.js";
import type { Fail } from "./normalize.js";
import type { PathSegment } from "./parse.js";

export type FileObjectKind = "secrets" | "configs";

// The schema stage already rejected mappings and lists where these scalars belong.
const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : text(v));

// compose-spec allowed `external: {name: x}` in old files; treat any truthy form as external.
export const isExternal = (v: unknown): boolean => v === true || v === "true" || isDict(v);

export function normalizeFileObjects(raw: Dict, project: string, lookupEnv: (name: string) => string | undefined): Record<string, FileObjectSpec> {
  const out: Record<string, FileObjectSpec> = {};
  for (const [key, v] of Object.entries(raw)) {
    const d = isDict(v) ? v : {};
    const external = isExternal(d.external);
    const environment = str(d.environment);
    out[key] = {
      name: str(d.name) ?? (external ? key : `${project}_${key}`),
      file: str(d.file),
      environment,
      environmentValue: environment === undefined ? undefined : lookupEnv(environment),
      content: str(d.content),
      external,
    };
  }
  return out;
}

/** Where a reference without a target, or with a relative one, lands in the container. */
const defaultTarget = (kind: FileObjectKind, name: string): string => (kind === "secrets" ? `/run/secrets/${name}` : `/${name}`);

export function normalizeFileRefs(v: unknown, kind: FileObjectKind, at: PathSegment[], fail: Fail): ServiceFileRef[] {
  if (!Array.isArray(v)) return [];
  return v.map((item, i) => {
    if (!isDict(item)) {
      const source = String(item);
      return { source, target: defaultTarget(kind, source), uid: undefined, gid: undefined, mode: undefined };
    }
    const source = String(item.source);
    const target = str(item.target);
    return {
      source,
      target: target === undefined ? defaultTarget(kind, source) : target.startsWith("/") ? target : defaultTarget(kind, target),
      uid: numericId(item.uid, [...at, i, "uid"], fail),
      gid: numericId(item.gid, [...at, i, "gid"], fail),
      mode: fileMode(item.mode, [...at, i, "mode"], fail),
    };
  });
}

function numericId(v: unknown, path: PathSegment[], fail: Fail): string | undefined {
  const s = str(v);
  if (s !== undefined && !/^\d+$/.test(s)) fail(path, `"${s}" is not a numeric id (compose takes uid and gid as numbers)`);
  return s;
}

/** A YAML number is taken as it parsed (0440 is octal there); a string is octal, as compose-go reads it. */
function fileMode(v: unknown, path: PathSegment[], fail: Fail): number | undefined {
  if (v === undefined || v === null) return undefined;
  const written = text(v);
  const n = typeof v === "number" ? v : /^(0o?)?[0-7]+$/.test(written) ? parseInt(written.replace(/^0o/, ""), 8) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o7777) fail(path, `invalid file mode "${written}"`);
  return n;
}

/**
 * What compose checks at `up` for the secrets and configs services use (an
 * unused definition is left alone, as compose does): each must be something
 * the embedded engine can put in the container.
 */
export function checkFileObjects(stack: StackSpec, fail: Fail): void {
  for (const kind of ["secrets", "configs"] as const) {
    const used = new Set(Object.values(stack.services).flatMap((s) => s[kind].map((r) => r.source)));
    for (const key of [...used].sort()) {
      const obj = stack[kind][key];
      if (!obj) continue; // checkConsistency names the undefined reference.
      if (obj.external) {
        fail([kind, key, "external"], `not supported by the embedded engine: external ${kind} live in a swarm, which the embedded engine is not (docker compose refuses them without swarm too)`);
      } else if (obj.file !== undefined) {
        if (!existsSync(obj.file)) fail([kind, key, "file"], `${obj.file} does not exist`);
      } else if (obj.environment !== undefined) {
        if (obj.environmentValue === undefined) fail([kind, key, "environment"], `environment variable "${obj.environment}" is not set`);
      } else if (obj.content === undefined) {
        fail([kind, key], `needs one of file, environment${kind === "configs" ? ", content" : ""} or external`);
      }
    }
  }
}
