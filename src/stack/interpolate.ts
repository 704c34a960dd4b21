// Stage 2 of the loader: ${VAR} interpolation, as docker compose v2
// (compose-go's template package) does it, then the casts back to numbers and
// booleans that compose-go applies to the interpolated strings.
//
// Syntax: `$$` is a literal `$`; `$NAME` and `${NAME}` substitute (NAME is
// [_A-Za-z][_A-Za-z0-9]*); `${NAME:-x}` / `${NAME-x}` default when unset or
// empty / unset; `${NAME:+x}` / `${NAME+x}` replace when set and non-empty /
// set; `${NAME:?msg}` / `${NAME?msg}` fail when unset or empty / unset. The
// argument is itself interpolated, lazily (only when used), so defaults nest.
// A `$` followed by anything else (`$1`, `$ `, `$}`, `$` at the end) is kept
// as is. A `${` that does not form one of the above is an error.
import { StackError, formatPath } from "./errors.js";
import { castScalar, castStep, CAST_TREE } from "./casts.js";
import { isPlainDict, setKey } from "./dict.js";
import type { CastNode } from "./casts.js";
import { locateNearest } from "./parse.js";
import type { ParsedFile, PathSegment } from "./parse.js";

/** Returns the variable's value, or undefined when it is not set ("" is set-but-empty). */
export type Lookup = (name: string) => string | undefined;

export function interpolateString(s: string, lookup: Lookup): { value: string; missing: string[] } {
  const missing = new Set<string>();
  try {
    return { value: substitute(s, lookup, missing), missing: [...missing] };
  } catch (err) {
    if (err instanceof InvalidTemplate) {
      // compose-go names the template and suggests the usual fix for a stray `$`.
      throw new Error(
        `invalid interpolation format for ${JSON.stringify(s)}: you may need to escape any $ with another $`,
      );
    }
    throw err;
  }
}

class InvalidTemplate extends Error {}

function isNameStart(c: string | undefined): boolean {
  return c !== undefined && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_");
}

function isNameChar(c: string | undefined): boolean {
  return isNameStart(c) || (c !== undefined && c >= "0" && c <= "9");
}

function scanName(s: string, from: number): number {
  let i = from;
  while (isNameChar(s[i])) i++;
  return i;
}

function substitute(s: string, lookup: Lookup, missing: Set<string>): string {
  let out = "";
  let i = 0;
  while (i < s.length) {
    const dollar = s.indexOf("$", i);
    if (dollar < 0) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, dollar);
    const next = s[dollar + 1];
    if (next === "$") {
      out += "$";
      i = dollar + 2;
    } else if (isNameStart(next)) {
      const end = scanName(s, dollar + 1);
      out += plainLookup(s.slice(dollar + 1, end), lookup, missing);
      i = end;
    } else if (next === "{") {
      const r = braced(s, dollar, lookup, missing);
      out += r.value;
      i = r.end;
    } else {
      out += "$";
      i = dollar + 1;
    }
  }
  return out;
}

function plainLookup(name: string, lookup: Lookup, missing: Set<string>): string {
  const v = lookup(name);
  if (v === undefined) {
    missing.add(name);
    return "";
  }
  return v;
}

type Operator = ":-" | "-" | ":+" | "+" | ":?" | "?";

/** Evaluates the `${...}` starting at s[dollar]; returns its value and the index just past it. */
function braced(s: string, dollar: number, lookup: Lookup, missing: Set<string>): { value: string; end: number } {
  const nameStart = dollar + 2;
  const nameEnd = scanName(s, nameStart);
  if (nameEnd === nameStart || !isNameStart(s[nameStart])) throw new InvalidTemplate();
  const name = s.slice(nameStart, nameEnd);
  const c = s[nameEnd];
  if (c === "}") return { value: plainLookup(name, lookup, missing), end: nameEnd + 1 };

  let op: Operator;
  if (c === ":" && isOpChar(s[nameEnd + 1])) op = `:${s[nameEnd + 1]}` as Operator;
  else if (isOpChar(c)) op = c as Operator;
  else throw new InvalidTemplate();
  const argStart = nameEnd + op.length;

  // compose-go's pattern takes the argument greedily up to the last `}` of the
  // line, then cuts it at the `}` that balances the `${`; text between the two
  // is ordinary template text, which the caller's loop scans next.
  const lineEnd = s.indexOf("\n", argStart);
  const last = s.lastIndexOf("}", (lineEnd < 0 ? s.length : lineEnd) - 1);
  if (last < argStart) throw new InvalidTemplate();
  const balanced = closingBrace(s, dollar, last);
  const close = balanced < 0 ? last : balanced;
  const arg = s.slice(argStart, close);
  return { value: applyOperator(op, name, arg, lookup, missing), end: close + 1 };
}

function isOpChar(c: string | undefined): boolean {
  return c === "-" || c === "+" || c === "?";
}

/**
 * The `}` closing the `${` at `from`, or -1. Mirrors compose-go's counter,
 * including its quirk of skipping the character after every `{`: `${A:-{}}`
 * therefore closes at the last brace, as in docker compose.
 */
function closingBrace(s: string, from: number, until: number): number {
  let open = 0;
  for (let k = from; k <= until; k++) {
    const ch = s[k];
    if (ch === "}") {
      open--;
      if (open === 0) return k;
    }
    if (ch === "{") {
      open++;
      k++;
    }
  }
  return -1;
}

function applyOperator(op: Operator, name: string, arg: string, lookup: Lookup, missing: Set<string>): string {
  const v = lookup(name);
  const isSet = v !== undefined;
  const nonEmpty = isSet && v !== "";
  switch (op) {
    case ":-":
      return nonEmpty ? v : substitute(arg, lookup, missing);
    case "-":
      return isSet ? v : substitute(arg, lookup, missing);
    case ":+":
      return nonEmpty ? substitute(arg, lookup, missing) : (v ?? "");
    case "+":
      return isSet ? substitute(arg, lookup, missing) : "";
    case ":?":
      if (nonEmpty) return v;
      throw requiredError(name, substitute(arg, lookup, missing));
    case "?":
      if (isSet) return v;
      throw requiredError(name, substitute(arg, lookup, missing));
  }
}

function requiredError(name: string, reason: string): Error {
  return new Error(
    reason === ""
      ? `required variable ${name} is missing a value`
      : `required variable ${name} is missing a value: ${reason}`,
  );
}

export function missingVariableWarning(name: string): string {
  return `The "${name}" variable is not set. Defaulting to a blank string.`;
}


/**
 * Interpolates every string value of a parsed file (mapping keys are left
 * alone, as compose does; `x-*` extensions are included, as in compose v2).
 * Returns a new value; the parsed one is not modified. Unset variables become
 * "" with one warning per variable. Errors are StackErrors of code
 * "interpolation" naming the key path and its position in the file.
 */
export function interpolateValue(parsed: ParsedFile, lookup: Lookup, onWarning: (msg: string) => void): unknown {
  const warned = new Set<string>();
  const path: PathSegment[] = [];

  const walk = (v: unknown): unknown => {
    if (typeof v === "string") {
      let r: { value: string; missing: string[] };
      try {
        r = interpolateString(v, lookup);
      } catch (err) {
        throw new StackError("interpolation", (err as Error).message, {
          path: formatPath(path),
          location: locateNearest(parsed, path),
          cause: err,
        });
      }
      for (const name of r.missing) {
        if (warned.has(name)) continue;
        warned.add(name);
        onWarning(missingVariableWarning(name));
      }
      return r.value;
    }
    if (Array.isArray(v)) {
      return v.map((item: unknown, i) => {
        path.push(i);
        try {
          return walk(item);
        } finally {
          path.pop();
        }
      });
    }
    if (isPlainDict(v)) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) {
        path.push(key);
        try {
          setKey(out, key, walk(item));
        } finally {
          path.pop();
        }
      }
      return out;
    }
    return v;
  };

  return walk(parsed.value);
}

/**
 * Casts interpolated strings back to numbers and booleans at the paths of
 * casts.ts (`services.*.deploy.replicas: "3"` -> 3), as compose-go does after
 * interpolation. Applies to every string there, interpolated or quoted in the
 * file, like compose. A string that does not parse is left for the schema to
 * reject. The input is not modified.
 */
export function castInterpolated(value: unknown, onWarning?: (msg: string) => void): unknown {
  const walk = (v: unknown, node: CastNode): unknown => {
    if (typeof v === "string") return node.kind ? castScalar(node.kind, v, onWarning) : v;
    if (Array.isArray(v)) {
      const child = castStep(node, 0);
      if (!child) return v;
      return v.map((item: unknown) => walk(item, child));
    }
    if (isPlainDict(v)) {
      let out: Record<string, unknown> | undefined;
      for (const [key, item] of Object.entries(v)) {
        const child = castStep(node, key);
        if (!child) continue;
        const cast = walk(item, child);
        if (cast !== item) {
          out ??= copyObject(v);
          setKey(out, key, cast);
        }
      }
      return out ?? v;
    }
    return v;
  };
  return walk(value, CAST_TREE);
}

function copyObject(v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(v)) setKey(out, key, item);
  return out;
}

/** A variable a stack file interpolates, as `config --variables` lists it (compose-go's template.Variable). */
export interface TemplateVariable {
  name: string;
  /** `${NAME:-x}` / `${NAME-x}`: x. */
  defaultValue: string;
  /** `${NAME:+x}` / `${NAME+x}`: x, compose's ALTERNATE VALUE. */
  presenceValue: string;
  /** `${NAME:?msg}` / `${NAME?msg}`. */
  required: boolean;
}

/**
 * Every variable the strings of `value` (an uninterpolated model) name, with
 * the variables of their defaults and alternates too; a name met twice keeps
 * its last reading, as compose-go's map does. Nothing is looked up.
 */
export function extractVariables(value: unknown, out = new Map<string, TemplateVariable>()): Map<string, TemplateVariable> {
  if (typeof value === "string") scanVariables(value, out);
  else if (Array.isArray(value)) for (const v of value) extractVariables(v, out);
  else if (isPlainDict(value)) for (const v of Object.values(value)) extractVariables(v, out);
  return out;
}

function scanVariables(s: string, out: Map<string, TemplateVariable>): void {
  const add = (v: TemplateVariable): void => {
    out.set(v.name, v);
    if (v.defaultValue !== "") scanVariables(v.defaultValue, out);
    if (v.presenceValue !== "") scanVariables(v.presenceValue, out);
  };
  let i = 0;
  for (let dollar = s.indexOf("$", i); dollar >= 0; dollar = s.indexOf("$", i)) {
    const next = s[dollar + 1];
    i = dollar + 1;
    if (next === "$") {
      i = dollar + 2;
    } else if (isNameStart(next)) {
      i = scanName(s, dollar + 1);
      add({ name: s.slice(dollar + 1, i), defaultValue: "", presenceValue: "", required: false });
    } else if (next === "{") {
      if (!isNameStart(s[dollar + 2])) continue;
      const nameEnd = scanName(s, dollar + 2);
      const name = s.slice(dollar + 2, nameEnd);
      const c = s[nameEnd];
      if (c === "}") {
        add({ name, defaultValue: "", presenceValue: "", required: false });
        i = nameEnd + 1;
        continue;
      }
      const op = c === ":" && isOpChar(s[nameEnd + 1]) ? `:${s[nameEnd + 1]}` : isOpChar(c) ? (c as string) : undefined;
      if (op === undefined) continue;
      const argStart = nameEnd + op.length;
      // The argument ends where interpolation ends it (see braced()).
      const lineEnd = s.indexOf("\n", argStart);
      const last = s.lastIndexOf("}", (lineEnd < 0 ? s.length : lineEnd) - 1);
      if (last < argStart) continue;
      const balanced = closingBrace(s, dollar, last);
      const close = balanced < 0 ? last : balanced;
      const arg = s.slice(argStart, close);
      const kind = op.slice(-1);
      add({ name, defaultValue: kind === "-" ? arg : "", presenceValue: kind === "+" ? arg : "", required: kind === "?" });
      i = close + 1;
    }
  }
}
