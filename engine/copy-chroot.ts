// Copying into a RUNNING container without the check-then-use race that
// copy.ts documents (CVE-2018-15664, which `docker cp` had): a process in the
// container could swap a directory we resolved for a symlink to a host path
// between our check and our write. Here the writes are made by a helper that
// has chroot()ed into the container's root first, so every path it opens,
// symlinks included, resolves inside the container whatever the container
// does meanwhile (an absolute link starts at its root, `..` stops there).
// Docker closed the CVE the same way.
//
// The helper is perl (perl-base is Essential in Debian; Node cannot chroot a
// child, and no binary of ours may be assumed inside the container). It forks:
// the parent stays on the host and reads the source files, the child chroots
// and writes; the files' bytes go through a pipe between them. Node walks the
// host side (it owns the exclusion rules) and sends the operations as lines
// with hex-encoded paths, so no path can break the framing. The program is
// copy-chroot.pl; its protocol is in its header and docs/perl-helpers.md.
//
// Semantics are copy.ts's: removals first, missing parents created 0755 as
// the owner, a file or link written to a fresh temporary name (O_EXCL) and
// renamed over the destination, a directory in the way replaced, set-id bits
// set after chown; new entries belong to the owner.
import { readdir, readlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import { run } from "./sys/exec.js";
import { perlProgram } from "./sys/perl.js";
import { cleanContainerPath, lstatOrUndefined, type CopyOwner } from "./copy.js";
import { EngineError } from "./types.js";
import type { CopyToContainerRequest, CopyToContainerResult } from "./types.js";

const PROGRAM = perlProgram("copy-chroot.pl", import.meta.url);


const hex = (s: string): string => Buffer.from(s, "utf8").toString("hex");

/** The helper's operations for a request: host trees walked here, where the exclusion rules are. */
async function operations(req: CopyToContainerRequest): Promise<string[]> {
  const ops: string[] = [];
  for (const r of req.removals) {
    const clean = cleanContainerPath(r);
    if (clean === "/") throw new EngineError("invalid", "refusing to remove the container's root");
    ops.push(`R\t${hex(clean)}`);
  }
  // cp -a: each entry keeps its source's uid/gid; else -1 -1 (the request's owner).
  const ids = (st: Stats): string => (req.owner === "source" ? `${st.uid}\t${st.gid}` : "-1\t-1");
  const walk = async (src: string, dest: string, st: Stats): Promise<void> => {
    if (st.isDirectory()) {
      ops.push(`D\t${hex(dest)}\t${(st.mode & 0o7777).toString(8)}\t${ids(st)}`);
      for (const name of await readdir(src)) {
        const child = `${src}/${name}`;
        if (req.exclude?.(child)) continue;
        const cst = await lstatOrUndefined(child);
        if (cst) await walk(child, dest === "/" ? `/${name}` : `${dest}/${name}`, cst);
      }
    } else if (st.isFile()) {
      ops.push(`F\t${hex(dest)}\t${hex(src)}\t${(st.mode & 0o7777).toString(8)}\t${st.atimeMs / 1000}\t${st.mtimeMs / 1000}\t${ids(st)}`);
    } else if (st.isSymbolicLink()) {
      ops.push(`L\t${hex(dest)}\t${hex(await readlink(src))}\t${ids(st)}`);
    } // sockets, fifos, devices: not synced
  };
  for (const c of req.copies) {
    const dest = cleanContainerPath(c.containerPath);
    const st = await lstatOrUndefined(c.hostPath);
    if (st === undefined) continue; // gone since it was listed: its removal comes with the next batch
    if (dest === "/" && !st.isDirectory()) throw new EngineError("invalid", `cannot copy ${c.hostPath} over the container's root`);
    if (dest !== "/") ops.push(`P\t${hex(dest)}`);
    await walk(c.hostPath, dest, st);
  }
  return ops;
}

/**
 * Applies a copy request inside `root` (/proc/<pid>/root of a running
 * container) from a helper chrooted there; see the top of this file.
 */
export async function copyIntoRunningRoot(root: string, req: CopyToContainerRequest, owner?: CopyOwner): Promise<CopyToContainerResult> {
  const ops = await operations(req);
  if (ops.length === 0) return { copied: 0, removed: 0 };
  const r = await run("perl", [PROGRAM, root, String(owner?.uid ?? -1), String(owner?.gid ?? -1)], {
    input: ops.join("\n") + "\n",
    allowFailure: true,
    // Copying a big tree takes as long as it takes; only a helper stuck for half an hour is killed.
    timeoutMs: 30 * 60_000,
  });
  if (r.code !== 0) {
    const why = r.stderr.trim().replace(/^tscompose-copy: /gm, "") || `the copy helper exited ${r.code}`;
    throw new EngineError(/not a directory/.test(why) ? "invalid" : "internal", `copying into the container: ${why}`);
  }
  const [copied, removed] = r.stdout.trim().split(" ").map(Number);
  return { copied: copied ?? 0, removed: removed ?? 0 };
}
