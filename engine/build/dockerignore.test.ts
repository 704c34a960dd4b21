// Expected values from moby/patternmatcher's tests (TestMatches,
// TestMatch, the exclusion cases) and docker's .dockerignore documentation.
import { describe, expect, it } from "vitest";
import { PatternError, PatternMatcher, readIgnoreFile } from "./dockerignore.js";

const matches = (patterns: string[], file: string): boolean => new PatternMatcher(patterns).matches(file);

describe("PatternMatcher", () => {
  it("patternmatcher's single-pattern table", () => {
    const table: [string, string, boolean][] = [
      ["**", "file", true],
      ["**", "file/", true],
      ["**/", "file", true],
      ["**/", "file/", true],
      ["**", "/", true],
      ["**/", "/", true],
      ["**", "dir/file", true],
      ["**/", "dir/file", true],
      ["**", "dir/file/", true],
      ["**/", "dir/file/", true],
      ["**/**", "dir/file", true],
      ["**/**", "dir/file/", true],
      ["dir/**", "dir/file", true],
      ["dir/**", "dir/file/", true],
      ["dir/**", "dir/dir2/file", true],
      ["dir/**", "dir/dir2/file/", true],
      ["**/dir", "dir", true],
      ["**/dir", "dir/file", true],
      ["**/dir2/*", "dir/dir2/file", true],
      ["**/dir2/*", "dir/dir2/file/", true],
      ["**/dir2/**", "dir/dir2/dir3/file", true],
      ["**/dir2/**", "dir/dir2/dir3/file/", true],
      ["**file", "file", true],
      ["**file", "dir/file", true],
      ["**/file", "dir/file", true],
      ["**file", "dir/dir/file", true],
      ["**/file", "dir/dir/file", true],
      ["**/file*", "dir/dir/file", true],
      ["**/file*", "dir/dir/file.txt", true],
      ["**/file*txt", "dir/dir/file.txt", true],
      ["**/file*.txt", "dir/dir/file.txt", true],
      ["**/file*.txt*", "dir/dir/file.txt", true],
      ["**/**/*.txt", "dir/dir/file.txt", true],
      ["**/**/*.txt2", "dir/dir/file.txt", false],
      ["**/*.txt", "file.txt", true],
      ["**/**/*.txt", "file.txt", true],
      ["a**/*.txt", "a/file.txt", true],
      ["a**/*.txt", "a/dir/file.txt", true],
      ["a**/*.txt", "a/dir/dir/file.txt", true],
      ["a/*.txt", "a/dir/file.txt", false],
      ["a/*.txt", "a/file.txt", true],
      ["a/*.txt**", "a/file.txt", true],
      ["a[b-d]e", "ae", false],
      ["a[b-d]e", "ace", true],
      ["a[b-d]e", "aae", false],
      ["a[^b-d]e", "aze", true],
      [".*", ".foo", true],
      [".*", "foo", false],
      ["abc.def", "abcdef", false],
      ["abc.def", "abc.def", true],
      ["abc.def", "abcZdef", false],
      ["abc?def", "abcZdef", true],
      ["abc?def", "abcdef", false],
      ["a\\\\", "a\\", true],
      ["**/foo/bar", "foo/bar", true],
      ["**/foo/bar", "dir/foo/bar", true],
      ["**/foo/bar", "dir/dir2/foo/bar", true],
      ["abc/**", "abc", false],
      ["abc/**", "abc/def", true],
      ["abc/**", "abc/def/ghi", true],
      ["**/.foo", ".foo", true],
      ["**/.foo", "bar.foo", false],
      ["a(b)c/def", "a(b)c/def", true],
      ["a(b)c/def", "a(b)c/xyz", false],
      ["a.|)$(}+{bc", "a.|)$(}+{bc", true],
      ["dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true],
      ["dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true],
    ];
    for (const [pattern, file, expected] of table) expect([pattern, file, matches([pattern], file)]).toEqual([pattern, file, expected]);
  });

  it("filepath.Match's table through the matcher", () => {
    const table: [string, string, boolean][] = [
      ["abc", "abc", true],
      ["*", "abc", true],
      ["*c", "abc", true],
      ["a*", "a", true],
      ["a*", "abc", true],
      ["a*", "ab/c", true], // through its parent "ab"
      ["a*/b", "abc/b", true],
      ["a*/b", "a/c/b", false],
      ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
      ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
      ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false],
      ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false],
      ["a*b?c*x", "abxbbxdbxebxczzx", true],
      ["a*b?c*x", "abxbbxdbxebxczzy", false],
      ["ab[c]", "abc", true],
      ["ab[b-d]", "abc", true],
      ["ab[e-g]", "abc", false],
      ["ab[^c]", "abc", false],
      ["ab[^b-d]", "abc", false],
      ["ab[^e-g]", "abc", true],
      ["a\\*b", "a*b", true],
      ["a\\*b", "ab", false],
      ["a?b", "a☺b", true],
      ["a[^a]b", "a☺b", true],
      ["a???b", "a☺b", false],
      ["a[^a][^a][^a]b", "a☺b", false],
      ["[a-ζ]*", "α", true],
      ["*[a-ζ]", "A", false],
      ["a?b", "a/b", false],
      ["a*b", "a/b", false],
      ["[\\]a]", "]", true],
      ["[\\-]", "-", true],
      ["[x\\-]", "x", true],
      ["[x\\-]", "-", true],
      ["[x\\-]", "z", false],
      ["[\\-x]", "x", true],
      ["[\\-x]", "-", true],
      ["[\\-x]", "a", false],
      ["*x", "xxx", true],
    ];
    for (const [pattern, file, expected] of table) expect([pattern, file, matches([pattern], file)]).toEqual([pattern, file, expected]);
  });

  it("malformed patterns are errors", () => {
    for (const bad of ["[", "[^", "[^bc", "a[", "[]a]", "[-]", "[x-]", "[-x]", "\\"]) expect(() => new PatternMatcher([bad]), bad).toThrow(PatternError);
    expect(() => new PatternMatcher(["!"])).toThrow('illegal exclusion pattern: "!"');
  });

  it("exceptions: the last matching pattern wins, a parent directory's match covers its files", () => {
    expect(matches(["*"], "fileutils.go")).toBe(true);
    expect(matches(["*.go"], "fileutils.go")).toBe(true);
    expect(matches(["!fileutils.go", "*.go"], "fileutils.go")).toBe(true);
    expect(matches(["*.go", "!fileutils.go"], "fileutils.go")).toBe(false);
    expect(matches(["docs", "!docs/README.md"], "docs/README.md")).toBe(false);
    expect(matches(["docs/", "!docs/README.md"], "docs/README.md")).toBe(false);
    expect(matches(["docs/*", "!docs/README.md"], "docs/README.md")).toBe(false);
    expect(matches(["**", "!util/docker/web"], "util/docker/web/foo")).toBe(false);
    expect(matches(["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo")).toBe(true);
    expect(matches(["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl")).toBe(false);
    expect(matches([], "/any/path/there")).toBe(false);
  });

  it("whitespace around patterns is trimmed, empty patterns dropped", () => {
    const pm = new PatternMatcher(["docs", "  !docs/README.md  ", ""]);
    expect(pm.exclusions).toBe(true);
    expect(pm.matches("docs/README.md")).toBe(false);
    expect(pm.matches("docs/other.md")).toBe(true);
  });
});

describe("readIgnoreFile", () => {
  it("drops comments and blank lines, cleans paths, strips a leading slash (docker's documented example)", () => {
    const text = "# comment\n*/temp*\n*/*/temp*\ntemp?\n\n/abs/path/\n./rel/../other\n!  /keep/./me\n   \n  # not a comment\n";
    expect(readIgnoreFile(text)).toEqual(["*/temp*", "*/*/temp*", "temp?", "abs/path", "other", "!keep/me", "# not a comment"]);
  });

  it("docker's documented example: *.md excluded but README*.md kept, except README-secret.md", () => {
    const pm = new PatternMatcher(readIgnoreFile("*.md\n!README*.md\nREADME-secret.md\n"));
    expect(pm.matches("CHANGELOG.md")).toBe(true);
    expect(pm.matches("README.md")).toBe(false);
    expect(pm.matches("README-secret.md")).toBe(true);
  });

  it("docker's documented example: */temp* and temp?", () => {
    const pm = new PatternMatcher(readIgnoreFile("*/temp*\n*/*/temp*\ntemp?\n"));
    expect(pm.matches("somedir/temporary.txt")).toBe(true);
    expect(pm.matches("somedir/temp")).toBe(true);
    expect(pm.matches("somedir/subdir/temporary.txt")).toBe(true);
    expect(pm.matches("tempa")).toBe(true);
    expect(pm.matches("tempab")).toBe(false);
    expect(pm.matches("temporary.txt")).toBe(false);
  });
});
