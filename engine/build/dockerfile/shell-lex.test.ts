// Expected values from BuildKit's shell lexer tests (frontend/dockerfile/shell
// lex_test.go, TestProcessWithMatches and friends) and the Dockerfile
// reference's "Environment replacement" section.
import { describe, expect, it } from "vitest";
import { ExpansionError } from "./errors.js";
import { expandWord } from "./shell-lex.js";

const x = (word: string, env: Record<string, string> = {}, escape = "\\"): string =>
  expandWord(word, { escape }, (n) => (Object.hasOwn(env, n) ? env[n] : undefined));

describe("expandWord", () => {
  it("plain, braced and unset variables", () => {
    expect(x("x")).toBe("x");
    expect(x("x ${UNUSED}", { DUMMY: "dummy" })).toBe("x ");
    expect(x("x ${FOO}", { FOO: "y" })).toBe("x y");
    expect(x("$FOO-$BAR.txt", { FOO: "a", BAR: "b" })).toBe("a-b.txt");
    expect(x("cost $5", {})).toBe("cost ");
    expect(x("a$", {})).toBe("a$");
  });

  it("- and :- (default), + and :+ (alternative)", () => {
    const env = { FOO: "xxx", BAR: "" };
    expect(x("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", env)).toBe("xxx  ccc");
    expect(x("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", env)).toBe("xxx bbb ccc");
    expect(x("${FOO:-}", env)).toBe("xxx");
    expect(x("${FOO:-}", {})).toBe("");
    expect(x("${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", env)).toBe("aaa bbb ");
    expect(x("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", env)).toBe("aaa  ");
  });

  it("? and :? fail with the message", () => {
    const env = { FOO: "xxx", BAR: "" };
    expect(x("${FOO?aaa}", env)).toBe("xxx");
    expect(x("${BAR?bbb}", env)).toBe("");
    expect(() => x("${BAZ?ccc}", env)).toThrow(ExpansionError);
    expect(x("${FOO:?aaa}", env)).toBe("xxx");
    expect(() => x("${BAR:?bbb}", env)).toThrow(ExpansionError);
    expect(() => x("${BAZ:?}", env)).toThrow(ExpansionError);
    expect(() => x("${VAR:?message here$ARG}", { VAR: "", ARG: "x" })).toThrow("message herex");
    expect(() => x("${VAR?message here$ARG}", { ARG: "x" })).toThrow("message herex");
  });

  it("= (assignment) is not supported", () => {
    expect(() => x("${FOO=aaa}", { FOO: "xxx" })).toThrow(ExpansionError);
    expect(() => x("${FOO=}", {})).toThrow(ExpansionError);
  });

  it("# ## % %% remove prefixes and suffixes (the reference's examples)", () => {
    const str = { str: "foobarbaz" };
    expect(x("${str#f*b}", str)).toBe("arbaz");
    expect(x("${str##f*b}", str)).toBe("az");
    expect(x("${str%a*z}", str)).toBe("foobarb");
    expect(x("${str%%a*z}", str)).toBe("foob");
  });

  it("prefix/suffix removal: BuildKit's cases", () => {
    expect(x("${FOO#()[]{\\}^$.\\*\\?|\\\\}", { FOO: "()[]{}^$.*?|\\x" })).toBe("x");
    expect(x("${FOO%%\\**}", { FOO: "xx**" })).toBe("xx");
    expect(x("${FOO#*x*y}", { FOO: "xxyy" })).toBe("y");
    expect(x("${FOO#*}", { FOO: "xxyy" })).toBe("xxyy");
    expect(x("${FOO#$BAR}", { FOO: "xxyy", BAR: "x" })).toBe("xyy");
    expect(x("${FOO#$BAR}", { FOO: "xxyy", BAR: "" })).toBe("xxyy");
    expect(x("${FOO#}", { FOO: "xxyy" })).toBe("xxyy");
    expect(x("${FOO##*x}", { FOO: "xxyy" })).toBe("yy");
    expect(x("${FOO##}", { FOO: "xxyy" })).toBe("xxyy");
    expect(x("${FOO#?\\?}", { FOO: "???y" })).toBe("?y");
    expect(x("${ABC:-.}${FOO%x}${ABC:-.}", { FOO: "xxyy" })).toBe(".xxyy.");
    expect(x("${FOO%%\\**\\*}", { FOO: "a***yy*" })).toBe("a");
    expect(x("${FOO%}", { FOO: "xxyy" })).toBe("xxyy");
  });

  it("/ and // replace (the reference's and BuildKit's cases)", () => {
    expect(x("${str/./-}", { str: "a.b.c" })).toBe("a-b.c");
    expect(x("${str//./-}", { str: "a.b.c" })).toBe("a-b-c");
    expect(x("${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", { FOO: "/foo*/*/*.txt", NEEDLE: "\\*/" })).toBe("/foo.*/*.txt - /foo..*.txt");
    expect(x("${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}", { FOO: "/tmp/tmp/bar.txt", NEEDLE: "/tmp" })).toBe("/tmp/bar.txt - /bar.txt");
    expect(x("${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}", { FOO: "/a/foo/b/c.txt", NEEDLE: "/?/", REPLACEMENT: "/" })).toBe(
      "/foo/b/c.txt - /foo/c.txt",
    );
    expect(x("${FOO/$NEEDLE/$REPLACEMENT}", { FOO: "http://google.de", NEEDLE: "http://", REPLACEMENT: "https://" })).toBe("https://google.de");
    expect(x("${FOO//\\//\\/}", { FOO: "/tmp/foo.txt" })).toBe("\\/tmp\\/foo.txt");
    expect(x("${FOO/$BAR/ww}", { FOO: "xxyy", BAR: "" })).toBe("wwxxyy");
    expect(() => x("${FOO//ww}", { FOO: "xxyy" })).toThrow(ExpansionError);
    expect(() => x("${FOO//}", { FOO: "xxyy" })).toThrow(ExpansionError);
    expect(x("${FOO///}", { FOO: "xxyy" })).toBe("xxyy");
    expect(x("${FOO///}", {})).toBe("");
  });

  it("nested expansions: BuildKit's release-file name", () => {
    const release = "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz";
    expect(x(release, { VERSION: "v1.2.3", TARGETOS: "linux", TARGETARCH: "arm", TARGETVARIANT: "v7" })).toBe("something-v1.2.3.linux-arm-v7.tar.gz");
    expect(x(release, { VERSION: "v1.2.3", TARGETOS: "linux", TARGETARCH: "amd64" })).toBe("something-v1.2.3.linux-amd64.tar.gz");
  });

  it("${#VAR} is the length", () => {
    expect(x("${#KOREAN}", { KOREAN: "한국어" })).toBe("3");
    expect(x("${#NOPE}")).toBe("0");
  });

  it("quotes: single quotes are literal, double quotes expand, both are removed", () => {
    expect(x("'$FOO'", { FOO: "y" })).toBe("$FOO");
    expect(x('"$FOO"', { FOO: "y" })).toBe("y");
    expect(x('"a b"c', {})).toBe("a bc");
    expect(x('"\\$FOO \\" \\\\ \\n"', { FOO: "y" })).toBe('$FOO " \\ \\n');
    expect(() => x("'open")).toThrow("single-quote");
    expect(() => x('"open')).toThrow("double-quote");
  });

  it("escapes outside quotes drop the escape character; a trailing one is dropped", () => {
    expect(x("\\$FOO", { FOO: "y" })).toBe("$FOO");
    expect(x("a\\ b")).toBe("a b");
    expect(x("a\\")).toBe("a");
  });

  it("another escape character leaves backslashes alone", () => {
    expect(x("c:\\dir\\$FOO", { FOO: "y" }, "`")).toBe("c:\\dir\\y");
    expect(x("`$FOO", { FOO: "y" }, "`")).toBe("$FOO");
  });

  it("heredoc bodies keep quotes and escapes as text", () => {
    const raw = (w: string, env: Record<string, string>) => expandWord(w, { escape: "\\", rawQuotes: true, rawEscapes: true }, (n) => env[n]);
    expect(raw('echo "hello ${FOO}" \'$FOO\' \\$FOO\n', { FOO: "bar" })).toBe("echo \"hello bar\" 'bar' \\$FOO\n");
  });
});
