// Small JSON files that must survive kill -9 and power loss whole or not at
// all: written to a temporary name in the same directory, fsynced, then
// renamed over the old one (rename(2) is atomic within a filesystem). A crash
// leaves at most a ".tmp-" file, which readers ignore and cleanTemp reclaims.
import { randomBytes } from "node:crypto";
import { open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export const TEMP_PREFIX = ".tmp-";

export async function writeFileAtomic(file: string, data: string | Buffer, sync = true): Promise<void> {
  const tmp = join(dirname(file), `${TEMP_PREFIX}${basename(file)}-${randomBytes(6).toString("hex")}`);
  const handle = await open(tmp, "wx", 0o600);
  try {
    await handle.writeFile(data);
    if (sync) await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Parses a JSON file; undefined when it does not exist. */
export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${file}: invalid JSON (${(err as Error).message})`, { cause: err });
  }
}

/**
 * Removes temporary files older than `olderThanMs` (left by a killed writer).
 * Younger ones may belong to a live writer in another process.
 */
export async function cleanTemp(dir: string, olderThanMs: number): Promise<void> {
  const cutoff = Date.now() - olderThanMs;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const path = join(dir, name);
    const st = await stat(path).catch(() => undefined);
    if (st && st.mtimeMs < cutoff) await unlink(path).catch(() => undefined);
  }
}
