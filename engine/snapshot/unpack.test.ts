// The unpacker against GNU tar: the same archives extracted by `tar -x` (as
// root, numeric owners, permissions preserved) must give the same trees. For
// whiteouts GNU tar is the reference too: it does not know them, so the test
// applies each layer's whiteouts by hand (delete the named path; empty an
// opaque directory) before extracting that layer without its .wh. entries,
// and compares the result with a real overlay mount of our unpacked layers.
import { createHash } from "node:crypto";
import { chmod, chown, link, lstat, mkdir, readFile, readdir, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isMounted, mountOverlay, unmount } from "./mount.js";
import { buildTar, describeTree, execFileAsync as run, getXattr, kindOf, streamOf, tmpDir, type TarItem } from "./testing.js";
import { unpackLayer, UnpackError } from "./unpack.js";

let base: string;
const mounted: string[] = [];

beforeAll(async () => {
  base = await tmpDir("unpack");
});

afterAll(async () => {
  for (const m of mounted) await unmount(m);
  await rm(base, { recursive: true, force: true });
});

let counter = 0;
async function fresh(label: string): Promise<string> {
  const d = `${base}/${label}-${counter++}`;
  await mkdir(d, { recursive: true });
  return d;
}

const sha256 = (b: Buffer): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const T = (s: string): Date => new Date(s);

/** GNU tar's extraction of `tarball` into a fresh directory: the reference. */
async function gnuExtract(tarball: Buffer, into?: string, extra: string[] = []): Promise<string> {
  const dest = into ?? (await fresh("ref"));
  const file = `${base}/ref-${counter++}.tar`;
  await writeFile(file, tarball);
  await run("tar", ["-x", "--same-owner", "--same-permissions", "--numeric-owner", ...extra, "-f", file, "-C", dest]);
  return dest;
}

describe("unpackLayer", () => {
  const sample: TarItem[] = [
    { name: "etc/", type: "directory", mode: 0o755, mtime: T("2021-01-01T00:00:00Z") },
    { name: "etc/hosts", content: "127.0.0.1 localhost\n", mode: 0o644, mtime: T("2021-02-03T04:05:06Z") },
    { name: "etc/shadow", content: "root:*:1::::::\n", mode: 0o640, uid: 0, gid: 42, mtime: T("2021-02-03T04:05:07Z") },
    { name: "home/user/", type: "directory", mode: 0o750, uid: 1000, gid: 1000, mtime: T("2022-06-01T00:00:00Z") },
    { name: "home/user/.profile", content: "export A=1\n", uid: 1000, gid: 1000, mtime: T("2022-06-01T00:00:01Z") },
    { name: "usr/bin/", type: "directory", mtime: T("2020-05-05T05:05:05Z") },
    { name: "usr/bin/passwd", content: "ELF", mode: 0o4755, mtime: T("2020-05-05T05:05:06Z") },
    { name: "usr/bin/wall", content: "ELF", mode: 0o2755, gid: 5, mtime: T("2020-05-05T05:05:07Z") },
    { name: "usr/bin/hosts-link", type: "link", linkname: "etc/hosts" },
    { name: "usr/bin/sh", type: "symlink", linkname: "/bin/busybox", mtime: T("2019-01-01T00:00:00Z") },
    { name: "usr/bin/rel", type: "symlink", linkname: "../../etc/hosts", uid: 7, gid: 8, mtime: T("2019-01-01T00:00:01Z") },
    { name: "tmp/", type: "directory", mode: 0o1777, mtime: T("2018-01-01T00:00:00Z") },
    { name: "run/fifo", type: "fifo", mode: 0o600, mtime: T("2018-01-01T00:00:01Z") },
    { name: "big", content: Buffer.alloc(300_000, 7), mtime: T("2018-01-01T00:00:02Z") },
    { name: "empty", content: "", mode: 0o600 },
  ];

  /**
   * Parent directories without an entry of their own are created "now", by us
   * as by GNU tar; two unpacks a second apart differ there and nowhere else.
   */
  function maskImplicitMtimes(tree: Record<string, string>): Record<string, string> {
    const recent = Math.floor(Date.now() / 1000) - 3600;
    return Object.fromEntries(
      Object.entries(tree).map(([k, v]) => [k, v.replace(/mtime=(\d+)/, (m, t: string) => (Number(t) > recent && v.startsWith("dir ") ? "mtime=now" : m))]),
    );
  }

  test("plain and gzip layers give the same tree and the diffID of the uncompressed tar", async () => {
    const tarball = await buildTar(sample);
    const plainDir = await fresh("plain");
    const gzDir = await fresh("gz");
    const plain = await unpackLayer(streamOf(tarball), plainDir);
    const gz = await unpackLayer(streamOf(gzipSync(tarball), 333), gzDir);
    expect(plain).toEqual({ diffId: sha256(tarball), size: tarball.length, warnings: [] });
    expect(gz).toEqual(plain);
    // "." is left out: the roots were made by the test, a second apart perhaps.
    const a = maskImplicitMtimes(await describeTree(gzDir));
    const b = maskImplicitMtimes(await describeTree(plainDir));
    delete a["."];
    delete b["."];
    expect(a).toEqual(b);
  });

  test("modes, owners, symlinks, hard links and mtimes match GNU tar", async () => {
    const tarball = await buildTar(sample);
    const ours = await fresh("ours");
    await unpackLayer(streamOf(tarball), ours);
    const ref = await gnuExtract(tarball);
    const tree = maskImplicitMtimes(await describeTree(ours));
    delete tree["."];
    const expected = maskImplicitMtimes(await describeTree(ref));
    delete expected["."];
    expect(tree).toEqual(expected);

    // And the specifics, stated outright.
    expect((await lstat(`${ours}/usr/bin/passwd`)).mode & 0o7777).toBe(0o4755);
    expect((await lstat(`${ours}/usr/bin/hosts-link`)).ino).toBe((await lstat(`${ours}/etc/hosts`)).ino);
    const rel = await lstat(`${ours}/usr/bin/rel`);
    expect([rel.uid, rel.gid, rel.mtime.toISOString()]).toEqual([7, 8, "2019-01-01T00:00:01.000Z"]);
    // Directory times are applied after their contents were written.
    expect((await lstat(`${ours}/home/user`)).mtime.toISOString()).toBe("2022-06-01T00:00:00.000Z");
    expect((await lstat(`${ours}/etc/shadow`)).gid).toBe(42);
  });

  test("a tree archived by GNU tar comes back identical (with user xattrs)", async () => {
    const src = await fresh("src");
    await mkdir(`${src}/a/b/c`, { recursive: true });
    await writeFile(`${src}/a/file`, "hello\n");
    await writeFile(`${src}/a/b/setuid`, "x");
    await chown(`${src}/a/b/setuid`, 0, 0);
    await chmod(`${src}/a/b/setuid`, 0o4711);
    await writeFile(`${src}/a/b/c/owned`, "o");
    await chown(`${src}/a/b/c/owned`, 1234, 5678);
    await link(`${src}/a/file`, `${src}/a/b/hard`);
    await symlink("../file", `${src}/a/b/sym`);
    await symlink("/nonexistent/abs", `${src}/a/abs`);
    await run("mkfifo", [`${src}/a/fifo`]);
    await writeFile(`${src}/a/xattr`, "x");
    await run("setfattr", ["-n", "user.note", "-v", "hello", `${src}/a/xattr`]);
    await utimes(`${src}/a/b/c`, 1_000_000_000, 1_000_000_000);
    const tarFile = `${base}/gnu-${counter++}.tar`;
    await run("tar", ["--xattrs", "--xattrs-include=user.*", "--numeric-owner", "-C", src, "-cf", tarFile, "."]);
    const tarball = await readFile(tarFile);
    const dest = await fresh("dest");
    const result = await unpackLayer(Readable.from([tarball]), dest);
    expect(result.diffId).toBe(sha256(tarball));
    expect(result.size).toBe(tarball.length); // GNU tar pads to 10240-byte records: all hashed
    const want = await describeTree(src);
    const got = await describeTree(dest);
    delete want["."];
    delete got["."];
    expect(got).toEqual(want);
    expect(await getXattr(`${dest}/a/xattr`, "user.note")).toBe("hello");
  });

  test("binary xattr values tar-stream cannot carry are skipped with a warning", async () => {
    const dest = await fresh("xattr");
    const r = await unpackLayer(streamOf(await buildTar([{ name: "f", content: "x", pax: { "SCHILY.xattr.user.bin": "\uFFFD\u0001", "SCHILY.xattr.user.ok": "fine" } }])), dest);
    expect(r.warnings).toEqual([expect.stringMatching(/skipped xattr user.bin .*binary value/)]);
    expect(await getXattr(`${dest}/f`, "user.ok")).toBe("fine");
    expect(await getXattr(`${dest}/f`, "user.bin")).toBeUndefined();
  });

  test("libarchive's base64 xattrs are binary safe", async () => {
    const dest = await fresh("xattr64");
    const value = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0x80]);
    await unpackLayer(streamOf(await buildTar([{ name: "f", content: "x", pax: { "LIBARCHIVE.xattr.user.bin": value.toString("base64") } }])), dest);
    const { stdout } = await run("getfattr", ["-h", "-e", "hex", "-n", "user.bin", "--absolute-names", `${dest}/f`]);
    expect(stdout).toContain(`user.bin=0x${value.toString("hex")}`);
  });

  test("whiteouts are hard links to one 0/0 character device; no template is left", async () => {
    const dest = await fresh("wh");
    const items: TarItem[] = [{ name: "d/", type: "directory" }];
    for (let i = 0; i < 50; i++) items.push({ name: `d/.wh.f${i}`, content: "" });
    await unpackLayer(streamOf(await buildTar(items)), dest);
    const names = await readdir(`${dest}/d`);
    expect(names.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `f${i}`).sort());
    const st = await lstat(`${dest}/d/f0`);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
    expect(st.nlink).toBe(50);
    expect(await readdir(dest)).toEqual(["d"]);
  });

  test("opaque markers set trusted.overlay.opaque=y and are not files", async () => {
    const dest = await fresh("opq");
    await unpackLayer(streamOf(await buildTar([{ name: "o/.wh..wh..opq", content: "" }, { name: "o/new", content: "n" }, { name: ".wh..wh.plnk/x", content: "" }])), dest);
    expect(await getXattr(`${dest}/o`, "trusted.overlay.opaque")).toBe("y");
    expect((await readdir(`${dest}/o`)).sort()).toEqual(["new"]);
  });

  test("whiteouts and opaque directories: a real overlay of our layers equals GNU tar + hand-applied deletions", async () => {
    const layers: TarItem[][] = [
      [
        { name: "etc/", type: "directory", mtime: T("2020-01-01T00:00:00Z") },
        { name: "etc/a", content: "a0", mtime: T("2020-01-01T00:00:01Z") },
        { name: "etc/b", content: "b0", mtime: T("2020-01-01T00:00:02Z") },
        { name: "opq/", type: "directory", mode: 0o750, mtime: T("2020-01-01T00:00:03Z") },
        { name: "opq/x", content: "x0" },
        { name: "opq/sub/", type: "directory" },
        { name: "opq/sub/y", content: "y0" },
        { name: "keep/", type: "directory", mtime: T("2020-01-01T00:00:04Z") },
        { name: "keep/z", content: "z0", uid: 33, gid: 33 },
        { name: "gone/", type: "directory" },
        { name: "gone/f", content: "f0" },
        { name: "ln", type: "symlink", linkname: "etc/b" },
      ],
      [
        { name: "etc/", type: "directory", mtime: T("2021-01-01T00:00:00Z") },
        { name: "etc/.wh.a", content: "" },
        { name: "etc/c", content: "c1" },
        { name: "opq/", type: "directory", mode: 0o755, mtime: T("2021-01-01T00:00:01Z") },
        { name: "opq/.wh..wh..opq", content: "" },
        { name: "opq/new", content: "new1" },
        { name: ".wh.gone", content: "" },
        { name: "keep/", type: "directory", mtime: T("2020-01-01T00:00:04Z") },
        { name: "keep/z", content: "z1 changed", uid: 33, gid: 33, mode: 0o600 },
        { name: ".wh.ln", content: "" },
      ],
      [
        { name: "etc/", type: "directory", mtime: T("2022-01-01T00:00:00Z") },
        { name: "etc/a", content: "a2 back", mtime: T("2022-01-01T00:00:01Z") },
        { name: "gone", content: "a file now" },
        { name: "etc/.wh.b", content: "" },
      ],
    ];
    const tarballs = await Promise.all(layers.map((l) => buildTar(l)));

    // Ours: unpack each layer into its own directory, mount them as overlay lowers.
    const dirs: string[] = [];
    for (const t of tarballs) {
      const d = await fresh("layer");
      await unpackLayer(streamOf(gzipSync(t)), d);
      dirs.push(d);
    }
    const upper = await fresh("upper");
    const work = await fresh("work");
    const merged = await fresh("merged");
    await mountOverlay({ type: "overlay", source: "overlay", options: [`lowerdir=${[...dirs].reverse().join(":")}`, `upperdir=${upper}`, `workdir=${work}`] }, merged);
    mounted.push(merged);
    expect(await isMounted(merged)).toBe(true);

    // Reference: GNU tar, applying whiteouts by hand before each layer.
    const ref = await fresh("ref");
    for (const [i, t] of tarballs.entries()) {
      for (const item of layers[i]!) {
        if ("raw" in item) continue;
        const slash = item.name.lastIndexOf("/");
        const dir = slash < 0 ? "" : item.name.slice(0, slash + 1);
        const name = item.name.slice(slash + 1);
        if (name === ".wh..wh..opq") {
          for (const child of await readdir(`${ref}/${dir}`)) await rm(`${ref}/${dir}${child}`, { recursive: true, force: true });
        } else if (name.startsWith(".wh.")) {
          await rm(`${ref}/${dir}${name.slice(4)}`, { recursive: true, force: true });
        }
      }
      await gnuExtract(t, ref, ["--exclude=.wh.*"]);
    }

    const got = await describeTree(merged);
    const want = await describeTree(ref);
    delete got["."];
    delete want["."];
    expect(got).toEqual(want);
    // Spelled out, so a wrong reference cannot hide a wrong result.
    expect(Object.keys(got).sort()).toEqual(["etc", "etc/a", "etc/c", "gone", "keep", "keep/z", "opq", "opq/new"]);
    expect(await readFile(`${merged}/etc/a`, "utf8")).toBe("a2 back");
    expect(await kindOf(`${dirs[1]}/etc/a`)).toBe("char");
  });

  test("zstd layers fail clearly", async () => {
    const zstd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
    const err = await unpackLayer(streamOf(zstd), await fresh("zstd")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnpackError);
    expect((err as UnpackError).code).toBe("unsupported");
    expect((err as UnpackError).message).toMatch(/^zstd layers are not supported yet/);
  });

  test.each([
    ["bzip2", Buffer.from("BZh91AY&SY")],
    ["xz", Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00])],
  ])("%s layers are refused", async (kind, data) => {
    await expect(unpackLayer(streamOf(data), await fresh(kind))).rejects.toMatchObject({ code: "unsupported", message: expect.stringContaining(kind) });
  });

  test("corrupt input: bad checksum, truncated tar, broken gzip", async () => {
    const good = await buildTar([{ name: "f", content: "x".repeat(2000) }]);
    const badSum = Buffer.from(good);
    badSum[0] = 0x41;
    const truncated = good.subarray(0, 1024);
    const badGzip = gzipSync(good).subarray(0, 40);
    for (const data of [badSum, truncated, badGzip]) {
      await expect(unpackLayer(streamOf(data), await fresh("corrupt"))).rejects.toMatchObject({ name: "UnpackError", code: "corrupt" });
    }
  });

  test("an empty stream is an empty layer", async () => {
    const r = await unpackLayer(Readable.from([]), await fresh("empty"));
    expect(r).toEqual({ diffId: sha256(Buffer.alloc(0)), size: 0, warnings: [] });
  });

  test("an error of the input stream is passed through as it is", async () => {
    const boom = new Error("registry went away");
    const tarball = await buildTar([{ name: "f", content: Buffer.alloc(100_000) }]);
    async function* failing(): AsyncGenerator<Buffer> {
      yield tarball.subarray(0, 20_000);
      await new Promise((r) => setImmediate(r));
      throw boom;
    }
    await expect(unpackLayer(Readable.from(failing()), await fresh("fail"))).rejects.toBe(boom);
  });
});
