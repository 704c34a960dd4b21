// Parsers for the small text formats cgroup files use, shared by v1 and v2.
import { readFile } from "node:fs/promises";

/** Reads a cgroup file; undefined when it does not exist (a controller not enabled, an older kernel). */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENODEV" || code === "EINVAL") return undefined;
    throw e;
  }
}

/** A single number, or "max" (unlimited) as undefined. Missing file: undefined. */
export function parseNumberOrMax(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === "" || t === "max") return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control). */
export function parseFlatKeyed(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (text === undefined) return out;
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) {
      const n = Number(v);
      if (Number.isFinite(n)) out.set(k, n);
    }
  }
  return out;
}
