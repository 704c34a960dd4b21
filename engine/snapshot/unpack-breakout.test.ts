// Hostile layers. Each case unpacks a crafted tar into <base>/root/layer, next
// to a canary directory <base>/root/outside and a canary tree in
// /tmp/tscompose-test-canary-*, and asserts two things: nothing outside the
// layer directory was created or changed (contents, modes, owners, times,
// link counts, xattrs; /etc/passwd too), and the exact outcome we decided
// for the case: a refusal with its error code, or the entry neutralized in a
// stated way.
import { createHash } from "node:crypto";
import { link, mkdir, readFile, readlink, rm, stat, unlink, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  buildTar,
  describeTree,
  getXattr,
  gnuLongNameFile,
  kindOf,
  streamOf,
  tmpDir,
  xattrDump,
  type TarItem,
} from "./testing.js";
import { unpackLayer, UnpackError, type UnpackErrorCode, type UnpackOptions, type UnpackResult } from "./unpack.js";

let base: string;
let layer: string;
let outside: string;
let canary: string;

beforeAll(async () => {
  base = await tmpDir("breakout");
  layer = `${base}/root/layer`;
  outside = `${base}/root/outside`;
  await mkdir(outside, { recursive: true });
  await writeFile(`${outside}/secret.txt`, "secret\n");
  await writeFile(`${base}/root/file-elsewhere`, "elsewhere\n");
  canary = await tmpDir("canary");
  await writeFile(`${canary}/target.txt`, "canary\n");
  await mkdir(`${canary}/dir`);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
  await rm(canary, { recursive: true, force: true });
});

async function passwd(): Promise<string> {
  const st = await stat("/etc/passwd");
  const hash = createHash("sha256").update(await readFile("/etc/passwd")).digest("hex");
  return `${st.mode} ${st.uid} ${st.nlink} ${st.mtimeMs} ${st.ctimeMs} ${hash}`;
}

/** Everything a breakout could touch, minus the layer directory itself. */
async function world(): Promise<unknown> {
  return {
    base: await describeTree(base, { exclude: [layer], ctime: true }),
    canary: await describeTree(canary, { ctime: true }),
    xattrs: await xattrDump(outside, canary),
    passwd: await passwd(),
  };
}

type Outcome =
  | { error: UnpackErrorCode; message: RegExp }
  | { ok: (r: UnpackResult) => Promise<void> };

interface Case {
  name: string;
  items: () => TarItem[];
  opts?: UnpackOptions;
  expect: Outcome;
}

const file = (name: string, content = "x", extra: Partial<TarItem> = {}): TarItem => ({ name, content, ...extra });
const dir = (name: string): TarItem => ({ name, type: "directory" });
const sym = (name: string, linkname: string): TarItem => ({ name, type: "symlink", linkname });
const hard = (name: string, linkname: string, extra: Partial<TarItem> = {}): TarItem => ({ name, type: "link", linkname, ...extra });
const refused = (error: UnpackErrorCode, message: RegExp): Outcome => ({ error, message });
const L = (p: string): string => `${layer}/${p}`;

const cases: Case[] = [
  // ---- lexical traversal ----
  { name: "../ at the start", items: () => [file("../escape")], expect: refused("breakout", /points outside the layer/) },
  { name: "a/../../x climbs out", items: () => [file("a/../../escape")], expect: refused("breakout", /points outside the layer/) },
  {
    name: "../../../ into the canary",
    items: () => [file(`../../../${path.basename(canary)}/pwn`)],
    expect: refused("breakout", /points outside the layer/),
  },
  { name: "overwrite ../outside/secret.txt", items: () => [file("../outside/secret.txt", "pwned")], expect: refused("breakout", /outside/) },
  { name: "a bare .. directory", items: () => [dir("../")], expect: refused("breakout", /points outside the layer/) },
  {
    name: "absolute path is made relative (docker strips the leading /)",
    items: () => [file(`${canary}/abs`, "in layer")],
    expect: {
      ok: async () => {
        expect(await readFile(L(`${canary.slice(1)}/abs`), "utf8")).toBe("in layer");
      },
    },
  },
  {
    name: "/../.. at the root stays at the root",
    items: () => [file("/../../outside/x", "rooted")],
    expect: {
      ok: async () => {
        expect(await readFile(L("outside/x"), "utf8")).toBe("rooted");
      },
    },
  },
  {
    name: "./a/./b/../c is cleaned to a/c",
    items: () => [file("./a/./b/../c", "c")],
    expect: {
      ok: async () => {
        expect(await readFile(L("a/c"), "utf8")).toBe("c");
        expect(await kindOf(L("a/b"))).toBe("missing");
      },
    },
  },
  {
    name: "backslashes are ordinary characters on Linux",
    items: () => [file("..\\escape", "bs")],
    expect: {
      ok: async () => {
        expect(await readFile(L("..\\escape"), "utf8")).toBe("bs");
      },
    },
  },

  // ---- symlinks ----
  { name: "symlink evil -> / then evil/etc/passwd", items: () => [sym("evil", "/"), file("evil/etc/passwd", "root::0:0::/:/bin/sh\n")], expect: refused("breakout", /through symlink "evil"/) },
  {
    name: "symlink evil -> / then evil/<canary>/pwn",
    items: () => [sym("evil", "/"), file(`evil/${canary.slice(1)}/pwn`)],
    expect: refused("breakout", /through symlink "evil"/),
  },
  { name: "symlink evil -> ../../.. then write through it", items: () => [sym("evil", "../../.."), file(`evil/${path.basename(canary)}/pwn`)], expect: refused("breakout", /through symlink "evil"/) },
  {
    name: "chain of symlinks a -> b -> c -> ../outside",
    items: () => [sym("a", "b"), sym("b", "c"), sym("c", "../outside"), file("a/pwn")],
    expect: refused("breakout", /through symlink "a"/),
  },
  {
    name: "symlink to a directory created later is never written through",
    items: () => [sym("link", "real"), dir("real/"), file("link/f")],
    expect: refused("breakout", /through symlink "link"/),
  },
  { name: "symlink loop a -> a then a/x", items: () => [sym("a", "a"), file("a/x")], expect: refused("breakout", /through symlink "a"/) },
  {
    name: "a file replaces a symlink instead of writing through it",
    items: () => [sym("evil", "../outside/secret.txt"), file("evil", "mine")],
    expect: {
      ok: async () => {
        expect(await kindOf(L("evil"))).toBe("file");
        expect(await readFile(L("evil"), "utf8")).toBe("mine");
      },
    },
  },
  {
    name: "a directory replaces a symlink to outside",
    items: () => [sym("evil", "../outside"), dir("evil/"), file("evil/f", "inside")],
    expect: {
      ok: async () => {
        expect(await kindOf(L("evil"))).toBe("dir");
        expect(await readFile(L("evil/f"), "utf8")).toBe("inside");
      },
    },
  },
  {
    name: "directory replaced by a symlink, then a write into it",
    items: () => [dir("d/"), file("d/ok"), sym("d", "../outside"), file("d/pwn")],
    expect: refused("breakout", /through symlink "d"/),
  },
  {
    name: "absolute symlink targets are kept as written",
    items: () => [sym("abs", "/etc/passwd"), sym("rel", "../../outside/secret.txt")],
    expect: {
      ok: async () => {
        expect(await readlink(L("abs"))).toBe("/etc/passwd");
        expect(await readlink(L("rel"))).toBe("../../outside/secret.txt");
      },
    },
  },
  {
    name: "symlink target with a NUL (PAX linkpath)",
    items: () => [{ name: "s", type: "symlink", linkname: "a\0/etc", pax: {} }],
    expect: refused("invalid", /invalid target/),
  },
  { name: "parent is a regular file", items: () => [file("a"), file("a/b")], expect: refused("invalid", /"a" is not a directory/) },

  // ---- hard links ----
  { name: "hard link to /etc/passwd", items: () => [hard("pw", "/etc/passwd", { mode: 0o4777 })], expect: refused("invalid", /target "\/etc\/passwd" is not in the layer/) },
  { name: "hard link to ../outside/secret.txt", items: () => [hard("h", "../outside/secret.txt")], expect: refused("breakout", /points outside the layer/) },
  {
    name: "hard link through a symlinked directory",
    items: () => [sym("d", "../outside"), hard("x", "d/secret.txt")],
    expect: refused("breakout", /through symlink "d"/),
  },
  {
    name: "hard link to a symlink pointing out links the symlink itself",
    items: () => [sym("s", `${canary}/target.txt`), hard("h", "s", { mode: 0o6777 })],
    expect: {
      ok: async () => {
        expect(await kindOf(L("h"))).toBe("symlink");
        expect(await readlink(L("h"))).toBe(`${canary}/target.txt`);
      },
    },
  },
  {
    name: "hard link header cannot add setuid to an existing file",
    items: () => [file("bin/tool", "#!", { mode: 0o755 }), hard("bin/tool2", "bin/tool", { mode: 0o6777, uid: 0 })],
    expect: {
      ok: async () => {
        const a = await stat(L("bin/tool"));
        const b = await stat(L("bin/tool2"));
        expect(a.ino).toBe(b.ino);
        expect(a.mode & 0o7777).toBe(0o755);
      },
    },
  },
  { name: "hard link to a directory", items: () => [dir("d/"), hard("x", "d")], expect: refused("invalid", /points to directory "d"/) },
  { name: "hard link replacing a directory that contains its target", items: () => [dir("d/"), file("d/f"), hard("d", "d/f")], expect: refused("invalid", /inside itself/) },
  { name: "hard link to a whiteout", items: () => [file(".wh.gone", ""), hard("x", "gone")], expect: refused("invalid", /points to whiteout/) },
  { name: "hard link with PAX linkpath ../..", items: () => [{ name: "h", type: "link", linkname: "../../outside/secret.txt", pax: {} }], expect: refused("breakout", /points outside the layer/) },

  // ---- modes and devices ----
  {
    name: "mode bits are kept exactly: file type bits dropped, setuid/setgid/sticky kept",
    items: () => [file("bin/all", "x", { mode: 0o177777 }), file("bin/su", "x", { mode: 0o104755 }), { name: "tmp/", type: "directory", mode: 0o1777 }],
    expect: {
      ok: async () => {
        expect((await stat(L("bin/all"))).mode & 0o7777).toBe(0o7777);
        expect((await stat(L("bin/su"))).mode & 0o7777).toBe(0o4755);
        expect((await stat(L("tmp"))).mode & 0o7777).toBe(0o1777);
      },
    },
  },
  {
    name: "a replaced file gets exactly the later header's mode",
    items: () => [file("bin/x", "old", { mode: 0o755, uid: 1000 }), file("bin/x", "new", { mode: 0o2711, uid: 1000, gid: 50 })],
    expect: {
      ok: async () => {
        const st = await stat(L("bin/x"));
        expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o2711, 1000, 50]);
        expect(await readFile(L("bin/x"), "utf8")).toBe("new");
      },
    },
  },
  {
    name: "character device is skipped by default",
    items: () => [{ name: "dev/mem", type: "character-device", devmajor: 1, devminor: 1, mode: 0o666 }],
    expect: {
      ok: async (r) => {
        expect(await kindOf(L("dev/mem"))).toBe("missing");
        expect(r.warnings).toEqual([expect.stringMatching(/skipped char device "dev\/mem" \(1:1\)/)]);
      },
    },
  },
  {
    name: "block device is skipped by default",
    items: () => [{ name: "dev/sda", type: "block-device", devmajor: 8, devminor: 0 }],
    expect: {
      ok: async (r) => {
        expect(await kindOf(L("dev/sda"))).toBe("missing");
        expect(r.warnings).toEqual([expect.stringMatching(/skipped block device "dev\/sda" \(8:0\)/)]);
      },
    },
  },
  {
    name: "character device is created when allowed",
    opts: { allowDevices: true },
    items: () => [{ name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 }],
    expect: {
      ok: async () => {
        const st = await stat(L("dev/null"));
        expect(st.isCharacterDevice()).toBe(true);
        expect([Math.floor(st.rdev / 256), st.rdev % 256, st.mode & 0o7777]).toEqual([1, 3, 0o666]);
      },
    },
  },
  {
    name: "FIFOs are fine",
    items: () => [{ name: "run/fifo", type: "fifo", mode: 0o620 }],
    expect: {
      ok: async () => {
        expect(await kindOf(L("run/fifo"))).toBe("fifo");
        expect((await stat(L("run/fifo"))).mode & 0o7777).toBe(0o620);
      },
    },
  },

  // ---- PAX and GNU long names ----
  { name: "PAX path ../x", items: () => [{ name: "../pax-escape", content: "x", pax: {} }], expect: refused("breakout", /"\.\.\/pax-escape" points outside/) },
  {
    name: "PAX path overriding a benign name",
    items: () => [{ name: "benign", content: "x", pax: { path: "../../x" } }],
    expect: refused("breakout", /"\.\.\/\.\.\/x" points outside/),
  },
  { name: "PAX path with a NUL byte", items: () => [{ name: "a\0b", content: "x", pax: {} }], expect: refused("invalid", /NUL/) },
  {
    name: "GNU long name climbing out",
    items: () => [{ raw: gnuLongNameFile(`${"a/".repeat(60)}${"../".repeat(62)}gnu-escape`, "x") }],
    expect: refused("breakout", /points outside the layer/),
  },
  {
    name: "GNU long name inside the layer is fine",
    items: () => [{ raw: gnuLongNameFile(`${"d/".repeat(80)}f`, "deep") }],
    expect: {
      ok: async () => {
        expect(await readFile(L(`${"d/".repeat(80)}f`), "utf8")).toBe("deep");
      },
    },
  },
  { name: "component longer than NAME_MAX", items: () => [{ name: `a/${"x".repeat(256)}`, content: "x", pax: {} }], expect: refused("invalid", /longer than 255 bytes/) },
  { name: "path longer than PATH_MAX", items: () => [{ name: `${`${"d".repeat(200)}/`.repeat(25)}f`, content: "x", pax: {} }], expect: refused("invalid", /too long/) },

  // ---- replacing ----
  {
    name: "file then directory of the same name",
    items: () => [file("x", "file"), dir("x/"), file("x/y", "y")],
    expect: {
      ok: async () => {
        expect(await kindOf(L("x"))).toBe("dir");
        expect(await readFile(L("x/y"), "utf8")).toBe("y");
      },
    },
  },
  {
    name: "directory then file of the same name",
    items: () => [dir("x/"), file("x/inner"), file("x", "file")],
    expect: {
      ok: async () => {
        expect(await kindOf(L("x"))).toBe("file");
        expect(await readFile(L("x"), "utf8")).toBe("file");
      },
    },
  },

  // ---- whiteouts ----
  { name: "whiteout .wh... names ..", items: () => [file(".wh...", "")], expect: refused("invalid", /names no file/) },
  { name: "whiteout d/.wh.. names .", items: () => [file("d/.wh..", "")], expect: refused("invalid", /names no file/) },
  {
    name: ".wh.../../x is cleaned to plain x",
    items: () => [file(".wh.../../x", "plain")],
    expect: {
      ok: async () => {
        expect(await kindOf(L("x"))).toBe("file");
        expect(await kindOf(L(".wh.."))).toBe("missing");
      },
    },
  },
  { name: "whiteout for ../x", items: () => [file("../.wh.x", "")], expect: refused("breakout", /points outside the layer/) },
  { name: "whiteout climbing out from a subdirectory", items: () => [file("sub/../../.wh.secret.txt", "")], expect: refused("breakout", /points outside the layer/) },
  {
    name: "whiteout inside a symlinked directory",
    items: () => [sym("s", "../outside"), file("s/.wh.secret.txt", "")],
    expect: refused("breakout", /through symlink "s"/),
  },
  {
    name: "opaque marker inside a symlinked directory",
    items: () => [sym("s", "../outside"), file("s/.wh..wh..opq", "")],
    expect: refused("breakout", /through symlink "s"/),
  },
  {
    name: "whiteout of a file of the same layer keeps the file",
    items: () => [file("f", "kept"), file(".wh.f", "")],
    expect: {
      ok: async (r) => {
        expect(await readFile(L("f"), "utf8")).toBe("kept");
        expect(r.warnings).toEqual([expect.stringMatching(/whiteout ".wh.f" ignored/)]);
      },
    },
  },
  {
    name: "xattrs that would forge overlay metadata are not applied",
    items: () => [file("f", "x", { pax: { "SCHILY.xattr.trusted.overlay.opaque": "y", "SCHILY.xattr.trusted.overlay.redirect": "/etc" } })],
    expect: {
      ok: async (r) => {
        expect(await getXattr(L("f"), "trusted.overlay.opaque")).toBeUndefined();
        expect(await getXattr(L("f"), "trusted.overlay.redirect")).toBeUndefined();
        expect(r.warnings).toHaveLength(2);
      },
    },
  },

  // ---- names that are not names ----
  {
    name: "a directory entry named . is skipped",
    items: () => [dir("./"), dir(".")],
    expect: {
      ok: async (r) => {
        expect(r.warnings).toEqual([]);
        expect(await describeTree(layer, { dirTimes: false })).toEqual({ ".": "dir 755 0:0" });
      },
    },
  },
  { name: "a file named . would replace the root", items: () => [file(".")], expect: refused("invalid", /would replace the layer root/) },
  { name: "a symlink named ./ would replace the root", items: () => [sym("./", "/")], expect: refused("invalid", /would replace the layer root/) },
  { name: "empty name", items: () => [file("")], expect: refused("invalid", /empty name/) },
];

describe("unpackLayer refuses or neutralizes hostile tars", () => {
  test("there are enough cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  test.each(cases)("$name", async (c) => {
    await rm(layer, { recursive: true, force: true });
    await mkdir(layer, { mode: 0o755 });
    const before = await world();
    const tarball = await buildTar(c.items());
    let result: UnpackResult | undefined;
    let error: unknown;
    try {
      result = await unpackLayer(streamOf(tarball, 1000), layer, c.opts);
    } catch (err) {
      error = err;
    }
    expect(await world()).toEqual(before);
    if ("error" in c.expect) {
      expect(error).toBeInstanceOf(UnpackError);
      expect((error as UnpackError).code).toBe(c.expect.error);
      expect((error as UnpackError).message).toMatch(c.expect.message);
    } else {
      expect(error).toBeUndefined();
      await c.expect.ok(result!);
    }
    // No whiteout template is ever left behind.
    expect(Object.keys(await describeTree(layer)).filter((p) => p.includes("tscompose-whiteout"))).toEqual([]);
  });

  test("the world check notices changes outside the layer", async () => {
    const before = await world();
    const hardlinked = `${layer}/h`;
    await link(`${outside}/secret.txt`, hardlinked); // a new link changes ctime and nlink
    expect(await world()).not.toEqual(before);
    await unlink(hardlinked);
    const again = await world();
    await writeFile(`${canary}/dir/new`, "");
    expect(await world()).not.toEqual(again);
    await unlink(`${canary}/dir/new`);
  });
});
