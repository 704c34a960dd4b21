// The build context: a directory read once, filtered by .dockerignore, its
// entries described (type, mode, owner, size, link target) and its files
// hashed (sha256, lazily or all at once), so that COPY/ADD sources can be
// matched with docker's rules and a COPY's cache key changes only when a file
// it reads changes. Symlinks are never followed out of the context: their
// targets are resolved inside it, `..` stopping at its root, as docker does.
import { createHash } from "node:crypto";
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from "node:fs";
import { lstat, readFile } from "node:fs/promises";
import { isAbsolute, join, posix, resolve } from "node:path";
import { EngineError } from "../errors.js";
import { goClean, hasWildcards, pathMatcher, PatternMatcher, readIgnoreFile } from "./dockerignore.js";
import { fileStamp, type FileHashCache, type FileStamp } from "./file-hash-cache.js";

export type EntryType = "file" | "dir" | "symlink" | "fifo" | "socket" | "char-device" | "block-device";

export interface ContextEntry {
  /** Relative to the context, `/`-separated, without a leading `./`. */
  path: string;
  type: EntryType;
  /** Permission bits with setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkTarget?: string;
}

export interface SourceMatch {
  source: string;
  /** The paths the source names (after wildcards and symlinks), each copied as a whole. */
  roots: string[];
  /** The roots and, for directories, everything under them, in path order. */
  entries: ContextEntry[];
}

export interface OpenOptions {
  /** The Dockerfile (absolute, or relative to the context): `<Dockerfile>.dockerignore` beside it wins over `.dockerignore`. */
  dockerfile?: string;
  /** Content hashes kept from earlier reads of this context: a file whose stamp has not changed is not read again. */
  hashCache?: FileHashCache;
}

const MAX_LINK_HOPS = 255;
// How much hashAll reads before it lets the event loop run.
const SLICE_BYTES = 4 << 20;
const SMALL_FILE = 1 << 20;

export class BuildContext {
  private readonly byPath: Map<string, ContextEntry>;
  private readonly hashes = new Map<string, Promise<string>>();

  private constructor(
    readonly dir: string,
    /** Every entry sent to the build, sorted by path. */
    readonly entries: readonly ContextEntry[],
    /** The ignore file used, if any, and its patterns. */
    readonly ignoreFile: string | undefined,
    readonly ignorePatterns: readonly string[],
    /** The files' stamps as the walk saw them, and the cache they key (when the caller keeps one). */
    private readonly stamps: Map<string, FileStamp>,
    private readonly hashCache: FileHashCache | undefined,
  ) {
    this.byPath = new Map(entries.map((e) => [e.path, e]));
  }

  static async open(dir: string, options: OpenOptions = {}): Promise<BuildContext> {
    const root = resolve(dir);
    const st = await lstat(root).catch(() => undefined);
    if (!st?.isDirectory()) throw new EngineError("not-found", `unable to prepare context: path "${dir}" not found or not a directory`);
    const ignoreFile = await findIgnoreFile(root, options.dockerfile);
    const patterns = ignoreFile === undefined ? [] : readIgnoreFile(await readFile(ignoreFile, "utf8"));
    let matcher: PatternMatcher;
    try {
      matcher = new PatternMatcher(patterns);
    } catch (err) {
      throw new EngineError("invalid", `${ignoreFile ?? ".dockerignore"}: ${(err as Error).message}`);
    }
    const entries: ContextEntry[] = [];
    const stamps = new Map<string, FileStamp>();
    await walk(root, "", matcher, entries, options.hashCache === undefined ? undefined : stamps);
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return new BuildContext(root, entries, ignoreFile, patterns, stamps, options.hashCache);
  }

  entry(path: string): ContextEntry | undefined {
    return this.byPath.get(path);
  }

  /** The sha256 (hex) of a file's content, read once and cached. */
  contentHash(path: string): Promise<string> {
    let hash = this.hashes.get(path);
    if (hash === undefined) {
      const entry = this.byPath.get(path);
      if (entry?.type !== "file") return Promise.reject(new EngineError("invalid", `${path} is not a regular file of the context`));
      const file = join(this.dir, path);
      const stamp = this.stamps.get(path);
      const cache = this.hashCache;
      const known = stamp === undefined ? undefined : cache?.get(file, stamp);
      if (known !== undefined) hash = Promise.resolve(known);
      else {
        hash = hashFile(file, entry.size);
        // The stamp is the walk's: a file changed since then is stored under its old stamp, so the next walk misses and hashes it again.
        if (stamp !== undefined && cache !== undefined) void hash.then((h) => cache.set(file, stamp, h), () => undefined);
      }
      this.hashes.set(path, hash);
    }
    return hash;
  }

  /**
   * Hashes every file up front, for callers that will need most of them,
   * letting the event loop run every few MB.
   */
  async hashAll(): Promise<void> {
    let slice = 0;
    for (const e of this.entries) {
      if (e.type !== "file" || this.hashes.has(e.path)) continue;
      await this.contentHash(e.path);
      slice += e.size + 4096;
      if (slice > SLICE_BYTES) {
        slice = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  /**
   * What a COPY/ADD source names, with docker's rules: relative to the
   * context even when absolute, wildcards (`*`, `?`, `[...]`) within one path
   * element, symlinks on the way followed inside the context, a directory
   * standing for its contents. A path outside the context and a source that
   * matches nothing are errors in docker's words.
   */
  matchSource(source: string): SourceMatch {
    const cleaned = goClean(source.replace(/^\/+/, "") || ".");
    if (cleaned === ".." || cleaned.startsWith("../")) {
      throw new EngineError("invalid", `forbidden path outside the build context: ${source} ()`);
    }
    let roots: string[];
    if (cleaned === ".") roots = ["."];
    else if (hasWildcards(cleaned)) {
      const test = pathMatcher(cleaned);
      roots = this.entries.filter((e) => test(e.path)).map((e) => e.path);
    } else {
      const resolved = this.resolve(cleaned);
      roots = resolved === undefined ? [] : [resolved];
    }
    if (roots.length === 0) throw new EngineError("not-found", `failed to compute cache key: "/${cleaned}": not found`);
    const seen = new Set<string>();
    const entries: ContextEntry[] = [];
    for (const root of roots) {
      for (const e of this.under(root)) {
        if (!seen.has(e.path)) {
          seen.add(e.path);
          entries.push(e);
        }
      }
    }
    return { source, roots, entries };
  }

  /**
   * The cache key of a COPY/ADD reading `sources`: sha256 over each source,
   * the paths its matches have under their roots, their types, modes, link
   * targets and file contents. Owners and times are left out (COPY sets the
   * owner; docker ignores times), so only a change in what is copied changes it.
   */
  async copyCacheKey(sources: readonly string[]): Promise<string> {
    const h = createHash("sha256");
    for (const source of sources) {
      const match = this.matchSource(source);
      h.update(`source\0${source}\0`);
      for (const root of match.roots) {
        const resolved = root === "." ? "" : root;
        h.update(`root\0`);
        for (const e of this.under(root)) {
          const rel = e.path === resolved ? "" : e.path.slice(resolved === "" ? 0 : resolved.length + 1);
          const content = e.type === "file" ? await this.contentHash(e.path) : "";
          h.update(`${rel}\0${e.type}\0${e.mode.toString(8)}\0${e.linkTarget ?? ""}\0${content}\n`);
        }
      }
    }
    return `sha256:${h.digest("hex")}`;
  }

  /** The entry at `root` and everything below it ("." is the whole context). */
  private under(root: string): ContextEntry[] {
    if (root === ".") return [...this.entries];
    const prefix = `${root}/`;
    const self = this.byPath.get(root);
    const below = self?.type === "dir" ? this.entries.filter((e) => e.path.startsWith(prefix)) : [];
    return self === undefined ? below : [self, ...below];
  }

  /** Follows symlinks along `path` inside the context; undefined when nothing is there. */
  private resolve(path: string): string | undefined {
    let pending = path.split("/");
    let current = "";
    for (let hops = 0; pending.length > 0; ) {
      const part = pending.shift() as string;
      const next = current === "" ? part : `${current}/${part}`;
      const entry = this.byPath.get(next);
      if (entry === undefined) return undefined;
      if (entry.type !== "symlink") {
        current = next;
        continue;
      }
      if (++hops > MAX_LINK_HOPS) throw new EngineError("invalid", `too many levels of symbolic links: ${path}`);
      const target = entry.linkTarget ?? "";
      // An absolute target means the context's root; `..` stops at the root.
      const joined = target.startsWith("/") ? target : `/${current}/${target}`;
      const inside = posix.normalize(joined).replace(/^\/+/, "");
      current = "";
      pending = [...(inside === "" || inside === "." ? [] : inside.split("/")), ...pending];
    }
    return current === "" ? "." : current;
  }
}

async function findIgnoreFile(root: string, dockerfile: string | undefined): Promise<string | undefined> {
  const candidates: string[] = [];
  if (dockerfile !== undefined) candidates.push(`${isAbsolute(dockerfile) ? dockerfile : join(root, dockerfile)}.dockerignore`);
  candidates.push(join(root, ".dockerignore"));
  for (const candidate of candidates) {
    const st = await lstat(candidate).catch(() => undefined);
    if (st?.isFile()) return candidate;
  }
  return undefined;
}

/** Appends the entries under `rel` not excluded; returns whether any was. */
async function walk(root: string, rel: string, matcher: PatternMatcher, out: ContextEntry[], stamps: Map<string, FileStamp> | undefined): Promise<boolean> {
  // One directory at a time, synchronously: an lstat per entry through the
  // thread pool costs more than the call itself; between directories the
  // event loop runs.
  await new Promise((r) => setImmediate(r));
  const names = readdirSync(rel === "" ? root : join(root, rel)).sort();
  let any = false;
  const stats = names.map((name) => {
    const path = rel === "" ? name : `${rel}/${name}`;
    return { path, st: lstatSync(join(root, path)) };
  });
  for (const { path, st } of stats) {
    const excluded = matcher.matches(path);
    const entry: ContextEntry = { path, type: entryType(st), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.isFile() ? st.size : 0 };
    if (entry.type === "dir") {
      // An excluded directory is still walked when a `!` pattern may bring back something inside it.
      if (excluded && !matcher.exclusions) continue;
      const at = out.length;
      const kept = await walk(root, path, matcher, out, stamps);
      if (excluded && !kept) continue;
      out.splice(at, 0, entry);
      any = true;
      continue;
    }
    if (excluded) continue;
    if (entry.type === "symlink") entry.linkTarget = readlinkSync(join(root, path));
    if (entry.type === "file") stamps?.set(path, fileStamp(st));
    out.push(entry);
    any = true;
  }
  return any;
}

function entryType(st: Stats): EntryType {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFIFO()) return "fifo";
  if (st.isSocket()) return "socket";
  if (st.isCharacterDevice()) return "char-device";
  return "block-device";
}

async function hashFile(file: string, size: number): Promise<string> {
  // A small file is read synchronously: a thread-pool round trip for each of
  // open, fstat, read and close costs more than the reads (bench/context.ts).
  if (size <= SMALL_FILE) return createHash("sha256").update(readFileSync(file)).digest("hex");
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}
