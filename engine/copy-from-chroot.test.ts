// The reader for `cp CONTAINER:SRC DST` against a fake container root full of
// hostile symlinks: what comes out is the root's files, never the host's.
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copyOutOfRoot } from "./copy-from-chroot.js";
import { isRoot, missing } from "../test/support/requires.js";

let base: string;
let root: string;
let out: string;
let canary: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "tscompose-copy-from-"));
  root = join(base, "root");
  out = join(base, "out");
  mkdirSync(join(root, "data", "sub"), { recursive: true });
  mkdirSync(out);
  writeFileSync(join(root, "data", "a"), "A");
  writeFileSync(join(root, "data", "sub", "b"), "B");
  symlinkSync("/", join(root, "data", "rootlink"));
  symlinkSync("../../../../..", join(root, "up"));
  // The host's canary, at a path the fake container does not have.
  canary = join(base, "canary");
  writeFileSync(canary, "HOST");
});

afterEach(() => rmSync(base, { recursive: true, force: true }));

describe.skipIf(missing("root", isRoot))("copyOutOfRoot", () => {
  it("copies a tree, links as links", async () => {
    const r = await copyOutOfRoot(root, "/data", join(out, "d"));
    expect(r.copied).toBe(3);
    expect(readFileSync(join(out, "d", "sub", "b"), "utf8")).toBe("B");
    expect(readlinkSync(join(out, "d", "rootlink"))).toBe("/");
  });

  it("resolves / and ../.. links inside the root, -L too", async () => {
    await copyOutOfRoot(root, "/up/data/a", join(out, "a"));
    expect(readFileSync(join(out, "a"), "utf8")).toBe("A");
    await expect(copyOutOfRoot(root, `/up${canary}`, join(out, "c1"))).rejects.toThrow(/could not find/);
    await expect(copyOutOfRoot(root, `/data/rootlink${canary}`, join(out, "c2"))).rejects.toThrow(/could not find/);
    // -L on a link to "/": the root's own tree, not the host's.
    await copyOutOfRoot(root, "/data/rootlink", join(out, "all"), { followLink: true });
    expect(readdirSync(join(out, "all")).sort()).toEqual(["data", "up"]);
    expect(existsSync(join(out, "c1")) || existsSync(join(out, "c2"))).toBe(false);
  });

  it("keeps uid/gid with archive only; never writes through a link already at the destination", async () => {
    chownSync(join(root, "data", "a"), 1234, 2345);
    await copyOutOfRoot(root, "/data/a", join(out, "plain"));
    await copyOutOfRoot(root, "/data/a", join(out, "kept"), { archive: true });
    expect(statSync(join(out, "plain")).uid).toBe(0);
    expect([statSync(join(out, "kept")).uid, statSync(join(out, "kept")).gid]).toEqual([1234, 2345]);
    // A destination tree whose "sub" is a link to the canary's directory: refused, the canary untouched.
    mkdirSync(join(out, "t"));
    symlinkSync(base, join(out, "t", "sub"));
    await expect(copyOutOfRoot(root, "/data", join(out, "t"))).rejects.toThrow(/cannot overwrite non-directory/);
    expect(readdirSync(base).sort()).toEqual(["canary", "out", "root"]);
    expect(lstatSync(join(out, "t", "sub")).isSymbolicLink()).toBe(true);
  });
});
