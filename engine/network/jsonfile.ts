// Persisted state is small JSON files replaced atomically (write a temporary
// file beside, then rename), so a crash leaves either the old or the new
// content, never half of one. No fsync: a process crash cannot lose a renamed
// file, and after a power loss every netns, veth and bridge is gone anyway —
// repair() rebuilds kernel state from the records and frees what they lack.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = join(dirname(path), `.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await writeFile(tmp, JSON.stringify(value, null, 1) + "\n", { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      // The directory is missing (first write): create it and try once more.
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeFile(tmp, JSON.stringify(value, null, 1) + "\n", { mode: 0o600 });
      await rename(tmp, path);
      return;
    }
    await rm(tmp, { force: true });
    throw err;
  }
}

/** undefined when the file does not exist; throws on unparsable content so callers decide. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

/** Every `*.json` record in a directory (missing directory: none). Temporary files from an interrupted write are removed. */
export async function readJsonDir<T>(dir: string): Promise<{ name: string; value: T | undefined }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: { name: string; value: T | undefined }[] = [];
  for (const name of names) {
    if (name.endsWith(".tmp")) {
      await rm(join(dir, name), { force: true });
      continue;
    }
    if (!name.endsWith(".json")) continue;
    let value: T | undefined;
    try {
      value = await readJson<T>(join(dir, name));
    } catch {
      value = undefined; // corrupt: the caller treats it as absent and repair() cleans what it owned
    }
    out.push({ name: name.slice(0, -5), value });
  }
  return out;
}
