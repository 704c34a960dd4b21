// Loader stage: check the parsed (and interpolated) stack file against
// schema/compose-spec.json, and turn the first violation into a StackError a
// compose user can act on: the key path, file:line:column, and a message in
// compose's words ("additional property "imagee" is not allowed", "must be a
// string", "invalid duration "10x"") rather than JSON Schema's.
//
// The schema is not compiled here: scripts/build-schema.mjs turns it into plain
// code ahead of time (generated/compose-schema.ts), because compiling it with
// ajv on every run cost the CLI ~600 ms. Only ajv's types are imported here.
import type { AnySchemaObject, ErrorObject } from "ajv/dist/2019.js";
import { StackError, formatPath } from "./errors.js";
import { parseDuration } from "./duration.js";
import { validate } from "./generated/compose-schema.js";
import { locateNearest } from "./parse.js";
import type { ParsedFile, PathSegment } from "./parse.js";
import { parsePortRange, parsePortShort } from "./ports.js";

// Keys that compose-spec defines but tscompose does not implement. Saying so is
// kinder than "not allowed", which would suggest the file itself is wrong.
const UNSUPPORTED_TOP_LEVEL = new Set(["models"]);
const UNSUPPORTED_SERVICE_KEYS = new Set([
  "blkio_config",
  "cgroup",
  "cgroup_parent",
  "cpu_count",
  "cpu_percent",
  "cpu_period",
  "cpu_quota",
  "cpu_rt_period",
  "cpu_rt_runtime",
  "credential_spec",
  "device_cgroup_rules",
  "devices",
  "dns_opt",
  "external_links",
  "gpus",
  "group_add",
  "ipc",
  "isolation",
  "links",
  "mem_reservation",
  "mem_swappiness",
  "models",
  "oom_kill_disable",
  "oom_score_adj",
  "pid",
  "provider",
  "pull_refresh_after",
  "runtime",
  "storage_opt",
  "use_api_socket",
  "userns_mode",
  "uts",
  "volumes_from",
]);

/** Throws a StackError (code "schema") on the first key or value the schema rejects. */
export function validateSchema(parsed: ParsedFile): void {
  if (validate(parsed.value)) return;
  const errors = validate.errors ?? [];
  const picked = pickError(errors);
  if (!picked) throw new StackError("schema", "invalid stack file", { location: locateNearest(parsed, []) });
  const { path, locPath, message } = describe(picked, parsed.value);
  throw new StackError("schema", message, { path: formatPath(path), location: locateNearest(parsed, locPath) });
}

interface Picked {
  error: ErrorObject;
  /** For type errors: every type the value could have had, across oneOf branches. */
  types: string[];
}

// Picks the error a user needs out of what ajv reports. With allErrors off,
// everything reported belongs to the one failing subtree, but a oneOf reports
// the failure of every branch. A branch that failed only because the value has
// another type (a string where the branch wants a mapping) is noise whenever
// some branch got further; the deepest remaining error is the real one. If every
// branch failed on type, the expected types are merged: "must be a string or a list".
function pickError(errors: readonly ErrorObject[]): Picked | undefined {
  const leaves = errors.filter((e) => e.keyword !== "oneOf" && e.keyword !== "anyOf");
  if (leaves.length === 0) {
    const last = errors[errors.length - 1];
    return last ? { error: last, types: [] } : undefined;
  }
  const kept = leaves.filter(
    (e) =>
      e.keyword !== "type" ||
      !leaves.some(
        (o) =>
          o !== e &&
          isWithin(e.instancePath, o.instancePath) &&
          (o.instancePath !== e.instancePath || o.keyword !== "type"),
      ),
  );
  let best: ErrorObject | undefined;
  for (const e of kept) {
    if (!best || depth(e) > depth(best) || (depth(e) === depth(best) && best.keyword === "type" && e.keyword !== "type")) {
      best = e;
    }
  }
  if (!best) return undefined;
  const types: string[] = [];
  if (best.keyword === "type") {
    for (const e of kept) {
      if (e.keyword === "type" && e.instancePath === best.instancePath) {
        for (const t of typeList(e.params.type)) if (!types.includes(t)) types.push(t);
      }
    }
  }
  return { error: best, types };
}

function isWithin(parent: string, child: string): boolean {
  return child === parent || child.startsWith(`${parent}/`);
}

// Errors about a key (unknown, missing) are about one level below the object they are reported on.
function depth(e: ErrorObject): number {
  const base = e.instancePath === "" ? 0 : e.instancePath.split("/").length - 1;
  return e.keyword === "additionalProperties" || e.keyword === "required" ? base + 1 : base;
}

function typeList(t: unknown): string[] {
  if (Array.isArray(t)) return t.map(String);
  return typeof t === "string" ? t.split(",") : [];
}

interface Described {
  /** The key path shown in the message. */
  path: PathSegment[];
  /** The path whose source position is reported (the offending key itself for unknown keys). */
  locPath: PathSegment[];
  message: string;
}

function describe(picked: Picked, root: unknown): Described {
  const e = picked.error;
  const path = pointerToPath(e.instancePath, root);
  const params = e.params as Record<string, unknown>;
  const data: unknown = e.data;
  switch (e.keyword) {
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      return { path, locPath: [...path, key], message: unknownKeyMessage(key, path, e.parentSchema) };
    }
    case "required": {
      const key = String(params.missingProperty);
      return { path, locPath: path, message: `missing required property "${key}"` };
    }
    case "type":
      return { path, locPath: path, message: `must be ${joinOr(picked.types.map(typeName))}, got ${show(data)}` };
    case "enum": {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues.map(String) : [];
      return { path, locPath: path, message: `must be one of ${allowed.join(", ")}; got ${show(data)}` };
    }
    case "format":
      return { path, locPath: path, message: formatMessage(String(params.format), data) };
    case "pattern":
      return { path, locPath: path, message: `invalid value ${show(data)}: must match ${String(params.pattern)}` };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return { path, locPath: path, message: `must be ${String(params.comparison)} ${String(params.limit)}, got ${show(data)}` };
    case "uniqueItems": {
      const i = Number(params.i);
      const j = Number(params.j);
      const itemPath = [...path, i];
      return { path: itemPath, locPath: itemPath, message: `duplicate entry: same as item [${j}]` };
    }
    default:
      return { path, locPath: path, message: e.message ?? `invalid (${e.keyword})` };
  }
}

function unknownKeyMessage(key: string, path: readonly PathSegment[], parentSchema: AnySchemaObject | undefined): string {
  const namePatterns = Object.keys((parentSchema?.patternProperties ?? {}) as Record<string, unknown>).filter(
    (p) => p !== "^x-",
  );
  const known = Object.keys((parentSchema?.properties ?? {}) as Record<string, unknown>);
  // A map of user-chosen names (services, networks, ulimits ...): the name is malformed, not unknown.
  if (namePatterns.length > 0 && known.length === 0) {
    return `invalid name "${key}": must match ${namePatterns.join(" or ")}`;
  }
  if (path.length === 0 && UNSUPPORTED_TOP_LEVEL.has(key)) return `"${key}" is not supported by tscompose`;
  if (path.length === 2 && path[0] === "services" && UNSUPPORTED_SERVICE_KEYS.has(key)) {
    return `"${key}" is not supported by tscompose`;
  }
  const suggestion = closest(key, known);
  return `additional property "${key}" is not allowed${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`;
}

function formatMessage(format: string, data: unknown): string {
  const reason = (parse: (s: string) => unknown): string | undefined => {
    try {
      parse(String(data));
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
  const parsers: Record<string, (s: string) => unknown> = {
    duration: parseDuration,
    ports: parsePortShort,
    "port-range": parsePortRange,
  };
  const parse = parsers[format];
  return (parse && reason(parse)) ?? `invalid ${format} ${show(data)}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  integer: "an integer",
  boolean: "a boolean",
  object: "a mapping",
  array: "a list",
  null: "null",
};

function typeName(t: string): string {
  return TYPE_NAMES[t] ?? t;
}

function joinOr(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? "valid";
  return `${items.slice(0, -1).join(", ")} or ${items[items.length - 1] ?? ""}`;
}

/** A value as the user wrote it: scalars literally, collections by kind. */
function show(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return typeof v === "number" || typeof v === "boolean" ? String(v) : typeof v;
}

// ajv reports JSON pointers; array indices must become numbers so that
// formatPath prints ports[1] and the YAML locator walks into the sequence.
function pointerToPath(pointer: string, root: unknown): PathSegment[] {
  if (pointer === "") return [];
  const out: PathSegment[] = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const seg = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) {
      const i = Number(seg);
      out.push(i);
      node = node[i];
    } else {
      out.push(seg);
      node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

// Suggests a known key for a likely typo (edit distance at most 2, or 1 for short keys).
function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = key.length <= 4 ? 2 : 3;
  for (const c of candidates) {
    const d = editDistance(key, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
