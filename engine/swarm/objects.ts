// Configs and secrets of a stack on swarm. Swarm cannot change an object's
// data ("only updates to Labels are allowed", docker stack deploy's
// long-standing failure), so each one is named after its content:
// `<name>-<first 12 hex of sha256(data)>`. A changed file is a new name; the
// services using it are updated to it (a rolling update), and the old object
// goes once no service refers to it any more.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { FileObjectSpec } from "../../model/stack.js";
import { EngineError } from "../errors.js";

export type ObjectKind = "configs" | "secrets";

/** What a stack's config or secret holds: the file's bytes, the environment variable's value, or `content`. */
export async function objectData(kind: ObjectKind, key: string, o: FileObjectSpec): Promise<Buffer> {
  if (o.content !== undefined) return Buffer.from(o.content);
  if (o.environmentValue !== undefined) return Buffer.from(o.environmentValue);
  if (o.file !== undefined) {
    try {
      return await readFile(o.file);
    } catch (err) {
      throw new EngineError("invalid", `${kind}.${key}: cannot read ${o.file}: ${(err as Error).message}`, { cause: err });
    }
  }
  throw new EngineError("invalid", `${kind}.${key}: no file, environment or content to create it from`);
}

/** The swarm name of an object with this data: swarm limits names to 64 characters. */
export function contentName(name: string, data: Buffer): string {
  const hash = createHash("sha256").update(data).digest("hex").slice(0, 12);
  return `${name.slice(0, 64 - 13)}-${hash}`;
}
