// Reading /etc/passwd and /etc/group inside a rootfs that an image or a
// running container controls: links stay inside the rootfs, and a file that
// is not a small regular file is refused instead of read (a FIFO would block
// a thread-pool thread forever; a huge file would be read into memory).
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mkfifo } from "../snapshot/nodes.js";
import { readInRoot, resolveUser, resolveUserFrom } from "./user.js";

let base: string;
let n = 0;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "tscompose-test-user-"));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function rootfs(): Promise<string> {
  const dir = join(base, `root${n++}`);
  await mkdir(join(dir, "etc"), { recursive: true });
  return dir;
}

describe("readInRoot", () => {
  test("a link out of the rootfs reads the rootfs's own file, never the host's", async () => {
    const host = join(base, "host-passwd");
    await writeFile(host, "evil:x:4242:4242::/:/bin/sh\n");
    const dir = await rootfs();
    await symlink(host, join(dir, "etc/passwd"));
    await symlink(`${"../".repeat(30)}${host.slice(1)}`, join(dir, "etc/group"));
    expect(await readInRoot(dir, "/etc/passwd")).toBeUndefined();
    expect(await readInRoot(dir, "/etc/group")).toBeUndefined();
    await expect(resolveUser(dir, "evil")).rejects.toThrow(/unable to find user evil/);
  });

  test("a FIFO is refused at once instead of blocking", { timeout: 10_000 }, async () => {
    const dir = await rootfs();
    await mkfifo(join(dir, "etc/passwd"), 0o644);
    await expect(readInRoot(dir, "/etc/passwd")).rejects.toThrow("/etc/passwd in the container's filesystem is not a regular file");
    await expect(resolveUser(dir, "root")).rejects.toThrow(/not a regular file/);
  });

  test("a file over 4 MiB is refused, not read into memory", async () => {
    const dir = await rootfs();
    await writeFile(join(dir, "etc/group"), "");
    await truncate(join(dir, "etc/group"), 64 << 20);
    await expect(readInRoot(dir, "/etc/group")).rejects.toThrow("/etc/group in the container's filesystem is larger than 4 MiB");
  });

  test("ordinary files read as they are; missing ones and directories are undefined", async () => {
    const dir = await rootfs();
    await writeFile(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
    await mkdir(join(dir, "etc/group"));
    expect(await readInRoot(dir, "/etc/passwd")).toContain("app:x:1000");
    expect(await readInRoot(dir, "/etc/group")).toBeUndefined();
    expect(await readInRoot(dir, "/etc/shadow")).toBeUndefined();
    expect(await resolveUser(dir, "app")).toMatchObject({ uid: 1000, gid: 1000, home: "/home/app" });
  });
});

describe("group_add", () => {
  test("adds groups by name from the group file and by number; an unknown name is an error", () => {
    const group = "root:x:0:\nwww-data:x:33:\naudio:x:29:app\n";
    const passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
    expect(resolveUserFrom(undefined, passwd, group, ["www-data", "4242"]).additionalGids).toEqual([33, 4242]);
    // The user's own supplementary groups stay, without duplicates.
    expect(resolveUserFrom("app", passwd, group, ["audio", "www-data"]).additionalGids).toEqual([29, 33]);
    expect(() => resolveUserFrom(undefined, passwd, group, ["video"])).toThrow(/unable to find group video/);
  });
});
