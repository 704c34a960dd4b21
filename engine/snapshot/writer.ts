// Applies tar entries, one at a time and in order, to a destination directory.
// This is where tar semantics meet hostile input: names are cleaned and their
// parents resolved without following symlinks (safepath.ts); an entry
// replaces whatever was at its path (a file replaces a directory and vice
// versa, as tar does) but only after that path was proven to be inside the
// destination; OCI whiteouts become overlay whiteouts.
//
// Filesystem calls are synchronous: see safepath.ts for why.
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import type { Header } from "tar-stream";
import { UnpackError } from "./errors.js";
import { mkfifo, mknod, Whiteouts } from "./nodes.js";
import { baseOf, cleanEntryName, DirWalker, lstatSyncOrUndefined, parentOf, PATH_MAX } from "./safepath.js";
import { applyXattrs, type XattrWrite } from "./xattr.js";

export interface WriterOptions {
  /** Create character and block devices. Default false: they are skipped with a warning. FIFOs are always created. */
  allowDevices?: boolean;
  /** Apply the tar's uid/gid (lchown). Default: true when running as root. */
  chown?: boolean;
  /** Called for every entry skipped or changed, besides collecting it in `warnings`. */
  onWarning?: (message: string) => void;
}

/** tar-stream's header as it really is: `type` is null for typeflags it does not know, `pax` holds the PAX records it decoded. */
export type TarHeader = Omit<Header, "type" | "pax" | "linkname"> & {
  type: Header["type"] | null;
  linkname: string | null;
  pax?: Record<string, string> | null;
};

/** An entry's content. */
export type Body = AsyncIterable<Buffer>;

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE = ".wh..wh..opq";
const OPAQUE_XATTR = "trusted.overlay.opaque";

/** Only these xattrs from a layer are applied. trusted.overlay.* from a tar could forge whiteouts or redirects; security.selinux labels are host policy. */
function xattrAllowed(name: string): boolean {
  return name.startsWith("user.") || name === "security.capability";
}

interface Times {
  atime: number;
  mtime: number;
}

export class LayerWriter {
  readonly warnings: string[] = [];
  private readonly dirs: DirWalker;
  private readonly whiteouts: Whiteouts;
  private readonly chown: boolean;
  private readonly dirTimes = new Map<string, Times>();
  private readonly opaque = new Set<string>();
  private readonly xattrs = new Map<string, Array<{ name: string; value: Buffer }>>();

  constructor(
    readonly root: string,
    private readonly opts: WriterOptions = {},
  ) {
    this.dirs = new DirWalker(root);
    this.whiteouts = new Whiteouts(root);
    this.chown = opts.chown ?? process.getuid?.() === 0;
  }

  /** Applies one entry; `body` is its content stream, always consumed. */
  async entry(header: TarHeader, body: Body): Promise<void> {
    try {
      await this.apply(header, body);
      await drain(body);
    } catch (err) {
      if (err instanceof UnpackError || err instanceof SourceError) throw err;
      const e = err as NodeJS.ErrnoException;
      const code = e.code === "ENAMETOOLONG" ? "invalid" : "io";
      throw new UnpackError(code, `entry ${JSON.stringify(header.name)}: ${e.message}`, { cause: err, entry: header.name });
    }
  }

  /** After the last entry: xattrs and opaque markers, then directory times (their contents are done changing). */
  async finish(): Promise<void> {
    await this.whiteouts.dispose();
    const writes: XattrWrite[] = [];
    for (const [rel, list] of this.xattrs) {
      const st = this.verified(rel);
      if (st === undefined || !(st.isFile() || st.isDirectory())) continue;
      for (const x of list) writes.push({ path: this.dirs.abs(rel), name: x.name, value: x.value });
    }
    for (const rel of this.opaque) {
      if (this.dirs.isDir(rel, OPAQUE)) writes.push({ path: this.dirs.abs(rel), name: OPAQUE_XATTR, value: Buffer.from("y") });
    }
    if (writes.length > 0) await applyXattrs(writes);
    const deepestFirst = [...this.dirTimes].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, t] of deepestFirst) {
      if (this.dirs.isDir(rel, rel)) lutimesSync(this.dirs.abs(rel), t.atime, t.mtime);
    }
  }

  /** Removes temporary files (whiteout templates) after a failure. */
  async dispose(): Promise<void> {
    await this.whiteouts.dispose();
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.opts.onWarning?.(message);
  }

  private async apply(header: TarHeader, body: Body): Promise<void> {
    const name = header.name;
    const rel = cleanEntryName(name);
    this.dirs.checkLength(rel, name);
    const type = header.type ?? "file";
    if (rel === "") {
      // "./" in a tar: the root's own metadata belongs to the snapshotter.
      if (type === "directory") return;
      throw new UnpackError("invalid", `entry ${JSON.stringify(name)} (${type}) would replace the layer root`, { entry: name });
    }
    const parent = parentOf(rel);
    const base = baseOf(rel);
    if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(name, parent, base);

    this.dirs.ensureDir(parent, name);
    const abs = this.dirs.abs(rel);
    const existing = lstatSyncOrUndefined(abs);
    switch (type) {
      case "directory":
        this.directory(header, rel, abs, existing);
        return;
      case "file":
      case "contiguous-file":
        return this.file(header, body, rel, abs, existing);
      case "symlink":
        this.symlink(header, rel, abs, existing);
        return;
      case "link":
        this.hardlink(header, rel, abs, existing);
        return;
      case "character-device":
      case "block-device":
        return this.device(header, rel, abs, existing);
      case "fifo":
        this.clear(rel, abs, existing);
        await mkfifo(abs, mode(header));
        this.metadata(header, abs, false);
        return;
      default:
        this.warn(`skipped ${JSON.stringify(name)}: unsupported tar entry type ${String(type)}`);
    }
  }

  private async whiteout(name: string, parent: string, base: string): Promise<void> {
    this.dirs.ensureDir(parent, name);
    if (base === OPAQUE) {
      this.opaque.add(parent);
      return;
    }
    if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) {
      // .wh..wh.plnk, .wh..wh.aufs: aufs bookkeeping, meaningless elsewhere (docker skips them too).
      this.warn(`skipped aufs metadata entry ${JSON.stringify(name)}`);
      return;
    }
    const target = base.slice(WHITEOUT_PREFIX.length);
    if (target === "" || target === "." || target === "..") {
      throw new UnpackError("invalid", `whiteout ${JSON.stringify(name)} names no file`, { entry: name });
    }
    const rel = parent === "" ? target : `${parent}/${target}`;
    this.dirs.checkLength(rel, name);
    const abs = this.dirs.abs(rel);
    // OCI: a whiteout hides only lower layers; a file of this same layer stays.
    if (lstatSyncOrUndefined(abs) !== undefined) {
      this.warn(`whiteout ${JSON.stringify(name)} ignored: ${rel} is part of this layer`);
      return;
    }
    await this.whiteouts.make(abs);
  }

  private directory(header: TarHeader, rel: string, abs: string, existing: Stats | undefined): void {
    // A directory over a directory merges (tar updates its metadata); over anything else it replaces.
    if (existing === undefined || !existing.isDirectory()) {
      this.clear(rel, abs, existing);
      mkdirSync(abs, { mode: 0o700 });
    }
    this.dirs.remember(rel);
    const fd = openSync(abs, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      if (this.chown) fchownSync(fd, ...owner(header));
      fchmodSync(fd, mode(header));
    } finally {
      closeSync(fd);
    }
    this.dirTimes.set(rel, times(header));
    this.collectXattrs(header, rel);
  }

  private async file(header: TarHeader, body: Body, rel: string, abs: string, existing: Stats | undefined): Promise<void> {
    this.clear(rel, abs, existing);
    // O_EXCL|O_NOFOLLOW: the path was just cleared, so anything there now is not ours to follow.
    const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of readSource(body)) {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      }
      // chown before chmod: chown clears setuid/setgid bits.
      if (this.chown) fchownSync(fd, ...owner(header));
      fchmodSync(fd, mode(header));
      const t = times(header);
      futimesSync(fd, t.atime, t.mtime);
    } finally {
      closeSync(fd);
    }
    this.collectXattrs(header, rel);
  }

  private symlink(header: TarHeader, rel: string, abs: string, existing: Stats | undefined): void {
    const target = header.linkname ?? "";
    if (target === "" || target.includes("\0") || Buffer.byteLength(target) >= PATH_MAX) {
      throw new UnpackError("invalid", `symlink ${JSON.stringify(header.name)} has an invalid target ${JSON.stringify(target.slice(0, 120))}`, { entry: header.name });
    }
    this.clear(rel, abs, existing);
    // The target is kept as written, absolute or not: it resolves inside the
    // container's root at run time, and we never follow it here.
    symlinkSync(target, abs);
    this.metadata(header, abs, true);
  }

  private hardlink(header: TarHeader, rel: string, abs: string, existing: Stats | undefined): void {
    const name = header.name;
    const linkname = header.linkname ?? "";
    let targetRel: string;
    try {
      targetRel = cleanEntryName(linkname);
    } catch (err) {
      if (!(err instanceof UnpackError)) throw err;
      throw new UnpackError(err.code, `hard link ${JSON.stringify(name)}: target ${err.message}`, { entry: name });
    }
    if (targetRel === "") throw new UnpackError("invalid", `hard link ${JSON.stringify(name)} points to the layer root`, { entry: name });
    if (targetRel.startsWith(`${rel}/`)) {
      throw new UnpackError("invalid", `hard link ${JSON.stringify(name)} points inside itself (${JSON.stringify(linkname)})`, { entry: name });
    }
    // Tar hard links name an earlier entry of the same archive, relative to its root.
    const missing = new UnpackError("invalid", `hard link ${JSON.stringify(name)}: target ${JSON.stringify(linkname)} is not in the layer`, { entry: name });
    if (!this.dirs.isDir(parentOf(targetRel), name)) throw missing;
    const target = lstatSyncOrUndefined(this.dirs.abs(targetRel));
    if (target === undefined) throw missing;
    if (target.isDirectory()) throw new UnpackError("invalid", `hard link ${JSON.stringify(name)} points to directory ${JSON.stringify(linkname)}`, { entry: name });
    if (target.isCharacterDevice() && target.rdev === 0) {
      throw new UnpackError("invalid", `hard link ${JSON.stringify(name)} points to whiteout ${JSON.stringify(linkname)}`, { entry: name });
    }
    if (existing !== undefined && existing.ino === target.ino && existing.dev === target.dev) return;
    this.clear(rel, abs, existing);
    // link(2) does not follow a symlink target: linking to a symlink makes
    // another symlink. The header's mode, owner and times are NOT applied: they
    // would change the shared inode (a setuid bit smuggled onto an existing file).
    linkSync(this.dirs.abs(targetRel), abs);
  }

  private async device(header: TarHeader, rel: string, abs: string, existing: Stats | undefined): Promise<void> {
    const kind = header.type === "block-device" ? "block" : "char";
    const major = header.devmajor ?? 0;
    const minor = header.devminor ?? 0;
    if (this.opts.allowDevices !== true) {
      this.warn(`skipped ${kind} device ${JSON.stringify(header.name)} (${major}:${minor}): device nodes are not allowed in layers`);
      return;
    }
    this.clear(rel, abs, existing);
    await mknod(abs, kind, mode(header), major, minor);
    this.metadata(header, abs, false);
  }

  /** Owner, mode (not for symlinks: Linux has no lchmod) and times, by path, never following the last component. */
  private metadata(header: TarHeader, abs: string, isSymlink: boolean): void {
    if (this.chown) lchownSync(abs, ...owner(header));
    // A device or FIFO at `abs` (just created by us) is not a symlink, so chmod cannot be redirected.
    if (!isSymlink) chmodSync(abs, mode(header));
    const t = times(header);
    lutimesSync(abs, t.atime, t.mtime);
  }

  /** Removes what is at `rel` before an entry of another kind takes its place. */
  private clear(rel: string, abs: string, existing: Stats | undefined): void {
    if (existing === undefined) return;
    // rm never follows symlinks inside the tree it removes.
    if (existing.isDirectory()) rmSync(abs, { recursive: true, force: true });
    else unlinkSync(abs);
    this.dirs.forget(rel);
    const prefix = `${rel}/`;
    const under = (k: string): boolean => k === rel || k.startsWith(prefix);
    for (const k of [...this.dirTimes.keys()]) if (under(k)) this.dirTimes.delete(k);
    for (const k of [...this.opaque]) if (under(k)) this.opaque.delete(k);
    for (const k of [...this.xattrs.keys()]) if (under(k)) this.xattrs.delete(k);
  }

  private collectXattrs(header: TarHeader, rel: string): void {
    const list: Array<{ name: string; value: Buffer }> = [];
    for (const [key, raw] of Object.entries(header.pax ?? {})) {
      let name: string;
      let value: Buffer;
      if (key.startsWith("SCHILY.xattr.")) {
        name = key.slice("SCHILY.xattr.".length);
        // tar-stream decodes PAX values as UTF-8: binary values that were not
        // valid UTF-8 are already lost. Skip them rather than apply garbage
        // (silently when libarchive's base64 record of the same xattr follows).
        if (raw.includes("\uFFFD")) {
          if (`LIBARCHIVE.xattr.${encodeURIComponent(name)}` in (header.pax ?? {})) continue;
          this.warn(`skipped xattr ${name} on ${JSON.stringify(header.name)}: binary value not representable`);
          continue;
        }
        value = Buffer.from(raw, "utf8");
      } else if (key.startsWith("LIBARCHIVE.xattr.")) {
        // libarchive's form: URL-encoded name, base64 value (binary safe).
        name = decodeURIComponent(key.slice("LIBARCHIVE.xattr.".length));
        value = Buffer.from(raw, "base64");
      } else {
        continue;
      }
      if (!xattrAllowed(name)) {
        this.warn(`skipped xattr ${name} on ${JSON.stringify(header.name)}`);
        continue;
      }
      list.push({ name, value });
    }
    if (list.length > 0) this.xattrs.set(rel, list);
  }

  /** lstat of `rel` if every parent is still a real directory. */
  private verified(rel: string): Stats | undefined {
    if (!this.dirs.isDir(parentOf(rel), rel)) return undefined;
    return lstatSyncOrUndefined(this.dirs.abs(rel));
  }
}

/**
 * The entry's data could not be read: the real cause is upstream (the input,
 * gzip, or the tar parser) and the pipeline reports it; unpackLayer waits for it.
 */
export class SourceError extends Error {}

async function* readSource(body: Body): AsyncGenerator<Buffer> {
  const it = body[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<Buffer>;
    try {
      r = await it.next();
    } catch (err) {
      throw new SourceError("entry data could not be read", { cause: err });
    }
    if (r.done === true) return;
    yield r.value;
  }
}

async function drain(body: Body): Promise<void> {
  for await (const _ of readSource(body)) {
    // discard: data of entries we do not write (symlinks or devices with a size, skipped entries)
  }
}

function depth(rel: string): number {
  let n = 0;
  for (const c of rel) if (c === "/") n++;
  return n;
}

/** Permission bits exactly as in the tar (setuid, setgid, sticky included); type bits dropped. */
function mode(header: TarHeader): number {
  const fallback = header.type === "directory" ? 0o755 : 0o644;
  return (header.mode ?? fallback) & 0o7777;
}

function owner(header: TarHeader): [number, number] {
  const pax = header.pax ?? {};
  const uid = pax.uid !== undefined ? Number(pax.uid) : (header.uid ?? 0);
  const gid = pax.gid !== undefined ? Number(pax.gid) : (header.gid ?? 0);
  return [Number.isSafeInteger(uid) && uid >= 0 ? uid : 0, Number.isSafeInteger(gid) && gid >= 0 ? gid : 0];
}

function times(header: TarHeader): Times {
  const pax = header.pax ?? {};
  const paxTime = (v: string | undefined): number | undefined => {
    const n = v === undefined ? NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const mtime = paxTime(pax.mtime) ?? (header.mtime ? header.mtime.getTime() / 1000 : 0);
  return { mtime, atime: paxTime(pax.atime) ?? mtime };
}
