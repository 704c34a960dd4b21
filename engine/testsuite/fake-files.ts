// The FakeEngine's file system of one container: a map of absolute paths to
// directories, files and symlinks, enough for copy in and out, stat, export
// and `cat` in fake-shell.ts. Paths resolve inside it (a symlink never leads
// out), with the embedded engine's errors (copy.ts).
import { createWriteStream } from "node:fs";
import { lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { EngineError } from "../types.js";
import type { ContainerPathKind, CopyFromContainerRequest, CopyToContainerRequest, CopyToContainerResult } from "../types.js";

type FsNode = { kind: "directory"; mode: number } | { kind: "file"; data: Buffer; mode: number } | { kind: "symlink"; target: string };

export class FakeFiles {
  private readonly fs = new Map<string, FsNode>();

  constructor() {
    for (const d of ["/", "/bin", "/etc", "/tmp", "/root"]) this.fs.set(d, { kind: "directory", mode: 0o755 });
    this.fs.set("/etc/passwd", { kind: "file", data: Buffer.from("root:x:0:0:root:/root:/bin/sh\n"), mode: 0o644 });
  }

  /** An independent copy: a committed image's files, then each new container's. */
  clone(): FakeFiles {
    const copy = new FakeFiles();
    copy.fs.clear();
    for (const [k, v] of this.fs) copy.fs.set(k, structuredClone(v));
    return copy;
  }

  /** A file's content (undefined: not there, or not a file). */
  readFile(path: string): Buffer | undefined {
    const node = this.fs.get(this.resolve(path));
    return node?.kind === "file" ? node.data : undefined;
  }

  /** Bytes in files: what `system df` counts for the container. */
  size(): number {
    return [...this.fs.values()].reduce((n, f) => n + (f.kind === "file" ? f.data.length : 0), 0);
  }

  /** A container path with its symlinks followed (inside the container); the last one only when `last`. */
  resolve(path: string, last = true): string {
    if (path.includes("\0")) throw new EngineError("invalid", `container path contains a NUL byte: ${JSON.stringify(path)}`);
    if (!path.startsWith("/")) throw new EngineError("invalid", `container path must be absolute: ${JSON.stringify(path)}`);
    let out = "/";
    const parts = posix.normalize(path).split("/").filter(Boolean);
    for (let i = 0, hops = 0; i < parts.length; i++) {
      const next = posix.join(out, parts[i] as string);
      const node = this.fs.get(next);
      if (node?.kind === "symlink" && (last || i < parts.length - 1)) {
        if (++hops > 40) throw new EngineError("invalid", `too many symlinks resolving ${path} in the container`);
        const target = posix.isAbsolute(node.target) ? node.target : posix.join(out, node.target);
        parts.splice(0, i + 1, ...posix.normalize(target).split("/").filter(Boolean));
        out = "/";
        i = -1;
        continue;
      }
      out = next;
    }
    return out;
  }

  private mkdirs(dir: string): void {
    const parts = dir.split("/").filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = `/${parts.slice(0, i).join("/")}`;
      const node = this.fs.get(p);
      if (!node) this.fs.set(p, { kind: "directory", mode: 0o755 });
      else if (node.kind !== "directory") throw new EngineError("invalid", `${p}: a path component is not a directory in the container`);
    }
  }

  private removeTree(path: string): boolean {
    const had = this.fs.delete(path);
    for (const p of [...this.fs.keys()]) if (p.startsWith(`${path}/`)) this.fs.delete(p);
    return had;
  }

  async copyIn(req: CopyToContainerRequest): Promise<CopyToContainerResult> {
    let copied = 0;
    let removed = 0;
    for (const r of req.removals) {
      const p = this.resolve(r, false);
      if (p === "/") throw new EngineError("invalid", "refusing to remove the container's root");
      if (this.removeTree(p)) removed++;
    }
    const put = async (host: string, dest: string): Promise<void> => {
      if (req.exclude?.(host)) return;
      const st = await lstat(host);
      this.mkdirs(posix.dirname(dest));
      if (st.isDirectory()) {
        const existing = this.fs.get(dest);
        if (existing && existing.kind !== "directory") this.removeTree(dest);
        this.fs.set(dest, { kind: "directory", mode: st.mode & 0o7777 });
        for (const name of await readdir(host)) await put(join(host, name), posix.join(dest, name));
        return;
      }
      if (this.fs.get(dest)?.kind === "directory") this.removeTree(dest);
      if (st.isSymbolicLink()) this.fs.set(dest, { kind: "symlink", target: await readlink(host) });
      else this.fs.set(dest, { kind: "file", data: await readFile(host), mode: st.mode & 0o7777 });
      copied++;
    };
    for (const copy of req.copies) {
      const dest = this.resolve(copy.containerPath, false);
      if (dest === "/" && !(await lstat(copy.hostPath)).isDirectory()) throw new EngineError("invalid", `cannot copy ${copy.hostPath} over the container's root`);
      await put(copy.hostPath, dest);
    }
    return { copied, removed };
  }

  async copyOut(req: CopyFromContainerRequest): Promise<CopyToContainerResult> {
    const src = this.resolve(req.containerPath, req.followLink === true);
    if (!this.fs.has(src)) throw new EngineError("not-found", `no such file or directory in the container: ${req.containerPath}`);
    let copied = 0;
    const out = async (path: string, host: string): Promise<void> => {
      const node = this.fs.get(path) as FsNode;
      if (node.kind === "directory") {
        await mkdir(host, { recursive: true, mode: node.mode });
        for (const child of [...this.fs.keys()].filter((p) => posix.dirname(p) === path && p !== "/")) await out(child, join(host, posix.basename(child)));
        return;
      }
      await mkdir(dirname(host), { recursive: true });
      if (node.kind === "symlink") await symlink(node.target, host);
      else await writeFile(host, node.data, { mode: node.mode });
      copied++;
    };
    await out(src, req.hostPath);
    return { copied, removed: 0 };
  }

  /** A tar of the whole file system, or of one path under its last component (as docker cp's tar). */
  async exportTar(hostPath: string, opts: { path?: string; followLink?: boolean }): Promise<void> {
    const root = opts.path === undefined ? "/" : this.resolve(opts.path, opts.followLink === true);
    if (!this.fs.has(root)) throw new EngineError("not-found", `no such file or directory in the container: ${opts.path ?? "/"}`);
    const pack = tar.pack();
    const base = opts.path === undefined ? "" : posix.basename(root);
    for (const [p, node] of [...this.fs.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (p !== root && !p.startsWith(root === "/" ? "/" : `${root}/`)) continue;
      const rel = posix.join(base, posix.relative(root, p));
      if (rel === "") continue;
      if (node.kind === "directory") pack.entry({ name: `${rel}/`, type: "directory", mode: node.mode });
      else if (node.kind === "symlink") pack.entry({ name: rel, type: "symlink", linkname: node.target });
      else pack.entry({ name: rel, mode: node.mode }, node.data);
    }
    pack.finalize();
    await pipeline(pack, createWriteStream(hostPath));
  }

  stat(path: string, opts: { followLink?: boolean }): ContainerPathKind | undefined {
    return this.fs.get(this.resolve(path, opts.followLink === true))?.kind;
  }
}
