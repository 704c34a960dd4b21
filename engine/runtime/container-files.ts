// The files compose puts into a container that are not a plain bind of a host
// file (secrets and configs from an environment variable, inline content, or
// with their own uid/gid/mode): written once, into the container's own
// directory (removed with it), with the owner and mode the user asked for,
// and mounted read-only at their targets.
import { chmod, chown, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ContainerFile } from "../types.js";
import { EngineError } from "../types.js";
import type { ResolvedMount } from "./mounts.js";

export async function writeContainerFiles(dir: string, files: ContainerFile[]): Promise<ResolvedMount[]> {
  if (files.length === 0) return [];
  const root = join(dir, "files");
  await mkdir(root, { recursive: true, mode: 0o700 });
  return Promise.all(
    files.map(async (f, i) => {
      const path = join(root, String(i));
      const content = f.content !== undefined ? f.content : f.source !== undefined ? await readSource(f.source, f.target) : "";
      // Mode 0600 until the owner is set: the requested mode may open it to others.
      await writeFile(path, content, { mode: 0o600 });
      await chown(path, f.uid, f.gid);
      await chmod(path, f.mode);
      return { type: "bind" as const, source: path, target: f.target, readOnly: true };
    }),
  );
}

async function readSource(source: string, target: string): Promise<Buffer> {
  try {
    return await readFile(source);
  } catch (err) {
    throw new EngineError("invalid", `cannot read ${source} for ${target}: ${(err as Error).message}`);
  }
}
