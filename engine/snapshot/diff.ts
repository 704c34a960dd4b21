// A container's overlay upper directory -> an OCI layer tar: the other half of
// unpack.ts, for `commit` and for each step of a build. The upper dir holds
// exactly what changed over the image's layers, in overlayfs's own notation,
// which becomes the tar notation docker writes (pkg/archive, overlay2 Diff):
//   - a whiteout (a 0/0 character device)      -> an empty file `.wh.NAME`
//   - an opaque directory (trusted.overlay.opaque=y, or user.overlay.opaque
//     when mounted with userxattr)             -> the directory, then `DIR/.wh..wh..opq`
//   - files with several names in the layer    -> one file, then tar hard links to it
//   - security.capability and user.* xattrs    -> PAX records SCHILY.xattr.NAME (raw bytes;
//                                                 binary ones also as LIBARCHIVE.xattr.NAME, base64)
// Owners, permission bits and mtimes (whole seconds, as docker truncates them)
// are kept. Entries are sorted by name bytes within each directory, a
// directory before its contents, so the same changes give the same tar and
// hence the same diffID.
//
// Symlinks are written as links and never followed; the walk never leaves the
// upper dir. Sockets cannot be carried by a tar and are skipped with a warning,
// as docker does (a running server's socket is common in a committed container).
// A file named `.wh.*` made inside the container is refused: in a layer it
// would read as a whiteout and silently hide a file instead.
import { closeSync, constants, createReadStream, fstatSync, openSync, readlinkSync, type Stats } from "node:fs";
import { lstat, readdir, readlink, realpath } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { kindOf, type ErrorKind, type KindedError } from "../errors.js";
import { CommandNotFoundError, run } from "../sys/exec.js";

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE = ".wh..wh..opq";
const OPAQUE_XATTRS = ["trusted.overlay.opaque", "user.overlay.opaque"];
/** Overlay features that record a change the tar cannot express (a renamed directory, a metadata-only copy-up). Our mounts never enable them. */
const UNSUPPORTED_OVERLAY_XATTRS = ["redirect", "metacopy"].flatMap((x) => [`trusted.overlay.${x}`, `user.overlay.${x}`]);
/** ustar's name field; longer names need a PAX path record. */
const USTAR_NAME_MAX = 100;

export class DiffError extends Error implements KindedError {
  readonly kind: ErrorKind;
  constructor(
    message: string,
    options?: { cause?: unknown; path?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DiffError";
    this.path = options?.path;
    // What the container left that a layer cannot hold is the user's to fix; the rest is what the OS said.
    this.kind = options?.cause === undefined ? "invalid" : kindOf(options.cause);
  }

  /** The path in the layer (relative, "/"-separated) that caused it, if any. */
  readonly path: string | undefined;
}

export interface DiffOptions {
  /** Called for every entry skipped (sockets), besides collecting it in the summary. */
  onWarning?: (message: string) => void;
  /**
   * Layer paths ("etc/hosts") left out when they are empty regular files:
   * the mount points runc made in the upper dir for the engine's own bind
   * mounts. Docker keeps those in an init layer below the container's, so
   * they never reach a commit.
   */
  mountPoints?: readonly string[];
}

export interface DiffSummary {
  /** Tar entries written (the opaque markers and whiteouts included). */
  entries: number;
  warnings: string[];
}

export interface LayerDiff {
  /** The uncompressed layer tar; read it to drive the walk. */
  tar: Readable;
  /** Settles once the last entry is written (rejects with the walk's error, which also destroys `tar`). */
  done: Promise<DiffSummary>;
}

/**
 * Starts writing the tar of `upperDir`'s changes. The caller consumes `tar`
 * (hash, compress, store) and awaits `done`. The directory must not change
 * meanwhile (a container is paused or stopped): a file that changes size
 * while read fails the diff.
 */
export function diffUpperDir(upperDir: string, opts: DiffOptions = {}): LayerDiff {
  const pack = tar.pack();
  // The walk's error reaches the caller through `done` and their pipeline; without a listener of
  // our own, destroying an unconsumed pack would be an uncaught exception.
  pack.on("error", () => undefined);
  const done = (async (): Promise<DiffSummary> => {
    const walker = new DiffWalker(pack, opts);
    try {
      await walker.walk(upperDir);
      pack.finalize();
      return { entries: walker.entries, warnings: walker.warnings };
    } catch (err) {
      pack.destroy(err as Error);
      throw err;
    }
  })();
  // Observed by the caller; this keeps a rejection before they await from counting as unhandled.
  done.catch(() => undefined);
  return { tar: pack as unknown as Readable, done };
}

type Xattrs = Map<string, Buffer>;
type Entry = Partial<tar.Header> & Pick<tar.Header, "name">;

class DiffWalker {
  readonly warnings: string[] = [];
  entries = 0;
  private root = "";
  private xattrs = new Map<string, Xattrs>();
  private readonly mountPoints: Set<string>;
  /** dev:ino of files with several names -> the layer path written first. */
  private readonly links = new Map<string, string>();

  constructor(
    private readonly pack: tar.Pack,
    private readonly opts: DiffOptions,
  ) {
    this.mountPoints = new Set(opts.mountPoints ?? []);
  }

  async walk(upperDir: string): Promise<void> {
    try {
      this.root = await realpath(upperDir);
      if (!(await lstat(this.root)).isDirectory()) throw new Error("not a directory");
    } catch (err) {
      throw new DiffError(`upper directory ${upperDir}: ${(err as Error).message}`, { cause: err });
    }
    this.xattrs = await readAllXattrs(this.root);
    await this.directoryContents("");
  }

  private async directoryContents(rel: string): Promise<void> {
    const abs = this.abs(rel);
    let names: string[];
    try {
      names = await readdir(abs);
    } catch (err) {
      throw new DiffError(`${rel || "/"}: ${(err as Error).message}`, { cause: err, path: rel });
    }
    // Name bytes, as Go's sort of a directory listing (docker), not UTF-16 code units.
    names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) await this.entry(rel === "" ? name : `${rel}/${name}`, name);
  }

  private async entry(rel: string, base: string): Promise<void> {
    const abs = this.abs(rel);
    let st: Stats;
    try {
      st = await lstat(abs);
    } catch (err) {
      throw new DiffError(`${rel}: ${(err as Error).message}`, { cause: err, path: rel });
    }
    const attrs = this.xattrs.get(abs);
    for (const name of UNSUPPORTED_OVERLAY_XATTRS) {
      if (attrs?.has(name)) throw new DiffError(`${rel}: overlay ${name} is set; a layer tar cannot express it`, { path: rel });
    }
    if (st.isCharacterDevice() && st.rdev === 0) {
      // An overlay whiteout: the lower layers' file is gone.
      await this.add({ ...this.owner(st), name: parentJoin(rel, `${WHITEOUT_PREFIX}${base}`), type: "file", mode: 0o600, mtime: st.mtime }, Buffer.alloc(0));
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      throw new DiffError(`${rel}: a file whose name starts with "${WHITEOUT_PREFIX}" cannot be put in a layer (it would read as a whiteout)`, { path: rel });
    }
    if (st.isFile() && st.size === 0 && this.mountPoints.has(rel)) return;
    if (st.isSocket()) {
      this.warn(`skipped socket ${rel}: a layer tar cannot hold sockets`);
      return;
    }
    const header: Entry = { ...this.owner(st), name: rel, mode: st.mode & 0o7777, mtime: st.mtime };
    const carried = carriedXattrs(attrs);

    if (st.isDirectory()) {
      await this.add({ ...header, name: `${rel}/`, type: "directory" }, undefined, carried);
      if (OPAQUE_XATTRS.some((x) => attrs?.get(x)?.toString() === "y")) {
        await this.add({ ...this.owner(st), name: `${rel}/${OPAQUE}`, type: "file", mode: st.mode & 0o777, mtime: st.mtime }, Buffer.alloc(0));
      }
      await this.directoryContents(rel);
      return;
    }

    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = this.links.get(key);
      if (first !== undefined) {
        await this.add({ ...header, type: "link", linkname: first }, undefined);
        return;
      }
      this.links.set(key, rel);
    }

    if (st.isFile()) return this.file(header, abs, rel, st, carried);
    if (st.isSymbolicLink()) {
      await this.add({ ...header, type: "symlink", linkname: await readlink(abs) }, undefined);
      return;
    }
    if (st.isFIFO()) {
      await this.add({ ...header, type: "fifo" }, undefined);
      return;
    }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      const type = st.isCharacterDevice() ? "character-device" : "block-device";
      await this.add({ ...header, type, devmajor: major(st.rdev), devminor: minor(st.rdev) }, undefined);
      return;
    }
    throw new DiffError(`${rel}: file type ${(st.mode & constants.S_IFMT).toString(8)} cannot be put in a layer`, { path: rel });
  }

  private async file(header: Entry, abs: string, rel: string, st: Stats, xattrs: [string, Buffer][]): Promise<void> {
    // O_NOFOLLOW: never read through a link; O_NONBLOCK: a FIFO swapped in since lstat cannot hang the open.
    let fd: number;
    try {
      fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      throw new DiffError(`${rel}: ${(err as Error).message}`, { cause: err, path: rel });
    }
    const now = fstatSync(fd);
    if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev) {
      closeSync(fd);
      throw new DiffError(`${rel} changed while the layer was written (is the container still running unpaused?)`, { path: rel });
    }
    // O_NOFOLLOW guards only the last component: a running (unpaused) container
    // can swap a parent directory for a link to a host directory between the
    // walk's readdir and this open, and lstat and open would both go through it.
    // The open file's own path says where it really is.
    if (readlinkSync(`/proc/self/fd/${fd}`) !== this.abs(rel)) {
      closeSync(fd);
      throw new DiffError(`${rel} left the container's upper directory while the layer was written (a directory was replaced by a link; is the container running unpaused?)`, { path: rel });
    }
    await this.addPax(rel, xattrs);
    let written!: Promise<void>;
    const sink = this.pack.entry({ ...header, name: xattrs.length > 0 ? ustarName(rel) : rel, type: "file", size: st.size }, (err) => {
      written = err ? Promise.reject(err) : Promise.resolve();
    });
    // An empty file has nothing to read (and createReadStream takes no empty range).
    if (st.size === 0) closeSync(fd);
    const source = st.size > 0 ? createReadStream("", { fd, start: 0, end: st.size - 1, autoClose: true }) : Readable.from([]);
    try {
      await pipeline(source, sink as unknown as NodeJS.WritableStream);
      // tar-stream calls back once the entry, padding included, is in the pack.
      while (written === undefined) await new Promise((r) => setImmediate(r));
      await written;
    } catch (err) {
      source.destroy();
      throw new DiffError(`${rel}: could not be read whole (${(err as Error).message}); did it change during the commit?`, { cause: err, path: rel });
    }
    this.entries++;
  }

  private async add(header: Entry, body: Buffer | undefined, xattrs: [string, Buffer][] = []): Promise<void> {
    if (xattrs.length > 0) {
      await this.addPax(header.name, xattrs);
      header = { ...header, name: ustarName(header.name) };
    }
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      // Only regular files take a body; tar-stream refuses even an empty one for the others.
      if (body === undefined) this.pack.entry(header, cb);
      else this.pack.entry(header, body, cb);
    });
    this.entries++;
  }

  /**
   * tar-stream writes PAX values as UTF-8 strings, which a binary capability
   * is not, and it only takes bodies for regular files: this PAX header is
   * written as raw blocks between two entries (the previous one is complete:
   * its callback ran), with the path in it too (a second PAX header of
   * tar-stream's own for a long name would replace this one).
   */
  private async addPax(name: string, xattrs: [string, Buffer][]): Promise<void> {
    if (xattrs.length === 0) return;
    const records: [string, Buffer][] = [["path", Buffer.from(name)]];
    for (const [k, v] of xattrs) {
      records.push([`SCHILY.xattr.${k}`, v]);
      // Readers that decode PAX values as UTF-8 (tar-stream, hence our unpacker) lose a binary value:
      // libarchive's base64 form says it again for them. Go's reader (docker) and GNU tar ignore it.
      if (!isUtf8(v)) records.push([`LIBARCHIVE.xattr.${encodeURIComponent(k)}`, Buffer.from(v.toString("base64"))]);
    }
    const body = paxRecords(records);
    const pad = (512 - (body.length % 512)) % 512;
    this.pack.push(Buffer.concat([paxHeaderBlock(body.length), body, Buffer.alloc(pad)]));
    await Promise.resolve();
  }

  private owner(st: Stats): { uid: number; gid: number } {
    return { uid: st.uid, gid: st.gid };
  }

  private abs(rel: string): string {
    return rel === "" ? this.root : `${this.root}/${rel}`;
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.opts.onWarning?.(message);
  }
}

function parentJoin(rel: string, base: string): string {
  const slash = rel.lastIndexOf("/");
  return slash < 0 ? base : `${rel.slice(0, slash)}/${base}`;
}

/** Only what a layer may carry: file capabilities and user attributes (overlay's own, user.overlay.*, are its bookkeeping). */
function carriedXattrs(attrs: Xattrs | undefined): [string, Buffer][] {
  if (!attrs) return [];
  return [...attrs]
    .filter(([k]) => k === "security.capability" || (k.startsWith("user.") && !k.startsWith("user.overlay.")))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** PAX extended header records: "<len> <key>=<value>\n", where len counts the whole record, its own digits included. */
export function paxRecords(records: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    const rest = Buffer.byteLength(` ${key}=`) + value.length + 1;
    let len = rest + 1;
    while (String(len).length + rest !== len) len = String(len).length + rest;
    parts.push(Buffer.from(`${len} ${key}=`), value, Buffer.from("\n"));
  }
  return Buffer.concat(parts);
}

/** The ustar header block of a PAX extended header (typeflag x) whose records are `size` bytes. */
function paxHeaderBlock(size: number): Buffer {
  const b = Buffer.alloc(512);
  const field = (off: number, len: number, value: string): void => void b.write(value, off, len, "latin1");
  const octal = (off: number, len: number, n: number): void => field(off, len, `${n.toString(8).padStart(len - 1, "0")}\0`);
  field(0, 100, "PaxHeader");
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  field(156, 1, "x");
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  // The checksum is the sum of all bytes with its own field read as spaces.
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return b;
}

/** A name ustar can hold, for an entry whose PAX header carries the real path. */
function ustarName(name: string): string {
  const buf = Buffer.from(name);
  if (buf.length <= USTAR_NAME_MAX) return name;
  return buf.subarray(0, USTAR_NAME_MAX).toString("latin1").replace(/[^\x20-\x7e]/g, "_");
}

// Linux's dev_t encoding (glibc's gnu_dev_major/minor).
function major(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}

function minor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

/**
 * Every xattr under `root` in one getfattr run (node has no getxattr(2)):
 * absolute path -> name -> value. -h and -P: symlinks are neither
 * dereferenced nor walked into.
 */
async function readAllXattrs(root: string): Promise<Map<string, Xattrs>> {
  let stdout: string;
  try {
    ({ stdout } = await run("getfattr", ["-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", "--", root], { allowFailure: true }));
  } catch (err) {
    if (err instanceof CommandNotFoundError) {
      throw new DiffError("getfattr not found: install the 'attr' package (needed to find opaque directories and file capabilities)", { cause: err });
    }
    throw new DiffError(`reading xattrs of ${root}: ${(err as Error).message}`, { cause: err });
  }
  const out = new Map<string, Xattrs>();
  let current: Xattrs | undefined;
  for (const line of stdout.split("\n")) {
    if (line.startsWith("# file: ")) {
      current = new Map();
      out.set(unescapeGetfattr(line.slice("# file: ".length)), current);
      continue;
    }
    const eq = line.indexOf("=");
    if (current === undefined || eq <= 0) continue;
    const value = line.slice(eq + 1);
    current.set(line.slice(0, eq), value.startsWith("0x") ? Buffer.from(value.slice(2), "hex") : Buffer.alloc(0));
  }
  return out;
}

/** getfattr writes unusual bytes of a path (newline, backslash, non-printable) as \ooo. */
function unescapeGetfattr(s: string): string {
  if (!s.includes("\\")) return s;
  const bytes: number[] = [];
  const raw = Buffer.from(s);
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    const oct = raw.subarray(i + 1, i + 4).toString();
    if (c === 0x5c && /^[0-7]{3}$/.test(oct)) {
      bytes.push(parseInt(oct, 8));
      i += 3;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString();
}
