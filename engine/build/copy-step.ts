// COPY and ADD, written into a step's root (the overlay of the stage's layers
// plus the step's own upper dir) without a container: by copy.ts's writer,
// which resolves every destination inside the root and never writes through
// a link. Sources come from the build context (its .dockerignore applied,
// links never followed out of it), from another stage's or an image's files
// (resolved inside that root), or from heredocs; ADD's local archives are
// unpacked by the layer unpacker (snapshot/unpack.ts), which refuses `..`
// entries and links out of its directory, into a staging dir first.
import { createReadStream } from "node:fs";
import { chmod, lstat, mkdir, open, readdir, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { copyIntoRoot, lstatOrUndefined } from "../copy.js";
import { EngineError } from "../errors.js";
import { resolveInRoot } from "../runtime/user.js";
import { detectCompression } from "../snapshot/decompress.js";
import { unpackLayer } from "../snapshot/unpack.js";
import type { ModeFn } from "./chmod.js";
import type { BuildContext } from "./context.js";
import { hasWildcards, pathMatcher } from "./dockerignore.js";
import type { HeredocFile } from "./dockerfile/types.js";

/** One thing to copy: a host path (file, link or directory) and the name it has at the destination. */
export interface CopyItem {
  hostPath: string;
  name: string;
  isDir: boolean;
  /** ADD: a local archive to unpack rather than copy. */
  archive?: boolean;
}

/** The context's matches for the step's sources (docker's errors for a missing or escaping source). */
export function contextItems(ctx: BuildContext, sources: readonly string[]): CopyItem[] {
  const out: CopyItem[] = [];
  for (const source of sources) {
    // A source named without wildcards keeps its written name where it resolved through a link (BuildKit: `COPY link /d/` makes /d/link).
    const written = hasWildcards(source) ? undefined : posix.basename(posix.normalize(`/${source}`));
    for (const root of ctx.matchSource(source).roots) {
      const entry = root === "." ? undefined : ctx.entry(root);
      out.push({ hostPath: root === "." ? ctx.dir : join(ctx.dir, root), name: root === "." ? "" : (written ?? posix.basename(root)), isDir: root === "." || entry?.type === "dir" });
    }
  }
  return out;
}

/** Sources read from another root (COPY --from): resolved inside it, wildcards in the last component. */
export async function rootItems(root: string, sources: readonly string[]): Promise<CopyItem[]> {
  const out: CopyItem[] = [];
  for (const source of sources) {
    const clean = posix.normalize(`/${source}`);
    const names: string[] = [];
    if (hasWildcards(clean)) {
      const parent = posix.dirname(clean);
      const test = pathMatcher(posix.basename(clean));
      const dir = await resolveInRoot(root, parent);
      for (const n of (await readdir(dir).catch(() => [] as string[])).sort()) if (test(n)) names.push(posix.join(parent, n));
    } else names.push(clean);
    if (names.length === 0) throw new EngineError("not-found", `failed to compute cache key: "${clean}": not found`);
    for (const n of names) {
      const host = await resolveInRoot(root, n);
      const st = await lstatOrUndefined(host);
      if (!st) throw new EngineError("not-found", `failed to compute cache key: "${n}": not found`);
      out.push({ hostPath: host, name: posix.basename(n), isDir: st.isDirectory() });
    }
  }
  return out;
}

/** Heredoc files (`COPY <<EOF /dest`), written to the staging dir. */
export async function heredocItems(staging: string, docs: readonly HeredocFile[]): Promise<CopyItem[]> {
  const out: CopyItem[] = [];
  for (const [i, doc] of docs.entries()) {
    const dir = join(staging, `heredoc-${i}`);
    await mkdir(dir, { recursive: true });
    const file = join(dir, doc.name);
    await writeFile(file, doc.content);
    await chmod(file, 0o644);
    out.push({ hostPath: file, name: doc.name, isDir: false });
  }
  return out;
}

/** Whether a regular file is an archive ADD unpacks: compressed (gzip, bzip2, xz, zstd) or a tar (ustar magic). */
export async function isArchive(path: string): Promise<boolean> {
  const st = await lstat(path);
  if (!st.isFile()) return false;
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(262);
    const { bytesRead } = await fh.read(head, 0, 262, 0);
    if (detectCompression(head.subarray(0, Math.min(bytesRead, 6))) !== "none") return true;
    return bytesRead >= 262 && head.subarray(257, 262).toString("latin1") === "ustar";
  } finally {
    await fh.close();
  }
}

/**
 * BuildKit's mkdir -p for a step (WORKDIR, the destination of a directory's
 * contents): the directory and its missing parents are made 0755 and owned by
 * `owner`, whatever the source's mode or --chmod; an existing one is left as
 * it is. `staging` is a private scratch directory.
 */
export async function mkdirInRoot(root: string, containerDir: string, owner: { uid: number; gid: number }, staging: string): Promise<void> {
  if (await lstatOrUndefined(await resolveInRoot(root, containerDir))) return;
  const empty = join(staging, "empty-dir");
  await mkdir(empty, { recursive: true });
  await chmod(empty, 0o755);
  await copyIntoRoot(root, { copies: [{ hostPath: empty, containerPath: containerDir }], removals: [] }, owner);
}

export interface CopyOptions {
  /** The destination as written (after expansion): relative to `workdir`; a trailing slash makes it a directory. */
  dest: string;
  workdir: string;
  /** Who owns what is copied: --chown's user, root, or "source" (COPY --from keeps the stage's owners, as BuildKit). */
  owner: { uid: number; gid: number } | "source";
  /** --chown was given: it also owns what archives unpack (which otherwise keep their owners). */
  chowned: boolean;
  mode?: ModeFn;
  /** Host paths to leave out of copied directories (the context's ignored files). */
  exclude?: (hostPath: string) => boolean;
  /** A private directory for unpacked archives. */
  staging: string;
}

/**
 * docker's destination rules: several sources, a wildcard or a trailing
 * slash make the destination a directory (as does an existing directory);
 * a directory source copies its contents; a file source is copied as the
 * destination, or into it when it is a directory.
 */
export async function copyItems(root: string, items: readonly CopyItem[], opts: CopyOptions & { wildcard: boolean }): Promise<void> {
  const destAbs = posix.resolve(opts.workdir || "/", opts.dest);
  const existing = await lstatOrUndefined(await resolveInRoot(root, destAbs));
  const intoDir = opts.dest.endsWith("/") || opts.dest === "." || items.length > 1 || opts.wildcard || existing?.isDirectory() === true;
  if (items.length > 1 && !opts.dest.endsWith("/") && existing?.isDirectory() !== true) {
    throw new EngineError("invalid", `When using COPY with more than one source file, the destination must be a directory and end with a /`);
  }
  const copy = (hostPath: string, containerPath: string, owner: CopyOptions["owner"] | "source", mode?: ModeFn) =>
    copyIntoRoot(root, { copies: [{ hostPath, containerPath }], removals: [], ...(opts.exclude ? { exclude: opts.exclude } : {}) }, owner, mode === undefined ? {} : { mode });
  for (const [i, item] of items.entries()) {
    if (item.archive === true) {
      const dir = join(opts.staging, `archive-${i}`);
      await mkdir(dir, { recursive: true });
      try {
        await unpackLayer(createReadStream(item.hostPath), dir);
      } catch (err) {
        throw new EngineError("invalid", `ADD ${item.name}: ${(err as Error).message}`, { cause: err });
      }
      // The archive's owners are kept, as docker's ADD keeps them (unless --chown).
      await copy(dir, destAbs, opts.chowned ? opts.owner : "source", opts.mode);
    } else if (item.isDir) {
      // BuildKit copies a directory's contents into a destination it makes itself: 0755, --chown's owner or root.
      await mkdirInRoot(root, destAbs, opts.owner === "source" ? { uid: 0, gid: 0 } : opts.owner, opts.staging);
      await copy(item.hostPath, destAbs, opts.owner, opts.mode);
    } else {
      await copy(item.hostPath, intoDir ? posix.join(destAbs, item.name) : destAbs, opts.owner, opts.mode);
    }
  }
}
