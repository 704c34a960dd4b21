import { mkdir, mkdtemp, readFile, readlink, rm, writeFile, lstat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kindOf } from "../errors.js";
import { memberPath, packCopies, unpackTo } from "./archive.js";

type Entry = { name: string; type?: "file" | "directory" | "symlink" | "link"; linkname?: string; body?: string };

async function tarOf(entries: Entry[]): Promise<Readable> {
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? "file", linkname: e.linkname, mode: e.type === "directory" ? 0o755 : 0o644 }, e.body ?? "");
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Readable.from([Buffer.concat(chunks)]);
}

async function names(stream: NodeJS.ReadableStream): Promise<string[]> {
  const extract = tar.extract();
  stream.pipe(extract);
  const out: string[] = [];
  for await (const e of extract) {
    out.push(`${e.header.type}:${e.header.name}:${e.header.uid}`);
    e.resume();
  }
  return out;
}

describe("docker cp archives", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tsc-dockerarch-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a container's tar lands at the host path, its top entry renamed to it", async () => {
    const src = await tarOf([{ name: "conf", type: "directory" }, { name: "conf/app.ini", body: "port=80\n" }, { name: "conf/link", type: "symlink", linkname: "app.ini" }, { name: "conf/hard", type: "link", linkname: "conf/app.ini" }]);
    const copied = await unpackTo(src, join(dir, "out"));
    expect(copied).toBe(3);
    expect(await readFile(join(dir, "out", "app.ini"), "utf8")).toBe("port=80\n");
    expect(await readlink(join(dir, "out", "link"))).toBe("app.ini");
    expect((await lstat(join(dir, "out", "hard"))).nlink).toBe(2);
  });

  it("hostile entries are refused: .., absolute names, a write through a link, a hard link out", async () => {
    await mkdir(join(dir, "victim"));
    const cases: Entry[][] = [
      [{ name: "top", type: "directory" }, { name: "top/../../escape", body: "x" }],
      [{ name: "/etc/evil", body: "x" }],
      [{ name: "top", type: "directory" }, { name: "top/l", type: "symlink", linkname: join(dir, "victim") }, { name: "top/l/owned", body: "x" }],
      [{ name: "top", type: "directory" }, { name: "top/f", type: "symlink", linkname: join(dir, "victim", "file") }, { name: "top/f", body: "x" }],
      [{ name: "top", type: "directory" }, { name: "top/h", type: "link", linkname: "../../etc/passwd" }],
    ];
    for (const [i, entries] of cases.entries()) {
      const err = await unpackTo(await tarOf(entries), join(dir, `out${i}`)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(kindOf(err), `case ${i}`).toBe("invalid");
    }
    expect(await readFile(join(dir, "victim", "owned"), "utf8").catch(() => "absent")).toBe("absent");
    expect(await readFile(join(dir, "victim", "file"), "utf8").catch(() => "absent")).toBe("absent");
    expect(await readFile(join(dir, "escape"), "utf8").catch(() => "absent")).toBe("absent");
    expect(memberPath("top/./a//b")).toBe("a/b");
  });

  it("host files are packed under their container paths, owned as asked, excluded ones left out", async () => {
    await mkdir(join(dir, "src", "sub"), { recursive: true });
    await writeFile(join(dir, "src", "a.txt"), "a");
    await writeFile(join(dir, "src", "sub", "skip.log"), "s");
    const { stream, done } = packCopies([{ hostPath: join(dir, "src"), containerPath: "/srv/app/" }], { owner: { uid: 1000, gid: 1000 }, exclude: (p) => p.endsWith(".log") });
    const [listed, count] = await Promise.all([names(stream as unknown as NodeJS.ReadableStream), done]);
    expect(listed).toEqual(["directory:srv/app:1000", "file:srv/app/a.txt:1000", "directory:srv/app/sub:1000"]);
    expect(count).toBe(1);
    const relative = packCopies([{ hostPath: join(dir, "src"), containerPath: "srv" }]);
    relative.stream.on("error", () => undefined).resume();
    expect(kindOf(await relative.done.catch((e: unknown) => e))).toBe("invalid");
  });
});
