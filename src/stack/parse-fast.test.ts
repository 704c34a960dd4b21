// Differential tests of parseYaml's fast path (parse-fast.ts) against the
// reference path through the `yaml` package: on real stack files, on unit
// cases for every scalar the two YAML parsers could read differently, and on
// generated and mutated documents. "Same" means the same value (key order,
// -0, NaN, !reset / !override sentinels included) and merge tags, or the same
// error (message, file:line:column).
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Override, RESET } from "./merge-tags.js";
import { parseFast, resolvePlain } from "./parse-fast.js";
import { parseYaml, parseYamlReference } from "./parse.js";
import type { ParsedFile, PathSegment } from "./parse.js";
import { seededRandom } from "../../test/support/prng.js";

const repo = resolve(import.meta.dirname, "../..");

// ---------------------------------------------------------------------------
// Comparison

/** An order-sensitive, type-exact rendering of a parsed value. */
function show(v: unknown): string {
  if (v === RESET) return "<reset>";
  if (v instanceof Override) return `<override ${show(v.value)}>`;
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : `${String(v)}n`;
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || typeof v === "boolean" || v === undefined) return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return `{${Object.keys(v)
      .map((k) => `${JSON.stringify(k)}: ${show((v as Record<string, unknown>)[k])}`)
      .join(", ")}}`;
  }
  return `<${typeof v} ${Object.prototype.toString.call(v)}>`;
}

type Outcome = { value: string; tags: string } | { error: string };

function outcome(parse: (text: string, file: string) => ParsedFile, text: string): Outcome {
  try {
    const parsed = parse(text, "stack.yml");
    return { value: show(parsed.value), tags: JSON.stringify(parsed.mergeTags) };
  } catch (err) {
    const e = err as Error & { code?: string; location?: unknown };
    return { error: `${e.name} ${e.code ?? ""} ${e.message} ${JSON.stringify(e.location)}` };
  }
}

// PARSE_FUZZ_REPORT=1: list every difference instead of stopping at the first (for long runs).
const report = process.env.PARSE_FUZZ_REPORT ? new Map<string, string>() : undefined;

function expectSame(text: string): void {
  const expected = outcome(parseYamlReference, text);
  const actual = outcome(parseYaml, text);
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    if (report) {
      report.set(JSON.stringify(text), `${JSON.stringify(actual)}\n   expected ${JSON.stringify(expected)}`);
      return;
    }
    // Print the input: the generated ones are otherwise hard to reproduce.
    expect({ text, ...actual }).toEqual({ text, ...expected });
  }
}

/** Every key path of a value, for comparing locate(). */
function paths(v: unknown, prefix: PathSegment[] = [], out: PathSegment[][] = []): PathSegment[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((item, i) => paths(item, [...prefix, i], out));
  else if (v && typeof v === "object") for (const [k, item] of Object.entries(v)) paths(item, [...prefix, k], out);
  return out;
}

// ---------------------------------------------------------------------------
// Real files

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out;
}

describe("parseYaml fast path on the repository's stack files", () => {
  const files = [...yamlFiles(join(repo, "test/stacks")), ...yamlFiles(join(repo, "examples"))];

  it("finds the files", () => {
    expect(files.length).toBeGreaterThan(5);
  });

  it.each(files.map((f) => [f.slice(repo.length + 1), f]))("%s", (_name, file) => {
    const text = readFileSync(file, "utf8");
    expect(parseFast(text)).toBeDefined();
    expectSame(text);
    const fast = parseYaml(text, file);
    const reference = parseYamlReference(text, file);
    for (const path of paths(reference.value)) expect(fast.locate(path)).toEqual(reference.locate(path));
    expect(fast.locate(["no", "such", "key"])).toBeUndefined();
  });
});

describe("parseYaml fast path on large stacks", () => {
  // The shape of bench/config-load.ts's generated stack, plus shared fragments.
  const service = (i: number): string =>
    [
      `  svc${i}:`,
      `    <<: *defaults`,
      `    image: registry.local/app/svc${i}:\${TAG:-1.0}`,
      `    command: ["run", "--id", "${i}"]`,
      `    environment:`,
      `      <<: *env`,
      `      SERVICE_ID: "${i}"`,
      `    ports:`,
      `      - "${20000 + i}:8080"`,
      `    volumes:`,
      `      - ./data/svc${i}:/data`,
      `      - shared:/shared:ro`,
      `    healthcheck:`,
      `      test: ["CMD", "true"]`,
      `      interval: 10s`,
      `    deploy: {resources: {limits: {memory: 64m}}}`,
      ...(i > 0 ? [`    depends_on:`, `      - svc${i - 1}`] : []),
      "",
    ].join("\n");
  const text =
    "x-defaults: &defaults\n  restart: unless-stopped\n  labels: {tier: app}\nx-env: &env\n  DB_URL: postgres://db:5432/app\n  TOTAL: '200'\n" +
    `services:\n${Array.from({ length: 200 }, (_, i) => service(i)).join("")}volumes:\n  shared: {}\n`;

  it("parses a 200-service stack with merge keys the same way, on the fast path", () => {
    expect(parseFast(text)).toBeDefined();
    expectSame(text);
  });
});

// ---------------------------------------------------------------------------
// Unit cases

// Plain scalars the YAML 1.1 and 1.2 schemas, go-yaml, js-yaml and `yaml`
// read in different ways.
const trickyScalars = [
  "yes", "no", "Yes", "NO", "on", "off", "y", "n", "Y", "N",
  "~", "null", "Null", "NULL", "nULL", "true", "True", "TRUE", "tRUE", "false", "False", "FALSE",
  "0", "-0", "+0", "00", "000", "0440", "-0440", "+0440", "08", "09", "0778", "012345670", "0o17", "0O17", "0o", "0o8", "-0o17",
  "0x1F", "0X1F", "0x", "0xg", "-0x1F", "+0x1F", "0b101", "1_000", "1,000", "12345678901234567890", "-12",
  "1e3", "1E3", "1e+3", "-1.5e-3", ".5e2", "1.e2", "1e", "e1", "1.0", "1.10", "-0.0", "0.", "1.", "-.5", ".5", "+.5", ".", "+", "-.", "+-1",
  ".inf", "-.inf", "+.inf", ".Inf", ".INF", ".iNf", "inf", "Infinity", "-Infinity", ".nan", ".NaN", ".NAN", "nan", "NaN", "+.nan",
  "2001-12-14t21:59:43.10-05:00", "2002-12-14", "12:30:45", "1:20", "190:20:30",
  "<<", "=", "a:b", "http://x:80/y", "a#b", "-a", "?a", "ünïcödé", "😀", "\\back", "a b  c", "1 2",
];

describe("plain scalars", () => {
  it.each(trickyScalars)("%s", (s) => {
    expectSame(`v: ${s}\n`);
    expectSame(`${s}: v\n`);
    expectSame(`l: [${s}]\n`);
    expectSame(`m: {${s}: ${s}}\n`);
    expectSame(`s:\n  - ${s}\n`);
    expectSame(`q: '${s.replaceAll("'", "''")}'\n`);
    expectSame(`d: ${JSON.stringify(s)}\n`);
  });

  it("resolves like the schema parse.ts gives `yaml`", () => {
    expect(resolvePlain("0440")).toBe(288);
    expect(resolvePlain("0o17")).toBe(15);
    expect(resolvePlain("08")).toBe(8);
    expect(resolvePlain("0x1F")).toBe(31);
    expect(resolvePlain("0X1F")).toBe("0X1F");
    expect(resolvePlain("1e3")).toBe(1000);
    expect(resolvePlain("-.inf")).toBe(Number.NEGATIVE_INFINITY);
    expect(resolvePlain(".NaN")).toBeNaN();
    expect(resolvePlain("-0")).toBe(-0);
    expect(resolvePlain("yes")).toBe("yes");
    expect(resolvePlain("~")).toBeNull();
    expect(resolvePlain("")).toBeNull();
    expect(resolvePlain("2002-12-14")).toBe("2002-12-14");
  });
});

const unitCases: Record<string, string> = {
  "empty file": "",
  "only a comment": "# nothing\n",
  "only a document marker": "---\n",
  "document end marker": "a: 1\n...\n",
  "document end then comment": "a: 1\n...\n# done\n",
  "document end then content on its line": "... <:}\n",
  "document end alone": "...\n",
  "two documents": "a: 1\n---\nb: 2\n",
  "second document empty": "a: 1\n---\n",
  "directive": "%YAML 1.2\n---\na: 1\n",
  "yaml 1.1 directive": "%YAML 1.1\n---\na: yes\n",
  "tag directive": "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n",
  "byte order mark": "\uFEFFa: 1\n",
  "byte order mark before second document": "a: 1\n---\n\uFEFFb: 2\n",
  "crlf line ends": "a: 1\r\nb:\r\n  - x\r\n  - y\r\nc: |\r\n  one\r\n  two\r\n",
  "cr line ends": "a: 1\rb: 2\r",
  "tab after colon": "a:\t1\n",
  "tab indentation": "a:\n\tb: 1\n",
  "tab inside value": "a: x\ty\n",
  "tab before comment": "a: 1\t# c\n",
  "tab in flow": "a: [1,\t2]\n",
  "top-level sequence": "- a\n- b\n",
  "top-level scalar": "hello\n",
  "top-level null": "~\n",
  "top-level reset": "!reset {}\n",
  "top-level override": "!override {a: 1}\n",
  "integer keys": "1: a\n2: b\n",
  "boolean keys": "true: a\nfalse: b\n",
  "null key": "~: a\n",
  "empty key": ": a\n",
  "integer and string key": "1: a\n'1': b\n",
  "float key equal to integer key": "1: a\n1.0: b\n",
  "octal key equal to integer key": "8: a\n010: b\n",
  "nan keys": ".nan: a\n.NaN: b\n",
  "null keys": "~: a\nnull: b\n",
  "duplicate key": "a: 1\nb: 2\na: 3\n",
  "duplicate key in flow map": "a: {x: 1, x: 2}\n",
  "duplicate quoted key": "a: 1\n'a': 2\n",
  "proto key": "__proto__: {a: 1}\nb: 2\n",
  "constructor key": "constructor: 1\ntoString: 2\n",
  "integer-like keys keep object order": "b: 1\n2: x\na: 2\n1: y\n",
  "long key": `${"k".repeat(1100)}: 1\n`,
  "long key with short value after spaces": `${"k".repeat(990)}${" ".repeat(40)}: 1\n`,
  "long quoted key": `"${"k".repeat(1100)}": 1\n`,
  "long explicit key": `? ${"k".repeat(1100)}\n: 1\n`,
  "explicit keys": "? a\n: 1\n? b\n",
  "collection key": "? [a, b]\n: 1\n",
  "flow collection key": "{[a]: 1}: x\n",
  "alias key": "a: &k x\n*k : 1\n",
  "anchored key": "&k a: 1\nb: *k\n",
  "anchor name with colon": "a: &x: 1\nb: *x:\n",
  "anchor then alias": "a: &x {b: 1}\nc: *x\n",
  "alias before anchor": "c: *x\na: &x 1\n",
  "undefined alias": "a: *nope\n",
  "redefined anchor": "a: &x 1\nb: *x\nc: &x 2\nd: *x\n",
  "recursive alias": "a: &x [1, *x]\n",
  "recursive alias in map": "a: &x {b: *x}\n",
  "alias inside later anchor with same name": "a: &x 1\nb: &x [*x]\n",
  "merge": "x: &base {a: 1, b: 2}\ny:\n  <<: *base\n  b: 3\n",
  "merge before keys and after keys": "x: &base {a: 1, b: 2, c: 3}\ny:\n  b: 9\n  <<: *base\n  c: 8\n",
  "merge list earlier wins": "x: &a {k: a}\nz: &b {k: b, l: b}\ny:\n  <<: [*a, *b]\n",
  "merge inline map": "y:\n  <<: {a: 1}\n  b: 2\n",
  "merge inline list": "x: &a {k: a}\ny:\n  <<: [*a, {k: c, m: 1}]\n",
  "two merge keys": "x: &a {k: a}\nz: &b {k: b, l: b}\ny:\n  <<: *a\n  <<: *b\n",
  "merge then duplicate explicit key": "x: &a {k: a}\ny:\n  k: 1\n  <<: *a\n  k: 2\n",
  "merge of a scalar": "x: &a 1\ny:\n  <<: *a\n",
  "merge of null": "y:\n  <<:\n",
  "merge of a sequence alias": "x: &a {k: a}\ns: &s [*a]\ny:\n  <<: *s\n",
  "merge of a list holding a scalar": "y:\n  <<: [1]\n",
  "merge source with integer keys": "x: &a {1: a, b: 2}\ny:\n  <<: *a\n",
  "merge source with null key": "x: &a {~: a}\ny:\n  <<: *a\n",
  "merge source with colliding keys": "x: &a {1: a, '1': b}\ny:\n  <<: *a\n",
  "merge source with merge": "x: &a {k: a}\nz: &b {<<: *a, l: b}\ny:\n  <<: *b\n",
  "merge source with aliases": "v: &v 1\nx: &a {k: *v}\ny:\n  <<: *a\n",
  "merge block list": "x: &a {k: a}\nz: &b {k: b, l: b}\ny:\n  <<:\n    - *a\n    - *b\n",
  "merge block map": "y:\n  <<:\n    k: a\n  l: b\n",
  "merge compact mapping": "y:\n  <<: k: a\n",
  "merge list item after content": "x: &a {k: a}\ny:\n  <<:\n    - *a - *a\n",
  "merge in flow sequence pair": "x: &a {k: a}\ny: [<<: *a]\n",
  "quoted merge key": "x: &a {k: a}\ny:\n  '<<': *a\n",
  "merge key as value": "y: <<\n",
  "anchored merge key": "x: &a {k: a}\ny:\n  &m <<: *a\n",
  "anchored inline merge source": "y:\n  <<: &m {k: a}\nz: *m\n",
  "merge of an override map": "x: &a !override {k: a}\ny:\n  <<: *a\n",
  "merge of a reset map": "x: &a !reset {k: a}\ny:\n  <<: *a\n",
  "merge proto key": "x: &a {__proto__: 1}\ny:\n  <<: *a\n",
  reset: "services:\n  web:\n    ports: !reset []\n    environment: !reset {}\n    command: !reset\n    image: !reset null\n",
  override: "services:\n  web:\n    ports: !override\n      - 80:80\n    environment: !override {A: 1}\n    command: !override echo\n",
  "override scalar keeps a string": "a: !override 1\nb: !override\n",
  "reset in a sequence": "a: [1, !reset 2, 3]\n",
  "override in a sequence": "a: [1, !override [2], 3]\n",
  "anchored override map aliased": "a: &x !override {b: 1}\nc: *x\n",
  "anchored override seq aliased": "a: &x !override [1]\nc: *x\n",
  "anchored override scalar aliased": "a: &x !override s\nc: *x\n",
  "anchored reset aliased": "a: &x !reset {b: 1}\nc: *x\n",
  "anchor inside reset": "a: !reset {b: &y 1}\nc: *y\n",
  "anchor inside reset shadowing": "a: &y 0\nb: !reset {c: &y 1}\nd: *y\n",
  "alias inside reset": "a: !reset [*nope]\n",
  "duplicate key inside reset": "a: !reset {b: 1, b: 2}\n",
  "tagged key": "!reset a: 1\n",
  "other local tag": "a: !foo 1\n",
  "other local tag on map": "a: !foo {b: 1}\n",
  "str tag": "a: !!str 1\n",
  "int tag": "a: !!int '1'\n",
  "binary tag": "a: !!binary aGk=\n",
  "non-specific tag": "a: ! 1\n",
  "verbatim tag": "a: !<!reset> 1\n",
  "literal block": "a: |\n  one\n   two\n\n  three\n",
  "folded block": "a: >\n  one\n  two\n\n   more\n  three\n",
  "block chomping": "a: |-\n  x\n\nb: |+\n  y\n\nc: >2\n   z\n",
  "block more-indented first line": "a: |\n\n    x\n  y\n",
  "multi-line plain": "a: one\n  two\n\n  three\n",
  "multi-line plain with comment line": "a: one\n  # c\n  two\n",
  "multi-line double quoted": "a: \"one\n  two\\\n  three\\tfour\"\n",
  "double-quoted escapes": "a: \"\\x41\\u00e9\\U0001F600\\N\\_\\L\\P\\e\\0\\/\"\n",
  "bad escape": "a: \"\\q\"\n",
  "single quoted escapes": "a: 'it''s'\n",
  "comment without space": "a: b#c\n",
  "comment after quoted without space": "a: 'b'#c\n",
  "nested mapping on one line": "a: b: c\n",
  "bad indentation": "a:\n  b: 1\n c: 2\n",
  "sequence as implicit key": "- a\n: b\n",
  "multi-line implicit key": "a\nb: 1\n",
  "multi-line flow key": "{a\n: 1}\n",
  "multi-line flow pair key": "[a\n: 1]\n",
  "unclosed flow": "a: [1, 2\n",
  "trailing comma": "a: [1, 2,]\nb: {c: 1,}\n",
  "empty flow entries": "a: [1, , 2]\n",
  "reserved indicator": "a: @b\n",
  "backtick": "a: `b`\n",
  "control character": "a: \"x\u0001y\"\n",
  "control character plain": "a: x\u0001y\n",
  "null byte": "a: x\u0000y\n",
  "deep nesting": `${"[".repeat(150)}${"]".repeat(150)}\n`,
  "deep block nesting": Array.from({ length: 120 }, (_, i) => `${"  ".repeat(i)}k${i}:`).join("\n") + " 1\n",
  "line separator": "a: x\u2028y\nb: \"x\u2028y\"\n",
  "next line character": "a: x\u0085y\n",
  "non-breaking space": "a: \u00a0x\u00a0\n",
  "lone surrogate": "a: x\ud800y\n",
  "flow plain with colon": "a: {b:c}\nd: [e:f]\n",
  "flow value with colon": "a: {b: c:d}\n",
  "flow json-like key": "a: {\"b\":c}\nd: [\"e\":f]\n",
  "flow pair in sequence": "a: [b: 1, c]\n",
  "flow pair without value": "a: [b: , c]\n",
  "flow explicit key": "a: {? b : c}\n",
  "multi-line flow": "a: [1,\n  2,\n  {b: 3,\n   c: 4}]\n",
  "multi-line flow under-indented": "a: [1,\n2]\n",
  "multi-line flow map under-indented": "a:\n  b: {c: 1,\n  d: 2}\n",
  "comment after key": "a: # c\n  b: 1\n",
  "comment after dash": "- # c\n  a\n",
  "comment in flow": "a: [1, # c\n  2]\n",
  "comment lines between entries": "a: 1\n\n# c\n  # d\nb: 2\n",
  "spaces before colon": "a   : 1\nb\t: 2\n",
  "content after document start": "--- a\n",
  "mapping after document start": "--- a: 1\n",
  "flow after document start": "--- {a: 1}\n",
  "block scalar after document start": "--- |\n  a\n",
  "tag after document start": "--- !reset {}\n",
  "anchored document": "--- &a\na: 1\n",
  "anchor on empty value": "a: &x\nb: *x\n",
  "alias in flow merge": "a: &x {k: 1}\nb: {<<: *x, l: 2}\n",
  "block scalar at end without newline": "a: |\n  x",
  "block scalar keep at end": "a: |+\n  x\n\n\n",
  "block scalar with indentation indicator": "a: |2\n    x\n  y\n",
  "folded more-indented lines": "a: >\n  x\n\n    y\n  z\n",
  "block scalar with comment": "a: | # c\n  x\n",
  "block scalar with blank first lines": "a: |\n\n\n  x\n",
  "sequence under key at same indent": "a:\n- 1\n- 2\nb: 3\n",
  "nested sequences": "- - a\n  - b\n- - c\n",
  "compact mapping in sequence": "- a: 1\n  b: 2\n- &x c: 3\n",
  "quoted multi-line key": "\"a\n b\": 1\n",
  "plain multi-line in sequence": "- a\n  b\n- c\n",
  "double-quoted line folding": "a: \"x\n\n  y \\\n  z\"\n",
  "single-quoted line folding": "a: 'x\n\n  y  \n  z'\n",
  "trailing spaces": "a: b   \nc: 'd'   \n",
  "document end then content": "a: 1\n...\nb: 2\n",
  "compose-like": "x-common: &common\n  restart: always\n  environment:\n    A: '1'\nservices:\n  web:\n    <<: *common\n    image: nginx:1.27\n    ports: ['8080:80']\n    command: [\"nginx\", \"-g\", \"daemon off;\"]\n    healthcheck:\n      test: [CMD, curl, -f, http://localhost]\n      interval: 10s\n    configs:\n      - source: c\n        mode: 0440\n",
};

describe("unit cases", () => {
  it.each(Object.entries(unitCases))("%s", (_name, text) => {
    expectSame(text);
  });

  it("takes the fast path for compose-like files", () => {
    expect(parseFast(unitCases["compose-like"]!)).toBeDefined();
    expect(parseFast(unitCases.merge!)).toBeDefined();
    expect(parseFast(unitCases.reset!)).toBeDefined();
    expect(parseFast(unitCases.override!)).toBeDefined();
  });

  it("declines what it does not mirror", () => {
    for (const name of ["two documents", "document end marker", "directive", "duplicate key", "other local tag", "collection key", "recursive alias", "merge of an override map", "anchor inside reset"]) {
      expect(parseFast(unitCases[name]!), name).toBeUndefined();
    }
  });

  it("builds the syntax tree for positions only when asked", () => {
    const text = "services:\n  web:\n    image: x\n    ports:\n      - 80\n";
    const parsed = parseYaml(text, "f.yml");
    expect(parsed.locate(["services", "web", "ports", 0])).toEqual({ file: "f.yml", line: 5, column: 9 });
    expect(parsed.locate(["services", "web", "image"])).toEqual({ file: "f.yml", line: 3, column: 5 });
    expect(parsed.locate(["services", "db"])).toBeUndefined();
  });
});

describe("alias expansion limit", () => {
  // Nine anchors, each aliased ten times by the next: `yaml` stops the expansion.
  const laughs = ["a0: &a0 [x]"];
  for (let i = 1; i < 9; i++) laughs.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`);
  const cases: Record<string, string> = {
    "billion laughs": laughs.join("\n") + "\n",
    "one scalar aliased 999 times": `a: &a x\nb: [${Array.from({ length: 999 }, () => "*a").join(", ")}]\n`,
    "one scalar aliased 1000 times": `a: &a x\nb: [${Array.from({ length: 1000 }, () => "*a").join(", ")}]\n`,
    "empty map aliased 2000 times": `a: &a {}\nb: [${Array.from({ length: 2000 }, () => "*a").join(", ")}]\n`,
    "merge chain": "a: &a {k: &v 1, l: *v}\nb: &b {<<: *a, m: *v}\nc: &c {<<: *b}\n" + Array.from({ length: 40 }, (_, i) => `s${i}: {<<: *c, n: *v}`).join("\n") + "\n",
    "merged services": "x: &x {image: a, environment: {A: 1}}\nservices:\n" + Array.from({ length: 300 }, (_, i) => `  s${i}:\n    <<: *x\n    command: c${i}`).join("\n") + "\n",
  };
  it.each(Object.entries(cases))("%s", (_name, text) => {
    expectSame(text);
  });

  it("still takes the fast path for merged services", () => {
    expect(parseFast(cases["merged services"]!)).toBeDefined();
  });
});

// ---------------------------------------------------------------------------
// Generated documents


const keyNames = ["a", "b", "c", "image", "ports", "environment", "x-common", "1", "0440", "true", "null", "~", "<<", "1.0", "0x1F", "yes", "a b", "k:v", "-k", "__proto__"];
const textScalars = ["multi\nline", " lead", "trail ", "it's", 'say "hi"', "#hash", "a: b", "- x", "[x]", "{x}", "tab\there", "back\\slash", "", "ünï"];

class Generator {
  private anchors: string[] = [];
  private n = 0;
  constructor(private readonly r: () => number) {}

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }

  private chance(p: number): boolean {
    return this.r() < p;
  }

  document(): string {
    this.anchors = [];
    this.n = 0;
    if (this.chance(0.05)) return this.flow(2);
    return this.blockMap(0, 1 + Math.floor(this.r() * 3));
  }

  private props(): string {
    let out = "";
    if (this.chance(0.08)) out += `${this.pick(["!reset", "!override", "!override", "!!str", "!custom", "!reset"])} `;
    if (this.chance(0.12)) {
      const name = this.chance(0.9) ? `a${this.n++}` : this.pick(["x", "a0", "b:", "é"]);
      this.anchors.push(name);
      out += `&${name} `;
    }
    return out;
  }

  private alias(): string | undefined {
    if (this.anchors.length === 0 || !this.chance(0.1)) return undefined;
    return this.chance(0.95) ? `*${this.pick(this.anchors)}` : "*missing";
  }

  private scalar(): string {
    const s = this.chance(0.6) ? this.pick(trickyScalars) : this.pick(textScalars);
    const style = this.r();
    if (style < 0.55 && !/[\n\t]/.test(s)) return s;
    if (style < 0.7) return `'${s.replaceAll("'", "''")}'`;
    return JSON.stringify(s);
  }

  private key(): string {
    const k = this.chance(0.7) ? this.pick(keyNames) : this.pick(trickyScalars);
    const style = this.r();
    if (style < 0.8) return k;
    if (style < 0.9) return `'${k.replaceAll("'", "''")}'`;
    return JSON.stringify(k);
  }

  private mergeValue(): string {
    if (this.anchors.length > 0 && this.chance(0.7)) {
      if (this.chance(0.6)) return `*${this.pick(this.anchors)}`;
      return `[${Array.from({ length: 1 + Math.floor(this.r() * 3) }, () => `*${this.pick(this.anchors)}`).join(", ")}]`;
    }
    return this.flow(1);
  }

  private flow(depth: number): string {
    const alias = this.alias();
    if (alias) return alias;
    const props = this.props();
    const kind = depth <= 0 ? 0 : this.r();
    if (kind < 0.5) return props + this.scalar();
    const n = Math.floor(this.r() * 4);
    if (kind < 0.75) return `${props}[${Array.from({ length: n }, () => this.flow(depth - 1)).join(", ")}]`;
    const entries = Array.from({ length: n }, () => (this.chance(0.1) ? `<<: ${this.mergeValue()}` : `${this.key()}: ${this.flow(depth - 1)}`));
    return `${props}{${entries.join(", ")}}`;
  }

  /** A value after `key:` or `- `, starting on the same line; nested blocks go on the next lines. */
  private blockValue(indent: number, depth: number): string {
    const alias = this.alias();
    if (alias) return ` ${alias}\n`;
    const props = this.props();
    const kind = depth <= 0 ? this.r() * 0.6 : this.r();
    const pad = " ".repeat(indent + 2);
    if (kind < 0.45) return ` ${props}${this.scalar()}\n`;
    if (kind < 0.5) return ` ${props}${this.pick(["|", ">", "|-", ">+", "|2"])}\n${pad}line one\n${pad} line two\n\n${pad}end\n`;
    if (kind < 0.6) return ` ${props}${this.flow(2)}\n`;
    if (kind < 0.8) return ` ${props.trimEnd()}\n${this.blockMap(indent + 2, depth - 1)}`;
    return ` ${props.trimEnd()}\n${this.blockSeq(this.chance(0.3) ? indent : indent + 2, depth - 1)}`;
  }

  private blockMap(indent: number, depth: number): string {
    const pad = " ".repeat(indent);
    let out = "";
    const n = 1 + Math.floor(this.r() * 5);
    for (let i = 0; i < n; i++) {
      if (this.chance(0.05)) out += `${pad}# comment\n`;
      if (this.chance(0.1)) out += `${pad}<<: ${this.mergeValue()}\n`;
      else out += `${pad}${this.key()}:${this.blockValue(indent, depth)}`;
    }
    return out;
  }

  private blockSeq(indent: number, depth: number): string {
    const pad = " ".repeat(indent);
    let out = "";
    const n = 1 + Math.floor(this.r() * 4);
    for (let i = 0; i < n; i++) out += `${pad}-${this.blockValue(indent, depth)}`;
    return out;
  }
}

const mutationChars = [" ", "  ", "\t", ":", ": ", "-", "- ", "#", " #", "'", '"', "\n", "\r\n", "{", "}", "[", "]", ",", "&a0 ", "*a0", "!", "|", ">", "?", "? ", "%", "@", "`", "\\", "...", "---", "\uFEFF", "<<: ", "0", "~"];

function mutate(text: string, r: () => number): string {
  let out = text;
  const edits = 1 + Math.floor(r() * (3 + Number(process.env.PARSE_FUZZ_EDITS ?? 0)));
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(r() * (out.length + 1));
    const op = r();
    const ins = mutationChars[Math.floor(r() * mutationChars.length)]!;
    if (op < 0.4) out = out.slice(0, at) + ins + out.slice(at);
    else if (op < 0.7) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(r() * 3));
    else if (op < 0.8) out = out.slice(0, at) + ins + out.slice(at + 1);
    else if (op < 0.9) {
      // Re-indent a line by one or two columns either way.
      const lines = out.split("\n");
      const l = Math.floor(r() * lines.length);
      lines[l] = r() < 0.5 ? `${" ".repeat(1 + Math.floor(r() * 2))}${lines[l]}` : lines[l]!.replace(/^ {1,2}/, "");
      out = lines.join("\n");
    } else {
      // Duplicate a line: duplicate keys, repeated anchors.
      const lines = out.split("\n");
      const l = Math.floor(r() * lines.length);
      lines.splice(l, 0, lines[l]!);
      out = lines.join("\n");
    }
  }
  return out;
}

// Longer hunts: PARSE_FUZZ_ROUNDS=3000 PARSE_FUZZ_SEED=7 PARSE_FUZZ_EDITS=6
// PARSE_FUZZ_REPORT=1 npx vitest run src/stack/parse-fast.test.ts -t generated
const rounds = Number(process.env.PARSE_FUZZ_ROUNDS ?? 400);

// Generated up front, checked in chunks: one long synchronous test would
// starve vitest's worker of its event loop on a busy machine.
const generated: { text: string; generated: boolean }[] = [];
{
  const r = seededRandom(Number(process.env.PARSE_FUZZ_SEED ?? 20240611));
  const gen = new Generator(r);
  for (let i = 0; i < rounds; i++) {
    const text = gen.document();
    generated.push({ text, generated: true }, { text: mutate(text, r), generated: false });
  }
}
const chunks = Array.from({ length: Math.ceil(generated.length / 50) }, (_, i) => generated.slice(i * 50, i * 50 + 50));

describe(`${rounds} generated and ${rounds} mutated documents`, () => {
  let generatedFast = 0;
  let mutatedFast = 0;

  it.each(chunks.map((chunk, i) => [i * 50, chunk] as const))("from #%i parse the same on both paths", (_from, chunk) => {
    for (const doc of chunk) {
      if (parseFast(doc.text)) {
        if (doc.generated) generatedFast++;
        else mutatedFast++;
      }
      expectSame(doc.text);
    }
  });

  it("exercise the fast path, not just the fallback", () => {
    if (report) for (const [text, diff] of report) console.log(`${text}\n   got ${diff}`);
    expect(generatedFast).toBeGreaterThan(rounds * 0.25);
    expect(mutatedFast).toBeGreaterThan(rounds * 0.1);
  });
});
