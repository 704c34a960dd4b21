// Copying host files into a container's filesystem: `docker cp` into a
// container, and what compose's develop.watch `sync` does.
//
// The container's side is hostile: a process in it may have made any
// directory a symlink (`/app -> /etc`, `/app -> ../../../../etc`). Every
// container path is therefore resolved inside the container's root, as the
// container would see it (resolveInRoot: an absolute link target starts at
// the root, `..` stops at it), never by the host's kernel. Then:
// - missing parent directories are created one component at a time with
//   lstat between, never through a symlink;
// - a file or link is written to a fresh temporary name in the resolved
//   parent (O_CREAT|O_EXCL: never through an existing link) and renamed over
//   the destination; rename replaces a symlink itself, never its target, and
//   the running program sees the old or the new file, never half of one;
// - removals unlink the last component (rm never follows links).
// The root here is a stopped container's rootfs directory. A running
// container is written through /proc/<pid>/root (its own mount namespace:
// writes under its volumes and tmpfs mounts land where it reads them, as
// `docker cp` does), by copy-chroot.ts.
//
// Node has no openat2(RESOLVE_IN_ROOT), so this is check-then-use on paths: a
// process in the container that swaps a resolved directory for a symlink
// between our lstat and our write could redirect it (CVE-2018-15664, which
// docker cp had too). So this writer serves only roots no process runs in (a
// stopped container's rootfs); a running container is written to by a helper
// chrooted into it (copy-chroot.ts).
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, copyFile, lchown, link, lstat, lutimes, mkdir, readdir, readlink, rename, rm, symlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import { posix } from "node:path";
import { resolveInRoot } from "./runtime/user.js";
import { EngineError } from "./types.js";
import type { CopyToContainerRequest, CopyToContainerResult } from "./types.js";

export interface CopyOwner {
  uid: number;
  gid: number;
}

/** lstat, or undefined when the path (or a parent) is not there. */
export async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw err;
  }
}

/** An absolute, normalized container path ("/a/b"); refuses relative ones and NULs. */
export function cleanContainerPath(p: string): string {
  if (p.includes("\0")) throw new EngineError("invalid", `container path contains a NUL byte: ${JSON.stringify(p)}`);
  if (!p.startsWith("/")) throw new EngineError("invalid", `container path must be absolute: ${JSON.stringify(p)}`);
  // normalize applies ".." lexically; at "/" it stays at "/".
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

const inside = (root: string, host: string): boolean => host === root || host.startsWith(`${root}/`);

class RootWriter {
  copied = 0;
  removed = 0;
  /** Where each multiply-linked source file (by dev:ino) was written: its other names become hard links to it, as tar and BuildKit's COPY keep them. */
  private readonly linked = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly owner: CopyOwner | "source" | undefined,
    private readonly exclude: ((hostPath: string) => boolean) | undefined,
    /** A builder's COPY --chmod: the permission bits of each file and directory copied, from its own. */
    private readonly mode?: (mode: number, isDir: boolean) => number,
  ) {}

  /** The host path of a container directory, resolved in the root; created (as the owner) when missing. */
  private async dir(containerDir: string): Promise<string> {
    const resolved = await resolveInRoot(this.root, containerDir);
    if (!inside(this.root, resolved)) throw new EngineError("invalid", `${containerDir} resolves outside the container`);
    let cur = this.root;
    for (const part of posix.relative(this.root, resolved).split("/").filter(Boolean)) {
      cur = `${cur}/${part}`;
      const st = await lstatOrUndefined(cur);
      if (st === undefined) {
        // mkdir never follows a symlink in its last component (EEXIST), so a link made meanwhile is not written through.
        await mkdir(cur, { mode: 0o755 });
        await chmod(cur, 0o755);
        await this.chown(cur);
        continue;
      }
      if (st.isSymbolicLink()) throw new EngineError("conflict", `${containerDir} changed while it was resolved (a symlink appeared)`);
      if (!st.isDirectory()) throw new EngineError("invalid", `${containerDir}: a path component is not a directory in the container`);
    }
    return resolved;
  }

  /** `source`: the host entry the file was copied from (cp -a keeps its uid/gid). */
  private async chown(p: string, source?: Stats): Promise<void> {
    if (this.owner === "source") {
      if (source) await lchown(p, source.uid, source.gid);
    } else if (this.owner) await lchown(p, this.owner.uid, this.owner.gid);
  }

  /** Resolves a container path's parent in the root: the host path to write. */
  private async destination(containerPath: string): Promise<string> {
    const clean = cleanContainerPath(containerPath);
    if (clean === "/") return this.root;
    return `${await this.dir(posix.dirname(clean))}/${posix.basename(clean)}`;
  }

  async copy(hostPath: string, containerPath: string): Promise<void> {
    const dest = await this.destination(containerPath);
    if (dest === this.root && !(await lstatOrUndefined(hostPath))?.isDirectory()) throw new EngineError("invalid", `cannot copy ${hostPath} over the container's root`);
    await this.copyTo(hostPath, dest);
  }

  private async copyTo(src: string, dest: string): Promise<void> {
    const st = await lstatOrUndefined(src);
    if (st === undefined) return; // gone since it was listed: its removal comes with the next batch
    if (st.isDirectory()) {
      const existing = await lstatOrUndefined(dest);
      if (existing === undefined || !existing.isDirectory()) {
        if (existing) await rm(dest, { recursive: true, force: true });
        await mkdir(dest, { mode: 0o755 });
        await chmod(dest, this.mode ? this.mode(st.mode & 0o7777, true) : st.mode & 0o7777);
        await this.chown(dest, st);
      }
      for (const name of await readdir(src)) {
        const child = `${src}/${name}`;
        if (this.exclude?.(child)) continue;
        await this.copyTo(child, `${dest}/${name}`);
      }
      return;
    }
    if (!st.isFile() && !st.isSymbolicLink()) return; // sockets, fifos, devices: not synced
    const tmp = `${posix.dirname(dest)}/.tscompose-cp-${randomBytes(6).toString("hex")}`;
    try {
      const inode = st.isFile() && st.nlink > 1 ? `${st.dev}:${st.ino}` : undefined;
      const first = inode === undefined ? undefined : this.linked.get(inode);
      if (first !== undefined && (await lstatOrUndefined(first))?.isFile()) {
        // link(2) never follows a symlink at `first`; it is a file this writer made.
        await link(first, tmp);
      } else if (st.isFile()) {
        // COPYFILE_EXCL: O_CREAT|O_EXCL on the temporary name, which fails on any existing link.
        await copyFile(src, tmp, constants.COPYFILE_EXCL);
        await this.chown(tmp, st);
        // After chown: it clears set-id bits.
        await chmod(tmp, this.mode ? this.mode(st.mode & 0o7777, false) : st.mode & 0o7777);
        await lutimes(tmp, st.atime, st.mtime);
      } else {
        await symlink(await readlink(src), tmp);
        await this.chown(tmp, st);
      }
      await this.replace(tmp, dest);
      if (inode !== undefined && first === undefined) this.linked.set(inode, dest);
      this.copied++;
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** rename over dest; a directory in the way (rename refuses) is removed first, as tar does. */
  private async replace(tmp: string, dest: string): Promise<void> {
    try {
      await rename(tmp, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EISDIR" && code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "ENOTDIR") throw err;
      await rm(dest, { recursive: true, force: true });
      await rename(tmp, dest);
    }
  }

  async remove(containerPath: string): Promise<void> {
    const clean = cleanContainerPath(containerPath);
    if (clean === "/") throw new EngineError("invalid", "refusing to remove the container's root");
    const resolved = await resolveInRoot(this.root, posix.dirname(clean));
    if (!inside(this.root, resolved)) throw new EngineError("invalid", `${containerPath} resolves outside the container`);
    const parent = await lstatOrUndefined(resolved);
    if (!parent?.isDirectory()) return;
    const dest = `${resolved}/${posix.basename(clean)}`;
    if ((await lstatOrUndefined(dest)) === undefined) return;
    await rm(dest, { recursive: true, force: true });
    this.removed++;
  }
}

/**
 * Applies a copy request under `root` (a container's root as the host sees
 * it): removals first, then copies, each resolved inside the root. New files,
 * links and directories belong to `owner` (default: the caller, root).
 */
export async function copyIntoRoot(root: string, req: CopyToContainerRequest, owner?: CopyOwner | "source", opts: { mode?: (mode: number, isDir: boolean) => number } = {}): Promise<CopyToContainerResult> {
  const w = new RootWriter(root.replace(/\/+$/, "") || "/", owner, req.exclude, opts.mode);
  for (const r of req.removals) await w.remove(r);
  for (const c of req.copies) await w.copy(c.hostPath, c.containerPath);
  return { copied: w.copied, removed: w.removed };
}
