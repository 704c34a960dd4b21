// docker cp over dockerd's archive API: host files packed into a tar for PUT
// /containers/{id}/archive, and a container's tar from GET unpacked on the
// host. The tar comes from dockerd, but a container's files are its user's:
// entries that would leave the destination (.., absolute names, a write
// through a link) are refused, as engine/snapshot's unpack refuses them.
import { createReadStream } from "node:fs";
import { chown, lchown, link, lstat, mkdir, readdir, readlink, symlink, utimes, chmod, writeFile } from "node:fs/promises";
import { posix, join, dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import { createWriteStream } from "node:fs";
import tar from "tar-stream";
import { EngineError } from "../errors.js";
import type { CopyEntry } from "../types.js";

export interface PackOptions {
  exclude?: (hostPath: string) => boolean;
  /** Owner written into the headers; undefined: the host file's own. */
  owner?: { uid: number; gid: number };
}

/**
 * Packs host paths into a tar whose names are the container paths (relative
 * to "/"), to be put at "/": dockerd makes missing parents. Returns the
 * stream and a promise of the number of files and links packed.
 */
export function packCopies(copies: CopyEntry[], opts: PackOptions = {}): { stream: tar.Pack; done: Promise<number> } {
  const pack = tar.pack();
  const done = (async () => {
    let count = 0;
    const add = async (hostPath: string, name: string): Promise<void> => {
      if (opts.exclude?.(hostPath)) return;
      const st = await lstat(hostPath);
      const header = { name, mode: st.mode & 0o7777, mtime: st.mtime, uid: opts.owner?.uid ?? st.uid, gid: opts.owner?.gid ?? st.gid };
      if (st.isDirectory()) {
        pack.entry({ ...header, type: "directory" });
        for (const child of (await readdir(hostPath)).sort()) await add(join(hostPath, child), `${name}/${child}`);
      } else if (st.isSymbolicLink()) {
        pack.entry({ ...header, type: "symlink", linkname: await readlink(hostPath) });
        count++;
      } else if (st.isFile()) {
        const entry = pack.entry({ ...header, type: "file", size: st.size });
        await pipeline(createReadStream(hostPath), entry);
        count++;
      } else throw new EngineError("invalid", `${hostPath}: only files, directories and symlinks can be copied`);
    };
    try {
      for (const c of copies) await add(c.hostPath, cleanAbsolute(c.containerPath).slice(1));
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
      throw e;
    }
    return count;
  })();
  return { stream: pack, done };
}

/** An absolute container path, cleaned; a relative one is invalid. */
export function cleanAbsolute(p: string): string {
  if (!p.startsWith("/")) throw new EngineError("invalid", `container path ${JSON.stringify(p)} is not absolute`);
  return posix.normalize(p).replace(/(.)\/$/, "$1");
}

/** A tar member's name below its top component, checked: undefined for the top itself. */
export function memberPath(name: string): string | undefined {
  const parts = name.split("/").filter((s) => s !== "" && s !== ".");
  if (name.startsWith("/") || parts.includes("..")) throw new EngineError("invalid", `the container's archive has an entry outside it: ${JSON.stringify(name)}`);
  return parts.length <= 1 ? undefined : parts.slice(1).join("/");
}

async function noLinkOnTheWay(root: string, rel: string): Promise<void> {
  const parts = rel.split("/").slice(0, -1);
  let p = root;
  for (const part of parts) {
    p = join(p, part);
    const st = await lstat(p).catch(() => undefined);
    if (st && !st.isDirectory()) throw new EngineError("invalid", `the container's archive writes through ${p}, which is not a directory`);
  }
}

/**
 * Unpacks a container's tar (its top entry being the copied path) to
 * hostPath: the top entry becomes hostPath itself. Returns the files and links written.
 */
export async function unpackTo(source: NodeJS.ReadableStream, hostPath: string, opts: { archive?: boolean } = {}): Promise<number> {
  const extract = tar.extract();
  source.pipe(extract);
  let count = 0;
  const dirTimes: { path: string; mtime: Date }[] = [];
  for await (const entry of extract) {
    const h = entry.header;
    const rel = memberPath(h.name);
    const dest = rel === undefined ? hostPath : join(hostPath, rel);
    if (rel !== undefined) await noLinkOnTheWay(hostPath, rel);
    else await mkdir(dirname(hostPath), { recursive: true });
    const mode = (h.mode ?? 0o644) & 0o7777;
    if (h.type === "directory") {
      await mkdir(dest, { recursive: true });
      await chmod(dest, mode);
      if (h.mtime) dirTimes.push({ path: dest, mtime: h.mtime });
    } else if (h.type === "file" || h.type === "contiguous-file") {
      const existing = await lstat(dest).catch(() => undefined);
      if (existing?.isSymbolicLink()) throw new EngineError("invalid", `the container's archive writes through the link ${dest}`);
      await pipeline(entry, createWriteStream(dest, { mode }));
      await chmod(dest, mode);
      if (h.mtime) await utimes(dest, h.mtime, h.mtime);
      count++;
    } else if (h.type === "symlink") {
      await symlink(h.linkname ?? "", dest);
      count++;
    } else if (h.type === "link") {
      const target = memberPath(h.linkname ?? "");
      const from = target === undefined ? hostPath : join(hostPath, target);
      await noLinkOnTheWay(hostPath, target ?? "");
      await link(from, dest);
      count++;
    } else {
      // Devices, fifos: `docker cp` makes them as root; a plain file stands in rather than a device node from a container.
      await writeFile(dest, "");
    }
    if (opts.archive && h.type !== "link") await (h.type === "symlink" ? lchown : chown)(dest, h.uid ?? 0, h.gid ?? 0);
    entry.resume();
  }
  for (const d of dirTimes.reverse()) await utimes(d.path, d.mtime, d.mtime);
  return count;
}

/** Copies a tar through, its top component renamed (docker cp -L names the copy as the link). */
export function renameTop(source: NodeJS.ReadableStream, top: string): tar.Pack {
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on("entry", (header, stream, next) => {
    const rest = header.name.split("/").slice(1).join("/");
    header.name = rest === "" ? top : `${top}/${rest}`;
    stream.pipe(pack.entry(header, (err) => (err ? pack.destroy(err) : next())));
  });
  extract.on("finish", () => pack.finalize());
  extract.on("error", (e) => pack.destroy(e));
  source.pipe(extract);
  return pack;
}
