// Listing the network state's records (networks/, sandboxes/). They are
// written by the engine's one atomic writer (engine/sys/atomic-file.ts:
// unique temp name, fsync of file and directory, rename), so a crash or a
// power loss leaves either the old or the new content, never half of one.
// Network and IPAM records are the truth that repair() rebuilds bridges and
// rules from after a reboot, so they are as durable as container records.
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { isTempName, readJsonFile, setAside } from "../sys/atomic-file.js";

/**
 * Every `*.json` record in a directory (missing directory: none). Temporary
 * files from an interrupted write are removed. A record that does not parse
 * is set aside (<name>.json.corrupt-<time>) and reported as `corrupt` with
 * its new path: the caller must then not remove what it may have owned.
 */
export async function readJsonDir<T>(dir: string): Promise<{ name: string; value: T | undefined; corrupt?: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: { name: string; value: T | undefined; corrupt?: string }[] = [];
  for (const name of names) {
    // One process owns the network state (lockfile.ts), so every temp file here is a killed writer's.
    // Names ending in ".tmp" are those of the writer before the shared one.
    if (isTempName(name) || name.endsWith(".tmp")) {
      await rm(join(dir, name), { force: true });
      continue;
    }
    if (!name.endsWith(".json")) continue;
    try {
      out.push({ name: name.slice(0, -5), value: await readJsonFile<T>(join(dir, name)) });
    } catch {
      out.push({ name: name.slice(0, -5), value: undefined, corrupt: (await setAside(join(dir, name))) ?? join(dir, name) });
    }
  }
  return out;
}
