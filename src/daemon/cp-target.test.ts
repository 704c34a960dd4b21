import { describe, expect, it } from "vitest";
import { CopyPathError, copyTarget } from "./cp-target.js";

const file = { kind: "file" as const };
const dir = { kind: "directory" as const };
const missing = { kind: undefined, parentIsDirectory: true };

describe("copyTarget: docker cp's path rules", () => {
  it("a file: to a new name, over a file, into a directory", () => {
    expect(copyTarget({ path: "/a/f.txt", ...file }, { path: "/b/g.txt", ...missing })).toBe("/b/g.txt");
    expect(copyTarget({ path: "/a/f.txt", ...file }, { path: "/b/g.txt", ...file, parentIsDirectory: true })).toBe("/b/g.txt");
    expect(copyTarget({ path: "/a/f.txt", ...file }, { path: "/b", ...dir, parentIsDirectory: true })).toBe("/b/f.txt");
    expect(copyTarget({ path: "/a/link", kind: "symlink" }, { path: "/b/", ...dir, parentIsDirectory: true })).toBe("/b/link");
  });

  it("a file: refuses a missing DST/ and a missing parent", () => {
    expect(() => copyTarget({ path: "/a/f", ...file }, { path: "/b/new/", ...missing })).toThrow(/destination directory \/b\/new\/ must exist/);
    expect(() => copyTarget({ path: "/a/f", ...file }, { path: "/nope/g", kind: undefined, parentIsDirectory: false })).toThrow(/no such directory: \/nope/);
    expect(() => copyTarget({ path: "/a/f/", ...file }, { path: "/b", ...dir, parentIsDirectory: true })).toThrow(/not a directory/);
    expect(() => copyTarget({ path: "/a/f/.", ...file }, { path: "/b", ...dir, parentIsDirectory: true })).toThrow(/not a directory/);
  });

  it("a directory: a new name gets its contents; an existing directory gets it inside, or its contents with /.", () => {
    expect(copyTarget({ path: "/src", ...dir }, { path: "/new", ...missing })).toBe("/new");
    expect(copyTarget({ path: "/src/", ...dir }, { path: "/dst", ...dir, parentIsDirectory: true })).toBe("/dst/src");
    expect(copyTarget({ path: "/src", ...dir }, { path: "/dst", ...dir, parentIsDirectory: true })).toBe("/dst/src");
    expect(copyTarget({ path: "/src/.", ...dir }, { path: "/dst", ...dir, parentIsDirectory: true })).toBe("/dst");
    expect(copyTarget({ path: ".", ...dir }, { path: "/dst", ...dir, parentIsDirectory: true })).toBe("/dst");
    expect(copyTarget({ path: "/", ...dir }, { path: "/dst", ...dir, parentIsDirectory: true })).toBe("/dst");
  });

  it("a directory onto a file, or a missing source, is an error", () => {
    expect(() => copyTarget({ path: "/src", ...dir }, { path: "/f", ...file, parentIsDirectory: true })).toThrow(/cannot copy a directory to a file/);
    const err = (() => {
      try {
        copyTarget({ path: "/gone", kind: undefined }, { path: "/dst", ...dir, parentIsDirectory: true });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CopyPathError);
    expect((err as CopyPathError).kind).toBe("not-found");
  });
});
