import { describe, expect, it } from "vitest";
import { StackError } from "./errors.js";
import { extractVariables, interpolateString, interpolateValue } from "./interpolate.js";
import { parseYaml } from "./parse.js";

const lookupFrom =
  (env: Record<string, string>) =>
  (name: string): string | undefined =>
    Object.hasOwn(env, name) ? env[name] : undefined;

// The fixture of compose-go's own template tests, plus a lowercase name.
const ENV = { FOO: "first", BAR: "", JSON: '{"json":2}', lower: "low" };

interface Case {
  name: string;
  input: string;
  env?: Record<string, string>;
  want?: string;
  wantMissing?: string[];
  wantErr?: string;
}

const cases: Case[] = [
  { name: "no variable", input: "foo", want: "foo" },
  { name: "$NAME", input: "This $FOO var", want: "This first var" },
  { name: "${NAME}", input: "This ${FOO} var", want: "This first var" },
  { name: "lowercase name", input: "$lower/${lower}", want: "low/low" },
  { name: "name ends at a non-name char", input: "$FOO-bar", want: "first-bar" },
  { name: "$$ is a literal $", input: "$$", want: "$" },
  { name: "$$VAR stays literal", input: "$$FOO", want: "$FOO" },
  { name: "$${VAR} stays literal", input: "$${FOO}", want: "${FOO}" },
  { name: "$$$VAR is $ then the value", input: "$$$FOO", want: "$first" },
  { name: "lone $ at the end", input: "^REGEX$", want: "^REGEX$" },
  { name: "$ then a space", input: "a $ string", want: "a $ string" },
  { name: "$ then a digit", input: "$1 and $9", want: "$1 and $9" },
  { name: "$ then }", input: "$}", want: "$}" },
  { name: "unset ${NAME} is empty and missing", input: "This ${missing} var", want: "This  var", wantMissing: ["missing"] },
  { name: "unset $NAME is missing", input: "$missing", want: "", wantMissing: ["missing"] },
  { name: "set-but-empty is not missing", input: "This ${BAR} var", want: "This  var", wantMissing: [] },
  { name: "missing listed once", input: "$X ${X} $Y", want: "  ", wantMissing: ["X", "Y"] },
  // defaults
  { name: ":- when unset", input: "ok ${missing:-def}", want: "ok def", wantMissing: [] },
  { name: "- when unset", input: "ok ${missing-def}", want: "ok def" },
  { name: ":- when empty", input: "ok ${BAR:-def}", want: "ok def" },
  { name: "- when set-but-empty gives empty", input: "ok ${BAR-def}", want: "ok " },
  { name: ":- when set", input: "ok ${FOO:-def}", want: "ok first" },
  { name: "${VAR:-} with VAR empty", input: "[${BAR:-}]", want: "[]", wantMissing: [] },
  { name: "${VAR:-} with VAR unset", input: "[${missing:-}]", want: "[]", wantMissing: [] },
  { name: "default keeps operator-like text", input: "ok ${BAR:-/non:-alphanumeric}", want: "ok /non:-alphanumeric" },
  { name: "first operator wins", input: "${UNSET_VAR-myerror?msg}", want: "myerror?msg" },
  { name: "braces in the default", input: 'ok ${missing:-{"json":1}}', want: 'ok {"json":1}' },
  { name: "braces in the default, variable set", input: 'ok ${JSON-{"json":1}}', want: 'ok {"json":2}' },
  { name: "several expressions", input: "${FOO:-x}-${BAR:-y}/${FOO}", want: "first-y/first" },
  { name: "text after the expression", input: "${FOO:-x}}", want: "first}" },
  // compose-go's brace counter skips the char after each `{`, so here the
  // expression ends at the last brace and the variable's value replaces it all.
  { name: "compose-go brace quirk", input: "${FOO:-{}}}", want: "first" },
  { name: "expressions on separate lines", input: "a: ${FOO:-x}\nb: ${BAR:-y}", want: "a: first\nb: y" },
  // nesting
  { name: "nested default", input: "${A:-${B:-x}}", want: "x" },
  { name: "nested default, inner set", input: "${A:-${FOO:-x}}", want: "first" },
  { name: "nested $NAME in default", input: "ok ${UNSET_VAR-$FOO}", want: "ok first" },
  { name: "two nested in default", input: "ok ${UNSET_VAR-${FOO} ${FOO}}", want: "ok first first" },
  { name: "nested hard default on empty", input: "+ok ${UNSET:-${BAR-defaultValue}}", want: "+ok " },
  { name: "nested in alternative", input: "ok ${BAR+$FOO ${FOO:+second}}", want: "ok first second" },
  { name: "unused default is not evaluated", input: "${FOO:-${NOPE}}", want: "first", wantMissing: [] },
  { name: "used default reports its missing", input: "${A:-${B}}", want: "", wantMissing: ["B"] },
  { name: "unused alternative is not evaluated", input: "${A:+${A},}B", want: "B", wantMissing: [] },
  // alternatives
  { name: ":+ when unset", input: "ok ${UNSET_VAR:+presence_value}", want: "ok " },
  { name: "+ when unset", input: "ok ${UNSET_VAR+presence_value}", want: "ok " },
  { name: ":+ when set", input: "ok ${FOO:+presence_value}", want: "ok presence_value" },
  { name: "+ when set", input: "ok ${FOO+presence_value}", want: "ok presence_value" },
  { name: "+ when set-but-empty", input: "ok ${BAR+presence_value}", want: "ok presence_value" },
  { name: ":+ when set-but-empty", input: "ok ${BAR:+presence_value}", want: "ok " },
  // required
  { name: ":? when set", input: "ok ${FOO:?err}", want: "ok first" },
  { name: "? when set", input: "ok ${FOO?err}", want: "ok first" },
  { name: "? when set-but-empty", input: "ok ${BAR?err}", want: "ok " },
  {
    name: ":? when unset",
    input: "not ok ${UNSET_VAR:?Mandatory Variable Unset}",
    wantErr: "required variable UNSET_VAR is missing a value: Mandatory Variable Unset",
  },
  {
    name: ":? when empty",
    input: "not ok ${BAR:?Mandatory Variable Empty}",
    wantErr: "required variable BAR is missing a value: Mandatory Variable Empty",
  },
  { name: "? when unset", input: "${UNSET_VAR?bar-baz}", wantErr: "required variable UNSET_VAR is missing a value: bar-baz" },
  { name: ":? without message", input: "${UNSET_VAR:?}", wantErr: "required variable UNSET_VAR is missing a value" },
  { name: "? without message", input: "${UNSET_VAR?}", wantErr: "required variable UNSET_VAR is missing a value" },
  {
    name: "message is interpolated",
    input: "${UNSET_VAR:?Mandatory Variable ${FOO}}",
    wantErr: "required variable UNSET_VAR is missing a value: Mandatory Variable first",
  },
  {
    name: "required inside a used default",
    input: "${A:-${B:?need B}}",
    wantErr: "required variable B is missing a value: need B",
  },
  { name: "required inside an unused default", input: "${FOO:-${B:?need B}}", want: "first" },
  // malformed
  ...["${", "${}", "${ }", "${ foo}", "${foo }", "${foo!}", "${1A}", "${FOO", "${FOO:-x", "ok ${FOO} ${", "${FOO:x}"].map(
    (input): Case => ({
      name: `invalid ${JSON.stringify(input)}`,
      input,
      wantErr: `invalid interpolation format for ${JSON.stringify(input)}`,
    }),
  ),
  // the argument runs to the last `}` of its line, never past a newline
  { name: "default cannot span lines", input: "${UNSET:-x\n}", wantErr: 'invalid interpolation format for "${UNSET:-x\\n}"' },
];

describe("interpolateString", () => {
  it.each(cases)("$name", ({ input, env, want, wantMissing, wantErr }) => {
    const lookup = lookupFrom(env ?? ENV);
    if (wantErr !== undefined) {
      expect(() => interpolateString(input, lookup)).toThrow(wantErr);
      if (wantErr.startsWith("required")) {
        // no ": " tail when the message is empty
        expect(() => interpolateString(input, lookup)).toThrow(new RegExp(`^${escapeRe(wantErr)}$`));
      }
      return;
    }
    const got = interpolateString(input, lookup);
    expect(got.value).toBe(want);
    if (wantMissing) expect(got.missing).toEqual(wantMissing);
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("interpolateValue", () => {
  const run = (yaml: string, env: Record<string, string>) => {
    const warnings: string[] = [];
    const parsed = parseYaml(yaml, "compose.yaml");
    const value = interpolateValue(parsed, lookupFrom(env), (m) => warnings.push(m));
    return { parsed, value, warnings };
  };

  it("interpolates values, not keys, and includes x-* extensions", () => {
    const { value, warnings } = run(
      [
        "x-common:",
        "  note: ${FOO}",
        "services:",
        "  web:",
        '    image: "${IMAGE:-nginx}:${TAG:-latest}"',
        "    environment:",
        "      $KEY: ${VALUE}",
        "      ${KEY2}: x",
        "    labels:",
        '      - "a=$$literal"',
        "    ports:",
        "      - 80",
        "    privileged: true",
        "    healthcheck:",
        "      test: null",
      ].join("\n"),
      { FOO: "foo", VALUE: "v", KEY: "k", KEY2: "k2" },
    );
    expect(value).toEqual({
      "x-common": { note: "foo" },
      services: {
        web: {
          image: "nginx:latest",
          environment: { $KEY: "v", "${KEY2}": "x" },
          labels: ["a=$literal"],
          ports: [80],
          privileged: true,
          healthcheck: { test: null },
        },
      },
    });
    expect(warnings).toEqual([]);
  });

  it("warns once per unset variable, in order, and blanks it", () => {
    const { value, warnings } = run(
      ["services:", "  a:", "    image: app:${TAG}", "    command: $CMD $TAG", "  b:", "    image: app:${TAG}"].join("\n"),
      {},
    );
    expect(value).toEqual({ services: { a: { image: "app:", command: " " }, b: { image: "app:" } } });
    expect(warnings).toEqual([
      'The "TAG" variable is not set. Defaulting to a blank string.',
      'The "CMD" variable is not set. Defaulting to a blank string.',
    ]);
  });

  it("does not modify the parsed value", () => {
    const { parsed, value } = run("services:\n  web:\n    image: ${IMG}\n", { IMG: "busybox" });
    expect(value).toEqual({ services: { web: { image: "busybox" } } });
    expect(parsed.value).toEqual({ services: { web: { image: "${IMG}" } } });
  });

  it("keeps a __proto__ key as an ordinary key", () => {
    const { value } = run('x-meta:\n  "__proto__": ${V}\n', { V: "v" });
    const meta = (value as Record<string, Record<string, unknown>>)["x-meta"]!;
    expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
    expect(Object.keys(meta)).toEqual(["__proto__"]);
    expect(Object.getOwnPropertyDescriptor(meta, "__proto__")?.value).toBe("v");
  });

  interface ErrCase {
    name: string;
    yaml: string;
    env: Record<string, string>;
    path: string;
    line: number;
    column: number;
    message: string;
  }
  const errCases: ErrCase[] = [
    {
      name: "required variable in a mapping value",
      yaml: ["services:", "  web:", "    image: nginx", "    command: ${CMD:?set CMD}"].join("\n"),
      env: {},
      path: "services.web.command",
      line: 4,
      column: 5,
      message: "compose.yaml:4:5: services.web.command: required variable CMD is missing a value: set CMD",
    },
    {
      name: "required variable in a sequence item",
      yaml: ["services:", "  web:", "    ports:", '      - "80"', '      - "${P:?no port}"'].join("\n"),
      env: {},
      path: "services.web.ports[1]",
      line: 5,
      column: 9,
      message: "compose.yaml:5:9: services.web.ports[1]: required variable P is missing a value: no port",
    },
    {
      name: "empty value for :?",
      yaml: ["networks:", "  front:", "    name: ${NET:?}"].join("\n"),
      env: { NET: "" },
      path: "networks.front.name",
      line: 3,
      column: 5,
      message: "compose.yaml:3:5: networks.front.name: required variable NET is missing a value",
    },
    {
      name: "malformed template",
      yaml: ["services:", "  web:", "    environment:", "      - PRICE=5${"].join("\n"),
      env: {},
      path: "services.web.environment[0]",
      line: 4,
      column: 9,
      message: 'invalid interpolation format for "PRICE=5${"',
    },
  ];

  it.each(errCases)("error: $name", ({ yaml, env, path, line, column, message }) => {
    let caught: unknown;
    try {
      run(yaml, env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StackError);
    const e = caught as StackError;
    expect(e.code).toBe("interpolation");
    expect(e.path).toBe(path);
    expect(e.location).toEqual({ file: "compose.yaml", line, column });
    expect(e.message).toContain(message);
  });
});

describe("extractVariables (config --variables)", () => {
  const vars = (v: unknown) => [...extractVariables(v).values()].sort((a, b) => a.name.localeCompare(b.name));

  it("reads each form, nested defaults and alternates, and skips $$ and a lone $", () => {
    expect(vars({ a: ["$A and ${B}", { c: "${C:-d${D}}", e: "${E+alt}" }], f: "${F:?msg} $$G $1 $ ${H-}", n: 3 })).toEqual([
      { name: "A", defaultValue: "", presenceValue: "", required: false },
      { name: "B", defaultValue: "", presenceValue: "", required: false },
      { name: "C", defaultValue: "d${D}", presenceValue: "", required: false },
      { name: "D", defaultValue: "", presenceValue: "", required: false },
      { name: "E", defaultValue: "", presenceValue: "alt", required: false },
      { name: "F", defaultValue: "", presenceValue: "", required: true },
      { name: "H", defaultValue: "", presenceValue: "", required: false },
    ]);
  });

  it("cuts an argument where interpolation does, and takes a malformed ${ for text", () => {
    expect(vars("${A:-{x}} ${B:-y} ${ ${1x}")).toEqual([
      { name: "A", defaultValue: "{x}", presenceValue: "", required: false },
      { name: "B", defaultValue: "y", presenceValue: "", required: false },
    ]);
  });
});
