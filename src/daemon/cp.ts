// `tscompose cp` in the daemon: stat both ends (the container's inside the
// container), apply docker cp's path rules (cp-target.ts), then copy through
// the engine's link-safe copiers: into a container from a helper chrooted
// into it, out of one with the reads made from such a helper.
import { lstat, mkdtemp, readdir, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { cleanContainerPath } from "../../engine/copy.js";
import { unpackLayer } from "../../engine/snapshot/unpack.js";
import type { ContainerPathKind, Engine } from "../../engine/types.js";
import { EngineError } from "../../engine/types.js";
import type { CopyRequest, CopyResponse } from "./api.js";
import { copyTarget } from "./cp-target.js";

/** A host path's kind, links followed (undefined: not there). */
async function hostKind(p: string): Promise<ContainerPathKind | undefined> {
  const st = await stat(p).catch(() => undefined);
  return st === undefined ? undefined : st.isDirectory() ? "directory" : st.isFile() ? "file" : "other";
}

/** SRC's kind on the host: the last link followed only with -L. */
async function hostSourceKind(p: string, followLink: boolean): Promise<ContainerPathKind | undefined> {
  if (followLink) return hostKind(p);
  const st = await lstat(p).catch(() => undefined);
  return st === undefined ? undefined : st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "directory" : st.isFile() ? "file" : "other";
}

const parentOf = (p: string): string => posix.dirname(p.replace(/\/+$/, "") || "/");
const withoutDot = (p: string): string => p.replace(/\/\.$/, "/").replace(/(.)\/+$/, "$1");

export async function copyFiles(engine: Engine, id: string, req: CopyRequest): Promise<CopyResponse> {
  if (!posix.isAbsolute(req.hostPath)) throw new EngineError("invalid", `the host path must be absolute: ${req.hostPath}`);
  const followLink = req.followLink === true;
  const archive = req.archive === true;
  if (req.direction === "toContainer") {
    const src = { path: req.hostPath, kind: await hostSourceKind(withoutDot(req.hostPath), followLink) };
    const dstPath = req.containerPath;
    const dst = {
      path: dstPath,
      kind: await engine.statContainerPath(id, dstPath, { followLink: true }),
      parentIsDirectory: (await engine.statContainerPath(id, parentOf(dstPath), { followLink: true })) === "directory",
    };
    // A CopyPathError carries its kind (not-found, invalid): the server answers its status.
    const target = copyTarget(src, dst);
    // -L: the link's target is what is copied (the host is the user's own: the kernel may resolve it).
    const hostPath = followLink ? await realpath(withoutDot(req.hostPath)) : withoutDot(req.hostPath);
    const r = await engine.copyToContainer(id, { copies: [{ hostPath, containerPath: target }], removals: [], owner: archive ? "source" : { uid: 0, gid: 0 } });
    return { copied: r.copied, target };
  }
  const src = { path: req.containerPath, kind: await engine.statContainerPath(id, req.containerPath, { followLink }) };
  const dst = { path: req.hostPath, kind: await hostKind(req.hostPath), parentIsDirectory: (await hostKind(parentOf(req.hostPath))) === "directory" };
  const target = copyTarget(src, dst);
  // The host's side is the user's: its links are theirs to follow; the helper then never writes through one.
  const hostTarget = (await hostKind(target)) === "directory" ? await realpath(target) : posix.join(await realpath(parentOf(target)), posix.basename(target));
  const r = await engine.copyFromContainer(id, { containerPath: withoutDot(req.containerPath), hostPath: hostTarget, followLink, archive });
  return { copied: r.copied, target };
}

/**
 * `cp - SERVICE:DST`: a tar from the client, unpacked by the layer unpacker
 * (it refuses paths and links that leave its directory) into a private
 * temporary directory, then copied into DST (an existing directory, as docker
 * requires) through the same link-safe copier as any other copy.
 */
export async function copyTarInto(engine: Engine, id: string, containerDir: string, input: Readable, archive: boolean): Promise<CopyResponse> {
  const dir = cleanContainerPath(containerDir.startsWith("/") ? containerDir : `/${containerDir}`);
  if ((await engine.statContainerPath(id, dir, { followLink: true })) !== "directory") {
    input.resume();
    throw new EngineError("invalid", `extraction point is not a directory: ${containerDir}`);
  }
  const tmp = await mkdtemp(join(tmpdir(), "tscompose-cp-in-"));
  try {
    await unpackLayer(input, tmp, { chown: archive });
    const copies = (await readdir(tmp)).sort().map((name) => ({ hostPath: join(tmp, name), containerPath: posix.join(dir, name) }));
    const r = await engine.copyToContainer(id, { copies, removals: [], owner: archive ? "source" : { uid: 0, gid: 0 } });
    return { copied: r.copied, target: dir };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
