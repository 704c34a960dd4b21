// `docker export`: a container's file system as a tar. Its files are read by
// the chrooted reader of copy-from-chroot.ts (the container's links resolve
// inside it, running or not), its own file system only (volumes, /proc, /dev
// and other mounts come out as empty directories, as in docker export), into
// a private temporary directory next to the output, which GNU tar then packs
// with numeric owners. Two passes over the disk, but no second reader of a
// hostile tree.
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { copyOutOfRoot } from "./copy-from-chroot.js";
import { run } from "./sys/exec.js";

/**
 * The tar at hostPath: of the whole root (export: its own file system only,
 * names "bin/sh"), or of one container path (`cp SERVICE:SRC -`: its mounts
 * included, one top entry named as SRC's last component, as docker cp's tar).
 */
export async function exportRoot(root: string, hostPath: string, opts: { path?: string; followLink?: boolean } = {}): Promise<void> {
  // mkdtemp makes it 0700: nobody else sees the container's files while they wait here.
  const tmp = await mkdtemp(join(dirname(hostPath), ".tscompose-export-"));
  try {
    const whole = opts.path === undefined || posix.normalize(opts.path) === "/";
    const tree = join(tmp, "rootfs");
    if (whole) await copyOutOfRoot(root, "/", tree, { archive: true, oneFileSystem: opts.path === undefined });
    else {
      await mkdir(tree);
      await copyOutOfRoot(root, opts.path as string, join(tree, posix.basename(posix.normalize(opts.path as string))), { archive: true, followLink: opts.followLink });
    }
    // Names as docker writes them ("bin/sh", not "./bin/sh"); --files-from /dev/null lets an empty root be an empty tar.
    const names = (await readdir(tree)).sort();
    await run("tar", ["--numeric-owner", "-C", tree, "-cf", hostPath, "--files-from", "/dev/null", "--", ...names], { timeoutMs: 30 * 60_000 });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
