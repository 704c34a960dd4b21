// The embedded builder against docker build, on the corpus in test/build-corpus/:
// every case is built by the embedded engine (engine/build on runc and the
// overlay snapshotter) and by `docker build` with BuildKit (DOCKER_BUILDKIT=1:
// dockerd 20.10's built-in BuildKit and its dockerfile.v0 frontend, not the
// classic builder, which differs from BuildKit in places) on a private dockerd
// whose docker.io is the test registry, so both start from the same busybox by
// the same name. Both images are exported the same way (`docker save`, and
// the image service's save, which writes the same format) and read by the
// same code: the layers are applied in order (whiteouts, opaque dirs) into one
// flattened tree, every path with its type, mode, uid/gid, link target and
// sha256 of content (hard links as the group of paths sharing an inode), and
// the configs' runtime keys are compared.
//
// Left out of the comparison, each because it differs between any two builds:
//   - mtimes (each build writes files at its own time; BuildKit 0.8 has no
//     SOURCE_DATE_EPOCH) and the tar headers' uname/gname (display names:
//     the uid/gid are compared);
//   - how the tree is cut into layers (the flattened result is what a
//     container sees), and the config's created, history, rootfs.diff_ids,
//     container_config, docker_version: build records, not the image's meaning;
//   - the root directory's own entry (a layer may carry "./" or not).
// Two known differences, where BuildKit changed after 20.10's 0.8 and ours
// follows the newer one, are asserted rather than left out: the empty
// directories 0.8 leaves at RUN --mount targets (CorpusCase.mountStubs) and
// ADD --chown not applied to an archive's entries (CorpusCase.addChown).
// Heredocs (RUN <<EOF, COPY <<EOF) are not in dockerd 20.10's frontend: that
// case is compared with the files written below. Builds run with network
// "none" on both sides (the private dockerd has no bridge), so neither
// engine makes a network from the pool octet (233) they share.
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, readdirSync } from "node:fs";
import { chmod, link, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poolOctet } from "./support/pools.js";
import { startMirroringDockerd, type PrivateDockerd } from "./fixtures/dockerd.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry, type TestRegistry } from "./fixtures/registry.js";
import { engineWorld, repoRoot, type EngineWorld } from "./support/engine.js";
import { isRoot, missing } from "./support/requires.js";

const CORPUS = join(repoRoot, "test", "build-corpus");
/** The 20.10 CLI: its BuildKit client is built in (the newer CLI wants the buildx plugin for it). */
const DOCKER_2010 = "/usr/bin/docker";

interface CorpusCase {
  buildArgs?: Record<string, string>;
  /** Context files made at test time (what git cannot hold: hard links, tars, modes). */
  setup?: (dir: string) => Promise<void>;
  /** Paths both images must have: the positive control that the comparison compared something. */
  present: string[];
  /**
   * Empty directories that dockerd 20.10's BuildKit (0.8) leaves at RUN
   * --mount targets, and the parents it made for them. BuildKit 0.11 and
   * later remove them (moby/buildkit#3307, #3314), as the embedded builder
   * does (docs/compat.md): docker's image must have them, ours must not.
   */
  mountStubs?: string[];
  /**
   * ADD --chown of a local archive: 20.10's BuildKit keeps the archive's
   * owners under `dir`; BuildKit 0.23 and later give --chown's (moby/buildkit#5987),
   * as ours does (docs/compat.md). Docker's entries there must have `archive`'s
   * owner; with `chown`'s in its place they must equal ours.
   */
  addChown?: { dir: string; archive: string; chown: string };
}

const CASES: Record<string, CorpusCase> = {
  "multistage-unused": { present: ["built/base.txt", "built/tool.txt"] },
  "args-env": { buildArgs: { FROM_ARG: "given", DEST: "/given-dest" }, present: ["srv/app/conf/hello.txt", "default-dest/hello.txt", "tmp/args.txt", "home/owner-1234/nested"] },
  "users-chown": {
    present: ["owned/by-name/a.txt", "owned/by-number/nested/c.txt", "modes/dir/nested/c.txt", "home/app/mine.txt", "tmp/www-data-file", "contents-of-private/c.txt"],
    async setup(dir) {
      await chmod(join(dir, "files/nested"), 0o700);
    },
  },
  whiteout: { present: ["data/keep", "replaced/new", "data/sub/new.txt", "dir-becomes-file"] },
  dockerignore: { present: ["ctx/keep.bak", "ctx/nested/important.bak", "ctx/docs/keep/b.md", "ctx/build/a/keep"] },
  add: {
    addChown: { dir: "extracted-owned", archive: "123:456", chown: "1001:1002" },
    present: ["extracted/tree/file.txt", "extracted-gz/tree/private/key", "not-extracted/not-a-tar.tar", "added/plain.txt"],
    async setup(dir) {
      await chmod(join(dir, "tarsrc/tree/private"), 0o700);
      await chmod(join(dir, "tarsrc/tree/private/key"), 0o600);
      const tarArgs = ["-C", join(dir, "tarsrc"), "--owner=123", "--group=456", "--numeric-owner", "--sort=name", "tree"];
      execFileSync("tar", ["-cf", join(dir, "archive.tar"), ...tarArgs]);
      execFileSync("tar", ["-czf", join(dir, "archive.tar.gz"), ...tarArgs]);
    },
  },
  links: {
    present: ["ctx/link-to-file", "ctx/hard.txt", "single/link-to-file", "hl/b"],
    async setup(dir) {
      await link(join(dir, "file.txt"), join(dir, "hard.txt"));
    },
  },
  "env-semantics": { present: ["env.txt", "who.txt", "exec.txt", "tmp/pwd.txt", "globbed/one.txt", "globbed/deep.txt", "rel/2"] },
  "scratch-final": { present: ["app", "app-owned", "etc/passwd", "data"] },
  "volume-writes": { present: ["vol/after", "vol/after-volume.txt"] },
  "cmd-shell": { present: ["shell.txt"] },
  "cmd-exec": { present: ["bin/busybox"] },
  metadata: { present: ["a/b/c/d"] },
  "cache-mount": { present: ["listing", "done"], mountStubs: ["var/cache", "var/cache/app", "root/.cache"] },
  "copy-from": { present: ["copied/contents/one", "copied/slash/sub/two", "copied/files/two", "from-image/passwd", "copied/link-followed"] },
};

/** The config keys that say how a container of the image runs. */
const CONFIG_KEYS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels", "Healthcheck", "StopSignal", "Shell", "OnBuild"] as const;

interface Saved {
  config: { os?: string; architecture?: string; config?: Record<string, unknown> };
  tree: Map<string, string>;
}

/** Reads a `docker save` archive (Docker's classic format) into its config and flattened tree. */
async function readSaved(file: string): Promise<Saved> {
  const files = new Map<string, Buffer>();
  const links = new Map<string, string>();
  const extract = tar.extract();
  extract.on("entry", (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: unknown) => chunks.push(c as Buffer));
    stream.on("end", () => {
      if (header.type === "symlink") links.set(header.name, join(header.name, "..", header.linkname ?? ""));
      else if (header.type === "file") files.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  await pipeline(createReadStream(file), extract);
  const member = (name: string): Buffer => {
    const b = files.get(links.get(name) ?? name);
    if (!b) throw new Error(`${file}: no ${name}`);
    return b;
  };
  const [manifest] = JSON.parse(member("manifest.json").toString()) as { Config: string; Layers: string[] }[];
  if (!manifest) throw new Error(`${file}: an empty manifest.json`);
  const tree = new Map<string, Entry>();
  for (const layer of manifest.Layers) await applyLayer(tree, member(layer));
  return { config: JSON.parse(member(manifest.Config).toString()) as Saved["config"], tree: describeTree(tree) };
}

interface Entry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  linkname?: string;
  sha256?: string;
  /** Paths of one inode share this object (hard links). */
  inode: object;
}

const clean = (name: string): string => name.replace(/^\.\//, "").replace(/\/+$/, "");
const under = (path: string, dir: string): boolean => dir === "" || path === dir || path.startsWith(`${dir}/`);

/** Applies one layer tar over `tree` as the overlay snapshotter would: whiteouts of the layers below first, then its entries. */
async function applyLayer(tree: Map<string, Entry>, layer: Buffer): Promise<void> {
  const entries: { name: string; header: tar.Header; data: Buffer }[] = [];
  const extract = tar.extract();
  extract.on("entry", (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: unknown) => chunks.push(c as Buffer));
    stream.on("end", () => {
      entries.push({ name: clean(header.name), header, data: Buffer.concat(chunks) });
      next();
    });
  });
  extract.end(layer);
  await new Promise<void>((resolve, reject) => {
    extract.on("finish", resolve);
    extract.on("error", reject);
  });
  const removeUnder = (dir: string, keepDir: boolean): void => {
    for (const p of [...tree.keys()]) if (under(p, dir) && !(keepDir && p === dir)) tree.delete(p);
  };
  for (const { name } of entries) {
    const base = name.split("/").pop() ?? "";
    const dir = name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : "";
    if (base === ".wh..wh..opq") removeUnder(dir, true);
    else if (base.startsWith(".wh.")) removeUnder(dir ? `${dir}/${base.slice(4)}` : base.slice(4), false);
  }
  for (const { name, header, data } of entries) {
    if (name === "" || name === "." || (name.split("/").pop() ?? "").startsWith(".wh.")) continue;
    const old = tree.get(name);
    // A non-directory over a directory hides everything below it.
    if (old?.type === "directory" && header.type !== "directory") removeUnder(name, false);
    const meta = { mode: header.mode ?? 0, uid: header.uid ?? 0, gid: header.gid ?? 0 };
    if (header.type === "link") {
      const target = tree.get(clean(header.linkname ?? ""));
      if (!target) throw new Error(`hard link ${name} to ${header.linkname ?? ""}: no such entry in the layer`);
      tree.set(name, target);
    } else if (header.type === "file" || header.type === "contiguous-file") {
      tree.set(name, { type: "file", ...meta, sha256: createHash("sha256").update(data).digest("hex"), inode: {} });
    } else if (header.type === "symlink") {
      tree.set(name, { type: "symlink", ...meta, linkname: header.linkname ?? "", inode: {} });
    } else if (header.type === "character-device" || header.type === "block-device") {
      tree.set(name, { type: header.type, ...meta, linkname: `${header.devmajor ?? 0},${header.devminor ?? 0}`, inode: {} });
    } else {
      tree.set(name, { type: header.type ?? "unknown", ...meta, inode: {} });
    }
  }
}

/** path -> "type mode uid:gid [-> target] [sha256] [links=a,b]" */
function describeTree(tree: Map<string, Entry>): Map<string, string> {
  const byInode = new Map<object, string[]>();
  for (const [p, e] of tree) byInode.set(e.inode, [...(byInode.get(e.inode) ?? []), p]);
  const out = new Map<string, string>();
  for (const [p, e] of tree) {
    const group = byInode.get(e.inode) ?? [];
    const parts = [e.type, (e.mode & 0o7777).toString(8), `${e.uid}:${e.gid}`];
    if (e.linkname !== undefined) parts.push(`-> ${e.linkname}`);
    if (e.sha256) parts.push(e.sha256.slice(0, 16));
    if (group.length > 1) parts.push(`links=${group.sort().join(",")}`);
    out.set(p, parts.join(" "));
  }
  return out;
}

/** The config keys compared; null and absent are the same to every reader of a config. */
function runtimeConfig(c: Saved["config"]): Record<string, unknown> {
  const out: Record<string, unknown> = { os: c.os, architecture: c.architecture };
  for (const k of CONFIG_KEYS) {
    const v = c.config?.[k];
    if (v !== null && v !== undefined) out[k] = v;
  }
  return out;
}

function treeDifferences(docker: Map<string, string>, ours: Map<string, string>): string[] {
  const out: string[] = [];
  for (const p of [...new Set([...docker.keys(), ...ours.keys()])].sort()) {
    const a = docker.get(p);
    const b = ours.get(p);
    if (a !== b) out.push(`/${p}: docker ${a ?? "(none)"}, ours ${b ?? "(none)"}`);
  }
  return out;
}

/** fn over every item, `limit` at a time; the results in the items' order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const BUILDS_AT_ONCE = 3;
const skip = missing("root", isRoot);
/** TSCOMPOSE_CORPUS=a,b builds only those cases (while working on one). */
const SELECTED = Object.keys(CASES).filter((n) => !process.env.TSCOMPOSE_CORPUS || process.env.TSCOMPOSE_CORPUS.split(",").includes(n));

describe.skipIf(skip)("the build corpus: the embedded builder against docker build (BuildKit)", () => {
  let registry: TestRegistry | undefined;
  let dockerd: PrivateDockerd | undefined;
  let w: EngineWorld | undefined;
  const results = new Map<string, { docker: Saved; ours: Saved } | Error>();
  let heredoc: Saved | Error | undefined;
  const tag = (name: string): string => `tscompose-corpus/${name}:${process.pid}`;

  async function copyCase(name: string, world: EngineWorld): Promise<string> {
    const dir = await mkdtemp(join(world.dir, `${name}-`));
    // cp -a: the links stay links; the copy is the one context both builders read.
    execFileSync("cp", ["-a", `${join(CORPUS, name)}/.`, dir]);
    await CASES[name]?.setup?.(dir);
    return dir;
  }

  function dockerBuild(d: PrivateDockerd, name: string, dir: string): Promise<void> {
    const args = Object.entries(CASES[name]?.buildArgs ?? {}).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: d.dir, DOCKER_CONFIG: join(d.dir, "client"), DOCKER_BUILDKIT: "1" };
    return new Promise((resolve, reject) => {
      execFile(DOCKER_2010, ["-H", d.host, "build", "--network=none", "--progress=plain", "-t", tag(name), ...args, dir], { env, encoding: "utf8", maxBuffer: 16 << 20 }, (err, _out, stderr) =>
        err ? reject(new Error(`docker build ${name}: ${stderr.split("\n").slice(-15).join("\n")}`)) : resolve(),
      );
    });
  }

  async function dockerSaved(d: PrivateDockerd, world: EngineWorld, name: string): Promise<Saved> {
    const file = join(world.dir, `${name}.docker.tar`);
    await d.docker(["save", "-o", file, tag(name)]);
    return readSaved(file);
  }

  async function oursSaved(world: EngineWorld, name: string, dir: string): Promise<Saved> {
    await world.engine.buildImage({ contextDir: dir, tags: [tag(name)], buildArgs: CASES[name]?.buildArgs, network: "none" });
    const file = join(world.dir, `${name}.ours.tar`);
    await world.images.save([tag(name)], createWriteStream(file));
    return readSaved(file);
  }

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(registry, "busybox");
    [dockerd, w] = await Promise.all([startMirroringDockerd(registry.url, poolOctet("build-corpus-dockerd")), engineWorld({ mirror: registry.url, poolOctet: poolOctet("build-corpus-engine") })]);
    const d = dockerd;
    const world = w;
    const names = SELECTED;
    const dirs = new Map<string, string>();
    for (const name of names) dirs.set(name, await copyCase(name, world));
    // The base is pulled once before builds that all start from it run side by side.
    await world.engine.pullImage("busybox");
    // Both builders at once, each BUILDS_AT_ONCE cases at a time: the cases are small, and their steps wait more than they compute.
    const [theirs, mine] = await Promise.all([
      mapLimited(names, BUILDS_AT_ONCE, (name) => dockerBuild(d, name, dirs.get(name) as string).then(() => dockerSaved(d, world, name), (e: Error) => e)),
      mapLimited([...names, "heredoc"], BUILDS_AT_ONCE, async (name) => oursSaved(world, name, dirs.get(name) ?? (await copyCase(name, world))).catch((e: Error) => e)),
    ]);
    heredoc = mine[names.length];
    for (const [i, name] of names.entries()) {
      const a = theirs[i];
      const b = mine[i];
      results.set(name, a instanceof Error ? a : b instanceof Error ? b : { docker: a as Saved, ours: b as Saved });
    }
  }, 300_000);

  afterAll(async () => {
    try {
      if (w) expect(await w.cleanupAndFindLeaks()).toEqual([]);
    } finally {
      await dockerd?.stop();
      await registry?.stop();
    }
  }, 120_000);

  it("the corpus has a case entry for every directory", () => {
    const dirs = readdirSync(CORPUS).filter((n) => n !== "heredoc").sort();
    expect(dirs).toEqual(Object.keys(CASES).sort());
  });

  it.each(SELECTED)("%s: the same root filesystem and config", (name) => {
    const r = results.get(name);
    if (r instanceof Error) throw r;
    if (!r) throw new Error(`${name} was not built`);
    const theirs = new Map(r.docker.tree);
    for (const p of CASES[name]?.mountStubs ?? []) {
      expect(theirs.get(p), `docker's /${p}`).toMatch(/^directory /);
      expect(r.ours.tree.get(p), `our /${p}`).toBeUndefined();
      theirs.delete(p);
    }
    const chowned = CASES[name]?.addChown;
    if (chowned) {
      const under = [...theirs.keys()].filter((p) => p.startsWith(`${chowned.dir}/`));
      expect(under.length, `docker's /${chowned.dir} has the archive's entries`).toBeGreaterThan(0);
      for (const p of under) {
        // "type mode uid:gid ...": the owner is the third word.
        const words = (theirs.get(p) ?? "").split(" ");
        expect(words[2], `docker's /${p}`).toBe(chowned.archive);
        words[2] = chowned.chown;
        theirs.set(p, words.join(" "));
      }
    }
    // The case's name in what is compared: vitest folds failures with equal messages into one report.
    expect({ case: name, differences: treeDifferences(theirs, r.ours.tree) }).toEqual({ case: name, differences: [] });
    expect({ case: name, config: runtimeConfig(r.ours.config) }).toEqual({ case: name, config: runtimeConfig(r.docker.config) });
    for (const p of CASES[name]?.present ?? []) {
      expect(theirs.has(p), `docker's image has /${p}`).toBe(true);
      expect(r.ours.tree.has(p), `our image has /${p}`).toBe(true);
    }
  });

  it("heredocs: RUN <<EOF runs the script, COPY <<EOF expands unless the delimiter is quoted, --chmod applies", () => {
    if (heredoc instanceof Error) throw heredoc;
    const tree = heredoc?.tree;
    const sha = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 16);
    expect(tree?.get("heredoc/run.txt")).toBe(`file 644 0:0 ${sha("hello world\n")}`);
    expect(tree?.get("heredoc/copied.txt")).toBe(`file 644 0:0 ${sha("value=world\n")}`);
    expect(tree?.get("heredoc/literal.txt")).toBe(`file 644 0:0 ${sha("value=${WHO}\n")}`);
    expect(tree?.get("heredoc/script.sh")).toBe(`file 755 0:0 ${sha("#!/bin/sh\necho script\n")}`);
    expect(tree?.get("heredoc")).toBe("directory 755 0:0");
  });
});
