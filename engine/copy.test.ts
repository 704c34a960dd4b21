// Both writers against a fake container root full of hostile symlinks: no
// write, chmod or removal may land outside the root. copyIntoRoot resolves
// paths in the root itself (stopped containers); copyIntoRunningRoot writes
// from a helper chrooted into the root (running ones), and must agree.
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanContainerPath, copyIntoRoot as resolvingWriter } from "./copy.js";
import { copyIntoRunningRoot } from "./copy-chroot.js";

let base: string;
let root: string;
let host: string;
let outside: string;

/** Everything under a directory, as relative paths. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const name of readdirSync(d)) {
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      const st = lstatSync(join(d, name));
      if (st.isDirectory()) walk(join(d, name), r);
    }
  };
  walk(dir, "");
  return out.sort();
}

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "tscompose-copy-"));
  root = join(base, "root");
  host = join(base, "host");
  outside = join(base, "outside");
  for (const d of [root, host, outside, join(root, "etc"), join(root, "tmp")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(outside, "keep"), "host's own\n");
  writeFileSync(join(host, "app.js"), "console.log(1)\n");
  chmodSync(join(host, "app.js"), 0o754);
});

afterEach(() => rmSync(base, { recursive: true, force: true }));

describe.each([
  ["copyIntoRoot (resolves in the root)", resolvingWriter],
  ["copyIntoRunningRoot (chrooted helper)", copyIntoRunningRoot],
])("%s", (_name, copyIntoRoot) => {
  it("copies a file, creating parents, keeping its mode and mtime, owned as asked", async () => {
    utimesSync(join(host, "app.js"), new Date(1_000_000_000_000), new Date(1_000_000_000_000));
    const r = await copyIntoRoot(root, { copies: [{ hostPath: join(host, "app.js"), containerPath: "/srv/app/app.js" }], removals: [] }, { uid: 1234, gid: 4321 });
    expect(r).toEqual({ copied: 1, removed: 0 });
    const st = statSync(join(root, "srv/app/app.js"));
    expect(readFileSync(join(root, "srv/app/app.js"), "utf8")).toBe("console.log(1)\n");
    expect(st.mode & 0o7777).toBe(0o754);
    expect(st.mtimeMs).toBe(1_000_000_000_000);
    expect([st.uid, st.gid]).toEqual([1234, 4321]);
    expect(statSync(join(root, "srv/app")).uid).toBe(1234);
    // No temporary file is left behind.
    expect(tree(join(root, "srv/app"))).toEqual(["app.js"]);
  });

  it("follows a directory symlink to an absolute host path inside the root, never on the host", async () => {
    symlinkSync(outside, join(root, "app"));
    await copyIntoRoot(root, { copies: [{ hostPath: join(host, "app.js"), containerPath: "/app/keep" }], removals: [] });
    expect(readFileSync(join(outside, "keep"), "utf8")).toBe("host's own\n");
    expect(readFileSync(join(root, outside, "keep"), "utf8")).toBe("console.log(1)\n");
  });

  it("stops .. at the container's root", async () => {
    mkdirSync(join(root, "app"));
    symlinkSync(`../../../../../../../../..${outside}`, join(root, "app", "up"));
    symlinkSync("/etc", join(root, "etcdir"));
    await copyIntoRoot(root, { copies: [{ hostPath: join(host, "app.js"), containerPath: "/app/up/keep" }, { hostPath: join(host, "app.js"), containerPath: "/etcdir/../../../x" }], removals: [] });
    expect(readFileSync(join(outside, "keep"), "utf8")).toBe("host's own\n");
    expect(readFileSync(join(root, outside, "keep"), "utf8")).toBe("console.log(1)\n");
    expect(existsSync(join(root, "x"))).toBe(true);
    expect(existsSync(join(base, "x"))).toBe(false);
  });

  it("replaces a symlink at the destination instead of writing through it", async () => {
    mkdirSync(join(root, "app"));
    symlinkSync(join(outside, "keep"), join(root, "app", "app.js"));
    await copyIntoRoot(root, { copies: [{ hostPath: join(host, "app.js"), containerPath: "/app/app.js" }], removals: [] });
    expect(readFileSync(join(outside, "keep"), "utf8")).toBe("host's own\n");
    expect(lstatSync(join(root, "app", "app.js")).isFile()).toBe(true);
  });

  it("removes through in-root resolution only", async () => {
    symlinkSync(outside, join(root, "app"));
    symlinkSync(outside, join(root, "direct"));
    const r = await copyIntoRoot(root, { copies: [], removals: ["/app/keep", "/direct"] });
    expect(readFileSync(join(outside, "keep"), "utf8")).toBe("host's own\n");
    // The link itself goes, not what it points to.
    expect(existsSync(join(root, "direct"))).toBe(false);
    expect(r.removed).toBe(1);
  });

  it("copies directories recursively, links as links, leaving excluded paths out", async () => {
    mkdirSync(join(host, "src", "node_modules"), { recursive: true });
    writeFileSync(join(host, "src", "a.txt"), "a");
    writeFileSync(join(host, "src", "node_modules", "big"), "b");
    symlinkSync("/etc/passwd", join(host, "src", "link"));
    const r = await copyIntoRoot(root, { copies: [{ hostPath: join(host, "src"), containerPath: "/app" }], removals: [], exclude: (p) => p.endsWith("/node_modules") });
    expect(tree(join(root, "app"))).toEqual(["a.txt", "link"]);
    expect(readlinkSync(join(root, "app", "link"))).toBe("/etc/passwd");
    expect(r.copied).toBe(2);
  });

  it("replaces a directory in the way of a file, and removes directories recursively", async () => {
    mkdirSync(join(root, "app", "app.js", "deep"), { recursive: true });
    await copyIntoRoot(root, { copies: [{ hostPath: join(host, "app.js"), containerPath: "/app/app.js" }], removals: [] });
    expect(lstatSync(join(root, "app", "app.js")).isFile()).toBe(true);
    mkdirSync(join(root, "gone", "deep"), { recursive: true });
    await copyIntoRoot(root, { copies: [], removals: ["/gone", "/never/was"] });
    expect(existsSync(join(root, "gone"))).toBe(false);
  });

  it("refuses relative paths, the root as a file destination, and removing the root", async () => {
    await expect(copyIntoRoot(root, { copies: [{ hostPath: join(host, "app.js"), containerPath: "app.js" }], removals: [] })).rejects.toThrow(/absolute/);
    await expect(copyIntoRoot(root, { copies: [{ hostPath: join(host, "app.js"), containerPath: "/" }], removals: [] })).rejects.toThrow(/root/);
    await expect(copyIntoRoot(root, { copies: [], removals: ["/../.."] })).rejects.toThrow(/root/);
    expect(existsSync(root)).toBe(true);
  });

  it("refuses a file where a parent directory should be", async () => {
    writeFileSync(join(root, "file"), "x");
    await expect(copyIntoRoot(root, { copies: [{ hostPath: join(host, "app.js"), containerPath: "/file/app.js" }], removals: [] })).rejects.toThrow(/not a directory/);
  });

  it("cleans container paths lexically", () => {
    expect(cleanContainerPath("/a/./b/../c/")).toBe("/a/c");
    expect(cleanContainerPath("/../../etc")).toBe("/etc");
    expect(() => cleanContainerPath("a\0b")).toThrow(/NUL/);
  });
});

describe("copyIntoRoot: hard links", () => {
  it("keeps the hard links among the files of one copy, as tar and BuildKit's COPY do", async () => {
    mkdirSync(join(host, "src"));
    writeFileSync(join(host, "src", "a"), "shared\n");
    linkSync(join(host, "src", "a"), join(host, "src", "b"));
    writeFileSync(join(host, "src", "c"), "alone\n");
    await resolvingWriter(root, { copies: [{ hostPath: join(host, "src"), containerPath: "/app" }], removals: [] });
    const [a, b, c] = ["a", "b", "c"].map((n) => statSync(join(root, "app", n)));
    expect(a?.ino).toBe(b?.ino);
    expect(a?.nlink).toBe(2);
    expect(c?.ino).not.toBe(a?.ino);
    expect(readFileSync(join(root, "app", "b"), "utf8")).toBe("shared\n");
    expect(tree(join(root, "app"))).toEqual(["a", "b", "c"]);
  });
});
