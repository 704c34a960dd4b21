// Type casts after interpolation. `replicas: ${N}` is a string once
// interpolated, but the schema wants an integer; compose-go therefore turns
// strings back into numbers and booleans at the paths whose type is not a
// string (its interpolateTypeCastMapping plus the fields its decoder casts from
// string). We do the same, with one difference: a string that does not parse
// is left as it is, so that the schema stage reports it with its own wording.
//
// Paths whose strings carry a unit or a base (mem_limit "1g", shm_size,
// blkio rates, secrets' octal `mode`) and ports' `published` (a port or a
// range) are deliberately absent: their own normalizers read the string.
import type { PathSegment } from "./parse.js";

export type CastKind = "int" | "float" | "bool";

/**
 * Pattern syntax: dot-separated keys, `*` matches any mapping key, `[]` any
 * sequence index (`services.*.ports[].target`).
 */
export const CAST_TABLE: readonly (readonly [pattern: string, kind: CastKind])[] = [
  // services.* scalars
  ["services.*.attach", "bool"],
  ["services.*.cpu_count", "int"],
  ["services.*.cpu_percent", "float"],
  ["services.*.cpu_period", "int"],
  ["services.*.cpu_quota", "int"],
  ["services.*.cpu_rt_period", "int"],
  ["services.*.cpu_rt_runtime", "int"],
  ["services.*.cpu_shares", "int"],
  ["services.*.cpus", "float"],
  ["services.*.init", "bool"],
  ["services.*.mem_swappiness", "int"],
  ["services.*.oom_kill_disable", "bool"],
  ["services.*.oom_score_adj", "int"],
  ["services.*.pids_limit", "int"],
  ["services.*.privileged", "bool"],
  ["services.*.read_only", "bool"],
  ["services.*.scale", "int"],
  ["services.*.stdin_open", "bool"],
  ["services.*.tty", "bool"],
  // nested service fields
  ["services.*.blkio_config.weight", "int"],
  ["services.*.blkio_config.weight_device[].weight", "int"],
  ["services.*.build.no_cache", "bool"],
  ["services.*.build.privileged", "bool"],
  ["services.*.build.pull", "bool"],
  ["services.*.build.ulimits.*", "int"],
  ["services.*.build.ulimits.*.hard", "int"],
  ["services.*.build.ulimits.*.soft", "int"],
  ["services.*.depends_on.*.required", "bool"],
  ["services.*.depends_on.*.restart", "bool"],
  ["services.*.deploy.placement.max_replicas_per_node", "int"],
  ["services.*.deploy.replicas", "int"],
  ["services.*.deploy.resources.*.cpus", "float"],
  ["services.*.deploy.resources.*.pids", "int"],
  // "all" is also valid here; it does not parse as an int and stays a string.
  ["services.*.deploy.resources.reservations.devices[].count", "int"],
  ["services.*.deploy.resources.reservations.generic_resources[].discrete_resource_spec.value", "int"],
  ["services.*.deploy.restart_policy.max_attempts", "int"],
  ["services.*.deploy.rollback_config.max_failure_ratio", "float"],
  ["services.*.deploy.rollback_config.parallelism", "int"],
  ["services.*.deploy.update_config.max_failure_ratio", "float"],
  ["services.*.deploy.update_config.parallelism", "int"],
  ["services.*.develop.watch[].exec.privileged", "bool"],
  ["services.*.env_file[].required", "bool"],
  ["services.*.gpus[].count", "int"],
  ["services.*.healthcheck.disable", "bool"],
  ["services.*.healthcheck.retries", "int"],
  ["services.*.ports[].target", "int"],
  ["services.*.post_start[].privileged", "bool"],
  ["services.*.pre_start[].per_replica", "bool"],
  ["services.*.pre_start[].privileged", "bool"],
  ["services.*.pre_stop[].privileged", "bool"],
  ["services.*.ulimits.*", "int"],
  ["services.*.ulimits.*.hard", "int"],
  ["services.*.ulimits.*.soft", "int"],
  ["services.*.volumes[].bind.create_host_path", "bool"],
  ["services.*.volumes[].read_only", "bool"],
  ["services.*.volumes[].volume.nocopy", "bool"],
  // top-level resources
  ["networks.*.attachable", "bool"],
  ["networks.*.enable_ipv4", "bool"],
  ["networks.*.enable_ipv6", "bool"],
  ["networks.*.external", "bool"],
  ["networks.*.internal", "bool"],
  ["volumes.*.external", "bool"],
  ["secrets.*.external", "bool"],
  ["configs.*.external", "bool"],
];

/** A node of the pattern trie; walking it alongside the value prunes whole subtrees at once. */
export interface CastNode {
  kind?: CastKind;
  keys: Map<string, CastNode>;
  anyKey?: CastNode;
  anyIndex?: CastNode;
}

export function splitPattern(pattern: string): string[] {
  const out: string[] = [];
  for (const part of pattern.split(".")) {
    // `ports[]` is two segments: the key and "any index"; `a[][]` would be three.
    const m = /^([^[\]]*)((?:\[\])*)$/.exec(part);
    if (!m || (m[1] === "" && m[2] === "")) throw new Error(`bad cast pattern ${JSON.stringify(pattern)}`);
    if (m[1] !== "") out.push(m[1] as string);
    for (let i = 0; i < (m[2] as string).length / 2; i++) out.push("[]");
  }
  return out;
}

function emptyNode(): CastNode {
  return { keys: new Map() };
}

export function buildCastTree(table: readonly (readonly [string, CastKind])[]): CastNode {
  const root = emptyNode();
  for (const [pattern, kind] of table) {
    let node = root;
    for (const seg of splitPattern(pattern)) {
      if (seg === "*") node = node.anyKey ??= emptyNode();
      else if (seg === "[]") node = node.anyIndex ??= emptyNode();
      else {
        let next = node.keys.get(seg);
        if (!next) node.keys.set(seg, (next = emptyNode()));
        node = next;
      }
    }
    if (node.kind !== undefined && node.kind !== kind) throw new Error(`conflicting casts for ${pattern}`);
    node.kind = kind;
  }
  foldWildcards(root);
  return root;
}

// `deploy.resources.*.cpus` and `deploy.resources.reservations.devices` share a
// level: a literal key must also carry what `*` would match there, so that a
// single step per segment (castStep) stays exact without backtracking.
function foldWildcards(node: CastNode): void {
  if (node.anyKey) for (const child of node.keys.values()) absorb(child, node.anyKey);
  for (const child of node.keys.values()) foldWildcards(child);
  if (node.anyKey) foldWildcards(node.anyKey);
  if (node.anyIndex) foldWildcards(node.anyIndex);
}

/** Copies src's patterns into target (never sharing nodes, as target is folded further). */
function absorb(target: CastNode, src: CastNode): void {
  if (src.kind !== undefined) {
    if (target.kind !== undefined && target.kind !== src.kind) throw new Error("conflicting casts under a wildcard");
    target.kind = src.kind;
  }
  for (const [key, child] of src.keys) {
    let next = target.keys.get(key);
    if (!next) target.keys.set(key, (next = emptyNode()));
    absorb(next, child);
  }
  if (src.anyKey) absorb((target.anyKey ??= emptyNode()), src.anyKey);
  if (src.anyIndex) absorb((target.anyIndex ??= emptyNode()), src.anyIndex);
}

export const CAST_TREE: CastNode = buildCastTree(CAST_TABLE);

/** One step down the trie; a literal key already holds what `*` would match (foldWildcards). */
export function castStep(node: CastNode, seg: PathSegment): CastNode | undefined {
  if (typeof seg === "number") return node.anyIndex;
  return node.keys.get(seg) ?? node.anyKey;
}

/** The cast that applies at a path, if any: castKindAt(["services","web","tty"]) -> "bool". */
export function castKindAt(path: readonly PathSegment[], root: CastNode = CAST_TREE): CastKind | undefined {
  let node: CastNode | undefined = root;
  for (const seg of path) {
    node = castStep(node, seg);
    if (!node) return undefined;
  }
  return node.kind;
}

// Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, nothing
// else (no spaces, no underscores, no 0x). Beyond 2^53 a JS number would
// silently round, so such values stay strings.
const INT_RE = /^[+-]?[0-9]+$/;
// Go's ParseFloat in decimal form. "inf"/"nan"/hex floats are not taken: no
// compose field accepts them and JSON cannot carry them.
const FLOAT_RE = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/**
 * Converts one interpolated string. Returns the string unchanged when it does
 * not parse. Booleans follow compose-go's toBoolean: true/false in any case,
 * and the YAML 1.1 words (y/yes/on, n/no/off) accepted with a warning.
 */
export function castScalar(kind: CastKind, s: string, onWarning?: (msg: string) => void): string | number | boolean {
  switch (kind) {
    case "int": {
      if (!INT_RE.test(s)) return s;
      const n = Number(s);
      return Number.isSafeInteger(n) ? n : s;
    }
    case "float": {
      if (!FLOAT_RE.test(s)) return s;
      const n = Number(s);
      return Number.isFinite(n) ? n : s;
    }
    case "bool": {
      switch (s.toLowerCase()) {
        case "true":
          return true;
        case "false":
          return false;
        case "y":
        case "yes":
        case "on":
          onWarning?.(`"${s}" for boolean is not supported by YAML 1.2, please use \`true\``);
          return true;
        case "n":
        case "no":
        case "off":
          onWarning?.(`"${s}" for boolean is not supported by YAML 1.2, please use \`false\``);
          return false;
        default:
          return s;
      }
    }
  }
}
