// Fast path of parseYaml. Building the `yaml` package's syntax tree (with
// source ranges) and turning it into plain values costs about ten times as
// much as reading the value alone, and the tree is only needed to point at a
// file:line:column when something is wrong. Here js-yaml's event parser reads the text and we
// construct the value ourselves, mirroring exactly what parse.ts gets from
// `yaml`'s parseDocument + toJS with its options: YAML 1.2 core schema plus
// go-yaml's legacy octal, merge keys, compose's `!reset` / `!override`.
//
// Exactness is kept by declining rather than guessing: whenever a document
// leaves the subset mirrored here (other tags, directives, several documents,
// non-scalar keys, keys that only differ in type, merge sources that `yaml`
// would reject or convert differently, anything that could exceed the alias
// expansion limit, ...) or js-yaml rejects it (or anything here throws),
// parseFast returns undefined and
// the caller parses with `yaml`, which then also produces the error exactly as
// before. src/stack/parse-fast.test.ts checks the two paths against each other.
//
// What it saves, on the stacks of bench/config-load.ts with the fast path off
// (TSCOMPOSE_YAML_FAST=0) as the peer, 2026-12-06 on 2 shared cores under
// load, CPU time (user+sys) of `tscompose config`, medians of 15 interleaved
// runs (the bench's wall-clock medians agree: 1.4x on 200 services): examples/webapp 379 vs 415 ms (1.09x),
// a generated 50-service stack 685 vs 898 ms (1.31x), 200 services 969 vs
// 1333 ms (1.38x). The loader alone in a warm process (the daemon's `up`):
// 0.5 vs 1.0 ms on the examples, 61 vs 217 ms on 200 services. Kept for
// `config` of large stacks; on small ones and on `up` it is not noticeable.
// Re-measured 2026-12-07 (bench/config-load, 10 interleaved rounds, wall
// clock medians, 2 cores at load ~14): `config` of 50 services 5332 vs
// 7191 ms (1.35x), of 200 services 8317 vs 10115 ms (1.22x); examples/webapp
// 0.92x and examples/profiles 0.98x (noise); the loader in a warm process
// 85 vs 81 ms at 50 services (1.0x). So still a gain only for `config` of
// large stacks, smaller than the first figures.
import { COLLECTION_STYLE, EVENT_ID, SCALAR_STYLE, getScalarValue, parseEvents } from "js-yaml";
import type { Event, MappingEvent, ScalarEvent, SequenceEvent } from "js-yaml";
import { setKey } from "./dict.js";
import type { Dict } from "./dict.js";
import { Override, RESET } from "./merge-tags.js";

/** Same limit as parse.ts gives `yaml`'s toJS ({ maxAliasCount }). */
export const MAX_ALIAS_COUNT = 1000;

// One preallocated error: declining is control flow, not a failure worth a stack trace.
const DECLINE = new Error("outside the fast YAML subset");

const NO_RANGE = -1;
type Tag = "reset" | "override" | undefined;

// Anchor names `yaml` and js-yaml both read the same way (they differ on some
// punctuation, e.g. a trailing `:`).
const ANCHOR_NAME = /^[A-Za-z0-9_.-]+$/;

// `yaml` rejects an implicit key whose `:` is more than 1024 characters after
// its start; js-yaml has no such limit.
const MAX_KEY_SPAN = 1000;

// Text the two parsers read differently: `yaml` takes a lone CR for an
// ordinary character, not a line break, and rejects tabs in indentation in
// places js-yaml accepts them.
const UNMIRRORED_TEXT = /\r(?!\n)|^[ \t?:-]*\t/m;

// A document end marker: js-yaml goes on reading what follows it on the same
// line as a new document, `yaml` rejects it. Compose files have no use for it.
const DOCUMENT_END = /^\.\.\.(?:[ \t\r\n]|$)/m;

// ---------------------------------------------------------------------------
// Plain scalars: the tags parse.ts gives `yaml`, in the same order (legacyOctal,
// then the core schema's null, bool, int (0o, decimal, 0x), float (.inf/.nan,
// exponent, decimal)); anything else is a string.

const LEGACY_OCTAL = /^0[0-7]+$/;
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** The value of an untagged plain scalar, as `yaml` resolves it with parse.ts's schema. */
export function resolvePlain(s: string): string | number | boolean | null {
  if (s === "") return null;
  const c = s.charCodeAt(0);
  // Only these first characters can start a non-string: digits + - . ~ n N t T f F.
  const numeric = (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
  if (!numeric && c !== 126 && c !== 110 && c !== 78 && c !== 116 && c !== 84 && c !== 102 && c !== 70) return s;
  if (LEGACY_OCTAL.test(s)) return parseInt(s, 8);
  if (NULL.test(s)) return null;
  if (BOOL.test(s)) return c === 116 || c === 84;
  if (!numeric) return s;
  if (INT_OCT.test(s)) return parseInt(s.substring(2), 8);
  if (INT.test(s)) return parseInt(s, 10);
  if (INT_HEX.test(s)) return parseInt(s.substring(2), 16);
  if (FLOAT_NAN.test(s)) return s.slice(-3).toLowerCase() === "nan" ? NaN : s[0] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (FLOAT_EXP.test(s) || FLOAT.test(s)) return parseFloat(s);
  return s;
}

// ---------------------------------------------------------------------------
// Alias expansion. `yaml`'s toJS throws once, for some anchor, (times resolved
// + 1) x (its "alias count": the largest such product among the aliases inside
// it, 1 for a scalar, 0 for an empty collection) exceeds maxAliasCount; merge
// keys resolve their sources again each time. Rather than replay its exact
// bookkeeping we bound it from above and decline when the bound passes the
// limit, which only ever costs speed.

interface Tally {
  /** Resolutions per anchor that converting this subtree performs, merges included. */
  resolutions: Map<Anchor, number> | undefined;
  /** Anchors aliased directly inside this subtree (not through another alias). */
  aliases: Set<Anchor> | undefined;
  /** Whether the subtree holds a scalar (alias count at least 1). */
  leaf: boolean;
}

interface Anchor {
  /** What an alias to it yields (`yaml` hands out the converted object itself). */
  value: unknown;
  /** The mapping a merge key may take entries from: untagged, string keys only. */
  mergeable: Dict | undefined;
  /** Still being built: an alias to it would make a cycle. */
  open: boolean;
  tally: Tally | undefined;
  bound: number;
}

const newTally = (): Tally => ({ resolutions: undefined, aliases: undefined, leaf: false });

function addResolution(into: Tally, anchor: Anchor, n: number): void {
  into.resolutions ??= new Map();
  const total = (into.resolutions.get(anchor) ?? 0) + n;
  // Past the limit only an empty collection could still pass: decline all the
  // same, which also stops merge chains from making the counts grow exponentially.
  if (total > MAX_ALIAS_COUNT) throw DECLINE;
  into.resolutions.set(anchor, total);
}

function addResolutions(into: Tally, from: Map<Anchor, number>): void {
  for (const [anchor, n] of from) addResolution(into, anchor, n);
}

function addTally(into: Tally, from: Tally): void {
  if (from.leaf) into.leaf = true;
  if (from.aliases) {
    into.aliases ??= new Set();
    for (const a of from.aliases) into.aliases.add(a);
  }
  if (from.resolutions) addResolutions(into, from.resolutions);
}

// ---------------------------------------------------------------------------
// Construction from js-yaml's events.

class Builder {
  private i = 0;
  private readonly anchors = new Map<string, Anchor>();
  /** Depth inside `!reset` collections, whose content `yaml` drops with its anchors. */
  private inReset = 0;
  /** Whether the last mapping built had only string keys. */
  private lastStringKeys = true;
  /** Where the current subtree's alias bookkeeping goes; undefined if the document has no alias. */
  private tally: Tally | undefined;

  constructor(
    private readonly text: string,
    private readonly events: Event[],
    track: boolean,
  ) {
    this.tally = track ? newTally() : undefined;
  }

  document(): unknown {
    const events = this.events;
    if (events.length === 0) return null;
    const doc = events[0];
    if (doc?.type !== EVENT_ID.DOCUMENT || doc.directives.length > 0) throw DECLINE;
    this.i = 1;
    const value = this.node();
    // `yaml`'s parseDocument reports a second document as an error.
    if (events[this.i]?.type !== EVENT_ID.POP || this.i + 1 !== events.length) throw DECLINE;
    if (this.tally?.resolutions) this.checkAliasCount(this.tally.resolutions);
    return value;
  }

  private node(): unknown {
    const ev = this.events[this.i];
    switch (ev?.type) {
      case EVENT_ID.SCALAR:
        this.i++;
        return this.scalar(ev);
      case EVENT_ID.ALIAS:
        this.i++;
        return this.alias(this.text.slice(ev.anchorStart, ev.anchorEnd)).value;
      case EVENT_ID.MAPPING:
        return this.mapping(ev);
      case EVENT_ID.SEQUENCE:
        return this.sequence(ev);
      default:
        throw DECLINE;
    }
  }

  private tagOf(ev: ScalarEvent | MappingEvent | SequenceEvent): Tag {
    if (ev.tagStart === NO_RANGE) return undefined;
    this.checkSeparated(ev.tagEnd);
    const tag = this.text.slice(ev.tagStart, ev.tagEnd);
    if (tag === "!reset") return "reset";
    if (tag === "!override") return "override";
    throw DECLINE;
  }

  private anchor(ev: ScalarEvent | MappingEvent | SequenceEvent, value: unknown): Anchor | undefined {
    if (ev.anchorStart === NO_RANGE) return undefined;
    const name = this.text.slice(ev.anchorStart, ev.anchorEnd);
    if (this.inReset > 0 || !ANCHOR_NAME.test(name)) throw DECLINE;
    this.checkSeparated(ev.anchorEnd);
    const anchor: Anchor = { value, mergeable: undefined, open: true, tally: undefined, bound: -1 };
    this.anchors.set(name, anchor);
    return anchor;
  }

  private alias(name: string): Anchor {
    const anchor = this.anchors.get(name);
    if (!anchor || anchor.open) throw DECLINE;
    if (this.tally) {
      (this.tally.aliases ??= new Set()).add(anchor);
      addResolution(this.tally, anchor, 1);
    }
    return anchor;
  }

  private scalar(ev: ScalarEvent): unknown {
    const tag = this.tagOf(ev);
    const source = getScalarValue(this.text, ev);
    // As with go-yaml in compose, a tagged scalar stays a string.
    const value = tag === "reset" ? RESET : tag === "override" ? new Override(source) : ev.style === SCALAR_STYLE.PLAIN ? resolvePlain(source) : source;
    const anchor = this.anchor(ev, value);
    if (anchor) {
      anchor.open = false;
      anchor.tally = { resolutions: undefined, aliases: undefined, leaf: true };
    }
    if (this.tally) this.tally.leaf = true;
    return value;
  }

  private sequence(ev: SequenceEvent): unknown {
    const tag = this.tagOf(ev);
    const items: unknown[] = [];
    const anchor = this.anchor(ev, tag === "reset" ? RESET : items);
    const outer = this.open(tag);
    this.i++;
    const block = ev.style === COLLECTION_STYLE.BLOCK;
    while (this.events[this.i]?.type !== EVENT_ID.POP) {
      if (block) this.checkLineStart(this.events[this.i]);
      items.push(this.node());
    }
    this.i++;
    this.close(tag, anchor, outer);
    return tag === "reset" ? RESET : tag === "override" ? new Override(items) : items;
  }

  private mapping(ev: MappingEvent): unknown {
    const tag = this.tagOf(ev);
    const map: Dict = {};
    // An alias to a `!override` collection yields the plain collection in `yaml`.
    const anchor = this.anchor(ev, tag === "reset" ? RESET : map);
    const outer = this.open(tag);
    // Keys written in this mapping, kept once a merge key has added others.
    let explicit: Set<string> | undefined;
    let stringKeys = true;
    const block = ev.style === COLLECTION_STYLE.BLOCK;
    this.i++;
    for (;;) {
      const keyEvent = this.events[this.i];
      if (keyEvent?.type === EVENT_ID.POP) break;
      // Collection and alias keys become stringified YAML in `yaml`: not mirrored.
      if (keyEvent?.type !== EVENT_ID.SCALAR || keyEvent.tagStart !== NO_RANGE) throw DECLINE;
      if (block) this.checkLineStart(keyEvent);
      this.i++;
      this.checkKeySpan(keyEvent);
      const source = getScalarValue(this.text, keyEvent);
      const plain = keyEvent.style === SCALAR_STYLE.PLAIN;
      if (this.tally) this.tally.leaf = true;
      this.checkCompact();
      if (plain && source === "<<") {
        if (keyEvent.anchorStart !== NO_RANGE) throw DECLINE;
        explicit ??= new Set(Object.keys(map));
        this.merge(map);
        continue;
      }
      const key = plain ? resolvePlain(source) : source;
      const keyAnchor = this.anchor(keyEvent, key);
      if (keyAnchor) {
        keyAnchor.open = false;
        keyAnchor.tally = { resolutions: undefined, aliases: undefined, leaf: true };
      }
      if (typeof key !== "string") stringKeys = false;
      const name = key === null ? "" : String(key);
      // Same string twice: a duplicate key for `yaml`, or keys like `1` and
      // "1" that it keeps apart and then folds into one property; decline both.
      if (explicit) {
        if (explicit.has(name)) throw DECLINE;
        explicit.add(name);
      } else if (Object.hasOwn(map, name)) {
        throw DECLINE;
      }
      setKey(map, name, this.node());
    }
    this.i++;
    this.close(tag, anchor, outer);
    if (anchor && tag === undefined && stringKeys) anchor.mergeable = map;
    this.lastStringKeys = stringKeys;
    return tag === "reset" ? RESET : tag === "override" ? new Override(map) : map;
  }

  /** `<<: *a`, `<<: {...}`, `<<: [*a, *b]`: entries the mapping lacks, earlier sources first. */
  private merge(map: Dict): void {
    const ev = this.events[this.i];
    const sources: Dict[] = [];
    if (ev?.type === EVENT_ID.ALIAS) {
      this.i++;
      sources.push(this.mergeSource(this.alias(this.text.slice(ev.anchorStart, ev.anchorEnd))));
    } else if (ev?.type === EVENT_ID.MAPPING) {
      sources.push(this.inlineSource(ev));
    } else if (ev?.type === EVENT_ID.SEQUENCE && ev.anchorStart === NO_RANGE && ev.tagStart === NO_RANGE) {
      this.i++;
      for (;;) {
        const item = this.events[this.i];
        if (item?.type === EVENT_ID.POP) break;
        if (ev.style === COLLECTION_STYLE.BLOCK) this.checkLineStart(item);
        if (item?.type === EVENT_ID.ALIAS) {
          this.i++;
          sources.push(this.mergeSource(this.alias(this.text.slice(item.anchorStart, item.anchorEnd))));
        } else if (item?.type === EVENT_ID.MAPPING) {
          sources.push(this.inlineSource(item));
        } else {
          throw DECLINE;
        }
      }
      this.i++;
    } else {
      throw DECLINE;
    }
    for (const source of sources) {
      for (const key of Object.keys(source)) if (!Object.hasOwn(map, key)) setKey(map, key, source[key]);
    }
  }

  private mergeSource(anchor: Anchor): Dict {
    if (!anchor.mergeable) throw DECLINE;
    // `yaml` converts a merge source again at each use, resolving its aliases again.
    if (this.tally && anchor.tally?.resolutions) addResolutions(this.tally, anchor.tally.resolutions);
    return anchor.mergeable;
  }

  private inlineSource(ev: MappingEvent): Dict {
    // An anchor here would be registered by `yaml` only when first aliased.
    if (ev.anchorStart !== NO_RANGE || ev.tagStart !== NO_RANGE) throw DECLINE;
    const map = this.mapping(ev) as Dict;
    if (!this.lastStringKeys) throw DECLINE;
    return map;
  }

  /** Enters a collection: its own tally, and `!reset` content tracking. */
  private open(tag: Tag): Tally | undefined {
    if (tag === "reset") this.inReset++;
    const outer = this.tally;
    if (outer) this.tally = newTally();
    return outer;
  }

  private close(tag: Tag, anchor: Anchor | undefined, outer: Tally | undefined): void {
    if (tag === "reset") this.inReset--;
    const inner = this.tally;
    this.tally = outer;
    if (anchor) {
      anchor.open = false;
      anchor.tally = inner;
    }
    if (outer && inner) addTally(outer, inner);
  }

  /**
   * A block collection as the value of a mapping key must start on a line of
   * its own: `yaml` rejects `a: &x b: c` ("Nested mappings are not allowed in
   * compact mappings"), which js-yaml reads as a mapping.
   */
  private checkCompact(): void {
    const next = this.events[this.i];
    if ((next?.type !== EVENT_ID.MAPPING && next?.type !== EVENT_ID.SEQUENCE) || next.style !== COLLECTION_STYLE.BLOCK) return;
    let at = next.start - 1;
    while (at >= 0 && this.text.charCodeAt(at) === 32) at--;
    if (at >= 0 && this.text.charCodeAt(at) !== 10) throw DECLINE;
  }

  /** `yaml` wants white space after a tag or an anchor; js-yaml also ends them at flow indicators. */
  private checkSeparated(end: number): void {
    const c = this.text.charCodeAt(end);
    if (end < this.text.length && c !== 32 && c !== 10 && c !== 13) throw DECLINE;
  }

  /**
   * A block mapping key or sequence item must come first on its line, after
   * indentation and indicators (`- `, `? `, `: `). When a nested node ends in
   * the middle of a line, js-yaml may go on reading the rest of the line as
   * the next entry of an outer collection (`- "a"b: c`); `yaml` rejects it.
   */
  private checkLineStart(ev: Event | undefined): void {
    const start = ev ? startOf(ev) : NO_RANGE;
    if (start === NO_RANGE) return;
    const text = this.text;
    let at = start - 1;
    // Allowed: spaces, and an indicator followed by a space, back to the line start.
    for (; at >= 0; at--) {
      const c = text.charCodeAt(at);
      if (c === 10) return;
      if (c === 32) continue;
      if ((c === 45 || c === 63 || c === 58) && text.charCodeAt(at + 1) === 32) continue;
      if (c === 0xfeff && at === 0) return;
      throw DECLINE;
    }
  }

  private checkKeySpan(ev: ScalarEvent): void {
    if (ev.valueStart === NO_RANGE) return;
    const start = ev.anchorStart === NO_RANGE ? ev.valueStart - 1 : ev.anchorStart - 1;
    const next = this.events[this.i];
    const after =
      next?.type === EVENT_ID.SCALAR ? next.valueStart : next?.type === EVENT_ID.ALIAS ? next.anchorStart : next?.type === EVENT_ID.MAPPING || next?.type === EVENT_ID.SEQUENCE ? next.start : NO_RANGE;
    if (after > start && after - start <= MAX_KEY_SPAN) return;
    const lineEnd = this.text.indexOf("\n", start);
    if ((lineEnd === -1 ? this.text.length : lineEnd) - start > MAX_KEY_SPAN) throw DECLINE;
  }

  private checkAliasCount(resolutions: Map<Anchor, number>): void {
    const bound = (anchor: Anchor): number => {
      if (anchor.bound >= 0) return anchor.bound;
      const tally = anchor.tally;
      let b = tally?.leaf ? 1 : 0;
      for (const inner of tally?.aliases ?? []) b = Math.max(b, (1 + (resolutions.get(inner) ?? 0)) * bound(inner));
      anchor.bound = Math.min(b, MAX_ALIAS_COUNT + 1);
      return anchor.bound;
    };
    for (const [anchor, n] of resolutions) if ((1 + n) * bound(anchor) > MAX_ALIAS_COUNT) throw DECLINE;
  }
}

/** Where a node's text starts on its line (properties included), when the event says. */
function startOf(ev: Event): number {
  let start: number;
  switch (ev.type) {
    case EVENT_ID.SCALAR:
      // A block scalar's range starts at its content, on the next line.
      if (ev.style === SCALAR_STYLE.LITERAL_BLOCK || ev.style === SCALAR_STYLE.FOLDED_BLOCK) start = NO_RANGE;
      else start = ev.style === SCALAR_STYLE.PLAIN ? ev.valueStart : ev.valueStart - 1;
      break;
    case EVENT_ID.ALIAS:
      return ev.anchorStart - 1;
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      // A block collection's properties may stand on the line before it.
      if (ev.style === COLLECTION_STYLE.BLOCK) return ev.start;
      start = ev.start;
      break;
    default:
      return NO_RANGE;
  }
  if (ev.anchorStart !== NO_RANGE && (start === NO_RANGE || ev.anchorStart - 1 < start)) start = ev.anchorStart - 1;
  if (ev.tagStart !== NO_RANGE && (start === NO_RANGE || ev.tagStart < start)) start = ev.tagStart;
  return start;
}

/**
 * The value `yaml` would give parse.ts for this text, or undefined when the
 * text is outside the mirrored subset or not valid YAML (then parse with `yaml`).
 */
export function parseFast(text: string): { value: unknown } | undefined {
  if ((text.includes("\t") || text.includes("\r")) && UNMIRRORED_TEXT.test(text)) return undefined;
  if (text.includes("...") && DOCUMENT_END.test(text)) return undefined;
  try {
    const events = parseEvents(text, {});
    const track = events.some((e) => e.type === EVENT_ID.ALIAS);
    return { value: new Builder(text, events, track).document() };
  } catch {
    return undefined;
  }
}
