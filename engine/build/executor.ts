// The step executor of the embedded engine's builder: runs a build plan
// (engine/build/dockerfile) on the engine's own parts. A stage is a chain of
// images: FROM gives the first (an image, pulled when missing or with --pull;
// a previous stage's result; scratch), each RUN/COPY/ADD/WORKDIR that changes
// files commits one more (an untagged image whose last layer is the step's
// upper dir, as docker's classic builder keeps intermediate images), and the
// config-only steps change the stage's config in memory, their history entries
// committed with the next layer (empty_layer) or at the stage's end. A step's
// cache key is its parent image, the stage's config and pending history, the
// expanded instruction and, for COPY/ADD, the content key of what it reads; a
// hit reuses the image the step made last time (cache.ts).
//
// RUN runs in a container of the engine (createContainer: snapshot, network,
// runc under conmon), labelled BUILD_LABEL so that a daemon killed mid-build
// removes it at its next start; COPY/ADD/WORKDIR write into a snapshot with a
// random 64-hex key, which the same start-up cleanup removes (no container
// owns it). Both are removed when the step ends, also on failure or abort.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { isAbsolute, join, posix } from "node:path";
import { normalizedName, parseReference } from "../content/reference.js";
import { EngineError } from "../errors.js";
import type { StoredLayer, HistoryEntry } from "../image/commit.js";
import { resolveInRoot, resolveUser } from "../runtime/user.js";
import type { ChainId, Snapshotter } from "../snapshot/types.js";
import { copyIntoRoot, lstatOrUndefined } from "../copy.js";
import type { BuildProgress, BuildRequest, BuildResult, ContainerFile, Engine, ImageInfo, MountSpec, PullOptions } from "../types.js";
import { StepCache } from "./cache.js";
import { lendCacheDir, type LentCacheDir } from "./cache-mounts.js";
import { parseChmod } from "./chmod.js";
import { applyConfigStep, DEFAULT_PATH_ENV, isConfigOnly, envOf, HISTORY_COMMENT, type ConfigState, type DockerConfig } from "./config-steps.js";
import { BuildContext } from "./context.js";
import { contextItems, copyItems, heredocItems, isArchive, mkdirInRoot, rootItems, type CopyItem } from "./copy-step.js";
import { hasWildcards } from "./dockerignore.js";
import type { FileHashCache } from "./file-hash-cache.js";
import { planBuild } from "./dockerfile/plan.js";
import type { BuildPlan, CopyStep, ImageSource, RunStep, Stage, Step } from "./dockerfile/types.js";
import { pruneMountPoints, runArgv, runContainerSpec, runFailure } from "./run-step.js";

/** What the executor needs of the image service. */
export interface BuildImages {
  resolveLocal(ref: string): Promise<{ info: ImageInfo; chainIds: ChainId[] } | undefined>;
  pull(ref: string, opts?: PullOptions): Promise<ImageInfo>;
  containerConfig(id: string): Promise<Record<string, unknown> | undefined>;
  storeBuildLayer(upperDir: string, opts?: { parent?: string; mountPoints?: readonly string[]; onWarning?: (message: string) => void }): Promise<StoredLayer | undefined>;
  commitBuildStep(req: { parent: `sha256:${string}` | undefined; layer: StoredLayer | undefined; container: Record<string, unknown>; history: HistoryEntry[]; tags?: string[] }): Promise<string>;
  stepLayer(id: string): Promise<StoredLayer | undefined>;
  tag(source: string, target: string): Promise<void>;
}

export interface BuildHost {
  /** The builder's own state: step cache records, cache mounts. */
  stateDir: string;
  images: BuildImages;
  snapshotter: Snapshotter;
  /** The engine's container verbs, for RUN. */
  containers: Pick<Engine, "createContainer" | "startContainer" | "waitContainer" | "killContainer" | "removeContainer" | "logs">;
  /** Context file hashes kept across builds: a rebuild of an unchanged context reads none of its files again. */
  hashCache?: FileHashCache;
}

/** A stage as far as it got: its last committed image and its config since. */
interface StageState extends ConfigState {
  name: string;
  image: `sha256:${string}` | undefined;
  /** History entries of config-only steps not yet committed. */
  pending: HistoryEntry[];
  /** The config differs from the image's (labels of the build, a default PATH) without a history entry. */
  dirty: boolean;
}

interface StageResult {
  image: `sha256:${string}` | undefined;
  config: DockerConfig;
}

type Vertex = {
  id: number;
  output(stream: "stdout" | "stderr", text: string): void;
  done(): void;
  cached(): void;
  fail(message: string): void;
};

/** The staging dirs builds keep under the builder's state dir while a step runs. */
const STAGING_PREFIX = "tmp-";

/** Removes staging dirs a build killed with its process left (call when no build runs: at the engine's start). */
export async function cleanBuildStaging(stateDir: string): Promise<void> {
  for (const name of await readdir(stateDir).catch((): string[] => [])) {
    if (name.startsWith(STAGING_PREFIX)) await rm(join(stateDir, name), { recursive: true, force: true });
  }
}

export async function executeBuild(host: BuildHost, req: BuildRequest): Promise<BuildResult> {
  return new Builder(host, req).build();
}

class Builder {
  private nextVertex = 0;
  private readonly cache: StepCache;
  private readonly file: string;
  private ctx!: BuildContext;
  private plan!: BuildPlan;
  private readonly results = new Map<number, Promise<StageResult>>();
  private readonly baseImages = new Map<string, `sha256:${string}`>();
  private text = "";

  constructor(
    private readonly host: BuildHost,
    private readonly req: BuildRequest,
  ) {
    this.cache = new StepCache(join(host.stateDir, "cache"));
    this.file = req.dockerfileInline !== undefined ? "Dockerfile" : posix.basename(req.dockerfile ?? "Dockerfile");
  }

  private emit(p: BuildProgress): void {
    this.req.onProgress?.(p);
  }

  private vertex(name: string): Vertex {
    const id = ++this.nextVertex;
    const start = Date.now();
    this.emit({ type: "step", id, name, state: "started" });
    let partial = { stdout: "", stderr: "" };
    const flush = (stream: "stdout" | "stderr"): void => {
      if (partial[stream] !== "") this.emit({ type: "output", id, stream, text: partial[stream] });
      partial[stream] = "";
    };
    return {
      id,
      output: (stream, text) => {
        const lines = (partial[stream] + text).split("\n");
        partial = { ...partial, [stream]: lines.pop() ?? "" };
        for (const line of lines) this.emit({ type: "output", id, stream, text: `${line}\n` });
      },
      done: () => {
        flush("stdout");
        flush("stderr");
        this.emit({ type: "step", id, name, state: "done", durationMs: Date.now() - start });
      },
      cached: () => this.emit({ type: "step", id, name, state: "cached", durationMs: Date.now() - start }),
      fail: (error) => {
        flush("stdout");
        flush("stderr");
        this.emit({ type: "step", id, name, state: "error", durationMs: Date.now() - start, error });
      },
    };
  }

  /** Runs fn as a vertex: done on success, error (and rethrown) on failure. */
  private async step<T>(name: string, fn: (v: Vertex) => Promise<T>): Promise<T> {
    const v = this.vertex(name);
    try {
      const out = await fn(v);
      return out;
    } catch (err) {
      v.fail((err as Error).message);
      throw err;
    }
  }

  async build(): Promise<BuildResult> {
    const { req } = this;
    if (req.platform !== undefined && req.platform !== "" && !/^linux\/(amd64|x86_64)$/.test(req.platform) && req.platform !== hostPlatformString()) {
      throw new EngineError("invalid", `platform ${req.platform} cannot be built here: only the host's platform (${hostPlatformString()})`);
    }
    await mkdir(this.host.stateDir, { recursive: true, mode: 0o700 });
    // docker's CLI refuses a context that is not there before it reads the Dockerfile in it.
    if (!(await lstatOrUndefined(req.contextDir))?.isDirectory()) throw new EngineError("not-found", `unable to prepare context: path "${req.contextDir}" not found`);
    const text = await this.step(`[internal] load build definition from ${this.file}`, async (v) => {
      const t = req.dockerfileInline ?? (await readFile(isAbsolute(req.dockerfile ?? "") ? (req.dockerfile as string) : join(req.contextDir, req.dockerfile ?? "Dockerfile"), "utf8").catch((err: unknown) => {
        throw new EngineError("not-found", `failed to read dockerfile: open ${req.dockerfile ?? "Dockerfile"}: no such file or directory`, { cause: err });
      }));
      v.done();
      return t;
    });
    this.text = text;
    const buildArgs = Object.fromEntries(Object.entries(req.buildArgs ?? {}).flatMap(([k, v]) => {
      const value = v ?? process.env[k];
      return value === undefined ? [] : [[k, value]];
    }));
    const planOptions = { file: this.file, buildArgs, ...(req.target !== undefined ? { target: req.target } : {}) };
    const first = planBuild(text, planOptions);
    this.ctx = await this.step("[internal] load .dockerignore", async (v) => {
      const c = await BuildContext.open(req.contextDir, {
        ...(req.dockerfile !== undefined && req.dockerfileInline === undefined ? { dockerfile: req.dockerfile } : {}),
        ...this.hashing(),
      });
      v.done();
      return c;
    });
    this.abortCheck();
    const sites = refSites(first);
    await Promise.all(
      first.pulls.map((ref) =>
        this.baseImage(ref).catch((err: unknown) => {
          const line = sites.get(ref);
          throw line === undefined ? err : atInstruction(err, this.file, line.line, line.source ?? this.lineText(line.line));
        }),
      ),
    );
    const configs = new Map<string, DockerConfig>();
    for (const [ref, id] of this.baseImages) configs.set(ref, (await this.host.images.containerConfig(id)) ?? {});
    this.plan = planBuild(text, {
      ...planOptions,
      imageConfig: (ref) => {
        const c = configs.get(ref);
        if (c === undefined) return undefined;
        const onBuild = Array.isArray(c.OnBuild) ? (c.OnBuild as unknown[]).filter((t): t is string => typeof t === "string") : [];
        return { env: envOf(c), ...(Array.isArray(c.Shell) ? { shell: c.Shell as string[] } : {}), ...(onBuild.length > 0 ? { onBuild } : {}) };
      },
    });
    for (const message of this.plan.warnings) this.emit({ type: "warning", message });
    for (const wave of this.plan.waves) {
      const stages = wave.map((i) => this.plan.stages[i] as Stage);
      const running = stages.map((s) => {
        const p = this.runStage(s);
        this.results.set(s.index, p);
        return p;
      });
      // Every stage of the wave ends (and cleans up) before a failure is reported.
      const settled = await Promise.allSettled(running);
      for (const r of settled) if (r.status === "rejected") throw r.reason;
    }
    const result = await (this.results.get(this.plan.target) as Promise<StageResult>);
    if (result.image === undefined) throw new EngineError("invalid", "the build produced no image: its target stage is FROM scratch and adds nothing");
    const imageId = result.image;
    if (req.tags.length > 0) {
      await this.step(`exporting to image`, async (v) => {
        for (const tag of req.tags) await this.host.images.tag(imageId, tag);
        v.done();
      });
    }
    return { imageId, warnings: this.plan.warnings };
  }

  /** A line of the Dockerfile as written, to name an instruction the plan keeps no text of (FROM). */
  private lineText(line: number): string {
    return (this.text.split("\n")[line - 1] ?? "").trim();
  }

  /** BuildContext.open's option for the host's hash cache, when it keeps one. */
  private hashing(): { hashCache?: FileHashCache } {
    return this.host.hashCache !== undefined ? { hashCache: this.host.hashCache } : {};
  }

  private abortCheck(): void {
    if (this.req.signal?.aborted === true) throw new EngineError("invalid", "the build was cancelled");
  }

  /** A base image by reference: pulled when missing or with --pull; an additional context of type image stands in for it. */
  private async baseImage(ref: string): Promise<`sha256:${string}`> {
    const known = this.baseImages.get(ref);
    if (known) return known;
    const extra = this.req.additionalContexts?.[ref];
    if (extra !== undefined && "dir" in extra) throw new EngineError("invalid", `the build context "${ref}" is a directory: it can be a COPY --from source, not a base image`);
    const actual = extra !== undefined && "image" in extra ? extra.image : ref;
    const id = await this.step(`[internal] load metadata for ${displayRef(actual)}`, async (v) => {
      let local = this.req.pull === true ? undefined : await this.host.images.resolveLocal(actual);
      if (!local) {
        await this.host.images.pull(actual, this.req.signal ? { signal: this.req.signal } : {});
        local = await this.host.images.resolveLocal(actual);
      }
      if (!local) throw new EngineError("not-found", `${actual}: not found`);
      v.done();
      return local.info.id as `sha256:${string}`;
    });
    this.baseImages.set(ref, id);
    return id;
  }

  private stageName(stage: Stage): string {
    return this.plan.stages.length > 1 ? `${stage.name ?? `stage-${stage.index}`} ` : "";
  }

  private async runStage(stage: Stage): Promise<StageResult> {
    const vertexSteps = stage.steps.filter((s) => s.kind === "run" || s.kind === "copy" || s.kind === "add" || s.kind === "workdir");
    const total = vertexSteps.length + 1;
    let n = 1;
    const label = (what: string): string => `[${this.stageName(stage)}${n}/${total}] ${what}`;
    const state = await this.step(label(`FROM ${this.fromName(stage.base)}`), async (v) => {
      const s = await this.stageStart(stage);
      v.done();
      return s;
    }).catch((err: unknown) => {
      throw atInstruction(err, this.file, stage.line, this.lineText(stage.line));
    });
    for (const step of stage.steps) {
      this.abortCheck();
      const before = JSON.stringify(state.config);
      const createdBy = isConfigOnly(step) ? applyConfigStep(state, step) : undefined;
      if (isConfigOnly(step) && step.kind !== "workdir") {
        if (createdBy !== undefined) state.pending.push(this.history(createdBy, true));
        continue;
      }
      n++;
      const name = label(step.source.replace(/\s+/g, " ").trim());
      try {
        if (step.kind === "workdir") await this.cachedStep(state, step, name, [before], () => this.workdirStep(state, createdBy ?? `WORKDIR ${step.path}`));
        else if (step.kind === "run") await this.cachedStep(state, step, name, [], (v) => this.runStep(state, step, v));
        else if (step.kind === "copy" || step.kind === "add") await this.copyLike(state, step, name);
      } catch (err) {
        throw atInstruction(err, this.file, step.line, step.source);
      }
    }
    if (state.pending.length > 0 || state.dirty || state.image === undefined) {
      if (state.image === undefined && state.pending.length === 0) return { image: undefined, config: state.config };
      const key = this.cacheKey(state, { final: true });
      if (!(await this.fromCache(state, key))) await this.commit(state, undefined, key, undefined);
    }
    return { image: state.image, config: state.config };
  }

  private fromName(base: ImageSource): string {
    if (base.kind === "scratch") return "scratch";
    if (base.kind === "stage") return this.plan.stages[base.index]?.name ?? `stage-${base.index}`;
    return displayRef(base.ref);
  }

  private async stageStart(stage: Stage): Promise<StageState> {
    let image: `sha256:${string}` | undefined;
    let config: DockerConfig;
    if (stage.base.kind === "scratch") {
      image = undefined;
      config = {};
    } else if (stage.base.kind === "stage") {
      const r = await (this.results.get(stage.base.index) as Promise<StageResult>);
      image = r.image;
      config = structuredClone(r.config);
    } else {
      image = await this.baseImage(stage.base.ref);
      config = (await this.host.images.containerConfig(image)) ?? {};
    }
    const state: StageState = { name: stage.name ?? `stage-${stage.index}`, image, config, cmdSet: false, pending: [], dirty: false };
    // The base's ONBUILD triggers run in this stage (the plan put them first) and are not passed on, as docker's.
    if (Array.isArray(config.OnBuild) && config.OnBuild.length > 0) {
      config.OnBuild = null;
      state.dirty = true;
    }
    // BuildKit: a base without PATH gets the default one; the target gets the build's labels.
    if (!envOf(config).some((e) => e.startsWith("PATH="))) {
      config.Env = [DEFAULT_PATH_ENV, ...envOf(config)];
      state.dirty = true;
    }
    if (stage.index === this.plan.target && this.req.labels && Object.keys(this.req.labels).length > 0) {
      config.Labels = { ...((config.Labels) ?? {}), ...this.req.labels };
      state.dirty = true;
    }
    return state;
  }

  private history(createdBy: string, empty: boolean): HistoryEntry {
    return { created: new Date().toISOString(), created_by: createdBy, comment: HISTORY_COMMENT, ...(empty ? { empty_layer: true } : {}) };
  }

  private cacheKey(state: StageState, step: unknown, content?: string): string {
    return StepCache.key([state.image ?? "scratch", state.config, state.pending.map((h) => h.created_by), step, content ?? null]);
  }

  /** Commits the stage's state with a layer (or none) and the pending history; records it under `key`. */
  private async commit(state: StageState, layer: StoredLayer | undefined, key: string, createdBy: string | undefined): Promise<void> {
    const history = [...state.pending, ...(createdBy !== undefined ? [this.history(createdBy, layer === undefined)] : [])];
    const id = (await this.host.images.commitBuildStep({ parent: state.image, layer, container: state.config, history })) as `sha256:${string}`;
    await this.cache.put(key, id);
    state.image = id;
    state.pending = [];
    state.dirty = false;
  }

  /** A step served from the cache when its key has a record whose image is still here. */
  private async fromCache(state: StageState, key: string): Promise<boolean> {
    if (this.req.noCache === true) return false;
    const id = await this.cache.get(key);
    if (id === undefined || !(await this.host.images.resolveLocal(id))) return false;
    state.image = id as `sha256:${string}`;
    state.pending = [];
    state.dirty = false;
    return true;
  }

  /** A step from the cache, or run and committed; `reuse` may offer its layer made before over other layers (COPY --link), also a cache hit. */
  private async cachedStep(state: StageState, step: Step, name: string, extra: unknown[], run: (v: Vertex) => Promise<{ layer: StoredLayer | undefined; createdBy: string }>, content?: string, reuse?: () => Promise<{ layer: StoredLayer; createdBy: string } | undefined>): Promise<void> {
    const key = this.cacheKey(state, { ...step, line: undefined, extra }, content);
    const v = this.vertex(name);
    try {
      if (await this.fromCache(state, key)) {
        v.cached();
        return;
      }
      const reused = this.req.noCache === true ? undefined : await reuse?.();
      if (reused) {
        await this.commit(state, reused.layer, key, reused.createdBy);
        v.cached();
        return;
      }
      const { layer, createdBy } = await run(v);
      await this.commit(state, layer, key, createdBy);
      v.done();
    } catch (err) {
      v.fail((err as Error).message);
      throw err;
    }
  }

  /**
   * A snapshot of its own over the stage's layers (or over nothing: `alone`,
   * COPY --link's), mounted for fn; its upper dir becomes the layer over the
   * stage's. Removed after.
   */
  private async inSnapshot(state: StageState, fn: (root: string) => Promise<void>, opts: { alone?: boolean } = {}): Promise<StoredLayer | undefined> {
    const chainIds = state.image === undefined || opts.alone === true ? [] : ((await this.host.images.resolveLocal(state.image))?.chainIds ?? []);
    const key = randomBytes(32).toString("hex");
    const { snapshotter } = this.host;
    await snapshotter.prepare(key, chainIds);
    try {
      const root = await snapshotter.mount(key);
      await fn(root);
      await snapshotter.unmount(key);
      const snap = await snapshotter.get(key);
      if (!snap) throw new EngineError("internal", "the step's snapshot vanished");
      return await this.host.images.storeBuildLayer(snap.upper, state.image ? { parent: state.image } : {});
    } finally {
      await snapshotter.remove(key);
    }
  }

  /** --chown's user and group, looked up in the stage's /etc/passwd and /etc/group (a number needs no lookup). */
  private async stageChown(state: StageState, spec: string): Promise<{ uid: number; gid: number }> {
    const chainIds = state.image === undefined ? [] : ((await this.host.images.resolveLocal(state.image))?.chainIds ?? []);
    if (chainIds.length > 0) return this.host.snapshotter.withLayersView(chainIds, (root) => chownOf(root, spec));
    const empty = await mkdtemp(join(this.host.stateDir, STAGING_PREFIX));
    try {
      return await chownOf(empty, spec);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  }

  /** WORKDIR makes its directory when missing: BuildKit's mkdir -p, 0755, owned by the stage's USER (root when none), parents too. */
  private async workdirStep(state: StageState, createdBy: string): Promise<{ layer: StoredLayer | undefined; createdBy: string }> {
    const dir = state.config.WorkingDir as string;
    const user = typeof state.config.User === "string" && state.config.User !== "" ? state.config.User : undefined;
    const layer = await this.inSnapshot(state, async (root) => {
      if (await lstatOrUndefined(await resolveInRoot(root, dir))) return;
      const owner = user === undefined ? { uid: 0, gid: 0 } : await resolveUser(root, user);
      const staging = await mkdtemp(join(this.host.stateDir, STAGING_PREFIX));
      try {
        await mkdirInRoot(root, dir, { uid: owner.uid, gid: owner.gid }, staging);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    });
    return { layer, createdBy };
  }

  private async copyLike(state: StageState, step: CopyStep, name: string): Promise<void> {
    const verb = step.kind === "add" ? "ADD" : "COPY";
    for (const s of step.sources) {
      if (step.kind === "add" && /^[a-z][a-z0-9+.-]*:\/\//i.test(s)) throw new EngineError("invalid", `remote sources are not supported by the embedded builder`);
      if (step.kind === "add" && /^git@/.test(s)) throw new EngineError("invalid", `git sources are not supported by the embedded builder`);
    }
    if (step.checksum !== undefined) throw new EngineError("invalid", `checksum can't be specified for non-HTTP(S) sources`);
    // What the step reads decides its key: the context's files, or the source stage's image.
    let content: string;
    let fromDir: string | undefined;
    if (step.from === undefined) {
      try {
        content = await this.ctx.copyCacheKey(step.sources);
      } catch (err) {
        this.vertex(name).fail((err as Error).message);
        throw err;
      }
    } else {
      const src = await this.fromSource(step.from);
      content = "dir" in src ? `dir:${src.dir}:${await (await BuildContext.open(src.dir, this.hashing())).copyCacheKey(step.sources)}` : `image:${src.image ?? "scratch"}`;
      if ("dir" in src) fromDir = src.dir;
    }
    // --link: the files are written into an empty root, so the layer depends on nothing below it; --chown's names are still the stage's users (BuildKit).
    const linkedOwner = step.link && step.chown !== undefined ? await this.stageChown(state, step.chown) : undefined;
    const workdir = typeof state.config.WorkingDir === "string" ? state.config.WorkingDir : "/";
    const linkKey = step.link ? StepCache.key(["copy --link", { ...step, line: undefined }, workdir, linkedOwner ?? null, content]) : undefined;
    const flags = [step.from !== undefined ? `--from=${this.fromName(step.from)}` : "", step.chown !== undefined ? `--chown=${step.chown}` : "", step.chmod !== undefined ? `--chmod=${step.chmod}` : ""].filter(Boolean);
    const createdBy = `${verb} ${[...flags, ...step.sources, ...step.heredocs.map((h) => `<<${h.name}`), step.dest].join(" ")} # buildkit`;
    // A --link step's layer made before over other layers, found by the key that leaves them out: put over these ones, nothing copied.
    const relinked = async (): Promise<{ layer: StoredLayer; createdBy: string } | undefined> => {
      const id = linkKey === undefined ? undefined : await this.cache.get(linkKey);
      const layer = id === undefined ? undefined : await this.host.images.stepLayer(id);
      return layer && { layer, createdBy };
    };
    await this.cachedStep(state, step, name, linkKey === undefined ? [] : [linkKey], async () => {
      const staging = await mkdtemp(join(this.host.stateDir, STAGING_PREFIX));
      try {
        const layer = await this.inSnapshot(state, async (root) => {
          // Without --chown, the context's files become root's and another stage's or image's keep their owners (BuildKit).
          const owner = linkedOwner ?? (step.chown !== undefined ? await chownOf(root, step.chown) : step.from !== undefined && fromDir === undefined ? "source" : { uid: 0, gid: 0 });
          let items: CopyItem[] = [];
          let exclude: ((p: string) => boolean) | undefined;
          if (step.from === undefined) {
            items = contextItems(this.ctx, step.sources);
            const ctx = this.ctx;
            exclude = (p) => {
              const rel = posix.relative(ctx.dir, p);
              return !rel.startsWith("..") && ctx.entry(rel) === undefined;
            };
          } else if (fromDir !== undefined) {
            const other = await BuildContext.open(fromDir, this.hashing());
            items = contextItems(other, step.sources);
            exclude = (p) => other.entry(posix.relative(other.dir, p)) === undefined;
          } else {
            const src = await this.fromSource(step.from);
            const chains = "image" in src && src.image !== undefined ? ((await this.host.images.resolveLocal(src.image))?.chainIds ?? []) : [];
            items = chains.length === 0 ? [] : await this.host.snapshotter.withLayersView(chains, async (dir) => {
              const found = await rootItems(dir, step.sources);
              // The view goes when fn returns: what it names is copied to staging first.
              const out: CopyItem[] = [];
              for (const [i, it] of found.entries()) {
                const copyDir = join(staging, `from-${i}`);
                await mkdir(copyDir, { recursive: true });
                await copyIntoRoot(copyDir, { copies: [{ hostPath: it.hostPath, containerPath: `/${it.name}` }], removals: [] }, "source");
                out.push({ ...it, hostPath: join(copyDir, it.name) });
              }
              return out;
            });
            if (chains.length === 0 && step.sources.length > 0) throw new EngineError("not-found", `failed to compute cache key: "${step.sources[0] ?? ""}": not found`);
          }
          if (step.kind === "add") for (const it of items) if (!it.isDir && step.from === undefined && (await isArchive(it.hostPath))) it.archive = true;
          items.push(...(await heredocItems(staging, step.heredocs)));
          const mode = step.chmod !== undefined ? parseChmod(step.chmod) : undefined;
          await copyItems(root, items, {
            dest: step.dest,
            workdir,
            owner,
            chowned: step.chown !== undefined,
            ...(mode !== undefined ? { mode } : {}),
            ...(exclude ? { exclude } : {}),
            staging,
            wildcard: step.sources.some((s) => hasWildcards(s)),
          });
        }, { alone: step.link });
        return { layer, createdBy };
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    }, content, relinked);
    // The image whose last layer is the --link step's: a later build with other layers below takes that layer from it.
    if (linkKey !== undefined && state.image !== undefined) await this.cache.put(linkKey, state.image);
  }

  /** COPY --from / RUN --mount from=: a stage's image, an image, or an additional context's directory. */
  private async fromSource(from: ImageSource): Promise<{ image: string | undefined } | { dir: string }> {
    if (from.kind === "scratch") return { image: undefined };
    if (from.kind === "stage") return { image: (await (this.results.get(from.index) as Promise<StageResult>)).image };
    const extra = this.req.additionalContexts?.[from.ref];
    if (extra !== undefined && "dir" in extra) return { dir: extra.dir };
    return { image: await this.baseImage(from.ref) };
  }

  private async runStep(state: StageState, step: RunStep, v: Vertex): Promise<{ layer: StoredLayer | undefined; createdBy: string }> {
    if (state.image === undefined) throw new EngineError("invalid", `RUN in a stage FROM scratch with no files yet: there is no shell to run it`);
    const image = state.image;
    const argv = runArgv(step);
    const { mounts, files, secretEnv, targets, release } = await this.runMounts(step);
    try {
      // A build cancelled while it waited for a locked cache runs nothing.
      this.abortCheck();
      return await this.runContainer(state, image, step, v, argv, { mounts, files, secretEnv, targets });
    } finally {
      // After the container is gone: a locked cache lets the next RUN in, a private one may be lent again.
      release();
    }
  }

  private async runContainer(state: StageState, image: `sha256:${string}`, step: RunStep, v: Vertex, argv: string[], { mounts, files, secretEnv, targets }: { mounts: MountSpec[]; files: ContainerFile[]; secretEnv: string[]; targets: string[] }): Promise<{ layer: StoredLayer | undefined; createdBy: string }> {
    const spec = runContainerSpec({
      image,
      config: state.config,
      step,
      argv,
      network: step.network === "default" ? (this.req.network ?? "default") : step.network,
      mounts,
      files,
      secretEnv,
      shmSize: this.req.shmSize,
      extraHosts: this.req.extraHosts ?? [],
    });
    const { containers } = this.host;
    const c = await containers.createContainer(spec);
    try {
      const onAbort = (): void => void containers.killContainer(c.id, "KILL").catch(() => undefined);
      this.req.signal?.addEventListener("abort", onAbort);
      let exit;
      try {
        await containers.startContainer(c.id);
        // Followed while it runs; the follow ends once the container has ended and its log is read.
        const reading = (async () => {
          for await (const e of containers.logs(c.id, { follow: true })) v.output(e.stream, e.partial === true ? e.line : `${e.line}\n`);
        })();
        reading.catch(() => undefined); // awaited below; not unhandled if the wait throws first
        exit = await containers.waitContainer(c.id);
        await reading;
      } finally {
        this.req.signal?.removeEventListener("abort", onAbort);
      }
      this.abortCheck();
      if (exit.exitCode !== 0) throw runFailure(argv, exit.exitCode);
      const snap = await this.host.snapshotter.get(c.id);
      if (!snap) throw new EngineError("internal", "the build container's file system vanished");
      await pruneMountPoints(snap.upper, targets);
      // A rootfs the host mounted (an image of very many layers) is let go before its upper dir is taken.
      await this.host.snapshotter.unmount(c.id);
      const layer = await this.host.images.storeBuildLayer(snap.upper, { parent: image });
      const argsPrefix = Object.keys(step.buildArgs).length > 0 ? `|${Object.keys(step.buildArgs).length} ${Object.entries(step.buildArgs).map(([k, val]) => `${k}=${val}`).join(" ")} ` : "";
      return { layer, createdBy: `RUN ${argsPrefix}${argv.join(" ")} # buildkit` };
    } finally {
      await containers.removeContainer(c.id, { force: true }).catch(() => undefined);
    }
  }

  private async runMounts(step: RunStep): Promise<{ mounts: MountSpec[]; files: ContainerFile[]; secretEnv: string[]; targets: string[]; release: () => void }> {
    const lent: LentCacheDir[] = [];
    const release = (): void => {
      for (const l of lent) l.release();
    };
    try {
      return { ...(await this.resolveMounts(step, lent)), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  private async resolveMounts(step: RunStep, lent: LentCacheDir[]): Promise<{ mounts: MountSpec[]; files: ContainerFile[]; secretEnv: string[]; targets: string[] }> {
    const mounts: MountSpec[] = [];
    const files: ContainerFile[] = [];
    const secretEnv: string[] = [];
    const targets: string[] = [];
    for (const m of step.mounts) {
      switch (m.type) {
        case "tmpfs":
          mounts.push({ type: "tmpfs", source: undefined, target: m.target, readOnly: false, ...(m.size !== undefined ? { tmpfsSize: m.size } : {}) });
          targets.push(m.target);
          break;
        case "cache": {
          // One directory per id under the builder's state (more for sharing=private), lent for the step.
          const cache = await lendCacheDir(join(this.host.stateDir, "cache-mounts", createHashHex(m.id)), m.sharing, m);
          lent.push(cache);
          mounts.push({ type: "bind", source: cache.dir, target: m.target, readOnly: m.readonly, createHostPath: false });
          targets.push(m.target);
          break;
        }
        case "bind": {
          if (m.from === undefined) {
            const rel = posix.normalize(m.source.replace(/^\/+/, "") || ".");
            if (rel === ".." || rel.startsWith("../")) throw new EngineError("invalid", `forbidden path outside the build context: ${m.source}`);
            const entry = rel === "." ? { type: "dir" } : this.ctx.entry(rel);
            if (!entry) throw new EngineError("not-found", `failed to compute cache key: "/${rel}": not found`);
            if (entry.type === "symlink") throw new EngineError("invalid", `bind source ${m.source} is a symlink`);
            mounts.push({ type: "bind", source: join(this.ctx.dir, rel), target: m.target, readOnly: m.readonly, createHostPath: false });
          } else {
            const src = await this.fromSource(m.from);
            if ("dir" in src) mounts.push({ type: "bind", source: join(src.dir, posix.normalize(`/${m.source}`)), target: m.target, readOnly: m.readonly, createHostPath: false });
            else if (src.image === undefined) throw new EngineError("invalid", `bind mount from an empty stage`);
            else mounts.push({ type: "image", source: src.image, target: m.target, readOnly: true, ...(posix.normalize(`/${m.source}`) !== "/" ? { subpath: m.source.replace(/^\/+/, "") } : {}) });
          }
          targets.push(m.target);
          break;
        }
        case "secret": {
          const secret = this.req.secrets?.[m.id];
          if (!secret) {
            if (m.required) throw new EngineError("invalid", `secret ${m.id} not found`);
            break;
          }
          if (m.env !== undefined) {
            const value = "value" in secret ? secret.value : await readFile(secret.file, "utf8");
            secretEnv.push(`${m.env}=${value}`);
          }
          if (m.target !== undefined || m.env === undefined) {
            const target = m.target ?? `/run/secrets/${m.id}`;
            files.push({ target, ...("value" in secret ? { content: secret.value } : { source: secret.file }), uid: m.uid, gid: m.gid, mode: m.mode });
            targets.push(target);
          }
          break;
        }
      }
    }
    return { mounts, files, secretEnv, targets };
  }
}

/** BuildKit names images in progress by their normalized reference (docker.io/library/busybox:latest). */
function displayRef(ref: string): string {
  try {
    return normalizedName(parseReference(ref));
  } catch {
    return ref;
  }
}

function createHashHex(s: string): string {
  return StepCache.key([s]);
}

function hostPlatformString(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  return `linux/${arch}`;
}

/** --chown=user[:group], names looked up in the stage's /etc/passwd and /etc/group (inside its root); a lone number is uid and gid. */
async function chownOf(root: string, spec: string): Promise<{ uid: number; gid: number }> {
  if (/^\d+$/.test(spec)) return { uid: Number(spec), gid: Number(spec) };
  const u = await resolveUser(root, spec);
  return { uid: u.uid, gid: u.gid };
}

/** Where each image the build pulls is first named: its instruction's line and text, for the error when the pull fails. */
function refSites(plan: BuildPlan): Map<string, { line: number; source?: string }> {
  const sites = new Map<string, { line: number; source?: string }>();
  const add = (src: ImageSource | undefined, line: number, source?: string): void => {
    if (src?.kind === "image" && !sites.has(src.ref)) sites.set(src.ref, { line, ...(source !== undefined ? { source } : {}) });
  };
  for (const stage of plan.stages) {
    add(stage.base, stage.line);
    for (const step of stage.steps) {
      if (step.kind === "copy" || step.kind === "add") add(step.from, step.line, step.source);
      if (step.kind === "run") for (const m of step.mounts) if (m.type === "bind") add(m.from, step.line, step.source);
    }
  }
  return sites;
}

/** Errors an instruction ends with name it as docker's builders do: `Dockerfile:LINE: INSTRUCTION: what` (once: nested steps add nothing). */
const located = new WeakSet<Error>();

function atInstruction(err: unknown, file: string, line: number, source: string): unknown {
  if (!(err instanceof Error) || located.has(err)) return err;
  const instruction = source.split("\n")[0]?.replace(/\s+/g, " ").trim() ?? "";
  const shown = instruction.length > 100 ? `${instruction.slice(0, 99)}…` : instruction;
  const kind = (err as { kind?: EngineError["kind"] }).kind ?? "internal";
  const out = new EngineError(kind, `${file}:${line}: ${shown}: ${err.message}`, { cause: err });
  located.add(out);
  return out;
}
