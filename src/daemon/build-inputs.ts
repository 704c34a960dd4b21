// The build inputs of a service folded into its config hash, where the files
// are (the daemon): the Dockerfile's text, the args and target, and a digest
// of the build context as the builder will read it (BuildContext: the
// .dockerignore applied, each file's type, mode, link target and content).
// A Dockerfile or context edit then changes the hash, so `up` rebuilds and
// recreates the service; an edit of an ignored file changes nothing.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { BuildContext } from "../../engine/build/context.js";
import { contextFileHashes, type FileHashCache } from "../../engine/build/file-hash-cache.js";
import type { BuildSpec, StackSpec } from "../../model/stack.js";
import { canonicalJson } from "../stack/hash.js";
import { isRemoteContext } from "../stack/paths.js";

export async function addBuildInputs(spec: StackSpec): Promise<void> {
  for (const svc of Object.values(spec.services)) {
    if (svc.build === undefined || isRemoteContext(svc.build.context)) continue;
    const digest = await buildInputsDigest(svc.build);
    svc.configHash = createHash("sha256").update(`${svc.configHash}\0build\0${digest}`).digest("hex");
  }
}

/** sha256 (hex) of what a build of `b` reads; a missing context or Dockerfile hashes as absent (the build reports it). */
export async function buildInputsDigest(b: BuildSpec): Promise<string> {
  const dockerfilePath = b.dockerfile === undefined ? join(b.context, "Dockerfile") : isAbsolute(b.dockerfile) ? b.dockerfile : join(b.context, b.dockerfile);
  const dockerfile = b.dockerfileInline ?? (await readFile(dockerfilePath, "utf8").catch(() => "\0missing"));
  const h = createHash("sha256");
  h.update(canonicalJson({ dockerfile, args: b.args, target: b.target, labels: b.labels, contexts: b.additionalContexts }));
  try {
    h.update(await contextDigest(b.context, b.dockerfileInline === undefined ? dockerfilePath : undefined));
  } catch {
    h.update("\0missing context");
  }
  return h.digest("hex");
}

/**
 * `cache`: the process's (shared with the embedded builder) unless given (`{}`: none, every file read).
 * Every `up` (and stack watch, recovery, inspect) hashes the contexts again, and an unchanged context then costs an lstat per file.
 */
export async function contextDigest(dir: string, dockerfile: string | undefined, cache: { hashCache?: FileHashCache } = { hashCache: contextFileHashes }): Promise<string> {
  const ctx = await BuildContext.open(dir, { ...(dockerfile !== undefined ? { dockerfile } : {}), ...cache });
  await ctx.hashAll();
  const h = createHash("sha256");
  for (const e of ctx.entries) {
    const content = e.type === "file" ? await ctx.contentHash(e.path) : "";
    h.update(`${e.path}\0${e.type}\0${e.mode.toString(8)}\0${e.linkTarget ?? ""}\0${content}\n`);
  }
  return h.digest("hex");
}
