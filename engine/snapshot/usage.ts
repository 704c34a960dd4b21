// Disk usage of a directory tree, the way du(1) and containerd's overlay
// snapshotter count it: allocated blocks, each inode once however many hard
// links it has, symlinks never followed.
import { lstat, readdir } from "node:fs/promises";
import { lstatOrUndefined } from "./safepath.js";
import type { Usage } from "./types.js";

export async function diskUsage(dir: string): Promise<Usage> {
  const usage: Usage = { size: 0, inodes: 0 };
  if ((await lstatOrUndefined(dir)) === undefined) return usage;
  const seen = new Set<string>();
  const stack = [dir];
  for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
    const st = await lstat(p, { bigint: true });
    const id = `${st.dev}:${st.ino}`;
    if (!seen.has(id)) {
      seen.add(id);
      usage.inodes++;
      usage.size += Number(st.blocks) * 512;
    }
    if (st.isDirectory()) for (const name of await readdir(p)) stack.push(`${p}/${name}`);
  }
  return usage;
}
