// Helpers for the snapshot tests (in the spirit of containerd's fstest):
// building tar layers entry by entry, including malformed ones tar-stream's
// packer refuses to write, and describing directory trees to compare them.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdtemp, readdir, readFile, readlink } from "node:fs/promises";
import * as os from "node:os";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { createGzip } from "node:zlib";
import * as tar from "tar-stream";

const run = promisify(execFile);

export interface TarEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device" | "fifo";
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra PAX records; giving any (even {}) makes tar-stream write the name as a PAX path. */
  pax?: Record<string, string>;
}

/** A tar item: an entry packed by tar-stream, or raw 512-byte blocks written as they are. */
export type TarItem = TarEntry | { raw: Buffer };

const EPOCH = new Date("2020-01-02T03:04:05Z");

/** Packs items into an uncompressed tar (with the two zero blocks at the end). */
export async function buildTar(items: readonly TarItem[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const item of items) {
    if ("raw" in item) parts.push(item.raw);
    else parts.push((await packOne(item)).subarray(0, -1024)); // strip the end-of-archive blocks
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

async function packOne(e: TarEntry): Promise<Buffer> {
  const pack = tar.pack();
  const content = e.content === undefined ? undefined : Buffer.from(e.content);
  const type = e.type ?? "file";
  pack.entry(
    {
      name: e.name,
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? EPOCH,
      size: content?.length ?? 0,
      ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
      ...(e.devmajor === undefined ? {} : { devmajor: e.devmajor, devminor: e.devminor ?? 0 }),
      ...(e.pax === undefined ? {} : { pax: e.pax }),
    },
    content ?? Buffer.alloc(0),
  );
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** One raw ustar/GNU header block; `typeflag` is the single character of the tar spec ("0", "L", "x" ...). */
export function rawHeader(h: { name: string; typeflag: string; size?: number; mode?: number; linkname?: string; gnu?: boolean }): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 100, "latin1");
  b.write(`${(h.mode ?? 0o644).toString(8).padStart(7, "0")}\0`, 100);
  b.write("0000000\0", 108);
  b.write("0000000\0", 116);
  b.write(`${(h.size ?? 0).toString(8).padStart(11, "0")}\0`, 124);
  b.write(`${Math.floor(EPOCH.getTime() / 1000).toString(8).padStart(11, "0")}\0`, 136);
  b.write(h.typeflag, 156, 1, "latin1");
  if (h.linkname !== undefined) b.write(h.linkname, 157, 100, "latin1");
  if (h.gnu === true) b.write("ustar  \0", 257, "latin1");
  else b.write("ustar\u000000", 257, "latin1");
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return b;
}

/** Data blocks: `data` padded to a multiple of 512. */
export function blocks(data: Buffer): Buffer {
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  data.copy(padded);
  return padded;
}

/** A GNU long-name entry (typeflag L, "././@LongLink") followed by a regular file header with a truncated name. */
export function gnuLongNameFile(name: string, content = ""): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const body = Buffer.from(content);
  return Buffer.concat([
    rawHeader({ name: "././@LongLink", typeflag: "L", size: nameBytes.length, gnu: true }),
    blocks(nameBytes),
    rawHeader({ name: name.slice(0, 99), typeflag: "0", size: body.length, gnu: true }),
    blocks(body),
  ]);
}

/**
 * A gzip bomb: a gzipped tar whose one file ("bomb") is `size` zero bytes
 * (plus `extra` small files), about a thousandth of its size compressed.
 * Built by streaming, so a 1 GiB bomb never sits in memory uncompressed.
 */
export async function gzipBomb(size: number, extra: readonly TarItem[] = []): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on("data", (c: Buffer) => out.push(c));
  const ended = new Promise((resolve, reject) => gzip.on("end", resolve).on("error", reject));
  const write = async (b: Buffer): Promise<void> => {
    if (!gzip.write(b)) await new Promise((resolve) => gzip.once("drain", resolve));
  };
  const head = await buildTar(extra);
  await write(head.subarray(0, -1024));
  await write(rawHeader({ name: "bomb", typeflag: "0", size }));
  const zeros = Buffer.alloc(1 << 20);
  for (let left = size; left > 0; left -= zeros.length) await write(left >= zeros.length ? zeros : zeros.subarray(0, left));
  await write(Buffer.alloc((512 - (size % 512)) % 512 + 1024));
  gzip.end();
  await ended;
  return Buffer.concat(out);
}

export function streamOf(data: Buffer, chunkSize = 7_000): Readable {
  // Uneven chunks, so header parsing and magic sniffing see split buffers.
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) chunks.push(data.subarray(i, i + chunkSize));
  return Readable.from(chunks, { objectMode: false });
}

export function tmpDir(label: string): Promise<string> {
  return mkdtemp(`${os.tmpdir()}/tscompose-test-${label}-`);
}

export type Kind = "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket" | "missing";

export async function kindOf(p: string): Promise<Kind> {
  try {
    const st = await lstat(p);
    if (st.isFile()) return "file";
    if (st.isDirectory()) return "dir";
    if (st.isSymbolicLink()) return "symlink";
    if (st.isCharacterDevice()) return "char";
    if (st.isBlockDevice()) return "block";
    if (st.isFIFO()) return "fifo";
    return "socket";
  } catch {
    return "missing";
  }
}

export interface TreeOptions {
  /** Absolute paths whose subtrees are left out. */
  exclude?: string[];
  /** Include mtimes of directories (overlay merged dirs report the upper's). Default true. */
  dirTimes?: boolean;
  /** Include ctime and inode numbers: detects chmod/chown/link on existing files. Default false. */
  ctime?: boolean;
}

/**
 * Describes every entry under `root` (relative path -> type, mode, owner,
 * size, mtime, content hash or link target, device numbers), for before/after
 * and tree-to-tree comparisons.
 */
export async function describeTree(root: string, opts: TreeOptions = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const exclude = new Set(opts.exclude ?? []);
  const walk = async (abs: string, rel: string): Promise<void> => {
    if (exclude.has(abs)) return;
    out[rel === "" ? "." : rel] = await describe(abs, opts);
    const st = await lstat(abs);
    if (!st.isDirectory()) return;
    for (const name of (await readdir(abs)).sort()) await walk(`${abs}/${name}`, rel === "" ? name : `${rel}/${name}`);
  };
  await walk(root, "");
  return out;
}

export async function describe(abs: string, opts: TreeOptions = {}): Promise<string> {
  const st = await lstat(abs);
  const kind = await kindOf(abs);
  const parts = [kind, (st.mode & 0o7777).toString(8), `${st.uid}:${st.gid}`];
  if (kind !== "dir" || opts.dirTimes !== false) parts.push(`mtime=${Math.floor(st.mtimeMs / 1000)}`);
  if (kind === "file") parts.push(`size=${st.size}`, createHash("sha256").update(await readFile(abs)).digest("hex").slice(0, 16));
  if (kind === "symlink") parts.push(`-> ${await readlink(abs)}`);
  if (kind === "char" || kind === "block") parts.push(`rdev=${Math.floor(st.rdev / 256)}:${st.rdev % 256}`);
  if (opts.ctime === true) parts.push(`ctime=${st.ctimeMs}`, `ino=${st.ino}`, `nlink=${st.nlink}`);
  return parts.join(" ");
}

/** All xattrs under the roots (getfattr dump, symlinks not followed), for before/after checks. */
export async function xattrDump(...roots: string[]): Promise<string> {
  const { stdout } = await run("getfattr", ["-R", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", ...roots]);
  return stdout;
}

export async function getXattr(p: string, name: string): Promise<string | undefined> {
  try {
    const { stdout } = await run("getfattr", ["-h", "--only-values", "-n", name, "--absolute-names", p]);
    return stdout;
  } catch {
    return undefined;
  }
}

export { run as execFileAsync };
