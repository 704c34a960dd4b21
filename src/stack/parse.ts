// Stage 1 of the loader: YAML text -> plain value, with a way for every later
// stage to turn a key path back into file:line:column.
//
// YAML 1.2 core schema, as docker compose v2 (go-yaml v3) reads it: `yes`/`no`
// stay strings. Merge keys (`<<: *anchor`) are honoured because compose files
// use them for shared fragments. Duplicate keys are an error, as in compose v2.
//
// Positions need the `yaml` package's syntax tree, which costs about ten times
// what the value does. Most files take the fast path (parse-fast.ts): the same
// value without the tree, which is built only if a position is asked for,
// that is when something is wrong.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Document, Node, ScalarTag } from "yaml";
import { StackError, formatPath } from "./errors.js";
import { customTags as mergeTags, extractMergeTags } from "./merge-tags.js";
import { MAX_ALIAS_COUNT, parseFast } from "./parse-fast.js";
import type { MergeTag } from "./merge-tags.js";
import type { SourceLocation } from "./errors.js";

export type PathSegment = string | number;

// TSCOMPOSE_YAML_FAST=0 turns the fast path off, for bench/config-load to
// measure what it saves in the same run.
const FAST_PATH = process.env.TSCOMPOSE_YAML_FAST !== "0";

// go-yaml (compose v2) reads a plain `0440` as octal (strconv.ParseInt base 0),
// which is what users mean by `mode: 0440`; YAML 1.2 alone would read 440.
const legacyOctal: ScalarTag = {
  identify: (v) => typeof v === "number",
  default: true,
  tag: "tag:yaml.org,2002:int",
  test: /^0[0-7]+$/,
  resolve: (s) => parseInt(s, 8),
};

export interface ParsedFile {
  file: string;
  /** The plain value: `!reset` / `!override` markers are taken out into mergeTags. */
  value: unknown;
  /** Where the file used compose's `!reset` and `!override`; the merge stage gives them back. */
  mergeTags: MergeTag[];
  /** Location of the key (for mappings) or item (for sequences) at a path; undefined if absent. */
  locate(path: readonly PathSegment[]): SourceLocation | undefined;
}

export function parseYaml(text: string, file: string): ParsedFile {
  // The fast path declines anything it does not mirror exactly, invalid YAML
  // included; `yaml` then gives the value or the error as it always has.
  const fast = FAST_PATH ? parseFast(text) : undefined;
  if (!fast) return parseYamlReference(text, file);
  // Positions are only wanted for an error message: build `yaml`'s tree then, once.
  let tree: SyntaxTree | undefined;
  return finish(fast.value, file, (path) => {
    tree ??= parseTree(text);
    return locateInDocument(tree.doc, tree.lineCounter, file, path);
  });
}

/**
 * parseYaml through the `yaml` package alone: the behaviour the fast path
 * mirrors, and what produces every YAML error and position.
 */
export function parseYamlReference(text: string, file: string): ParsedFile {
  const { doc, lineCounter } = parseTree(text);
  const first = doc.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    const message = first.message.split("\n")[0] ?? first.message;
    throw new StackError("yaml", message.replace(/ at line \d+, column \d+.*$/, ""), {
      location: { file, line: pos.line, column: pos.col },
    });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (err) {
    throw new StackError("yaml", (err as Error).message, { location: { file, line: 1, column: 1 }, cause: err });
  }
  return finish(value, file, (path) => locateInDocument(doc, lineCounter, file, path));
}

interface SyntaxTree {
  doc: Document;
  lineCounter: LineCounter;
}

function parseTree(text: string): SyntaxTree {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, merge: true, prettyErrors: false, customTags: (tags) => [legacyOctal, ...mergeTags, ...tags] });
  return { doc, lineCounter };
}

function finish(parsed: unknown, file: string, locate: ParsedFile["locate"]): ParsedFile {
  let value = parsed;
  if (value === null || value === undefined) value = {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new StackError("yaml", "top-level value must be a mapping", { location: { file, line: 1, column: 1 } });
  }
  const extracted = extractMergeTags(value);
  return { file, value: extracted.value, mergeTags: extracted.tags, locate };
}

function locateInDocument(
  doc: Document,
  lineCounter: LineCounter,
  file: string,
  path: readonly PathSegment[],
): SourceLocation | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = doc.contents?.range?.[0];
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return undefined;
      offset = (pair.key as Node).range?.[0];
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg] as Node | undefined;
      if (!item) return undefined;
      offset = item.range?.[0];
      node = item;
    } else {
      return undefined;
    }
  }
  if (offset === undefined) return undefined;
  const pos = lineCounter.linePos(offset);
  return { file, line: pos.line, column: pos.col };
}

/** Finds the closest located ancestor of a path, so an error always has some position. */
export function locateNearest(parsed: ParsedFile, path: readonly PathSegment[]): SourceLocation | undefined {
  for (let n = path.length; n >= 0; n--) {
    const loc = parsed.locate(path.slice(0, n));
    if (loc) return loc;
  }
  return undefined;
}

export function errorAt(
  parsed: ParsedFile | undefined,
  code: ConstructorParameters<typeof StackError>[0],
  path: readonly PathSegment[],
  message: string,
): StackError {
  return new StackError(code, message, {
    path: formatPath(path),
    location: parsed ? locateNearest(parsed, path) : undefined,
  });
}
