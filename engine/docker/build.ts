// docker build on a dockerd: the context as a tar for POST /build (what the
// docker CLI sends: the context filtered by .dockerignore, the Dockerfile and
// the ignore file always in it), the query of the request, and dockerd's
// legacy-builder JSON stream ("Step N/M : INSTR", " ---> Using cache",
// output lines, errorDetail) turned into BuildProgress and an EngineError
// naming `Dockerfile:LINE` and the step.
//
// The legacy builder is what API 1.41 offers without a BuildKit session (a
// gRPC tunnel over the hijacked connection); secrets and additional contexts
// need that session, so they are refused here by name.
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readFile } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { BuildContext } from "../build/context.js";
import { parseDockerfile } from "../build/dockerfile/syntax.js";
import { EngineError } from "../errors.js";
import type { BuildProgress, BuildRequest } from "../types.js";

export interface BuildTar {
  stream: tar.Pack;
  /** Settles when every entry is packed (or packing failed). */
  done: Promise<void>;
  /** The Dockerfile's name inside the tar (the `dockerfile` query parameter). */
  dockerfileName: string;
  /** The Dockerfile's text, to find a failing step's line. */
  dockerfileText: string;
}

/** The keys this engine cannot honour, in compose's words: a clear refusal before anything is sent. */
export function checkBuildRequest(req: BuildRequest): void {
  if (req.secrets && Object.keys(req.secrets).length > 0) {
    throw new EngineError("invalid", "build secrets need BuildKit, which the docker engine does not drive (API 1.41 legacy builder): remove build.secrets or use the embedded engine");
  }
  if (req.additionalContexts && Object.keys(req.additionalContexts).length > 0) {
    throw new EngineError("invalid", "build.additional_contexts need BuildKit, which the docker engine does not drive (API 1.41 legacy builder): remove them or use the embedded engine");
  }
}

/** The context directory as docker's CLI sends it. */
export async function buildContextTar(req: BuildRequest): Promise<BuildTar> {
  const dir = resolve(req.contextDir);
  const dockerfilePath = req.dockerfile === undefined ? join(dir, "Dockerfile") : isAbsolute(req.dockerfile) ? req.dockerfile : join(dir, req.dockerfile);
  const ctx = await BuildContext.open(dir, req.dockerfileInline === undefined ? { dockerfile: dockerfilePath } : {});
  let dockerfileText: string;
  let dockerfileName: string;
  let extra: { name: string; text: string } | undefined;
  const inside = relative(dir, dockerfilePath);
  if (req.dockerfileInline !== undefined) {
    dockerfileText = req.dockerfileInline;
    dockerfileName = `.dockerfile.${randomBytes(10).toString("hex")}`;
    extra = { name: dockerfileName, text: dockerfileText };
  } else {
    dockerfileText = await readFile(dockerfilePath, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw new EngineError(err.code === "ENOENT" ? "not-found" : "invalid", `unable to prepare context: unable to read Dockerfile ${dockerfilePath}: ${err.message}`);
    });
    if (inside.startsWith(`..${sep}`) || inside === ".." || isAbsolute(inside)) {
      // Outside the context: sent under a random name, as the docker CLI does.
      dockerfileName = `.dockerfile.${randomBytes(10).toString("hex")}`;
      extra = { name: dockerfileName, text: dockerfileText };
    } else dockerfileName = inside.split(sep).join("/");
  }
  const paths = new Set(ctx.entries.map((e) => e.path));
  // The Dockerfile and the ignore file are sent even when the ignore file names them (docker's rule).
  const always = [dockerfileName, ...(ctx.ignoreFile !== undefined ? [relative(dir, ctx.ignoreFile).split(sep).join("/")] : [])].filter((p) => !p.startsWith("../") && extra?.name !== p && !paths.has(p));

  const pack = tar.pack();
  const done = (async () => {
    const file = async (path: string, mode: number, size: number): Promise<void> => {
      const entry = pack.entry({ name: path, type: "file", mode, size, mtime: new Date(0) });
      await pipeline(createReadStream(join(dir, path)), entry);
    };
    for (const e of ctx.entries) {
      const header = { name: e.path, mode: e.mode, uid: e.uid, gid: e.gid, mtime: new Date(0) };
      if (e.type === "dir") pack.entry({ ...header, type: "directory" });
      else if (e.type === "symlink") pack.entry({ ...header, type: "symlink", linkname: e.linkTarget ?? "" });
      else if (e.type === "file") await pipeline(createReadStream(join(dir, e.path)), pack.entry({ ...header, type: "file", size: e.size }));
      // fifos, sockets and devices are not sent: docker build cannot COPY them either.
    }
    for (const p of always) {
      const st = await lstat(join(dir, p)).catch(() => undefined);
      if (st?.isFile()) await file(p, st.mode & 0o7777, st.size);
    }
    if (extra) pack.entry({ name: extra.name, type: "file", mode: 0o644, mtime: new Date(0) }, extra.text);
    pack.finalize();
  })();
  done.catch((err: unknown) => pack.destroy(err as Error));
  return { stream: pack, done, dockerfileName, dockerfileText };
}

/** POST /build's query for the legacy builder. */
export function buildQuery(req: BuildRequest, dockerfileName: string, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  // `--build-arg K` without a value takes the caller's (here the daemon's) environment; absent there, dockerd sees it unset.
  const buildargs: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(req.buildArgs ?? {})) buildargs[k] = v ?? env[k] ?? null;
  return {
    dockerfile: dockerfileName,
    ...(req.tags.length > 0 ? { t: req.tags } : {}),
    ...(Object.keys(buildargs).length > 0 ? { buildargs } : {}),
    ...(req.target !== undefined ? { target: req.target } : {}),
    ...(req.labels && Object.keys(req.labels).length > 0 ? { labels: req.labels } : {}),
    ...(req.noCache ? { nocache: "1" } : {}),
    ...(req.pull ? { pull: "1" } : {}),
    ...(req.network !== undefined ? { networkmode: req.network } : {}),
    ...(req.shmSize !== undefined ? { shmsize: String(req.shmSize) } : {}),
    ...(req.extraHosts && req.extraHosts.length > 0 ? { extrahosts: req.extraHosts } : {}),
    ...(req.platform !== undefined ? { platform: req.platform } : {}),
    // Intermediate containers go with their step, as `docker build` does by default.
    rm: "1",
    forcerm: "1",
    version: "1",
  };
}

/** One message of dockerd's build stream. */
export interface BuildMessage {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  aux?: { ID?: string };
  error?: string;
  errorDetail?: { message?: string; code?: number };
}

const STEP = /^Step (\d+)\/(\d+) : (.*)$/;
const NOISE = /^( ---> (Running in [0-9a-f]+|[0-9a-f]{12,})|Removing intermediate container [0-9a-f]+|Successfully built [0-9a-f]+|Successfully tagged .*)$/;

/**
 * dockerd's legacy-builder stream as BuildProgress. `feed` takes one message
 * at a time; `finish` closes the last step; a message with an error becomes
 * the EngineError `fail` returns, naming the Dockerfile's line of the step
 * that failed.
 */
export class LegacyBuildTranslator {
  imageId: string | undefined;
  private current: { id: number; name: string; startedAt: number; cached: boolean } | undefined;
  private readonly lines: number[];
  private pending = "";

  constructor(
    private readonly emit: (p: BuildProgress) => void,
    dockerfileText: string,
    private readonly file = "Dockerfile",
    private readonly now: () => number = Date.now,
  ) {
    let lines: number[] = [];
    try {
      lines = parseDockerfile(dockerfileText).instructions.map((i) => i.line);
    } catch {
      // dockerd reports what it cannot parse in its own words.
    }
    this.lines = lines;
  }

  feed(msg: BuildMessage): void {
    if (msg.error !== undefined || msg.errorDetail !== undefined) throw this.fail(msg.errorDetail?.message ?? msg.error ?? "build failed");
    if (msg.aux?.ID !== undefined) this.imageId = msg.aux.ID;
    if (msg.status !== undefined && this.current) {
      // A base image's pull inside FROM.
      this.emit({ type: "output", id: this.current.id, stream: "stdout", text: `${msg.id !== undefined ? `${msg.id}: ` : ""}${msg.status}\n` });
    }
    if (msg.stream === undefined) return;
    this.pending += msg.stream;
    let nl: number;
    while ((nl = this.pending.indexOf("\n")) >= 0) {
      this.line(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
    }
  }

  finish(): void {
    if (this.pending !== "") this.line(this.pending);
    this.pending = "";
    this.close();
  }

  /** The error for dockerd's message, at the step that was running. */
  fail(raw: string): EngineError {
    // The legacy builder's words for a failed RUN, in BuildKit's (the embedded builder's), so one message names a failed step on every engine.
    const run = /^The command '(.*)' returned a non-zero code: (\d+)$/s.exec(raw);
    const message = run ? `process "${run[1]}" did not complete successfully: exit code: ${run[2]}` : raw;
    if (this.pending !== "") this.line(this.pending);
    this.pending = "";
    const step = this.current;
    if (!step) return new EngineError("invalid", message);
    const line = this.lines[step.id - 1];
    const instruction = step.name.replace(/^\[[^\]]*\] /, "");
    this.emit({ type: "step", id: step.id, name: step.name, state: "error", durationMs: this.now() - step.startedAt, error: message });
    this.current = undefined;
    return new EngineError("invalid", `${this.file}${line !== undefined ? `:${line}` : ""}: ${instruction}: ${message}`);
  }

  private line(text: string): void {
    const step = STEP.exec(text);
    if (step) {
      this.close();
      const id = Number(step[1]);
      this.current = { id, name: `[${step[1]}/${step[2]}] ${step[3] ?? ""}`, startedAt: this.now(), cached: false };
      this.emit({ type: "step", id, name: this.current.name, state: "started" });
      return;
    }
    if (text === " ---> Using cache") {
      if (this.current) this.current.cached = true;
      return;
    }
    // dockerd follows every step line with an empty one.
    if (text.trim() === "" || NOISE.test(text) || !this.current) return;
    this.emit({ type: "output", id: this.current.id, stream: "stdout", text: `${text}\n` });
  }

  private close(): void {
    const step = this.current;
    if (!step) return;
    this.current = undefined;
    this.emit({ type: "step", id: step.id, name: step.name, state: step.cached ? "cached" : "done", durationMs: this.now() - step.startedAt });
  }
}
