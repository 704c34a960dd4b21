// compose v2's YAML tags `!reset` and `!override`. The parser turns them into
// sentinels (customTags): RESET removes what earlier files said at that key,
// Override replaces it instead of merging. Interpolation and schema validation
// only know plain values, so the sentinels are taken out of a parsed file
// (extractMergeTags) and given back just before merging (applyMergeTags); the
// merge stage then drops or unwraps them (strip) as it goes.
import { YAMLMap, YAMLSeq } from "yaml";
import type { CollectionTag, ScalarTag } from "yaml";
import { isPlainDict as isDict, setKey } from "./dict.js";
import type { Dict } from "./dict.js";
import type { PathSegment } from "./parse.js";

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

/** Deep copy without sentinels: RESET keys and items dropped, Override unwrapped. */
export function strip(v: unknown): unknown {
  if (v instanceof Override) return strip(v.value);
  if (Array.isArray(v)) return stripList(v);
  if (isDict(v)) {
    const out: Dict = {};
    for (const [k, item] of Object.entries(v)) if (!isReset(item)) setKey(out, k, strip(item));
    return out;
  }
  return v;
}

export function stripList(v: unknown[]): unknown[] {
  return v.filter((item) => !isReset(item)).map(strip);
}

/** Deep copy keeping sentinels. */
export function cloneRaw(v: unknown): unknown {
  if (v instanceof Override) return new Override(cloneRaw(v.value));
  if (Array.isArray(v)) return v.map(cloneRaw);
  if (isDict(v)) {
    const out: Dict = {};
    for (const [k, item] of Object.entries(v)) setKey(out, k, cloneRaw(item));
    return out;
  }
  return v;
}

