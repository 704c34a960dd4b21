import { describe, expect, it } from "vitest";
import { parseDotenv } from "./dotenv.js";
import { StackError } from "./errors.js";

const lookupFrom =
  (env: Record<string, string>) =>
  (name: string): string | undefined =>
    Object.hasOwn(env, name) ? env[name] : undefined;

interface Case {
  name: string;
  input: string;
  env?: Record<string, string>;
  want?: Record<string, string>;
  wantErr?: { message: string; line: number; column: number; code?: string };
}

const cases: Case[] = [
  { name: "empty file", input: "", want: {} },
  { name: "blank lines and comments only", input: "\n\r\n\t\t \n# Comment\n\t # indented comment\n", want: {} },
  { name: "plain", input: "FOO=bar", want: { FOO: "bar" } },
  { name: "several lines", input: "A=1\nB=2\n\nC=3\n", want: { A: "1", B: "2", C: "3" } },
  { name: "spaces around =", input: "FOO =bar\nBAR= baz", want: { FOO: "bar", BAR: "baz" } },
  { name: "leading whitespace", input: "   KEY=value\n\tK2=v2", want: { KEY: "value", K2: "v2" } },
  { name: "unquoted value trimmed", input: "FOO=bar  \t", want: { FOO: "bar" } },
  { name: "inner spaces kept", input: "FOO=some unquoted phrase", want: { FOO: "some unquoted phrase" } },
  { name: "= in the value", input: "FOO=foobar=\nURL=postgres://h:5432/db?sslmode=disable", want: { FOO: "foobar=", URL: "postgres://h:5432/db?sslmode=disable" } },
  { name: "yaml-style separator", input: "OPTION_A: 1\nOPTION_B: Foo=bar", want: { OPTION_A: "1", OPTION_B: "Foo=bar" } },
  { name: "colon in the value", input: "OPTION_A=1:B", want: { OPTION_A: "1:B" } },
  { name: "inline comment after a space", input: "FOO=bar # this is foo\nB=x #", want: { FOO: "bar", B: "x" } },
  { name: "# without a space is part of the value", input: "FOO=123#not-a-comment", want: { FOO: "123#not-a-comment" } },
  { name: "tab before # is not a comment", input: "FOO=a\t#b", want: { FOO: "a\t#b" } },
  { name: "unquoted backslashes are literal", input: "FOO=a\\tb", want: { FOO: "a\\tb" } },
  { name: "empty values", input: "A=\nB=''\nC=\"\"\nD=", want: { A: "", B: "", C: "", D: "" } },
  { name: "export prefix", input: "export OPTION_A=2\nexport\tB=3\n  export C=4", want: { OPTION_A: "2", B: "3", C: "4" } },
  { name: "export-like keys", input: "exportFOO=2\nexport_FOO =3\nexport.FOO= 4", want: { exportFOO: "2", export_FOO: "3", "export.FOO": "4" } },
  { name: "key characters", input: "VAR.WITH.DOTS=dots\nVAR-WITH-DASHES=dashes\na[1]=c\nárvíztűrő=ÁRVÍZ", want: { "VAR.WITH.DOTS": "dots", "VAR-WITH-DASHES": "dashes", "a[1]": "c", árvíztűrő: "ÁRVÍZ" } },
  { name: "later key wins", input: "A=1\nA=2", want: { A: "2" } },
  // quoting
  { name: "single quotes are literal", input: "A='$X \\n ${Y'", want: { A: "$X \\n ${Y" } },
  { name: "escaped single quote", input: "A='Let\\'s go!'", want: { A: "Let's go!" } },
  { name: "double quotes", input: 'A="bar"', want: { A: "bar" } },
  { name: "escaped double quotes", input: 'A="escaped\\"bar"\nB="\\"quoted\\""', want: { A: 'escaped"bar', B: '"quoted"' } },
  { name: "single quotes inside double", input: "A=\"'d'\"", want: { A: "'d'" } },
  { name: "# inside quotes", input: 'A="bar#baz" # comment\nB=\'ba#r\'#\nC="x"#', want: { A: "bar#baz", B: "ba#r", C: "x" } },
  {
    name: "double-quote escapes",
    input: 'KEY="Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z"',
    want: { KEY: "Z\x07Z\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ" },
  },
  { name: "unknown escapes stay", input: 'A="\\x07 \\u12e4 \\c \\0 \\01 \\0400"', want: { A: "\\x07 \\u12e4 \\c \\0 \\01 \\0400" } },
  { name: "backslash before a space stays", input: 'FOO="bar\\n\\ b\\az"', want: { FOO: "bar\n\\ b\x07z" } },
  { name: "trailing escaped backslash", input: 'FOO="bar\\nbaz\\\\"', want: { FOO: "bar\nbaz\\" } },
  { name: "multi-line single quotes", input: "A='first line\nsecond line'\nB=2", want: { A: "first line\nsecond line", B: "2" } },
  { name: "multi-line double quotes", input: 'A="x\n${B:-y}"\nC=3', want: { A: "x\ny", C: "3" } },
  { name: "quoted value after spaces", input: 'OPTION_I = "echo \'asd\'" # Inline comment', want: { OPTION_I: "echo 'asd'" } },
  // interpolation
  { name: "earlier keys", input: "A=1\nB=${A}\nC=$B\nD=${A}_${B}\nE=${NOT_DEFINED}", want: { A: "1", B: "1", C: "1", D: "1_1", E: "" } },
  { name: "later keys are not seen", input: "B=$A\nA=1", want: { B: "", A: "1" } },
  { name: "lookup wins over earlier keys", input: "A=1\nB=${A}", env: { A: "5" }, want: { A: "1", B: "5" } },
  { name: "defaults", input: "A=${A:-1}\nB=${UNSET-x}\nC=${EMPTY-x}", env: { EMPTY: "" }, want: { A: "1", B: "x", C: "" } },
  { name: "double quotes interpolate", input: 'A=test\nB="quote $A"', want: { A: "test", B: "quote test" } },
  { name: "\\$ and $$ are literal $", input: 'A="foo\\$BAR"\nB="foo\\${BAR} $${BAR}"\nC=$$X', want: { A: "foo$BAR", B: "foo${BAR} ${BAR}", C: "$X" } },
  // inherited
  { name: "key alone takes the environment", input: "HOME\nA=1", env: { HOME: "/root" }, want: { HOME: "/root", A: "1" } },
  { name: "key alone, unset, is omitted", input: "VARIABLE_NOT_FOUND\n", want: {} },
  { name: "key alone, set-but-empty", input: "E\n", env: { E: "" }, want: { E: "" } },
  { name: "key alone at end of file", input: "A=1\nLAST", env: { LAST: "l" }, want: { A: "1", LAST: "l" } },
  { name: "export of an inherited key", input: "export HOME\n", env: { HOME: "/h" }, want: { HOME: "/h" } },
  { name: "unset inherited key keeps the earlier value", input: "A=1\nA\n", want: { A: "1" } },
  // line endings
  { name: "CRLF", input: 'A=1\r\nB="x"\r\nC\r\nD=\'y\' # c\r\n', env: { C: "c" }, want: { A: "1", B: "x", C: "c", D: "y" } },
  { name: "BOM", input: "\uFEFFOPTION_A=1\nOPTION_B=2", want: { OPTION_A: "1", OPTION_B: "2" } },
  // errors
  { name: "bad character in key", input: "lol$wut", wantErr: { message: 'unexpected character "$" in variable name "lol$wut"', line: 1, column: 4 } },
  {
    name: "bad character on a later line",
    input: "A=1\n\n  %!(EXTRA string)=foo\n",
    wantErr: { message: 'unexpected character "%" in variable name "%!(EXTRA string)=foo"', line: 3, column: 3 },
  },
  {
    name: "space in key after a multi-line value",
    input: '# some comments\nfoo="\n  a\n  multine\n  value\n"\nINVALID LINE\nzot=qix',
    wantErr: { message: "key cannot contain a space", line: 7, column: 1 },
  },
  { name: "space in key with value", input: "MY KEY=1", wantErr: { message: "key cannot contain a space", line: 1, column: 1 } },
  { name: "unterminated double quote", input: 'A=1\nKEY="value', wantErr: { message: 'unterminated quoted value "value', line: 2, column: 5 } },
  { name: "unterminated escaped quote", input: "KEY='value\\'", wantErr: { message: "unterminated quoted value 'value\\'", line: 1, column: 5 } },
  { name: "mismatched quotes", input: "KEY=\"value'", wantErr: { message: "unterminated quoted value", line: 1, column: 5 } },
  { name: "lone quote", input: "KEY='", wantErr: { message: "unterminated quoted value '", line: 1, column: 5 } },
  {
    name: "required variable",
    input: "A=1\nB=${NEED:?set NEED}",
    wantErr: { message: "required variable NEED is missing a value: set NEED", line: 2, column: 3, code: "interpolation" },
  },
  {
    name: "malformed interpolation",
    input: 'A="${"',
    wantErr: { message: 'invalid interpolation format for "${"', line: 1, column: 3, code: "interpolation" },
  },
  { name: "error column ignores the BOM", input: "\uFEFFa b=1", wantErr: { message: "key cannot contain a space", line: 1, column: 1 } },
];

describe("parseDotenv", () => {
  it.each(cases)("$name", ({ input, env, want, wantErr }) => {
    const lookup = env ? lookupFrom(env) : undefined;
    if (wantErr) {
      let caught: unknown;
      try {
        parseDotenv(input, ".env", lookup);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(StackError);
      const e = caught as StackError;
      expect(e.code).toBe(wantErr.code ?? "invalid");
      expect(e.location).toEqual({ file: ".env", line: wantErr.line, column: wantErr.column });
      expect(e.message).toContain(wantErr.message);
      expect(e.message.startsWith(`.env:${wantErr.line}:${wantErr.column}: `)).toBe(true);
      return;
    }
    const got = parseDotenv(input, ".env", lookup);
    expect({ ...got }).toEqual(want);
    expect(Object.keys(got)).toEqual(Object.keys(want!));
  });

  it("warns once per unset variable", () => {
    const warnings: string[] = [];
    const got = parseDotenv("A=$X\nB=${X}\nC=\"$Y\"\nD='$Z'", ".env", undefined, (m) => warnings.push(m));
    expect(got).toEqual({ A: "", B: "", C: "", D: "$Z" });
    expect(warnings).toEqual([
      'The "X" variable is not set. Defaulting to a blank string.',
      'The "Y" variable is not set. Defaulting to a blank string.',
    ]);
  });

  it("keeps __proto__ as an ordinary key", () => {
    const got = parseDotenv("__proto__=x\nA=${__proto__}", ".env");
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.keys(got)).toEqual(["__proto__", "A"]);
    expect(Object.getOwnPropertyDescriptor(got, "__proto__")?.value).toBe("x");
    expect(got.A).toBe("x");
  });
});
