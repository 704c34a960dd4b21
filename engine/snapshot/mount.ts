// mount(8) and umount(8) through the engine's command seam: node has no mount(2).
// Mounted state is read from /proc/self/mountinfo, never remembered: after a
// daemon restart the kernel is the only truth.
import { readFile } from "node:fs/promises";
import { run } from "../sys/exec.js";
import { SnapshotError, type Mount } from "./types.js";

/** Mounts `m` on `target`. When m.cwd is set, mount runs there so the relative paths in its options resolve. */
export async function mountOverlay(m: Mount, target: string): Promise<void> {
  const args = ["-t", m.type, ...(m.options.length > 0 ? ["-o", m.options.join(",")] : []), m.source, target];
  try {
    await run("mount", args, { cwd: m.cwd });
  } catch (err) {
    throw new SnapshotError("unavailable", `mount ${m.type} on ${target}: ${stderrOf(err)}`, { cause: err });
  }
}

/**
 * Unmounts everything mounted on `target` (mounts can stack). A busy mount is
 * retried briefly, then detached lazily (umount -l), as a container's rootfs
 * must go away even if a stray process still holds it open.
 */
export async function unmount(target: string): Promise<void> {
  for (let attempt = 0; await isMounted(target); attempt++) {
    try {
      await run("umount", attempt < 3 ? [target] : ["-l", target]);
    } catch (err) {
      if (attempt >= 4) throw new SnapshotError("unavailable", `umount ${target}: ${stderrOf(err)}`, { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
    }
  }
}

export async function isMounted(target: string): Promise<boolean> {
  return (await mountPoints()).has(target);
}

/** Mount points of this mount namespace, unescaped (mountinfo writes space, tab, newline, backslash as \ooo). */
export async function mountPoints(): Promise<Set<string>> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const field = line.split(" ")[4];
    if (field !== undefined) out.add(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

function stderrOf(err: unknown): string {
  const stderr = (err as { result?: { stderr?: string } }).result?.stderr;
  return stderr !== undefined && stderr.trim() !== "" ? stderr.trim() : String(err);
}
