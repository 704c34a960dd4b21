// Copying a container path OUT to the host (`docker cp CONTAINER:SRC DST`),
// the mirror of copy-chroot.ts. The container side is hostile: a link
// `/app -> /etc` or `../../..` in it must lead to the container's /etc, never
// the host's, and a process in it may swap a directory for a link while we
// read. So the reads are made by a helper chrooted into the container's root
// (/proc/<pid>/root while it runs, its rootfs when stopped): every path it
// opens resolves inside the container whatever the container does meanwhile.
//
// Same shape as copy-chroot.ts (perl, forked in two): here the CHILD chroots
// and reads, and streams entries (hex-encoded names relative to SRC, then a
// file's bytes) through a pipe to the parent, which stays on the host and
// writes them under the destination: directories made by itself, files and
// links written to a fresh temporary name (O_EXCL) and renamed over; an
// entry whose name is taken by a directory (or a directory by a non-directory)
// is an error, so nothing is written through a link that was already there.
// The program is copy-from-chroot.pl; its protocol is in its header and
// docs/perl-helpers.md.
import { run } from "./sys/exec.js";
import { perlProgram } from "./sys/perl.js";
import { cleanContainerPath } from "./copy.js";
import { EngineError } from "./types.js";
import type { CopyToContainerResult } from "./types.js";

const PROGRAM = perlProgram("copy-from-chroot.pl", import.meta.url);


/**
 * Copies `containerPath` (resolved inside `root`, the container's root as the
 * host sees it) to `hostPath`, the final name on the host (whose parent exists).
 */
export async function copyOutOfRoot(
  root: string,
  containerPath: string,
  hostPath: string,
  opts: { followLink?: boolean; archive?: boolean; oneFileSystem?: boolean } = {},
): Promise<CopyToContainerResult> {
  const src = cleanContainerPath(containerPath);
  const r = await run("perl", [PROGRAM, root, src, hostPath, opts.followLink === true ? "1" : "0", opts.archive === true ? "1" : "0", opts.oneFileSystem === true ? "1" : "0"], {
    allowFailure: true,
    // Copying a big tree takes as long as it takes; only a helper stuck for half an hour is killed.
    timeoutMs: 30 * 60_000,
  });
  if (r.code !== 0) {
    const why = r.stderr.trim().replace(/^tscompose-copy: /gm, "") || `the copy helper exited ${r.code}`;
    throw new EngineError(r.code === 2 ? "not-found" : /cannot overwrite/.test(why) ? "invalid" : "internal", why);
  }
  return { copied: Number(r.stdout.trim()) || 0, removed: 0 };
}
