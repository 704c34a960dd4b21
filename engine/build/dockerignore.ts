// .dockerignore semantics, as moby/patternmatcher and its ignorefile reader
// define them: comments, `!` exceptions, patterns cleaned like Go's
// filepath.Clean with a leading `/` dropped, `*` and `?` within one path
// element, `**` across elements, later patterns winning, and a path also
// matched when one of its parent directories is.
import { posix } from "node:path";

/** The patterns of a .dockerignore file (ignorefile.ReadAll): comments and blank lines dropped, paths cleaned. */
export function readIgnoreFile(text: string): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (const line of lines) {
    // Only a `#` in the first column starts a comment, as in docker.
    if (line.startsWith("#")) continue;
    let pattern = line.trim();
    if (pattern === "") continue;
    const invert = pattern.startsWith("!");
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern !== "") {
      pattern = goClean(pattern);
      if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
    }
    out.push(invert ? `!${pattern}` : pattern);
  }
  return out;
}

/** Go's path.Clean: no `.` elements, `..` resolved lexically, no repeated or trailing slash; "" is ".". */
export function goClean(p: string): string {
  if (p === "") return ".";
  const normalized = posix.normalize(p);
  return normalized.length > 1 && normalized.endsWith("/") ? normalized.slice(0, -1) : normalized;
}

/** Go's filepath.Dir: "dir/file/" is in "dir/file", unlike Node's dirname. */
function goDir(p: string): string {
  return goClean(p.slice(0, p.lastIndexOf("/") + 1));
}

export class PatternError extends Error {
  readonly kind = "invalid" as const;
}

interface Pattern {
  exclusion: boolean;
  cleaned: string;
  test: (path: string) => boolean;
}

export class PatternMatcher {
  private readonly patterns: Pattern[] = [];
  /** Whether any pattern is a `!` exception (then an excluded directory must still be walked). */
  readonly exclusions: boolean = false;

  constructor(patterns: readonly string[]) {
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === "") continue;
      p = goClean(p);
      let exclusion = false;
      if (p.startsWith("!")) {
        if (p.length === 1) throw new PatternError('illegal exclusion pattern: "!"');
        exclusion = true;
        p = p.slice(1);
        this.exclusions = true;
      }
      this.patterns.push({ exclusion, cleaned: p, test: compile(p) });
    }
  }

  /** Whether `file` (slash-separated, relative) is excluded: matched by a pattern or through a parent directory, and not re-included later. */
  matches(file: string): boolean {
    let matched = false;
    const parent = goDir(file);
    const parentDirs = parent.split("/");
    for (const pattern of this.patterns) {
      if (pattern.exclusion !== matched) continue;
      let match = pattern.test(file);
      if (!match && parent !== ".") {
        for (let i = 0; i < parentDirs.length && !match; i++) match = pattern.test(parentDirs.slice(0, i + 1).join("/"));
      }
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }
}

// Characters a regular expression gives meaning to that Go's filepath.Match does not.
const REGEX_ONLY = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);

function compile(pattern: string): (path: string) => boolean {
  let re = "^";
  let type: "exact" | "prefix" | "suffix" | "regexp" = "exact";
  const chars = Array.from(pattern);
  for (let i = 0, k = 0; k < chars.length; i++) {
    const ch = chars[k++] as string;
    if (ch === "*") {
      if (chars[k] === "*") {
        k++;
        if (chars[k] === "/") k++;
        if (k >= chars.length) {
          if (type === "exact") type = "prefix";
          else {
            re += ".*";
            type = "regexp";
          }
        } else {
          re += "(.*/)?";
          type = "regexp";
        }
        if (i === 0) type = "suffix";
      } else {
        re += "[^/]*";
        type = "regexp";
      }
    } else if (ch === "?") {
      re += "[^/]";
      type = "regexp";
    } else if (REGEX_ONLY.has(ch)) re += `\\${ch}`;
    else if (ch === "\\") {
      const next = chars[k];
      if (next !== undefined) {
        k++;
        // A letter escaped in a Go pattern is the letter; in a JS expression `\d` would be a class.
        re += /[A-Za-z0-9]/.test(next) ? next : `\\${next}`;
        type = "regexp";
      } else re += "\\\\";
    } else if (ch === "[" || ch === "]") {
      re += ch;
      type = "regexp";
    } else re += ch;
  }
  checkGoPattern(pattern);
  switch (type) {
    case "exact":
      return (path) => path === pattern;
    case "prefix": {
      const prefix = pattern.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case "suffix": {
      const suffix = pattern.slice(2);
      return (path) => path.endsWith(suffix) || (suffix.startsWith("/") && path === suffix.slice(1));
    }
    default: {
      let regex: RegExp;
      try {
        regex = new RegExp(`${re}$`, "s");
      } catch {
        throw new PatternError(`syntax error in pattern: ${pattern}`);
      }
      return (path) => regex.test(path);
    }
  }
}

/** Go's filepath.Match refuses unbalanced brackets, empty classes and a trailing escape: so does docker. */
function checkGoPattern(pattern: string): void {
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === "\\") {
      if (i + 1 >= chars.length) throw new PatternError(`syntax error in pattern: ${pattern}`);
      i++;
    } else if (ch === "[") {
      let j = i + 1;
      if (chars[j] === "^") j++;
      let count = 0;
      for (; j < chars.length && chars[j] !== "]"; j++, count++) {
        if (chars[j] === "\\") j++;
        else if (chars[j] === "-" && (count === 0 || chars[j + 1] === "]")) throw new PatternError(`syntax error in pattern: ${pattern}`);
      }
      if (j >= chars.length || count === 0) throw new PatternError(`syntax error in pattern: ${pattern}`);
      i = j;
    }
  }
}

/**
 * Go's filepath.Match as a test on a whole slash-separated path (`*` and `?`
 * never cross a `/`, `[...]` classes with `^` negation, `\` escapes): the
 * rule docker applies to COPY/ADD source patterns.
 */
export function pathMatcher(pattern: string): (path: string) => boolean {
  checkGoPattern(pattern);
  let re = "^";
  const chars = Array.from(pattern);
  for (let k = 0; k < chars.length; k++) {
    const ch = chars[k] as string;
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "\\") {
      const next = chars[++k] as string;
      re += /[A-Za-z0-9]/.test(next) ? next : `\\${next}`;
    } else if (ch === "[") {
      re += "[";
      if (chars[k + 1] === "^") {
        re += "^/";
        k++;
      }
    } else if (ch === "]") re += "]";
    else re += /[.+()|{}$^]/.test(ch) ? `\\${ch}` : ch;
  }
  const regex = new RegExp(`${re}$`, "s");
  return (path) => regex.test(path);
}

/** Whether a COPY source uses wildcards (docker's containsWildcards). */
export function hasWildcards(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") i++;
    else if (ch === "*" || ch === "?" || ch === "[") return true;
  }
  return false;
}
