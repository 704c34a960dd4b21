// Extended attributes: node has no setxattr(2), so they are written with
// setfattr (Debian package "attr"), batched: one spawn per distinct
// (name, value) pair with all its paths, at the end of an unpack. In practice
// that is one spawn for all opaque directories of a layer
// (trusted.overlay.opaque=y) plus one per distinct file capability.
// `-h` makes setfattr use lsetxattr: a path that is a symlink gets the
// attribute itself instead of its target (callers verify paths first anyway).
import { CommandError, CommandNotFoundError, run } from "../sys/exec.js";
import { UnpackError } from "./errors.js";

export interface XattrWrite {
  path: string;
  name: string;
  value: Buffer;
}

/** Keeps each spawn's argv well under ARG_MAX (2 MiB; 128 KiB per single argument). */
const ARGV_BUDGET = 100_000;

export async function applyXattrs(writes: readonly XattrWrite[]): Promise<void> {
  const groups = new Map<string, { name: string; value: Buffer; paths: string[] }>();
  for (const w of writes) {
    const key = `${w.name}\0${w.value.toString("hex")}`;
    const g = groups.get(key) ?? { name: w.name, value: w.value, paths: [] };
    g.paths.push(w.path);
    groups.set(key, g);
  }
  for (const g of groups.values()) {
    // 0x-prefixed hex is setfattr's binary-safe value encoding.
    const head = ["-h", "-n", g.name, "-v", `0x${g.value.toString("hex")}`, "--"];
    let batch: string[] = [];
    let bytes = 0;
    for (const p of g.paths) {
      if (batch.length > 0 && bytes + p.length > ARGV_BUDGET) {
        await setfattr([...head, ...batch]);
        batch = [];
        bytes = 0;
      }
      batch.push(p);
      bytes += p.length + 1;
    }
    if (batch.length > 0) await setfattr([...head, ...batch]);
  }
}

/** Whether a directory of a layer is an opaque one (it hides what the layers below have there). */
export async function isOpaqueDir(path: string): Promise<boolean> {
  try {
    return (await run("getfattr", ["-h", "--only-values", "-n", OPAQUE, "--", path])).stdout === "y";
  } catch (err) {
    if (err instanceof CommandNotFoundError) throw new UnpackError("unsupported", "getfattr not found: install the 'attr' package", { cause: err });
    // No such attribute: exit 1.
    if (err instanceof CommandError) return false;
    throw err;
  }
}

const OPAQUE = "trusted.overlay.opaque";

async function setfattr(args: string[]): Promise<void> {
  try {
    await run("setfattr", args);
  } catch (err) {
    if (err instanceof CommandNotFoundError) {
      throw new UnpackError("unsupported", "setfattr not found: install the 'attr' package (needed for opaque whiteouts and file capabilities)", { cause: err });
    }
    const stderr = err instanceof CommandError ? err.result.stderr.trim() : "";
    throw new UnpackError("io", `setfattr failed: ${stderr || String(err)}`, { cause: err });
  }
}
