// The upper-dir differ against two independent readers: GNU tar lists the
// entries (names, types, owners, modes, link targets, PAX xattrs as GNU tar
// decodes them), and our unpacker (unpack.ts, written for hostile layers, not
// for this code) must rebuild the very same upper directory from the tar.
import { createHash } from "node:crypto";
import { chmod, chown, link, mkdir, rename, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { diffUpperDir, DiffError, paxRecords } from "./diff.js";
import { describeTree, execFileAsync as run, getXattr, tmpDir } from "./testing.js";
import { unpackLayer } from "./unpack.js";

let base: string;
let counter = 0;
const servers: Server[] = [];

beforeAll(async () => {
  base = await tmpDir("diff");
});

afterAll(async () => {
  for (const s of servers) s.close();
  await rm(base, { recursive: true, force: true });
});

async function fresh(label: string): Promise<string> {
  const d = `${base}/${label}-${counter++}`;
  await mkdir(d, { recursive: true });
  return d;
}

async function diffBytes(upper: string): Promise<{ tar: Buffer; warnings: string[] }> {
  const { tar, done } = diffUpperDir(upper);
  const chunks: Buffer[] = [];
  for await (const c of tar) chunks.push(c as Buffer);
  const summary = await done;
  return { tar: Buffer.concat(chunks), warnings: summary.warnings };
}

async function gnuList(tarball: Buffer): Promise<string[]> {
  const file = `${base}/list-${counter++}.tar`;
  await writeFile(file, tarball);
  const { stdout } = await run("tar", ["--numeric-owner", "--xattrs", "--xattrs-include=*", "-tvvf", file]);
  return stdout.trim().split("\n");
}

const T = new Date("2023-04-05T06:07:08Z");
// VFS_CAP_REVISION_2, permitted+effective cap_setuid (bit 7): 0x80 is not valid UTF-8 on its own.
const CAP = Buffer.from("0100000280000000800000000000000000000000", "hex");

/** An upper dir as overlayfs leaves it after a container changed its image. */
async function sampleUpper(): Promise<string> {
  const u = await fresh("upper");
  await mkdir(`${u}/etc`);
  await writeFile(`${u}/etc/hosts`, "modified\n");
  await chmod(`${u}/etc/hosts`, 0o640);
  await chown(`${u}/etc/hosts`, 0, 42);
  await run("mknod", [`${u}/etc/motd`, "c", "0", "0"]); // deleted from the image
  await mkdir(`${u}/opt/app`, { recursive: true }); // a directory replaced by a new one
  await run("setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", `${u}/opt/app`]);
  await writeFile(`${u}/opt/app/new`, "new\n");
  await writeFile(`${u}/opt/app/empty`, "");
  await writeFile(`${u}/opt/a`, "linked\n");
  await link(`${u}/opt/a`, `${u}/opt/b`);
  await symlink("/etc/shadow", `${u}/opt/abs-out`);
  await symlink("../../../../../etc/shadow", `${u}/opt/rel-out`);
  await writeFile(`${u}/opt/ping`, "ELF");
  await run("setfattr", ["-n", "security.capability", "-v", `0x${CAP.toString("hex")}`, `${u}/opt/ping`]);
  await run("setfattr", ["-n", "user.note", "-v", "kept", `${u}/opt/ping`]);
  await run("mkfifo", [`${u}/opt/fifo`]);
  await mkdir(`${u}/home/user`, { recursive: true, mode: 0o750 });
  await chown(`${u}/home/user`, 1000, 1000);
  for (const p of ["etc/hosts", "opt/app/new", "opt/app/empty", "opt/a", "opt/ping", "opt/fifo"]) await utimes(`${u}/${p}`, T, T);
  for (const p of ["etc", "opt/app", "opt", "home/user", "home"]) await utimes(`${u}/${p}`, T, T);
  return u;
}

describe("diffUpperDir", () => {
  test("writes docker's layer notation, sorted, with owners, modes, links and xattrs", async () => {
    const u = await sampleUpper();
    const { tar } = await diffBytes(u);
    const lines = await gnuList(tar);
    const entries = lines.filter((l) => !l.startsWith("  x:"));
    // GNU tar's -tv: type+mode, owner, size, date, time, name (-> link)
    const summary = entries.map((l) => {
      const f = l.split(/\s+/);
      return `${f[0]} ${f[1]} ${f.slice(5).join(" ")}`;
    });
    expect(summary).toEqual([
      "drwxr-xr-x 0/0 etc/",
      "-rw-r----- 0/42 etc/hosts",
      "-rw------- 0/0 etc/.wh.motd",
      "drwxr-x--- 0/0 home/",
      "drwxr-x--- 1000/1000 home/user/",
      "drwxr-xr-x 0/0 opt/",
      "-rw-r--r-- 0/0 opt/a",
      "lrwxrwxrwx 0/0 opt/abs-out -> /etc/shadow",
      "drwxr-xr-x 0/0 opt/app/",
      "-rwxr-xr-x 0/0 opt/app/.wh..wh..opq",
      "-rw-r--r-- 0/0 opt/app/empty",
      "-rw-r--r-- 0/0 opt/app/new",
      "hrw-r--r-- 0/0 opt/b link to opt/a",
      "prw-r--r-- 0/0 opt/fifo",
      "-rw-r--r--* 0/0 opt/ping", // "*": it has xattrs
      "lrwxrwxrwx 0/0 opt/rel-out -> ../../../../../etc/shadow",
    ]);
    expect(lines.join("\n")).toContain(`x: 20 security.capability`);
    expect(lines.join("\n")).toContain(`x: 4 user.note`);
    // The whiteout's position is its original name's ("motd" sorts after "hosts").
    expect(entries.findIndex((l) => l.includes("etc/.wh.motd"))).toBeGreaterThan(entries.findIndex((l) => l.includes("etc/hosts")));
  });

  test("our unpacker rebuilds the same upper dir from it (whiteouts, opaque dir, links, binary capability)", async () => {
    const u = await sampleUpper();
    const { tar } = await diffBytes(u);
    const back = await fresh("back");
    const result = await unpackLayer(Readable.from([tar]), back, { allowDevices: false });
    expect(result.diffId).toBe(`sha256:${createHash("sha256").update(tar).digest("hex")}`);
    // Overlay reads any 0/0 character device as a whiteout: its mode and time mean nothing.
    const tree = async (d: string): Promise<Record<string, string>> => {
      const t = await describeTree(d);
      delete t["."];
      for (const [k, v] of Object.entries(t)) if (v.startsWith("char ") && v.endsWith("rdev=0:0")) t[k] = "whiteout";
      return t;
    };
    const before = await tree(u);
    const after = await tree(back);
    expect(before["etc/motd"]).toBe("whiteout");
    expect(after).toEqual(before);
    expect(await getXattr(`${back}/opt/app`, "trusted.overlay.opaque")).toBe("y");
    expect(await getXattr(`${back}/opt`, "trusted.overlay.opaque")).toBeUndefined();
    expect(await getXattr(`${back}/opt/ping`, "user.note")).toBe("kept");
    // 0x80 is not UTF-8, which tar-stream (under unpack.ts) decodes PAX values as: the LIBARCHIVE base64 record carries it.
    const { stdout } = await run("getfattr", ["-h", "-n", "security.capability", "-e", "hex", "--absolute-names", `${back}/opt/ping`]);
    expect(stdout).toContain(`security.capability=0x${CAP.toString("hex")}`);
    expect(result.warnings).toEqual([]);
  });

  test("GNU tar restores the binary capability byte for byte", async () => {
    const u = await sampleUpper();
    const { tar } = await diffBytes(u);
    const file = `${base}/cap-${counter++}.tar`;
    await writeFile(file, tar);
    const dest = await fresh("gnu");
    await run("tar", ["--xattrs", "--xattrs-include=*", "-xf", file, "-C", dest, "opt/ping"]);
    const { stdout } = await run("getfattr", ["-h", "-n", "security.capability", "-e", "hex", "--absolute-names", `${dest}/opt/ping`]);
    expect(stdout).toContain(`security.capability=0x${CAP.toString("hex")}`);
  });

  test("the same changes give the same bytes; a change gives others", async () => {
    const u = await sampleUpper();
    const a = await diffBytes(u);
    const b = await diffBytes(u);
    expect(b.tar.equals(a.tar)).toBe(true);
    await writeFile(`${u}/etc/new`, "x");
    await utimes(`${u}/etc/new`, T, T);
    await utimes(`${u}/etc`, T, T);
    expect((await diffBytes(u)).tar.equals(a.tar)).toBe(false);
  });

  test("overlay bookkeeping xattrs stay out of the layer", async () => {
    const u = await fresh("origin");
    await writeFile(`${u}/f`, "x");
    await run("setfattr", ["-n", "trusted.overlay.origin", "-v", "0x00fb", `${u}/f`]);
    const lines = await gnuList((await diffBytes(u)).tar);
    expect(lines.join("\n")).toContain("f");
    expect(lines.join("\n")).not.toContain("overlay");
  });

  test("long names with xattrs keep their full path", async () => {
    const u = await fresh("long");
    const dir = `${"d".repeat(120)}/${"e".repeat(90)}`;
    await mkdir(`${u}/${dir}`, { recursive: true });
    await writeFile(`${u}/${dir}/file`, "x");
    await run("setfattr", ["-n", "user.k", "-v", "v", `${u}/${dir}/file`]);
    const lines = await gnuList((await diffBytes(u)).tar);
    expect(lines.some((l) => l.endsWith(`${dir}/file`))).toBe(true);
  });

  test("the engine's empty mount points are left out; the same names with content are not", async () => {
    const u = await fresh("mounts");
    await mkdir(`${u}/etc`);
    await writeFile(`${u}/etc/hosts`, "");
    await writeFile(`${u}/etc/hostname`, "written\n");
    await writeFile(`${u}/etc/other`, "");
    const { tar, done } = diffUpperDir(u, { mountPoints: ["etc/hosts", "etc/hostname"] });
    const chunks: Buffer[] = [];
    for await (const c of tar) chunks.push(c as Buffer);
    await done;
    const names = (await gnuList(Buffer.concat(chunks))).map((l) => l.split(/\s+/).at(-1));
    expect(names).toEqual(["etc/", "etc/hostname", "etc/other"]);
  });

  test("a socket is skipped with a warning, as docker does", async () => {
    const u = await fresh("sock");
    await writeFile(`${u}/keep`, "x");
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(`${u}/app.sock`, resolve));
    const { tar, warnings } = await diffBytes(u);
    const lines = await gnuList(tar);
    expect(lines.some((l) => l.endsWith(" keep"))).toBe(true); // positive control
    expect(lines.some((l) => l.includes("app.sock"))).toBe(false);
    expect(warnings).toEqual(["skipped socket app.sock: a layer tar cannot hold sockets"]);
  });

  test("a file named like a whiteout is refused, naming it", async () => {
    const u = await fresh("fakewh");
    await mkdir(`${u}/etc`);
    await writeFile(`${u}/etc/.wh.passwd`, "");
    const { tar, done } = diffUpperDir(u);
    tar.resume();
    const err = await done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DiffError);
    expect((err as DiffError).message).toMatch(/^etc\/\.wh\.passwd: a file whose name starts with "\.wh\."/);
    expect((err as DiffError).kind).toBe("invalid");
  });

  test("a parent directory swapped for a link to a host directory mid-walk: refused, no host byte in the layer", async () => {
    const u = await fresh("swap");
    const host = await fresh("host");
    await writeFile(`${host}/b-secret`, "HOST-SECRET\n");
    await mkdir(`${u}/d`);
    // A first file big enough that the walk is still writing it when the reader holds back.
    await writeFile(`${u}/d/a-big`, Buffer.alloc(4 << 20, 0x61));
    await writeFile(`${u}/d/b-secret`, "container\n");
    const { tar, done } = diffUpperDir(u);
    done.catch(() => undefined);
    const chunks: Buffer[] = [];
    let swapped = false;
    const streamed = (async () => {
      for await (const c of tar) {
        chunks.push(c as Buffer);
        if (!swapped && Buffer.concat(chunks).includes("aaaaaaaa")) {
          // What a running container can do to its own upper dir between the walk's readdir and its open.
          await rename(`${u}/d`, `${u}/d-old`);
          await symlink(host, `${u}/d`);
          swapped = true;
        }
      }
    })();
    await streamed.catch(() => undefined); // the tar stream ends with the walk's error
    expect(swapped).toBe(true);
    await expect(done).rejects.toThrow(/^d\/b-secret left the container's upper directory/);
    expect(Buffer.concat(chunks).includes("HOST-SECRET")).toBe(false);
  });

  test("a missing upper dir is a clear error", async () => {
    const { tar, done } = diffUpperDir(`${base}/nope`);
    tar.resume();
    await expect(done).rejects.toThrow(/upper directory .*nope/);
  });
});

describe("paxRecords", () => {
  test("each record's length counts its own digits", () => {
    // "9 a=bcd\n" is 8 bytes, so the length field must grow to two digits: "10 a=bcdef\n" is 11 ...
    for (const v of ["", "x", "bcd", "y".repeat(85), "z".repeat(990)]) {
      const rec = paxRecords([["a", Buffer.from(v)]]);
      const len = Number(rec.toString().split(" ")[0]);
      expect(len).toBe(rec.length);
    }
  });
});
