// .env and env_file parsing, following compose-go's dotenv parser (the one
// docker compose v2 uses for both the project .env and services' env_file).
//
//   KEY=value          unquoted: up to the end of the line, cut at " #",
//                      trailing blanks trimmed, ${VAR} interpolated
//   KEY: value         yaml-style separator, same as `=`
//   export KEY=value   the `export ` prefix is ignored
//   KEY='v a l'        literal (only \' is unescaped); may span lines
//   KEY="v\ta\nl"      \a \b \f \n \r \t \v \\ \" \$ and \0ooo octal are
//                      unescaped, then ${VAR} is interpolated; may span lines
//   KEY                no separator: the value comes from the environment
//                      (lookup), and the key is omitted if it is unset
//   # comment          at the start of a statement
//
// Keys are letters, digits and `_ . - [ ]`. Variables in values are resolved
// from the lookup first, then from keys defined earlier in the same file: the
// environment wins, as in compose-go. A leading UTF-8 BOM is skipped and CRLF
// line endings are accepted.
import { StackError } from "./errors.js";
import type { StackErrorCode, SourceLocation } from "./errors.js";
import { interpolateString, missingVariableWarning } from "./interpolate.js";
import type { Lookup } from "./interpolate.js";

// Go's isSpace in the dotenv parser: blanks that do not end a line.
const BLANK = new Set(["\t", "\v", "\f", "\r", " ", "\u0085", "\u00a0"]);
// Go's unicode.IsSpace: blanks plus line ends and the Unicode space separators.
const SPACE_RE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;
const KEY_CHAR_RE = /^[\p{L}\p{N}_.\-[\]]$/u;
// Go's `^export\s+` (RE2 \s is [\t\n\f\r ]).
const EXPORT_RE = /^export[\t\n\f\r ]+/;
// Escapes honoured in double quotes; others (\x, \u, ...) stay verbatim.
const ESCAPE_RE = /\\(?:[abcfnrtv$"\\]|0[0-9]{0,3})/g;
const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  '"': '"',
  "\\": "\\",
  // kept for the interpolation step, where `$$` is a literal `$`
  $: "$$",
};

function isSpace(c: string): boolean {
  return SPACE_RE.test(c);
}

function trimRightSpace(s: string): string {
  let end = s.length;
  while (end > 0 && isSpace(s[end - 1] as string)) end--;
  return s.slice(0, end);
}

export function parseDotenv(
  text: string,
  file: string,
  lookup?: Lookup,
  onWarning?: (msg: string) => void,
): Record<string, string> {
  // Offsets below are into `src`; the BOM is invisible in editors, so columns ignore it too.
  const src = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const out: Record<string, string> = {};
  const warned = new Set<string>();

  const locate = (offset: number): SourceLocation => {
    let line = 1;
    let lineStart = 0;
    for (let i = src.indexOf("\n"); i >= 0 && i < offset; i = src.indexOf("\n", i + 1)) {
      line++;
      lineStart = i + 1;
    }
    return { file, line, column: offset - lineStart + 1 };
  };
  const fail = (code: StackErrorCode, offset: number, message: string, key?: string): never => {
    throw new StackError(code, message, { path: key, location: locate(offset) });
  };
  const lineAt = (offset: number): string => {
    const nl = src.indexOf("\n", offset);
    return src.slice(offset, nl < 0 ? src.length : nl);
  };

  const resolve = (name: string): string | undefined => {
    const v = lookup?.(name);
    if (v !== undefined) return v;
    return Object.hasOwn(out, name) ? out[name] : undefined;
  };
  const expand = (value: string, offset: number, key: string): string => {
    let r: { value: string; missing: string[] };
    try {
      r = interpolateString(value, resolve);
    } catch (err) {
      return fail("interpolation", offset, (err as Error).message, key);
    }
    for (const name of r.missing) {
      if (warned.has(name)) continue;
      warned.add(name);
      onWarning?.(missingVariableWarning(name));
    }
    return r.value;
  };
  const set = (key: string, value: string): void => {
    // `__proto__` is a valid key character-wise; keep it an ordinary entry.
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  };

  let pos = 0;
  for (;;) {
    // Statement start: skip blank lines, indentation and whole-line comments.
    while (pos < src.length) {
      const c = src[pos] as string;
      if (isSpace(c)) pos++;
      else if (c === "#") {
        const nl = src.indexOf("\n", pos);
        pos = nl < 0 ? src.length : nl;
      } else break;
    }
    if (pos >= src.length) break;

    const statement = pos;
    const exported = EXPORT_RE.exec(src.slice(pos, pos + 64));
    if (exported) {
      pos += "export".length;
      while (pos < src.length && BLANK.has(src[pos] as string)) pos++;
    }

    // Key: up to `=`, `:` or the end of the line (no separator: inherited).
    const keyStart = pos;
    let sep: string | undefined;
    while (pos < src.length) {
      const cp = src.codePointAt(pos) as number;
      const c = String.fromCodePoint(cp);
      if (c === "=" || c === ":" || c === "\n") {
        sep = c;
        break;
      }
      if (!BLANK.has(c) && !KEY_CHAR_RE.test(c)) {
        fail("invalid", pos, `unexpected character ${JSON.stringify(c)} in variable name ${JSON.stringify(lineAt(statement))}`);
      }
      pos += c.length;
    }
    const key = trimRightSpace(src.slice(keyStart, pos));
    if (/\s/u.test(key)) fail("invalid", statement, "key cannot contain a space");

    // compose-go mis-reads a separator-less last line without a newline; like
    // one with a newline, it is an inherited variable here.
    if (sep === "\n" || sep === undefined) {
      pos++;
      const v = lookup?.(key);
      if (v !== undefined) set(key, v);
      continue;
    }

    pos++; // the separator
    while (pos < src.length && BLANK.has(src[pos] as string)) pos++;
    const valueStart = pos;
    const quote = src[pos];

    if (quote !== "'" && quote !== '"') {
      const nl = src.indexOf("\n", pos);
      const lineEnd = nl < 0 ? src.length : nl;
      let raw = src.slice(pos, lineEnd);
      const comment = raw.indexOf(" #");
      if (comment >= 0) raw = raw.slice(0, comment);
      set(key, expand(trimRightSpace(raw), valueStart, key));
      pos = lineEnd + 1;
      continue;
    }

    // Quoted: a backslash protects the quote character; any other escape is
    // kept whole here (and decoded below for double quotes only).
    let chars = "";
    let escaped = false;
    let closed = -1;
    for (let i = pos + 1; i < src.length; i++) {
      const c = src[i] as string;
      if (c !== quote) {
        if (!escaped && c === "\\") {
          escaped = true;
          continue;
        }
        if (escaped) {
          escaped = false;
          chars += "\\";
        }
        chars += c;
        continue;
      }
      if (escaped) {
        escaped = false;
        chars += c;
        continue;
      }
      closed = i;
      break;
    }
    if (closed < 0) fail("invalid", valueStart, `unterminated quoted value ${lineAt(valueStart)}`, key);
    set(key, quote === '"' ? expand(unescape(chars), valueStart, key) : chars);
    // Whatever follows the closing quote on the line is read as the next
    // statement, as compose-go does: typically a `# comment` or nothing.
    pos = closed + 1;
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(ESCAPE_RE, (m) => {
    const simple = SIMPLE_ESCAPES[m.slice(1)];
    if (simple !== undefined) return simple;
    // `\0ooo`: exactly three octal digits naming a byte; anything else (`\0`,
    // `\01`, `\0400`, `\0128`) is left verbatim, as Go's UnquoteChar refuses it.
    const digits = m.slice(2);
    if (!/^[0-7]{3}$/.test(digits)) return m;
    const n = parseInt(digits, 8);
    return n <= 0xff ? String.fromCodePoint(n) : m;
  });
}
