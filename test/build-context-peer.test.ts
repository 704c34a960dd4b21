// The build context against docker's legacy builder (DOCKER_BUILDKIT=0 on the
// private dockerd): a context with a .dockerignore of every kind of pattern
// is sent by `docker build` with `COPY . /ctx/`; the files that reach the
// image must be the entries BuildContext keeps. No container runs: the image
// is read back with `docker create` + `docker export`.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildContext } from "../engine/build/context.js";
import { startPrivateDockerd, type PrivateDockerd } from "./fixtures/dockerd.js";
import { skipUnless } from "./support/requires.js";

let dockerd: PrivateDockerd | undefined;
let why = "";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tscompose-test-ctxpeer-"));
  try {
    dockerd = await startPrivateDockerd();
  } catch (err) {
    why = (err as Error).message;
  }
});
afterAll(async () => {
  await dockerd?.stop();
  await rm(dir, { recursive: true, force: true });
});

function legacyBuild(d: PrivateDockerd, tag: string, context: string): Promise<void> {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: d.dir, DOCKER_CONFIG: join(d.dir, "client"), DOCKER_BUILDKIT: "0" };
  return new Promise((resolve, reject) => {
    execFile("docker", ["-H", d.host, "build", "-q", "-t", tag, "."], { cwd: context, env, encoding: "utf8", timeout: 120_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`docker build: ${stderr}`)) : resolve(),
    );
  });
}

/** Entries under ctx/ of an exported container filesystem: path -> type (and link target). */
async function exported(d: PrivateDockerd, image: string): Promise<Map<string, string>> {
  const { stdout: id } = await d.docker(["create", image, "/none"]);
  const container = id.trim();
  try {
    const { stdout } = await d.docker(["export", container], { maxBuffer: 64 << 20 });
    // The export holds only ASCII (names, tiny text files, zero padding), so the CLI's text output is the tar's bytes.
    const out = new Map<string, string>();
    const extract = tar.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on("entry", (header, stream, next) => {
        const name = header.name.replace(/\/$/, "");
        if (name.startsWith("ctx/")) out.set(name.slice(4), header.type === "symlink" ? `symlink:${header.linkname ?? ""}` : header.type === "directory" ? "dir" : header.type);
        stream.resume();
        stream.on("end", next);
      });
      extract.on("finish", resolve);
      extract.on("error", reject);
    });
    extract.end(Buffer.from(stdout, "utf8"));
    await done;
    return out;
  } finally {
    await d.docker(["rm", container]);
  }
}

describe("the build context against docker's legacy builder", () => {
  it("the same files reach the build", async (ctx) => {
    if (!dockerd) return skipUnless(ctx, `a private dockerd (${why})`, false);
    const files: Record<string, string> = {
      ".dockerignore": ["# comment", "*.log", "!keep.log", "docs", "!docs/README.md", "**/tmp", "/abs.txt", "./dot/../cleaned.txt", "sub/*/deep.txt", "ba?.txt", ".dockerignore", ""].join("\n"),
      Dockerfile: "FROM scratch\nCOPY . /ctx/\n",
      "a.txt": "a",
      "app.log": "",
      "keep.log": "",
      "nested/app.log": "",
      "docs/README.md": "",
      "docs/other.md": "",
      "src/x/tmp/t.txt": "",
      "src/main.ts": "",
      "abs.txt": "",
      "sub/abs.txt": "",
      "cleaned.txt": "",
      "sub/one/deep.txt": "",
      "sub/one/two/deep.txt": "",
      "bar.txt": "",
      "bars.txt": "",
    };
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    await mkdir(join(dir, "emptydir"));
    await symlink("a.txt", join(dir, "link"));
    const tag = `tscompose-test-ctxpeer-${randomBytes(4).toString("hex")}`;
    await legacyBuild(dockerd, tag, dir);
    try {
      const theirs = await exported(dockerd, tag);
      const ours = new Map((await BuildContext.open(dir)).entries.map((e) => [e.path, e.type === "symlink" ? `symlink:${e.linkTarget ?? ""}` : e.type === "dir" ? "dir" : "file"]));
      // tar-stream calls regular files "file"; the comparison is on paths and kinds.
      expect([...ours.entries()].sort()).toEqual([...theirs.entries()].sort());
      // A positive control: the listing is not empty and has what the patterns keep.
      expect(theirs.get("keep.log")).toBe("file");
      expect(theirs.get("docs/README.md")).toBe("file");
    } finally {
      await dockerd.docker(["rmi", tag]);
    }
  });
});
