// Path rebasing for `extends: {file: ...}`: a service taken from another file
// keeps meaning the paths relative to that file's directory.
import { isAbsolute, resolve } from "node:path";
import { isPlainDict as isDict } from "./dict.js";
import type { Dict } from "./dict.js";

// Remote build contexts (git, http, docker-image://, service:) are not paths.
const isLocalPath = (p: string): boolean =>
  p !== "" && !p.includes("://") && !p.startsWith("service:") && !/^(git@|github\.com\/)/.test(p) && !isAbsolute(p) && !p.startsWith("~");

const rebase = (p: unknown, dir: string): unknown => (typeof p === "string" && isLocalPath(p) ? resolve(dir, p) : p);

/**
 * Makes the relative paths of a service taken from another file absolute
 * against that file's directory (compose-go resolves the whole extended file
 * the same way before taking the service from it).
 */
export function rebaseServicePaths(service: Dict, dir: string): Dict {
  const s: Dict = { ...service };
  if (typeof s.build === "string") {
    s.build = rebase(s.build, dir);
  } else if (isDict(s.build)) {
    // A build without a context builds the other file's directory, not ours.
    const b: Dict = { ...s.build, context: s.build.context === undefined ? dir : rebase(s.build.context, dir) };
    const extra = b.additional_contexts;
    if (isDict(extra)) {
      b.additional_contexts = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, rebase(v, dir)]));
    } else if (Array.isArray(extra)) {
      b.additional_contexts = extra.map((e: unknown) => {
        if (typeof e !== "string" || !e.includes("=")) return e;
        const eq = e.indexOf("=");
        return `${e.slice(0, eq)}=${String(rebase(e.slice(eq + 1), dir))}`;
      });
    }
    s.build = b;
  }
  for (const key of ["env_file", "label_file"]) {
    const v = s[key];
    const one = (e: unknown): unknown => (isDict(e) ? { ...e, path: rebase(e.path, dir) } : rebase(e, dir));
    if (Array.isArray(v)) s[key] = v.map(one);
    else if (v !== undefined && v !== null) s[key] = one(v);
  }
  if (Array.isArray(s.volumes)) {
    s.volumes = s.volumes.map((v: unknown) => {
      if (typeof v === "string") {
        // Only a source starting with `.` is a relative bind mount; a bare name is a named volume.
        const colon = v.indexOf(":");
        return colon > 0 && v.startsWith(".") ? `${String(rebase(v.slice(0, colon), dir))}${v.slice(colon)}` : v;
      }
      if (isDict(v) && v.type === "bind") return { ...v, source: rebase(v.source, dir) };
      return v;
    });
  }
  if (isDict(s.develop) && Array.isArray(s.develop.watch)) {
    s.develop = {
      ...s.develop,
      watch: s.develop.watch.map((w: unknown) => (isDict(w) ? { ...w, path: rebase(w.path, dir) } : w)),
    };
  }
  return s;
}
