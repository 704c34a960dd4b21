// Merge rules per key, as compose-go's mergeSpecials and unicity tables: how a
// later file's value at a path meets the earlier one when a plain deep merge
// (mappings by key, sequences appended, scalars replaced) is not what compose
// does. merge.ts applies them while it walks the two trees.
import { isPlainDict as isDict, setKey } from "./dict.js";
import type { Dict } from "./dict.js";
import {
  configIdentity,
  deviceIdentity,
  envFileIdentity,
  exact,
  exposeIdentity,
  portIdentity,
  secretIdentity,
  tmpfsIdentity,
  volumeIdentity,
} from "./merge-identity.js";
import { cloneRaw, isReset, RESET, strip, stripList } from "./merge-tags.js";
import type { PathSegment } from "./parse.js";

export interface MergeCtx {
  path: PathSegment[];
  // While resolving `extends`, the extending service's own tags are kept in the
  // result: compose applies a file's !reset/!override again when that file is
  // merged over the previous ones.
  keepTags: boolean;
}

/** The generic merge of two mappings (merge.ts), handed to the rules so that this module need not import it back. */
export type MergeMappings = (base: Dict, over: Dict, ctx: MergeCtx) => Dict;

type Merger = (base: unknown, over: unknown, ctx: MergeCtx, mergeMapping: MergeMappings) => unknown;

/** Later value wins whole: shell commands (compose-spec), a ulimit entry (compose-go). */
const replace: Merger = (_base, over, ctx) => take(over, ctx);

/** list_or_dict attributes: both forms become mappings, later keys win in place. */
const keyValue: Merger = (base, over, ctx) => {
  if (over === null || over === undefined) return base;
  const out = toKeyValueMap(base);
  for (const [k, v] of Object.entries(toKeyValueMap(over))) {
    if (isReset(v)) {
      if (ctx.keepTags) setKey(out, k, RESET);
      else delete out[k];
    } else {
      setKey(out, k, strip(v));
    }
  }
  return out;
};

function toKeyValueMap(v: unknown): Dict {
  if (isDict(v)) return { ...v };
  const out: Dict = {};
  const items = Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
  for (const item of items) {
    if (isReset(item)) continue;
    const s = String(strip(item));
    const eq = s.indexOf("=");
    // `- NAME` without `=` is the same as `NAME:` with no value.
    if (eq < 0) setKey(out, s, null);
    else setKey(out, s.slice(0, eq), s.slice(eq + 1));
  }
  return out;
}

/** extra_hosts: a host may have several addresses, so entries are unioned, not keyed by host (compose-go). */
const extraHosts: Merger = (base, over) => {
  if (over === null || over === undefined) return base;
  const out = toHostList(base);
  const seen = new Set(out.map(hostKey));
  for (const entry of toHostList(over)) {
    const key = hostKey(entry);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(entry);
  }
  return out;
};

function toHostList(v: unknown): string[] {
  if (Array.isArray(v)) return stripList(v).map(String);
  if (!isDict(v)) return typeof v === "string" ? [v] : [];
  const out: string[] = [];
  for (const [host, ip] of Object.entries(v)) {
    if (isReset(ip)) continue;
    const ips = strip(ip);
    for (const one of Array.isArray(ips) ? ips : [ips]) out.push(`${host}=${String(one)}`);
  }
  return out;
}

// `host:ip` and `host=ip` are the same entry; the first `:` separates when there is no `=`.
const hostKey = (s: string): string => (s.includes("=") ? s : s.replace(":", "=")).trim();

/** Sequences with unique entries: appended, an entry with the same identity replaces the earlier one in place. */
const uniqueBy =
  (identity: (entry: unknown) => string): Merger =>
  (base, over) => {
    if (over === null || over === undefined) return base;
    const out: unknown[] = [];
    const index = new Map<string, number>();
    for (const entry of [...toList(base), ...stripList(toList(over))]) {
      const key = identity(entry);
      const at = index.get(key);
      if (at === undefined) {
        index.set(key, out.length);
        out.push(entry);
      } else {
        out[at] = entry;
      }
    }
    return out;
  };


const toList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === null || v === undefined ? [] : [v]);

/** service networks and models: a list is a mapping of names with no options. */
const listToMapping: Merger = (base, over, ctx, mergeMapping) => {
  if (over === null || over === undefined) return base;
  return mergeMapping(namesToMap(base, () => null), namesToMap(over, () => null), ctx);
};

/** depends_on: the short form means `condition: service_started, required: true` (compose-go). */
const dependsOn: Merger = (base, over, ctx, mergeMapping) => {
  if (over === null || over === undefined) return base;
  const dflt = (): Dict => ({ condition: "service_started", required: true });
  return mergeMapping(namesToMap(base, dflt), namesToMap(over, dflt), ctx);
};

function namesToMap(v: unknown, dflt: () => unknown): Dict {
  if (isDict(v)) return v;
  const out: Dict = {};
  if (Array.isArray(v)) for (const name of stripList(v)) setKey(out, String(name), dflt());
  return out;
}

/** `build: ./dir` is `build: {context: ./dir}`. */
const build: Merger = (base, over, ctx, mergeMapping) => {
  if (over === null || over === undefined) return base;
  const asMap = (v: unknown): Dict => (typeof v === "string" ? { context: v } : isDict(v) ? v : {});
  return mergeMapping(asMap(base), asMap(over), ctx);
};

/** `extends: svc` is `extends: {service: svc}`. */
const extendsRule: Merger = (base, over, ctx, mergeMapping) => {
  if (over === null || over === undefined) return base;
  const asMap = (v: unknown): Dict => (typeof v === "string" ? { service: v } : isDict(v) ? v : {});
  return mergeMapping(asMap(base), asMap(over), ctx);
};

/** Logging options are merged only while the driver stays the same (or one side names none). */
const logging: Merger = (base, over, ctx, mergeMapping) => {
  if (over === null || over === undefined) return base;
  if (!isDict(base) || !isDict(over)) return take(over, ctx);
  const a = strip(base.driver);
  const b = strip(over.driver);
  if (a === undefined || b === undefined || a === b) return mergeMapping(base, over, ctx);
  return take(over, ctx);
};

/** `gpus: all` against a device list: the later value wins; two lists are appended. */
const gpus: Merger = (base, over, ctx) => {
  if (over === null || over === undefined) return base;
  if (isList(base) && isList(over)) return [...base, ...stripList(over)];
  return take(over, ctx);
};

/** IPAM pools are keyed by subnet; a pool for the same subnet is merged into the earlier one. */
const ipamConfig: Merger = (base, over, ctx, mergeMapping) => {
  if (over === null || over === undefined) return base;
  if (!isList(base) || !isList(over)) return take(over, ctx);
  const out: unknown[] = [...base];
  for (const pool of stripList(over)) {
    const at = isDict(pool) && pool.subnet !== undefined ? out.findIndex((p) => isDict(p) && p.subnet === pool.subnet) : -1;
    const earlier = out[at];
    if (at >= 0 && isDict(earlier) && isDict(pool)) out[at] = mergeMapping(earlier, pool, { ...ctx, path: [...ctx.path, at] });
    else out.push(pool);
  }
  return out;
};

const RULES: [string[], Merger][] = [];
const rule = (pattern: string, merger: Merger): void => {
  RULES.push([pattern.split("."), merger]);
};

for (const p of ["command", "entrypoint", "healthcheck.test", "ulimits.*", "build.ulimits.*"]) rule(`services.*.${p}`, replace);
for (const p of ["environment", "labels", "annotations", "sysctls", "deploy.labels"]) rule(`services.*.${p}`, keyValue);
for (const p of ["build.args", "build.labels", "build.additional_contexts", "build.ssh"]) rule(`services.*.${p}`, keyValue);
for (const p of ["networks", "volumes", "secrets", "configs"]) rule(`${p}.*.labels`, keyValue);
rule("services.*.extra_hosts", extraHosts);
rule("services.*.build.extra_hosts", extraHosts);
rule("services.*.ports", uniqueBy(portIdentity));
rule("services.*.expose", uniqueBy(exposeIdentity));
rule("services.*.volumes", uniqueBy(volumeIdentity));
rule("services.*.devices", uniqueBy(deviceIdentity));
rule("services.*.secrets", uniqueBy(secretIdentity));
rule("services.*.configs", uniqueBy(configIdentity));
rule("services.*.env_file", uniqueBy(envFileIdentity));
rule("services.*.tmpfs", uniqueBy(tmpfsIdentity));
for (const p of [
  "dns",
  "dns_search",
  "dns_opt",
  "cap_add",
  "cap_drop",
  "profiles",
  "links",
  "volumes_from",
  "label_file",
  "build.tags",
  "build.platforms",
  "networks.*.aliases",
  "networks.*.link_local_ips",
]) {
  rule(`services.*.${p}`, uniqueBy(exact));
}
rule("services.*.networks", listToMapping);
rule("services.*.models", listToMapping);
rule("services.*.depends_on", dependsOn);
rule("services.*.build", build);
rule("services.*.extends", extendsRule);
rule("services.*.logging", logging);
rule("services.*.gpus", gpus);
rule("networks.*.ipam.config", ipamConfig);

/** The rule for a key path, if compose has one for it. */
export function ruleFor(path: PathSegment[]): Merger | undefined {
  for (const [pattern, merger] of RULES) {
    if (pattern.length === path.length && pattern.every((seg, i) => seg === "*" || seg === path[i])) return merger;
  }
  return undefined;
}

export const isList = (v: unknown): v is unknown[] => Array.isArray(v);

/** An override value taken as is: copied, with its tags kept only while resolving extends. */
export const take = (v: unknown, ctx: MergeCtx): unknown => (ctx.keepTags ? cloneRaw(v) : strip(v));
