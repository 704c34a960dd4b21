// The pure half of develop.watch (compose's `develop.watch`): which changed
// host paths a rule ignores, how a burst of editor events is batched, and
// what a batch asks of each service (sync these files, remove those, restart,
// or rebuild). develop-watch.ts owns the watchers and does the work.
//
// Ignore patterns follow .dockerignore syntax as compose reads them (moby's
// patternmatcher): `*` and `?` within one path component, `**` across any
// number of them, `[...]` classes, `!` re-includes, a leading `/` and a
// trailing `/` mean nothing, and a pattern that matches a directory ignores
// everything below it. Rule patterns are relative to the rule's path; the
// build context's .dockerignore (when the service has `build:`) to the
// context, as compose applies it to every rule of the service. Always
// ignored, as compose does: `.git` directories and the temporary files of
// common editors (vim, emacs, JetBrains, kate, go's umask probes).
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import type { CopyEntry } from "../../engine/types.js";
import type { DevelopWatchRule, ServiceHook, ServiceSpec } from "../../model/stack.js";

/** compose's EphemeralPathMatcher, plus .git. */
export const DEFAULT_IGNORES = [
  "**/.git",
  // JetBrains
  "**/*___jb_old___",
  "**/*___jb_tmp___",
  "**/.idea/**",
  // emacs
  "**/.#*",
  "**/#*#",
  // vim (4913 is its write probe; .swp, then .swo, .swn ... when taken)
  "**/4913",
  "**/*~",
  "**/.*.swp",
  "**/.*.swx",
  "**/.*.swo",
  "**/.*.swn",
  // kate
  "**/.*.kate-swp",
  // go's umask probes
  "**/*-go-tmp-umask",
];

interface Pattern {
  exclusion: boolean;
  re: RegExp;
}

function cleanPattern(p: string): string {
  let s = posix.normalize(p.trim());
  if (s.length > 1 && s.endsWith("/")) s = s.slice(0, -1);
  if (s.length > 1 && s.startsWith("/")) s = s.slice(1);
  return s;
}

/** moby/patternmatcher's pattern -> regexp translation. */
function toRegExp(pattern: string): RegExp {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === "*") {
      if (pattern[i + 1] === "*") {
        i++;
        // "**/" is zero or more directories; a trailing "**" is anything.
        if (pattern[i + 1] === "/") {
          i++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (ch === "?") re += "[^/]";
    else if (ch === "\\") {
      const next = pattern[i + 1];
      if (next !== undefined) {
        re += next.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
        i++;
      } else re += "\\\\";
    } else if (ch === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        let cls = pattern.slice(i + 1, end);
        if (cls.startsWith("!")) cls = `^${cls.slice(1)}`;
        re += `[${cls.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`${re}$`);
}

/** A .dockerignore-style matcher over relative paths ("a/b/c", "/" separators). */
export function compileIgnore(patterns: string[]): (rel: string) => boolean {
  const compiled: Pattern[] = [];
  for (const raw of patterns) {
    let p = raw.trim();
    if (p === "") continue;
    const exclusion = p.startsWith("!");
    if (exclusion) p = p.slice(1).trim();
    p = cleanPattern(p);
    if (p === "" || p === ".") continue;
    compiled.push({ exclusion, re: toRegExp(p) });
  }
  return (rel: string): boolean => {
    const file = posix.normalize(rel);
    const parent = posix.dirname(file);
    const parentDirs = parent === "." ? [] : parent.split("/");
    let matched = false;
    for (const pattern of compiled) {
      // An inclusion cannot change a match, nor an exclusion a non-match.
      if (pattern.exclusion !== matched) continue;
      let match = pattern.re.test(file);
      for (let i = 0; !match && i < parentDirs.length; i++) match = pattern.re.test(parentDirs.slice(0, i + 1).join("/"));
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  };
}

/** The lines of a .dockerignore file that are patterns (comments and blanks dropped); [] when it does not exist. */
export function readDockerignore(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.startsWith("#"));
}

/** Is `p` the directory `dir` or below it? Relative path from it, or undefined. */
export function relativeUnder(dir: string, p: string): string | undefined {
  if (p === dir) return "";
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return p.startsWith(prefix) ? p.slice(prefix.length) : undefined;
}

export interface CompiledRule {
  service: string;
  rule: DevelopWatchRule;
  /** Is this absolute host path (under the rule's path) ignored? */
  ignored(abs: string): boolean;
}

/** A service's rules with their ignore matchers (defaults, the rule's own, and the build context's .dockerignore). */
export function compileRules(svc: ServiceSpec): CompiledRule[] {
  const dockerignore = svc.build ? dockerignoreOf(svc.build.context, svc.build.dockerfile) : undefined;
  return (svc.develop?.watch ?? []).map((rule) => {
    const defaults = compileIgnore(DEFAULT_IGNORES);
    const own = compileIgnore(rule.ignore);
    return {
      service: svc.name,
      rule,
      ignored(abs: string): boolean {
        const rel = relativeUnder(rule.path, abs);
        if (rel === undefined) return true;
        if (rel !== "" && (defaults(rel) || own(rel))) return true;
        if (dockerignore) {
          const crel = relativeUnder(dockerignore.base, abs);
          if (crel !== undefined && crel !== "" && dockerignore.match(crel)) return true;
        }
        return false;
      },
    };
  });
}

/** `<Dockerfile>.dockerignore` next to the Dockerfile wins over the context's .dockerignore, as BuildKit reads them. */
function dockerignoreOf(context: string, dockerfile: string | undefined): { base: string; match: (rel: string) => boolean } | undefined {
  const specific = dockerfile ? readDockerignore(`${posix.resolve(context, dockerfile)}.dockerignore`) : [];
  const patterns = specific.length > 0 ? specific : readDockerignore(posix.join(context, ".dockerignore"));
  return patterns.length > 0 ? { base: context, match: compileIgnore(patterns) } : undefined;
}

export type DevelopAction =
  | { kind: "sync"; service: string; restart: boolean; copies: CopyEntry[]; removals: string[]; changes: number; execs: ServiceHook[] }
  | { kind: "rebuild"; service: string; changes: number };

/**
 * What a batch of changed host paths asks of each service. A path still on
 * the host is copied to `target` + its path below the rule's; one gone is
 * removed there. A rebuild rule that matches wins over the service's syncs
 * (the new container gets the files from its image anyway, as compose does).
 */
export function planBatch(rules: CompiledRule[], changed: string[], exists: (hostPath: string) => boolean): DevelopAction[] {
  const byService = new Map<string, { rebuild: number; restart: boolean; copies: Map<string, string>; removals: Set<string>; changes: Set<string>; execs: ServiceHook[] }>();
  for (const path of changed) {
    for (const r of rules) {
      if (relativeUnder(r.rule.path, path) === undefined || r.ignored(path)) continue;
      let s = byService.get(r.service);
      if (!s) byService.set(r.service, (s = { rebuild: 0, restart: false, copies: new Map(), removals: new Set(), changes: new Set(), execs: [] }));
      s.changes.add(path);
      if (r.rule.action === "rebuild") {
        s.rebuild++;
        continue;
      }
      // restart: the container restarts, nothing is copied.
      if (r.rule.action === "restart") {
        s.restart = true;
        continue;
      }
      if (r.rule.target === undefined) continue;
      // sync+exec: its command runs once per batch, after the copies.
      if (r.rule.action === "sync+exec" && r.rule.exec && !s.execs.includes(r.rule.exec)) s.execs.push(r.rule.exec);
      const containerPath = posix.join(r.rule.target, relativeUnder(r.rule.path, path) as string);
      if (r.rule.action === "sync+restart") s.restart = true;
      if (exists(path)) s.copies.set(containerPath, path);
      else s.removals.add(containerPath);
    }
  }
  const out: DevelopAction[] = [];
  for (const [service, s] of byService) {
    if (s.rebuild > 0) {
      out.push({ kind: "rebuild", service, changes: s.changes.size });
      continue;
    }
    // A directory copied (recursively) or removed covers everything below it.
    const copyPaths = [...s.copies.keys()];
    const removalPaths = [...s.removals];
    const covered = (p: string, by: string[]): boolean => by.some((q) => q !== p && relativeUnder(q, p) !== undefined);
    const copies = copyPaths.filter((p) => !covered(p, copyPaths)).sort().map((containerPath) => ({ hostPath: s.copies.get(containerPath) as string, containerPath }));
    const removals = removalPaths.filter((p) => !covered(p, removalPaths)).sort();
    if (copies.length === 0 && removals.length === 0 && !s.restart) continue;
    out.push({ kind: "sync", service, restart: s.restart, copies, removals, changes: s.changes.size, execs: s.execs });
  }
  return out.sort((a, b) => a.service.localeCompare(b.service));
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

/**
 * Collects changed paths and hands them over once the burst is over: after
 * `quietMs` without a new one (an editor's write, rename, chmod of one save),
 * or at the latest `maxMs` after the first (a build writing files for long).
 */
export class Batcher {
  private readonly pending = new Set<string>();
  private timer: unknown;
  private firstAt = 0;

  constructor(
    private readonly flush: (paths: string[]) => void,
    private readonly quietMs = 100,
    private readonly maxMs = 1000,
    private readonly timers: Timers = realTimers,
  ) {}

  add(path: string): void {
    if (this.pending.size === 0) this.firstAt = this.timers.now();
    this.pending.add(path);
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.quietMs, this.firstAt + this.maxMs - this.timers.now()));
    this.timer = this.timers.setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    this.timer = undefined;
    const paths = [...this.pending];
    this.pending.clear();
    if (paths.length > 0) this.flush(paths);
  }

  close(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }
}
