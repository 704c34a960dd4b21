// Special files node cannot create by itself: node has no mknod(2), so device
// nodes, FIFOs and overlay whiteouts go through the coreutils binaries.
//
// Whiteouts are the common case (every layer that deletes files has them) and
// spawning mknod once per whiteout costs a few milliseconds each. Instead, each
// unpack makes ONE whiteout (a 0/0 character device) with a single spawn, and
// every whiteout of the layer is a hard link to it: link(2) is a plain
// syscall node has, and overlayfs only checks "character device 0/0", not the
// link count. The kernel's own overlayfs does the same since Linux 5.8 (it
// links new whiteouts to one shared whiteout inode in its work dir).
// Devices and FIFOs are rare in layers and get one spawn each.
import { randomBytes } from "node:crypto";
import { linkSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { run } from "../sys/exec.js";

export type NodeKind = "char" | "block";

/** Creates a device node with the mknod binary; `mode` is the permission bits. */
export async function mknod(path: string, kind: NodeKind, mode: number, major: number, minor: number): Promise<void> {
  await run("mknod", ["-m", octal(mode), "--", path, kind === "char" ? "c" : "b", String(major), String(minor)]);
}

export async function mkfifo(path: string, mode: number): Promise<void> {
  await run("mkfifo", ["-m", octal(mode), "--", path]);
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

/**
 * Makes overlay whiteouts as hard links to a template whiteout created on first
 * use inside `dir` (it must be on the destination's filesystem). The template's
 * name is random so no tar entry can collide with it; dispose() removes it.
 */
export class Whiteouts {
  private template: string | undefined;
  private readonly templates: string[] = [];

  constructor(private readonly dir: string) {}

  async make(path: string): Promise<void> {
    const template = this.template ?? (await this.newTemplate());
    try {
      linkSync(template, path);
    } catch (err) {
      // EMLINK: ext4 caps an inode at 65000 links. Start another template.
      if ((err as NodeJS.ErrnoException).code !== "EMLINK") throw err;
      linkSync(await this.newTemplate(), path);
    }
  }

  async dispose(): Promise<void> {
    for (const t of this.templates.splice(0)) {
      await unlink(t).catch(() => undefined);
    }
    this.template = undefined;
  }

  private async newTemplate(): Promise<string> {
    const t = `${this.dir}/.tscompose-whiteout-${randomBytes(16).toString("hex")}`;
    await mknod(t, "char", 0, 0, 0);
    this.templates.push(t);
    this.template = t;
    return t;
  }
}
