import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BuildContext } from "./context.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tscompose-test-context-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tree(files: Record<string, string | { link: string } | { mode: number; content: string }>): Promise<void> {
  for (const [path, spec] of Object.entries(files)) {
    const full = join(dir, path);
    await mkdir(path.endsWith("/") ? full : dirname(full), { recursive: true });
    if (path.endsWith("/")) continue;
    if (typeof spec === "string") await writeFile(full, spec);
    else if ("link" in spec) await symlink(spec.link, full);
    else {
      await writeFile(full, spec.content);
      await chmod(full, spec.mode);
    }
  }
}
const paths = (ctx: BuildContext) => ctx.entries.map((e) => e.path);

describe("walking the context", () => {
  it("describes every entry without following symlinks", async () => {
    await tree({ "a.txt": { mode: 0o640, content: "hello\n" }, "bin/run.sh": { mode: 0o755, content: "#!/bin/sh\n" }, "sub/": "", "link": { link: "../../etc" }, "dirlink": { link: "bin" } });
    const ctx = await BuildContext.open(dir);
    expect(paths(ctx)).toEqual(["a.txt", "bin", "bin/run.sh", "dirlink", "link", "sub"]);
    expect(ctx.entry("a.txt")).toEqual({ path: "a.txt", type: "file", mode: 0o640, uid: process.getuid?.(), gid: process.getgid?.(), size: 6 });
    expect(ctx.entry("bin/run.sh")).toMatchObject({ type: "file", mode: 0o755, size: 10 });
    expect(ctx.entry("link")).toMatchObject({ type: "symlink", linkTarget: "../../etc", size: 0 });
    expect(ctx.entry("dirlink")).toMatchObject({ type: "symlink", linkTarget: "bin" });
    expect(ctx.entry("sub")).toMatchObject({ type: "dir" });
  });

  it("hashes file contents with sha256", async () => {
    await tree({ "a.txt": "hello\n" });
    const ctx = await BuildContext.open(dir);
    // sha256 of "hello\n", as sha256sum prints it.
    expect(await ctx.contentHash("a.txt")).toBe("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    await expect(ctx.contentHash("nope")).rejects.toThrow(/not a regular file/);
  });

  it("refuses a context that is not a directory", async () => {
    await expect(BuildContext.open(join(dir, "missing"))).rejects.toThrow(/unable to prepare context/);
  });
});

describe(".dockerignore", () => {
  it("leaves out what it matches, keeps `!` exceptions and the directories leading to them", async () => {
    await tree({
      ".dockerignore": "# build output\nnode_modules\n*.log\ndocs\n!docs/README.md\n/secret.txt\n",
      "node_modules/x/index.js": "",
      "app.log": "",
      "src/debug.log": "",
      "src/main.ts": "",
      "docs/README.md": "",
      "docs/other.md": "",
      "secret.txt": "",
      "sub/secret.txt": "",
    });
    const ctx = await BuildContext.open(dir);
    // `*.log` matches at the root only; a leading `/` is dropped, so /secret.txt is secret.txt.
    expect(paths(ctx)).toEqual([".dockerignore", "docs", "docs/README.md", "src", "src/debug.log", "src/main.ts", "sub", "sub/secret.txt"]);
    expect(ctx.ignorePatterns).toEqual(["node_modules", "*.log", "docs", "!docs/README.md", "secret.txt"]);
  });

  it("`**` reaches every depth", async () => {
    await tree({ ".dockerignore": "**/*.log\n", "a.log": "", "x/y/z.log": "", "x/keep": "" });
    expect(paths(await BuildContext.open(dir))).toEqual([".dockerignore", "x", "x/keep", "x/y"]);
  });

  it("<Dockerfile>.dockerignore beside a named Dockerfile wins over .dockerignore", async () => {
    await tree({
      ".dockerignore": "a.txt\n",
      "build/app.Dockerfile": "FROM scratch\n",
      "build/app.Dockerfile.dockerignore": "b.txt\n",
      "a.txt": "",
      "b.txt": "",
    });
    const named = await BuildContext.open(dir, { dockerfile: "build/app.Dockerfile" });
    expect(named.entry("a.txt")).toBeDefined();
    expect(named.entry("b.txt")).toBeUndefined();
    expect(named.ignoreFile).toBe(join(dir, "build/app.Dockerfile.dockerignore"));
    const plain = await BuildContext.open(dir);
    expect(plain.entry("a.txt")).toBeUndefined();
    expect(plain.entry("b.txt")).toBeDefined();
  });

  it("a bad pattern is an error naming the file", async () => {
    await tree({ ".dockerignore": "ok\n[\n" });
    await expect(BuildContext.open(dir)).rejects.toThrow(`${join(dir, ".dockerignore")}: syntax error in pattern: [`);
  });

  it("a FIFO is listed, never read", async () => {
    await tree({ "a.txt": "a" });
    execFileSync("mkfifo", [join(dir, "pipe")]);
    const ctx = await BuildContext.open(dir);
    expect(ctx.entry("pipe")).toMatchObject({ type: "fifo", size: 0 });
    await ctx.hashAll();
    expect(await ctx.copyCacheKey(["."])).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("the Dockerfile and .dockerignore can be excluded from what COPY sees", async () => {
    await tree({ ".dockerignore": ".dockerignore\nDockerfile\n", Dockerfile: "FROM scratch\n", "a.txt": "" });
    expect(paths(await BuildContext.open(dir))).toEqual(["a.txt"]);
  });
});

describe("COPY sources", () => {
  beforeEach(async () => {
    await tree({
      "a.txt": "a",
      "b.txt": "b",
      "c.md": "c",
      "dir/x.txt": "x",
      "dir/sub/y.txt": "y",
      "lib/": "",
      "tolib": { link: "lib" },
      "abs": { link: "/dir" },
      "up": { link: "../../../dir" },
      "loop1": { link: "loop2" },
      "loop2": { link: "loop1" },
    });
  });

  it("wildcards stay within one path element", async () => {
    const ctx = await BuildContext.open(dir);
    expect(ctx.matchSource("*.txt").roots).toEqual(["a.txt", "b.txt"]);
    expect(ctx.matchSource("dir/*.txt").roots).toEqual(["dir/x.txt"]);
    expect(ctx.matchSource("?.md").roots).toEqual(["c.md"]);
    expect(ctx.matchSource("[ab].txt").roots).toEqual(["a.txt", "b.txt"]);
    expect(ctx.matchSource("[^a].txt").roots).toEqual(["b.txt"]);
  });

  it("a directory stands for its contents; `.` is the whole context; a leading / or ./ is the context's root", async () => {
    const ctx = await BuildContext.open(dir);
    expect(ctx.matchSource("dir").entries.map((e) => e.path)).toEqual(["dir", "dir/sub", "dir/sub/y.txt", "dir/x.txt"]);
    expect(ctx.matchSource(".").entries.length).toBe(ctx.entries.length);
    expect(ctx.matchSource("/a.txt").roots).toEqual(["a.txt"]);
    expect(ctx.matchSource("./dir/../a.txt").roots).toEqual(["a.txt"]);
  });

  it("symlinks on the way are followed inside the context, an absolute or climbing target stays in it", async () => {
    const ctx = await BuildContext.open(dir);
    expect(ctx.matchSource("tolib").roots).toEqual(["lib"]);
    expect(ctx.matchSource("abs/x.txt").roots).toEqual(["dir/x.txt"]);
    expect(ctx.matchSource("up/sub").roots).toEqual(["dir/sub"]);
    expect(() => ctx.matchSource("loop1")).toThrow(/too many levels of symbolic links/);
  });

  it("outside the context, or matching nothing: docker's errors", async () => {
    const ctx = await BuildContext.open(dir);
    expect(() => ctx.matchSource("../etc/passwd")).toThrow("forbidden path outside the build context: ../etc/passwd ()");
    expect(() => ctx.matchSource("missing.txt")).toThrow('failed to compute cache key: "/missing.txt": not found');
    expect(() => ctx.matchSource("*.nothing")).toThrow('failed to compute cache key: "/*.nothing": not found');
  });
});

describe("COPY cache keys", () => {
  it("editing one file changes only the keys of the COPYs that read it; times do not count", async () => {
    await tree({ "a.txt": "a", "dir/x.txt": "x", "dir/y.txt": "y" });
    const keys = async () => {
      const ctx = await BuildContext.open(dir);
      return { a: await ctx.copyCacheKey(["a.txt"]), dir: await ctx.copyCacheKey(["dir"]), glob: await ctx.copyCacheKey(["dir/x*"]) };
    };
    const before = await keys();
    expect(new Set(Object.values(before)).size).toBe(3);
    await utimes(join(dir, "a.txt"), new Date(1_000_000), new Date(1_000_000));
    expect(await keys()).toEqual(before);
    await writeFile(join(dir, "dir/y.txt"), "y2");
    const afterY = await keys();
    expect(afterY.a).toBe(before.a);
    expect(afterY.glob).toBe(before.glob);
    expect(afterY.dir).not.toBe(before.dir);
    await chmod(join(dir, "a.txt"), 0o600);
    expect((await keys()).a).not.toBe(before.a);
  });

  it("the same files under another name give another key", async () => {
    await tree({ "a.txt": "same", "b.txt": "same" });
    const ctx = await BuildContext.open(dir);
    expect(await ctx.copyCacheKey(["a.txt"])).not.toBe(await ctx.copyCacheKey(["b.txt"]));
  });

  it("hashAll hashes every file once", async () => {
    await tree({ "a.txt": "hello\n", "d/b.txt": "hello\n" });
    const ctx = await BuildContext.open(dir);
    await ctx.hashAll();
    expect(await ctx.contentHash("d/b.txt")).toBe("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  });
});
