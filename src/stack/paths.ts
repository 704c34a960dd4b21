// Stage: make every relative path of one file absolute, before files merge.
//
// Compose resolves relative paths of all -f files against the project
// directory, and those of an included or extended file against that file's own
// directory. Resolving per file, before merging, keeps that rule in one place:
// after this stage no path in the model is relative.
//
// `~` is the home of the user running the CLI ($HOME of the environment the
// CLI sent), as compose-go's ExpandUser reads it: the daemon loading the file
// may run with another HOME.
import { homedir } from "node:os";
import { resolve } from "node:path";
import { isDict, type Dict } from "./dict.js";

/** The directories a path of one file is resolved against. */
interface Dirs {
  /** The project directory (or an included file's own one). */
  base: string;
  /** The directory of the file itself, for extends.file and include. */
  file: string;
  home: string;
}

/** The home `~` means for a caller's environment: its HOME, else the process's home directory. */
export function homeOf(env: Record<string, string | undefined>): string {
  return env.HOME || homedir();
}

export function expandPath(p: string, baseDir: string, home: string): string {
  if (p === "~" || p.startsWith("~/")) return resolve(home, p.slice(2));
  // An absolute path is cleaned too ("/etc/pihole/" is "/etc/pihole"), as compose does.
  return resolve(baseDir, p);
}

// A build context may be a URL (git, http): those are left alone.
export const isRemoteContext = (s: string): boolean => /^([a-z][a-z0-9+.-]*:\/\/|git@|github\.com\/)/i.test(s);
const looksLikeHostPath = (s: string): boolean => s.startsWith(".") || s.startsWith("/") || s.startsWith("~");

/** Returns a copy of a raw compose mapping with paths resolved against baseDir (file-relative for extends.file). */
export function resolveRelativePaths(model: Dict, dirs: Dirs): Dict {
  const { base: baseDir, file: fileDir, home } = dirs;
  const out: Dict = { ...model };
  if (isDict(model.services)) {
    const services: Dict = {};
    for (const [name, svc] of Object.entries(model.services)) {
      services[name] = isDict(svc) ? resolveServicePaths(svc, dirs) : svc;
    }
    out.services = services;
  }
  for (const key of ["secrets", "configs"] as const) {
    if (!isDict(model[key])) continue;
    const objs: Dict = {};
    for (const [name, obj] of Object.entries(model[key])) {
      objs[name] = isDict(obj) && typeof obj.file === "string" ? { ...obj, file: expandPath(obj.file, baseDir, home) } : obj;
    }
    out[key] = objs;
  }
  if (Array.isArray(model.include)) {
    out.include = (model.include as unknown[]).map((inc) => {
      if (typeof inc === "string") return expandPath(inc, fileDir, home);
      if (!isDict(inc)) return inc;
      const paths = Array.isArray(inc.path) ? inc.path : [inc.path];
      const r: Dict = { ...inc, path: paths.map((p) => expandPath(String(p), fileDir, home)) };
      if (typeof inc.project_directory === "string") r.project_directory = expandPath(inc.project_directory, fileDir, home);
      if (inc.env_file !== undefined) {
        const envs = Array.isArray(inc.env_file) ? inc.env_file : [inc.env_file];
        r.env_file = envs.map((e) => expandPath(String(e), fileDir, home));
      }
      return r;
    });
  }
  return out;
}

function resolveServicePaths(svc: Dict, dirs: Dirs): Dict {
  const { base: baseDir, file: fileDir, home } = dirs;
  const s: Dict = { ...svc };
  if (typeof s.build === "string") {
    if (!isRemoteContext(s.build)) s.build = expandPath(s.build, baseDir, home);
  } else if (isDict(s.build)) {
    const ctx = typeof s.build.context === "string" ? s.build.context : ".";
    const b: Dict = isRemoteContext(ctx) ? { ...s.build } : { ...s.build, context: expandPath(ctx, baseDir, home) };
    // Local additional contexts are directories like the context (compose-go resolves them alike).
    const extra = b.additional_contexts;
    if (isDict(extra)) {
      const local = (v: unknown): boolean => typeof v === "string" && !isRemoteContext(v) && !v.startsWith("service:");
      b.additional_contexts = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, local(v) ? expandPath(String(v), baseDir, home) : v]));
    }
    s.build = b;
  }
  if (s.env_file !== undefined && s.env_file !== null) {
    const list = Array.isArray(s.env_file) ? s.env_file : [s.env_file];
    s.env_file = list.map((e) => (isDict(e) ? { ...e, path: expandPath(String(e.path), baseDir, home) } : expandPath(String(e), baseDir, home)));
  }
  if (typeof s.label_file === "string") s.label_file = expandPath(s.label_file, baseDir, home);
  else if (Array.isArray(s.label_file)) s.label_file = (s.label_file as unknown[]).map((e) => expandPath(String(e), baseDir, home));
  if (Array.isArray(s.volumes)) {
    s.volumes = (s.volumes as unknown[]).map((v) => {
      if (typeof v === "string") {
        const colon = v.indexOf(":");
        if (colon > 0 && looksLikeHostPath(v.slice(0, colon))) return expandPath(v.slice(0, colon), baseDir, home) + v.slice(colon);
        return v;
      }
      if (isDict(v) && v.type === "bind" && typeof v.source === "string") return { ...v, source: expandPath(v.source, baseDir, home) };
      return v;
    });
  }
  if (Array.isArray(s.security_opt)) s.security_opt = (s.security_opt as unknown[]).map((o) => (typeof o === "string" ? seccompPathResolved(o, baseDir, home) : o));
  if (isDict(s.extends) && typeof s.extends.file === "string") {
    s.extends = { ...s.extends, file: expandPath(s.extends.file, fileDir, home) };
  }
  if (isDict(s.develop) && Array.isArray(s.develop.watch)) {
    s.develop = {
      ...s.develop,
      watch: (s.develop.watch as unknown[]).map((w) => (isDict(w) && typeof w.path === "string" ? { ...w, path: expandPath(w.path, baseDir, home) } : w)),
    };
  }
  return s;
}

/** `seccomp=FILE` (or `seccomp:FILE`) with FILE made absolute; every other option (and seccomp's keywords) as it is. */
function seccompPathResolved(opt: string, baseDir: string, home: string): string {
  const m = /^seccomp([=:])(.+)$/.exec(opt);
  if (!m || m[2] === "unconfined" || m[2] === "builtin") return opt;
  return `seccomp${m[1] as string}${expandPath(m[2] as string, baseDir, home)}`;
}
