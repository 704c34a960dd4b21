// `extends`: a service built on another service of the same file or of
// another file, resolved per file before the files are merged (as compose does).
import { isAbsolute, relative, resolve } from "node:path";
import { isPlainDict as isDict, setKey } from "./dict.js";
import type { Dict } from "./dict.js";
import { MergeError } from "./errors.js";
import { mergeExtendedService } from "./merge.js";
import { strip } from "./merge-tags.js";
import { rebaseServicePaths } from "./rebase-paths.js";

export interface ExtendsSource {
  services: Record<string, unknown>;
  /** Directory of that file: relative paths of services taken from it are resolved against it. */
  dir: string;
}

export interface ExtendsOrigin {
  /** The file holding `services`, as it should appear in messages. */
  file?: string;
  /** Its directory; when given, `extends.file` is resolved against it before loadOther sees it. */
  dir?: string;
}

interface FileScope {
  key: string; // how loadOther named it; "" for the file being resolved
  label: string;
  dir: string | undefined;
  services: Dict;
  done: Map<string, unknown>;
}

/**
 * Resolves `extends` in one file's services (before that file is merged with
 * others, as compose does). `extends: svc` takes a service of the same file,
 * `extends: {service, file}` one of another file, loaded through loadOther
 * with the path resolved against the extending file's directory when known.
 * Everything of the base service is inherited, depends_on, volumes_from and
 * links included (compose v2); the extending service's own values merge over
 * it with the rules of mergeService. Relative paths of a service taken from
 * another file are made absolute against that file's directory. Returns new
 * services without `extends`; the input is not modified.
 */
export function resolveExtends(
  services: Record<string, unknown>,
  loadOther: (file: string) => ExtendsSource,
  origin: ExtendsOrigin = {},
): Record<string, unknown> {
  const main: FileScope = { key: "", label: origin.file ?? "", dir: origin.dir, services, done: new Map() };
  const scopes = new Map<string, FileScope>();
  if (origin.file !== undefined) scopes.set(origin.dir ? resolve(origin.dir, origin.file) : origin.file, main);

  const scopeOf = (from: FileScope, file: string): FileScope => {
    const key = from.dir ? resolve(from.dir, file) : file;
    let scope = scopes.get(key);
    if (!scope) {
      const src = loadOther(key);
      scope = { key, label: file, dir: src.dir, services: src.services, done: new Map() };
      scopes.set(key, scope);
    }
    return scope;
  };

  const where = (scope: FileScope): string => (scope === main ? "" : ` in ${scope.label}`);
  const errFile = (scope: FileScope): string | undefined => (scope === main ? undefined : scope.key);

  const resolveOne = (scope: FileScope, name: string, chain: { scope: FileScope; name: string }[]): unknown => {
    const loop = chain.findIndex((c) => c.scope === scope && c.name === name);
    if (loop >= 0) {
      const first = chain[loop] as { scope: FileScope; name: string };
      const names = [...chain.slice(loop), { scope, name }].map((c) => (c.scope === main ? c.name : `${c.name} (${displayFile(c.scope, main)})`));
      throw new MergeError("cycle", `service "${first.name}": extends cycle ${names.join(" -> ")}`, ["services", first.name, "extends"], errFile(first.scope));
    }
    if (scope.done.has(name)) return scope.done.get(name);

    const raw = scope.services[name];
    const path = ["services", name];
    if (raw !== null && raw !== undefined && !isDict(raw)) {
      throw new MergeError("invalid", `service "${name}"${where(scope)} must be a mapping`, path, errFile(scope));
    }
    const ext = isDict(raw) ? strip(raw.extends) : undefined;
    if (!isDict(raw) || ext === undefined || ext === null) {
      scope.done.set(name, raw);
      return raw;
    }

    const ref = typeof ext === "string" ? ext : isDict(ext) ? ext.service : undefined;
    const file = isDict(ext) ? ext.file : undefined;
    if (typeof ref !== "string" || ref === "") {
      throw new MergeError("invalid", `service "${name}"${where(scope)}: extends.service is required`, [...path, "extends"], errFile(scope));
    }
    if (file !== undefined && file !== null && typeof file !== "string") {
      throw new MergeError("invalid", `service "${name}"${where(scope)}: extends.file must be a string`, [...path, "extends", "file"], errFile(scope));
    }
    const target = typeof file === "string" ? scopeOf(scope, file) : scope;
    if (!Object.hasOwn(target.services, ref)) {
      const inFile = target === scope ? where(scope) : ` in ${target.label}`;
      throw new MergeError("reference", `service "${name}"${where(scope)} extends "${ref}", which is not defined${inFile}`, [...path, "extends"], errFile(scope));
    }

    const inherited = strip(resolveOne(target, ref, [...chain, { scope, name }]));
    let base: Dict = isDict(inherited) ? inherited : {};
    if (target !== scope && target.dir !== undefined) base = rebaseServicePaths(base, target.dir);
    const own: Dict = { ...raw };
    delete own.extends;
    const merged = mergeExtendedService(base, own, path);
    delete merged.extends;
    scope.done.set(name, merged);
    return merged;
  };

  const out: Dict = {};
  for (const name of Object.keys(services)) setKey(out, name, resolveOne(main, name, []));
  return out;
}

function displayFile(scope: FileScope, main: FileScope): string {
  if (main.dir && isAbsolute(scope.key)) return relative(main.dir, scope.key) || scope.label;
  return scope.label;
}
