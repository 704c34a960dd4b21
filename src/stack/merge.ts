// Stage: merge. Combines the files of `-f a.yml -f b.yml` (and a service with
// the one it extends, for extends.ts), with the rules of docker compose v2 (compose-go's `override`
// package and the compose-spec "Merge and override" chapter).
//
// It works on raw mappings: interpolated and schema-valid, but not normalized,
// so short and long syntaxes meet here (`environment: [A=1]` against
// `environment: {A: 2}`, `"8080:80"` against `{target: 80, published: 8080}`).
// compose-go merges raw trees too and only then removes duplicates by identity;
// we do both in one pass, comparing entries by the identity compose gives them.
//
// Merged list-or-mapping attributes come out as mappings (environment, labels,
// ...) or as lists (extra_hosts, ports, ...); the normalizer accepts both forms.
//
// `!reset` and `!override` (compose v2 YAML tags, merge-tags.ts) arrive as
// sentinels: RESET removes what earlier files said at that key, Override
// replaces it instead of merging. Results of mergeFiles carry no sentinels.
//
// Module map: merge-tags.ts (the tags), merge-rules.ts (rules per key, with
// merge-identity.ts for unique sequence entries), extends.ts (extends, with
// rebase-paths.ts for services taken from another file).
import { isPlainDict as isDict, setKey } from "./dict.js";
import type { Dict } from "./dict.js";
import { formatPath, MergeError } from "./errors.js";
import { isList, ruleFor, take } from "./merge-rules.js";
import type { MergeCtx } from "./merge-rules.js";
import { isReset, Override, RESET, strip, stripList } from "./merge-tags.js";
import type { PathSegment } from "./parse.js";

/** Merges an override file into the merge of the files before it. Neither input is modified. */
export function mergeFiles(base: Dict, override: Dict): Dict {
  const clean = strip(base);
  return mergeMapping(isDict(clean) ? clean : {}, override, { path: [], keepTags: false });
}

/** Merges one service definition over another (later file, or the service that `extends` the base). */
export function mergeService(base: unknown, override: unknown, name = "*"): Dict {
  return mergeServiceWith(base, override, { path: ["services", name], keepTags: false });
}

/** Merges a service over the one it extends, keeping its own !reset/!override for the merge with later files. */
export function mergeExtendedService(base: unknown, own: Dict, path: PathSegment[]): Dict {
  return mergeServiceWith(base, own, { path, keepTags: true });
}

function mergeServiceWith(base: unknown, override: unknown, ctx: MergeCtx): Dict {
  const clean = strip(base);
  const b = isDict(clean) ? clean : {};
  if (override === null || override === undefined) return b;
  if (!isDict(override)) throw mismatch(b, override, ctx.path);
  return mergeMapping(b, override, ctx);
}

function mergeMapping(base: Dict, over: Dict, ctx: MergeCtx): Dict {
  const out: Dict = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (isReset(v)) {
      if (ctx.keepTags) setKey(out, k, RESET);
      else delete out[k];
    } else if (v instanceof Override) {
      setKey(out, k, ctx.keepTags ? new Override(strip(v.value)) : strip(v.value));
    } else if (!Object.hasOwn(out, k)) {
      setKey(out, k, take(v, ctx));
    } else {
      setKey(out, k, mergeValue(out[k], v, { ...ctx, path: [...ctx.path, k] }));
    }
  }
  return out;
}

function mergeValue(base: unknown, over: unknown, ctx: MergeCtx): unknown {
  const rule = ruleFor(ctx.path);
  if (rule) return rule(base, over, ctx, mergeMapping);
  // An empty override (`key:`) keeps what the base says, as in compose-go.
  if (over === null || over === undefined) return base;
  if (isDict(base)) {
    if (isDict(over)) return mergeMapping(base, over, ctx);
    return mismatchOrOverride(base, over, ctx);
  }
  if (isList(base)) {
    if (isList(over)) return [...base, ...stripList(over)];
    return mismatchOrOverride(base, over, ctx);
  }
  return take(over, ctx);
}

function mismatchOrOverride(base: unknown, over: unknown, ctx: MergeCtx): unknown {
  // Extensions are free-form: a later file may change an x-* value's shape.
  if (isExtensionPath(ctx.path)) return take(over, ctx);
  throw mismatch(base, over, ctx.path);
}

function mismatch(base: unknown, over: unknown, path: PathSegment[]): MergeError {
  return new MergeError("invalid", `cannot merge ${formatPath(path)}: ${kindOf(over)} cannot override ${kindOf(base)}`, path);
}

const kindOf = (v: unknown): string => (Array.isArray(v) ? "a sequence" : isDict(v) ? "a mapping" : `the ${typeof v} ${JSON.stringify(v)}`);

// Named top-level sections whose second path segment is a user-chosen name, not a key.
const NAMED = new Set(["services", "networks", "volumes", "secrets", "configs", "models"]);

function isExtensionPath(path: PathSegment[]): boolean {
  return path.some((seg, i) => typeof seg === "string" && seg.startsWith("x-") && !(i === 1 && NAMED.has(String(path[0]))));
}
