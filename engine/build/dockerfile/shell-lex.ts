// Variable expansion the way BuildKit's shell lexer (frontend/dockerfile/shell)
// does it for the instructions the frontend expands: quotes removed, the
// escape character honoured, `$VAR`, `${VAR}` and the modifiers
// `:-` `-` `:+` `+` `:?` `?` `#` `##` `%` `%%` `/` `//`. An unset variable
// expands to the empty string. Words are never split here: the Dockerfile
// parser splits arguments before expansion, as BuildKit's does.
import { ExpansionError } from "./errors.js";

export type Lookup = (name: string) => string | undefined;

export interface LexOptions {
  /** The `# escape=` character. */
  escape: string;
  /** Keep quote characters as text (heredoc bodies). */
  rawQuotes?: boolean;
  /** Keep the escape character and what it escapes as text (heredoc bodies). */
  rawEscapes?: boolean;
}

const SPECIAL_PARAMS = new Set(["@", "*", "#", "?", "-", "$", "!", "0"]);

/** Expands one word: `expandWord('"$A"b', {escape: "\\"}, lookup)`. */
export function expandWord(word: string, options: LexOptions, lookup: Lookup): string {
  const lexer = new WordLexer(Array.from(word), options, lookup);
  return lexer.processUntil(undefined);
}

class WordLexer {
  private pos = 0;
  constructor(
    private readonly chars: string[],
    private readonly options: LexOptions,
    private readonly lookup: Lookup,
  ) {}

  private peek(): string | undefined {
    return this.chars[this.pos];
  }
  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  /**
   * Reads up to `stop` (consumed) or the end; `stop` undefined means the end.
   * `raw` keeps escapes as written: patterns and replacements of `${VAR#..}`
   * and `${VAR/../..}` give `\*` its meaning later, as BuildKit does.
   */
  processUntil(stop: string | undefined, raw = false): string {
    let out = "";
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) {
        if (stop !== undefined) throw new ExpansionError(`unexpected end of statement while looking for matching ${stop}`);
        return out;
      }
      if (ch === stop) {
        this.next();
        return out;
      }
      if (ch === "'" && !this.options.rawQuotes) out += this.singleQuoted();
      else if (ch === '"' && !this.options.rawQuotes) out += this.doubleQuoted();
      else if (ch === "$") out += this.dollar();
      else if (ch === this.options.escape) {
        this.next();
        const escaped = this.next();
        if (escaped === undefined) return out; // a trailing escape is dropped, as BuildKit does
        out += this.options.rawEscapes || raw ? ch + escaped : escaped;
      } else out += this.next();
    }
  }

  private singleQuoted(): string {
    this.next();
    let out = "";
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new ExpansionError("unexpected end of statement while looking for matching single-quote");
      if (ch === "'") return out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    this.next();
    let out = "";
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new ExpansionError("unexpected end of statement while looking for matching double-quote");
      if (ch === '"') {
        this.next();
        return out;
      }
      if (ch === "$") {
        out += this.dollar();
        continue;
      }
      this.next();
      if (ch === this.options.escape) {
        const following = this.peek();
        if (following === undefined) continue;
        // Inside double quotes only `"`, `$` and the escape itself are escapable; other escapes stay as written.
        if (following === '"' || following === "$" || following === this.options.escape) {
          out += this.next();
          continue;
        }
      }
      out += ch;
    }
  }

  private name(): string {
    let name = "";
    const first = this.peek();
    if (first !== undefined && /\p{Nd}/u.test(first)) {
      while (this.peek() !== undefined && /\p{Nd}/u.test(this.peek() as string)) name += this.next();
      return name;
    }
    if (first !== undefined && SPECIAL_PARAMS.has(first)) return this.next() as string;
    for (;;) {
      const ch = this.peek();
      if (ch === undefined || !/[\p{L}\p{Nd}_]/u.test(ch)) return name;
      name += this.next();
    }
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== "{") {
      const name = this.name();
      if (name === "") return "$";
      return this.lookup(name) ?? "";
    }
    this.next();
    if (this.peek() === "#") {
      this.next();
      const name = this.name();
      if (this.next() !== "}") throw new ExpansionError(`bad substitution: missing '}' after \${#${name}`);
      return String(Array.from(this.lookup(name) ?? "").length);
    }
    const name = this.name();
    if (name === "") throw new ExpansionError("bad substitution: a variable name is missing after ${");
    const value = this.lookup(name);
    const op = this.next();
    switch (op) {
      case "}":
        return value ?? "";
      case ":": {
        const modifier = this.next();
        const word = this.processUntil("}");
        if (modifier === "-") return value === undefined || value === "" ? word : value;
        if (modifier === "+") return value === undefined || value === "" ? "" : word;
        if (modifier === "?") {
          if (value === undefined) throw new ExpansionError(`${name}: ${word || "is not allowed to be unset"}`);
          if (value === "") throw new ExpansionError(`${name}: ${word || "is not allowed to be empty"}`);
          return value;
        }
        throw new ExpansionError(`unsupported modifier (${modifier ?? "end of word"}) in substitution`);
      }
      case "-": {
        const word = this.processUntil("}");
        return value === undefined ? word : value;
      }
      case "+": {
        const word = this.processUntil("}");
        return value === undefined ? "" : word;
      }
      case "?": {
        const word = this.processUntil("}");
        if (value === undefined) throw new ExpansionError(`${name}: ${word || "is not allowed to be unset"}`);
        return value;
      }
      case "#":
      case "%": {
        const longest = this.peek() === op;
        if (longest) this.next();
        const pattern = this.processUntil("}", true);
        return op === "#" ? trimPrefix(value ?? "", pattern, longest) : trimSuffix(value ?? "", pattern, longest);
      }
      case "/": {
        const all = this.peek() === "/";
        if (all) this.next();
        const pattern = this.processUntil("/", true);
        const replacement = this.processUntil("}", true);
        return replace(value ?? "", pattern, replacement, all);
      }
      default:
        throw new ExpansionError(`unsupported modifier (${op ?? "end of word"}) in substitution`);
    }
  }
}

/** A shell pattern (`*`, `?`, `\\x` literal; brackets are literal too, as in BuildKit) as a regular expression source. */
function patternSource(pattern: string, star: string): string {
  let out = "";
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === "*") out += star;
    else if (ch === "?") out += ".";
    else if (ch === "\\" && i + 1 < chars.length) out += escapeRegExp(chars[++i] as string);
    else out += escapeRegExp(ch);
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

function trimPrefix(value: string, pattern: string, longest: boolean): string {
  const re = new RegExp(`^(?:${patternSource(pattern, "[\\s\\S]*")})$`, "su");
  const chars = Array.from(value);
  for (let n = longest ? chars.length : 0; longest ? n >= 0 : n <= chars.length; n += longest ? -1 : 1) {
    if (re.test(chars.slice(0, n).join(""))) return chars.slice(n).join("");
  }
  return value;
}

function trimSuffix(value: string, pattern: string, longest: boolean): string {
  const re = new RegExp(`^(?:${patternSource(pattern, "[\\s\\S]*")})$`, "su");
  const chars = Array.from(value);
  for (let n = longest ? chars.length : 0; longest ? n >= 0 : n <= chars.length; n += longest ? -1 : 1) {
    if (re.test(chars.slice(chars.length - n).join(""))) return chars.slice(0, chars.length - n).join("");
  }
  return value;
}

function replace(value: string, pattern: string, replacement: string, all: boolean): string {
  // An empty pattern matches the empty string at the start (BuildKit's ${FOO/$EMPTY/x} is x + FOO).
  if (pattern === "") return replacement + value;
  // Like the shell, the longest match at the leftmost position is replaced.
  const re = new RegExp(patternSource(pattern, "[\\s\\S]*"), all ? "gsu" : "su");
  return value.replace(re, () => replacement);
}
