// Stage: make every relative path of one file absolute, before files merge.
//
// Compose resolves relative paths of all -f files against the project
// directory, and those of an included or extended file against that file's own
// directory. Resolving per file, before merging, keeps that rule in one place:
// after this stage no path in the model is relative.
import { homedir } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { isDict, type Dict } from "./dict.js";


export function expandPath(p: string, baseDir: string): string {
  if (p === "~" || p.startsWith("~/")) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

// A build context may be a URL (git, http): those are left alone.
const isRemoteContext = (s: string): boolean => /^([a-z][a-z0-9+.-]*:\/\/|git@|github\.com\/)/i.test(s);
const looksLikeHostPath = (s: string): boolean => s.startsWith(".") || s.startsWith("/") || s.startsWith("~");

/** Returns a copy of a raw compose mapping with paths resolved against baseDir (file-relative for extends.file). */
export function resolveRelativePaths(model: Dict, baseDir: string, fileDir: string): Dict {
  const out: Dict = { ...model };
  if (isDict(model.services)) {
    const services: Dict = {};
    for (const [name, svc] of Object.entries(model.services)) {
      services[name] = isDict(svc) ? resolveServicePaths(svc, baseDir, fileDir) : svc;
    }
    out.services = services;
  }
  for (const key of ["secrets", "configs"] as const) {
    if (!isDict(model[key])) continue;
    const objs: Dict = {};
    for (const [name, obj] of Object.entries(model[key])) {
      objs[name] = isDict(obj) && typeof obj.file === "string" ? { ...obj, file: expandPath(obj.file, baseDir) } : obj;
    }
    out[key] = objs;
  }
  if (Array.isArray(model.include)) {
    out.include = (model.include as unknown[]).map((inc) => {
      if (typeof inc === "string") return expandPath(inc, fileDir);
      if (!isDict(inc)) return inc;
      const paths = Array.isArray(inc.path) ? inc.path : [inc.path];
      const r: Dict = { ...inc, path: paths.map((p) => expandPath(String(p), fileDir)) };
      if (typeof inc.project_directory === "string") r.project_directory = expandPath(inc.project_directory, fileDir);
      if (inc.env_file !== undefined) {
        const envs = Array.isArray(inc.env_file) ? inc.env_file : [inc.env_file];
        r.env_file = envs.map((e) => expandPath(String(e), fileDir));
      }
      return r;
    });
  }
  return out;
}

function resolveServicePaths(svc: Dict, baseDir: string, fileDir: string): Dict {
  const s: Dict = { ...svc };
  if (typeof s.build === "string") {
    if (!isRemoteContext(s.build)) s.build = expandPath(s.build, baseDir);
  } else if (isDict(s.build)) {
    const ctx = typeof s.build.context === "string" ? s.build.context : ".";
    if (!isRemoteContext(ctx)) s.build = { ...s.build, context: expandPath(ctx, baseDir) };
  }
  if (s.env_file !== undefined && s.env_file !== null) {
    const list = Array.isArray(s.env_file) ? s.env_file : [s.env_file];
    s.env_file = list.map((e) => (isDict(e) ? { ...e, path: expandPath(String(e.path), baseDir) } : expandPath(String(e), baseDir)));
  }
  if (typeof s.label_file === "string") s.label_file = expandPath(s.label_file, baseDir);
  else if (Array.isArray(s.label_file)) s.label_file = (s.label_file as unknown[]).map((e) => expandPath(String(e), baseDir));
  if (Array.isArray(s.volumes)) {
    s.volumes = (s.volumes as unknown[]).map((v) => {
      if (typeof v === "string") {
        const colon = v.indexOf(":");
        if (colon > 0 && looksLikeHostPath(v.slice(0, colon))) return expandPath(v.slice(0, colon), baseDir) + v.slice(colon);
        return v;
      }
      if (isDict(v) && v.type === "bind" && typeof v.source === "string") return { ...v, source: expandPath(v.source, baseDir) };
      return v;
    });
  }
  if (Array.isArray(s.security_opt)) s.security_opt = (s.security_opt as unknown[]).map((o) => (typeof o === "string" ? seccompPathResolved(o, baseDir) : o));
  if (isDict(s.extends) && typeof s.extends.file === "string") {
    s.extends = { ...s.extends, file: expandPath(s.extends.file, fileDir) };
  }
  if (isDict(s.develop) && Array.isArray(s.develop.watch)) {
    s.develop = {
      ...s.develop,
      watch: (s.develop.watch as unknown[]).map((w) => (isDict(w) && typeof w.path === "string" ? { ...w, path: expandPath(w.path, baseDir) } : w)),
    };
  }
  return s;
}

/** `seccomp=FILE` (or `seccomp:FILE`) with FILE made absolute; every other option (and seccomp's keywords) as it is. */
function seccompPathResolved(opt: string, baseDir: string): string {
  const m = /^seccomp([=:])(.+)$/.exec(opt);
  if (!m || m[2] === "unconfined" || m[2] === "builtin") return opt;
  return `seccomp${m[1] as string}${expandPath(m[2] as string, baseDir)}`;
}
