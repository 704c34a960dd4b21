// Stage: merge. Combines the files of `-f a.yml -f b.yml` and resolves
// `extends`, with the rules of docker compose v2 (compose-go's `override`
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
// `!reset` and `!override` (compose v2 YAML tags) arrive as sentinels made by
// `customTags`: RESET removes what earlier files said at that key, Override
// replaces it instead of merging. Results of mergeFiles and resolveMergeTags
// carry no sentinels.
import { isAbsolute, relative, resolve } from "node:path";
import { YAMLMap, YAMLSeq } from "yaml";
import type { CollectionTag, ScalarTag } from "yaml";
import { formatPath } from "./errors.js";
import type { StackErrorCode } from "./errors.js";
import type { PathSegment } from "./parse.js";

type Dict = Record<string, unknown>;

// ---------------------------------------------------------------------------
// !reset / !override

/** Value of a key tagged `!reset`: the key is removed from what earlier files defined. */
export const RESET: unique symbol = Symbol("compose !reset");

/** Value of a key tagged `!override`: replaces what earlier files defined instead of merging with it. */
export class Override {
  constructor(readonly value: unknown) {}
}

export const isReset = (v: unknown): v is typeof RESET => v === RESET;

// A `!override` mapping or sequence keeps its YAML node class while parsing (so
// anchors, merge keys and error positions work) and is wrapped only when the
// document is turned into plain values.
class OverrideMap extends YAMLMap {
  override toJSON(arg?: unknown, ctx?: Parameters<YAMLMap["toJSON"]>[1]): unknown {
    return new Override(super.toJSON(arg, ctx));
  }
}

class OverrideSeq extends YAMLSeq {
  // yaml's typings promise an array from YAMLSeq#toJSON; toJS passes on whatever
  // the method returns, so the wrapper is returned through a cast.
  override toJSON(arg?: unknown, ctx?: Parameters<YAMLSeq["toJSON"]>[1]): unknown[] {
    return new Override(super.toJSON(arg, ctx)) as unknown as unknown[];
  }
}

/**
 * Tags for the `yaml` package (`parseDocument(text, { customTags })`):
 * `!reset` (on any scalar or collection) becomes RESET, `!override x` becomes
 * `new Override(x)`. As with go-yaml in compose, a tagged scalar stays a string.
 */
export const customTags: (ScalarTag | CollectionTag)[] = [
  { tag: "!reset", resolve: () => RESET },
  { tag: "!reset", collection: "map", resolve: () => RESET },
  { tag: "!reset", collection: "seq", resolve: () => RESET },
  { tag: "!override", resolve: (s: string) => new Override(s) },
  { tag: "!override", collection: "map", nodeClass: OverrideMap },
  { tag: "!override", collection: "seq", nodeClass: OverrideSeq },
];

export interface MergeTag {
  kind: "reset" | "override";
  path: PathSegment[];
}

/**
 * Takes the sentinels out of a parsed file so that stages which only know
 * plain values (interpolation, schema validation) can run on it; give the
 * tags back with applyMergeTags just before merging.
 */
export function extractMergeTags(value: unknown): { value: unknown; tags: MergeTag[] } {
  const tags: MergeTag[] = [];
  const walk = (v: unknown, path: PathSegment[]): unknown => {
    if (v instanceof Override) {
      tags.push({ kind: "override", path });
      return walk(v.value, path);
    }
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      // compose cannot reset one item of a sequence; it drops the item from the file.
      for (const item of v) if (!isReset(item)) out.push(walk(item, [...path, out.length]));
      return out;
    }
    if (isDict(v)) {
      const out: Dict = {};
      for (const [k, item] of Object.entries(v)) {
        if (isReset(item)) tags.push({ kind: "reset", path: [...path, k] });
        else setKey(out, k, walk(item, [...path, k]));
      }
      return out;
    }
    return v;
  };
  return { value: walk(value, []), tags };
}

/** Puts the tags of extractMergeTags back into a (possibly interpolated) copy of the value. */
export function applyMergeTags(value: unknown, tags: readonly MergeTag[]): unknown {
  const root: unknown = cloneRaw(value);
  for (const tag of tags) {
    const last = tag.path[tag.path.length - 1];
    if (typeof last !== "string") continue;
    let node: unknown = root;
    for (const seg of tag.path.slice(0, -1)) {
      if (node instanceof Override) node = node.value;
      node = isDict(node) && typeof seg === "string" ? node[seg] : Array.isArray(node) && typeof seg === "number" ? node[seg] : undefined;
    }
    if (node instanceof Override) node = node.value;
    if (!isDict(node)) continue;
    if (tag.kind === "reset") setKey(node, last, RESET);
    else if (Object.hasOwn(node, last) && !(node[last] instanceof Override)) setKey(node, last, new Override(node[last]));
  }
  return root;
}

/** Drops `!reset` keys and unwraps `!override` values: how a file reads when nothing comes before it. */
export function resolveMergeTags(value: unknown): unknown {
  return strip(value);
}

// ---------------------------------------------------------------------------
// Errors

export class MergeError extends Error {
  readonly code: Extract<StackErrorCode, "cycle" | "reference" | "invalid">;
  /** Key path of the offending value, for locating it in its file. */
  readonly path: PathSegment[];
  /** File the path refers to when it is not the file being merged (extends from another file). */
  readonly file: string | undefined;

  constructor(code: MergeError["code"], message: string, path: PathSegment[], file?: string) {
    super(message);
    this.name = "MergeError";
    this.code = code;
    this.path = path;
    this.file = file;
  }
}

// ---------------------------------------------------------------------------
// Merging

interface Ctx {
  path: PathSegment[];
  // While resolving `extends`, the extending service's own tags are kept in the
  // result: compose applies a file's !reset/!override again when that file is
  // merged over the previous ones.
  keepTags: boolean;
}

type Merger = (base: unknown, over: unknown, ctx: Ctx) => unknown;

/** Merges an override file into the merge of the files before it. Neither input is modified. */
export function mergeFiles(base: Dict, override: Dict): Dict {
  const clean = strip(base);
  return mergeMapping(isDict(clean) ? clean : {}, override, { path: [], keepTags: false });
}

/** Merges one service definition over another (later file, or the service that `extends` the base). */
export function mergeService(base: unknown, override: unknown, name = "*"): Dict {
  return mergeServiceWith(base, override, { path: ["services", name], keepTags: false });
}

function mergeServiceWith(base: unknown, override: unknown, ctx: Ctx): Dict {
  const clean = strip(base);
  const b = isDict(clean) ? clean : {};
  if (override === null || override === undefined) return b;
  if (!isDict(override)) throw mismatch(b, override, ctx.path);
  return mergeMapping(b, override, ctx);
}

function mergeMapping(base: Dict, over: Dict, ctx: Ctx): Dict {
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

function mergeValue(base: unknown, over: unknown, ctx: Ctx): unknown {
  const rule = ruleFor(ctx.path);
  if (rule) return rule(base, over, ctx);
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

function mismatchOrOverride(base: unknown, over: unknown, ctx: Ctx): unknown {
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

// --- rules by path, as compose-go's mergeSpecials and unicity tables ---------

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

const exact = (entry: unknown): string => (isDict(entry) || Array.isArray(entry) ? JSON.stringify(entry) : `${typeof entry}:${String(entry)}`);

/** A port's identity is host ip, published port(s), container port(s) and protocol. */
export function portIdentity(entry: unknown): string {
  if (typeof entry === "number") return `0.0.0.0::${entry}/tcp`;
  if (isDict(entry)) {
    if (entry.target === undefined) return exact(entry);
    const host = typeof entry.host_ip === "string" && entry.host_ip !== "" ? stripBrackets(entry.host_ip) : "0.0.0.0";
    const published = entry.published === undefined || entry.published === null ? "" : scalarText(entry.published);
    const protocol = typeof entry.protocol === "string" ? entry.protocol.toLowerCase() : "tcp";
    return `${host}:${published}:${scalarText(entry.target)}/${protocol}`;
  }
  if (typeof entry !== "string") return exact(entry);
  // [[host_ip:]published:]target[/protocol]; an IPv6 host may be bracketed.
  const slash = entry.lastIndexOf("/");
  const protocol = slash < 0 ? "tcp" : entry.slice(slash + 1).toLowerCase();
  let rest = slash < 0 ? entry : entry.slice(0, slash);
  let host = "";
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) return exact(entry);
    host = rest.slice(1, close);
    rest = rest.slice(close + 1).replace(/^:/, "");
  }
  const parts = rest.split(":");
  let published = "";
  let target = "";
  if (parts.length === 1) {
    target = parts[0] ?? "";
  } else {
    target = parts[parts.length - 1] ?? "";
    published = parts[parts.length - 2] ?? "";
    if (parts.length > 2) host = parts.slice(0, -2).join(":");
  }
  return `${host === "" ? "0.0.0.0" : host}:${published}:${target}/${protocol}`;
}

const stripBrackets = (s: string): string => (s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s);

/** `expose: [80]`, `["80"]` and `["80/tcp"]` are the same port. */
function exposeIdentity(entry: unknown): string {
  const s = String(entry).toLowerCase();
  return s.includes("/") ? s : `${s}/tcp`;
}

/** A service volume's identity is its mount target in the container. */
export function volumeIdentity(entry: unknown): string {
  if (isDict(entry)) return typeof entry.target === "string" ? cleanTarget(entry.target) : exact(entry);
  if (typeof entry !== "string") return exact(entry);
  const sections = splitVolumeSpec(entry);
  // `/data` alone is an anonymous volume: the only section is the target.
  const target = sections.length === 1 ? sections[0] : sections[1];
  return cleanTarget(target ?? entry);
}

// Splits `source:target:options` on colons, keeping a Windows drive letter
// (`C:\data:/data`) with its path, as compose-go's ParseVolume does.
function splitVolumeSpec(spec: string): string[] {
  if (spec.length <= 2) return [spec];
  const sections: string[] = [];
  let buf = "";
  for (const ch of spec) {
    if (ch === ":" && !(buf.length === 1 && /^[a-z]$/i.test(buf))) {
      sections.push(buf);
      buf = "";
    } else {
      buf += ch;
    }
  }
  sections.push(buf);
  return sections;
}

function cleanTarget(target: string): string {
  // Same as Go's path.Clean for the cases that matter: `/data/` and `/data` are one mount.
  const parts: string[] = [];
  for (const seg of target.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === ".." && parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
    else parts.push(seg);
  }
  const joined = parts.join("/");
  return target.startsWith("/") ? `/${joined}` : joined || ".";
}

function deviceIdentity(entry: unknown): string {
  if (isDict(entry)) return typeof entry.target === "string" ? entry.target : exact(entry);
  if (typeof entry !== "string") return exact(entry);
  const parts = entry.split(":");
  return parts.length === 1 ? entry : (parts[1] ?? entry);
}

/** A mounted secret's identity is its path in the container; the default is /run/secrets/<source>. */
function secretIdentity(entry: unknown): string {
  if (typeof entry === "string") return `/run/secrets/${entry}`;
  if (!isDict(entry)) return exact(entry);
  if (typeof entry.target === "string" && entry.target !== "") {
    return entry.target.startsWith("/") ? entry.target : `/run/secrets/${entry.target}`;
  }
  return `/run/secrets/${String(entry.source)}`;
}

/** A config's default mount path is /<source>. */
function configIdentity(entry: unknown): string {
  if (typeof entry === "string") return `/${entry}`;
  if (!isDict(entry)) return exact(entry);
  return typeof entry.target === "string" && entry.target !== "" ? entry.target : `/${String(entry.source)}`;
}

function envFileIdentity(entry: unknown): string {
  if (typeof entry === "string") return entry;
  if (isDict(entry) && typeof entry.path === "string") return entry.path;
  return exact(entry);
}

/** `/run:size=64m` and `/run` mount at the same place: the later one wins. */
function tmpfsIdentity(entry: unknown): string {
  return typeof entry === "string" ? (entry.split(":")[0] ?? entry) : exact(entry);
}

/** service networks and models: a list is a mapping of names with no options. */
const listToMapping: Merger = (base, over, ctx) => {
  if (over === null || over === undefined) return base;
  return mergeMapping(namesToMap(base, () => null), namesToMap(over, () => null), ctx);
};

/** depends_on: the short form means `condition: service_started, required: true` (compose-go). */
const dependsOn: Merger = (base, over, ctx) => {
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
const build: Merger = (base, over, ctx) => {
  if (over === null || over === undefined) return base;
  const asMap = (v: unknown): Dict => (typeof v === "string" ? { context: v } : isDict(v) ? v : {});
  return mergeMapping(asMap(base), asMap(over), ctx);
};

/** `extends: svc` is `extends: {service: svc}`. */
const extendsRule: Merger = (base, over, ctx) => {
  if (over === null || over === undefined) return base;
  const asMap = (v: unknown): Dict => (typeof v === "string" ? { service: v } : isDict(v) ? v : {});
  return mergeMapping(asMap(base), asMap(over), ctx);
};

/** Logging options are merged only while the driver stays the same (or one side names none). */
const logging: Merger = (base, over, ctx) => {
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
const ipamConfig: Merger = (base, over, ctx) => {
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

function ruleFor(path: PathSegment[]): Merger | undefined {
  for (const [pattern, merger] of RULES) {
    if (pattern.length === path.length && pattern.every((seg, i) => seg === "*" || seg === path[i])) return merger;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// extends

export interface ExtendsSource {
  services: Record<string, unknown>;
  /** Directory of that file: relative paths of services taken from it are resolved against it. */
  dir: string;
}

export interface ExtendsOrigin {
  /** The file holding `services`, as it should appear in messages. */
  file?: string;
  /** Its directory; when given, `extends.file` is resolved against it before loadOther sees it. */
  dir?: string;
}

interface FileScope {
  key: string; // how loadOther named it; "" for the file being resolved
  label: string;
  dir: string | undefined;
  services: Dict;
  done: Map<string, unknown>;
}

/**
 * Resolves `extends` in one file's services (before that file is merged with
 * others, as compose does). `extends: svc` takes a service of the same file,
 * `extends: {service, file}` one of another file, loaded through loadOther
 * with the path resolved against the extending file's directory when known.
 * Everything of the base service is inherited, depends_on, volumes_from and
 * links included (compose v2); the extending service's own values merge over
 * it with the rules of mergeService. Relative paths of a service taken from
 * another file are made absolute against that file's directory. Returns new
 * services without `extends`; the input is not modified.
 */
export function resolveExtends(
  services: Record<string, unknown>,
  loadOther: (file: string) => ExtendsSource,
  origin: ExtendsOrigin = {},
): Record<string, unknown> {
  const main: FileScope = { key: "", label: origin.file ?? "", dir: origin.dir, services, done: new Map() };
  const scopes = new Map<string, FileScope>();
  if (origin.file !== undefined) scopes.set(origin.dir ? resolve(origin.dir, origin.file) : origin.file, main);

  const scopeOf = (from: FileScope, file: string): FileScope => {
    const key = from.dir ? resolve(from.dir, file) : file;
    let scope = scopes.get(key);
    if (!scope) {
      const src = loadOther(key);
      scope = { key, label: file, dir: src.dir, services: src.services, done: new Map() };
      scopes.set(key, scope);
    }
    return scope;
  };

  const where = (scope: FileScope): string => (scope === main ? "" : ` in ${scope.label}`);
  const errFile = (scope: FileScope): string | undefined => (scope === main ? undefined : scope.key);

  const resolveOne = (scope: FileScope, name: string, chain: { scope: FileScope; name: string }[]): unknown => {
    const loop = chain.findIndex((c) => c.scope === scope && c.name === name);
    if (loop >= 0) {
      const first = chain[loop] as { scope: FileScope; name: string };
      const names = [...chain.slice(loop), { scope, name }].map((c) => (c.scope === main ? c.name : `${c.name} (${displayFile(c.scope, main)})`));
      throw new MergeError("cycle", `service "${first.name}": extends cycle ${names.join(" -> ")}`, ["services", first.name, "extends"], errFile(first.scope));
    }
    if (scope.done.has(name)) return scope.done.get(name);

    const raw = scope.services[name];
    const path = ["services", name];
    if (raw !== null && raw !== undefined && !isDict(raw)) {
      throw new MergeError("invalid", `service "${name}"${where(scope)} must be a mapping`, path, errFile(scope));
    }
    const ext = isDict(raw) ? strip(raw.extends) : undefined;
    if (!isDict(raw) || ext === undefined || ext === null) {
      scope.done.set(name, raw);
      return raw;
    }

    const ref = typeof ext === "string" ? ext : isDict(ext) ? ext.service : undefined;
    const file = isDict(ext) ? ext.file : undefined;
    if (typeof ref !== "string" || ref === "") {
      throw new MergeError("invalid", `service "${name}"${where(scope)}: extends.service is required`, [...path, "extends"], errFile(scope));
    }
    if (file !== undefined && file !== null && typeof file !== "string") {
      throw new MergeError("invalid", `service "${name}"${where(scope)}: extends.file must be a string`, [...path, "extends", "file"], errFile(scope));
    }
    const target = typeof file === "string" ? scopeOf(scope, file) : scope;
    if (!Object.hasOwn(target.services, ref)) {
      const inFile = target === scope ? where(scope) : ` in ${target.label}`;
      throw new MergeError("reference", `service "${name}"${where(scope)} extends "${ref}", which is not defined${inFile}`, [...path, "extends"], errFile(scope));
    }

    const inherited = strip(resolveOne(target, ref, [...chain, { scope, name }]));
    let base: Dict = isDict(inherited) ? inherited : {};
    if (target !== scope && target.dir !== undefined) base = rebaseServicePaths(base, target.dir);
    const own: Dict = { ...raw };
    delete own.extends;
    const merged = mergeServiceWith(base, own, { path, keepTags: true });
    delete merged.extends;
    scope.done.set(name, merged);
    return merged;
  };

  const out: Dict = {};
  for (const name of Object.keys(services)) setKey(out, name, resolveOne(main, name, []));
  return out;
}

function displayFile(scope: FileScope, main: FileScope): string {
  if (main.dir && isAbsolute(scope.key)) return relative(main.dir, scope.key) || scope.label;
  return scope.label;
}

// Remote build contexts (git, http, docker-image://, service:) are not paths.
const isLocalPath = (p: string): boolean =>
  p !== "" && !p.includes("://") && !p.startsWith("service:") && !/^(git@|github\.com\/)/.test(p) && !isAbsolute(p) && !p.startsWith("~");

const rebase = (p: unknown, dir: string): unknown => (typeof p === "string" && isLocalPath(p) ? resolve(dir, p) : p);

/**
 * Makes the relative paths of a service taken from another file absolute
 * against that file's directory (compose-go resolves the whole extended file
 * the same way before taking the service from it).
 */
export function rebaseServicePaths(service: Dict, dir: string): Dict {
  const s: Dict = { ...service };
  if (typeof s.build === "string") {
    s.build = rebase(s.build, dir);
  } else if (isDict(s.build)) {
    // A build without a context builds the other file's directory, not ours.
    const b: Dict = { ...s.build, context: s.build.context === undefined ? dir : rebase(s.build.context, dir) };
    const extra = b.additional_contexts;
    if (isDict(extra)) {
      b.additional_contexts = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, rebase(v, dir)]));
    } else if (Array.isArray(extra)) {
      b.additional_contexts = extra.map((e: unknown) => {
        if (typeof e !== "string" || !e.includes("=")) return e;
        const eq = e.indexOf("=");
        return `${e.slice(0, eq)}=${String(rebase(e.slice(eq + 1), dir))}`;
      });
    }
    s.build = b;
  }
  for (const key of ["env_file", "label_file"]) {
    const v = s[key];
    const one = (e: unknown): unknown => (isDict(e) ? { ...e, path: rebase(e.path, dir) } : rebase(e, dir));
    if (Array.isArray(v)) s[key] = v.map(one);
    else if (v !== undefined && v !== null) s[key] = one(v);
  }
  if (Array.isArray(s.volumes)) {
    s.volumes = s.volumes.map((v: unknown) => {
      if (typeof v === "string") {
        // Only a source starting with `.` is a relative bind mount; a bare name is a named volume.
        const colon = v.indexOf(":");
        return colon > 0 && v.startsWith(".") ? `${String(rebase(v.slice(0, colon), dir))}${v.slice(colon)}` : v;
      }
      if (isDict(v) && v.type === "bind") return { ...v, source: rebase(v.source, dir) };
      return v;
    });
  }
  if (isDict(s.develop) && Array.isArray(s.develop.watch)) {
    s.develop = {
      ...s.develop,
      watch: s.develop.watch.map((w: unknown) => (isDict(w) ? { ...w, path: rebase(w.path, dir) } : w)),
    };
  }
  return s;
}

// ---------------------------------------------------------------------------
// helpers

const isList = (v: unknown): v is unknown[] => Array.isArray(v);

const scalarText = (v: unknown): string => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));

function isDict(v: unknown): v is Dict {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Assigns an own property even for `__proto__`, which a YAML file may contain as a key. */
function setKey(obj: Dict, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Deep copy without sentinels: RESET keys and items dropped, Override unwrapped. */
function strip(v: unknown): unknown {
  if (v instanceof Override) return strip(v.value);
  if (Array.isArray(v)) return stripList(v);
  if (isDict(v)) {
    const out: Dict = {};
    for (const [k, item] of Object.entries(v)) if (!isReset(item)) setKey(out, k, strip(item));
    return out;
  }
  return v;
}

function stripList(v: unknown[]): unknown[] {
  return v.filter((item) => !isReset(item)).map(strip);
}

/** Deep copy keeping sentinels. */
function cloneRaw(v: unknown): unknown {
  if (v instanceof Override) return new Override(cloneRaw(v.value));
  if (Array.isArray(v)) return v.map(cloneRaw);
  if (isDict(v)) {
    const out: Dict = {};
    for (const [k, item] of Object.entries(v)) setKey(out, k, cloneRaw(item));
    return out;
  }
  return v;
}

/** An override value taken as is: copied, with its tags kept only while resolving extends. */
const take = (v: unknown, ctx: Ctx): unknown => (ctx.keepTags ? cloneRaw(v) : strip(v));
