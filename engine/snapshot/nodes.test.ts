import { execFileSync } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { observeCommands } from "../sys/exec.js";
import { UnpackError } from "./errors.js";
import { mkfifo } from "./nodes.js";
import { applyXattrs } from "./xattr.js";

// mknod, mkfifo and setfattr go through the engine's one runner (engine/sys/exec.ts):
// observers see them, and a failure arrives as the runner's error, translated here.
describe("special files and xattrs through the runner", () => {
  let dir: string;
  let seen: string[];
  let stop: () => void;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tscompose-nodes-test-"));
    seen = [];
    stop = observeCommands((cmd) => seen.push(cmd));
  });
  afterEach(async () => {
    stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("mkfifo makes a FIFO with the asked mode", async () => {
    await mkfifo(join(dir, "f"), 0o640);
    const st = await stat(join(dir, "f"));
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o777).toBe(0o640);
    expect(seen).toEqual(["mkfifo"]);
  });

  test("mkfifo on an existing path fails naming the command", async () => {
    await mkfifo(join(dir, "f"), 0o600);
    await expect(mkfifo(join(dir, "f"), 0o600)).rejects.toThrow(/^mkfifo .* failed \(exit 1\)/);
  });

  test("applyXattrs writes one setfattr per distinct value", async () => {
    for (const n of ["a", "b", "c"]) await writeFile(join(dir, n), "");
    const value = Buffer.from([0, 1, 2, 255]);
    await applyXattrs([
      { path: join(dir, "a"), name: "user.tscompose-test", value },
      { path: join(dir, "b"), name: "user.tscompose-test", value },
      { path: join(dir, "c"), name: "user.tscompose-test", value: Buffer.from("y") },
    ]);
    expect(seen).toEqual(["setfattr", "setfattr"]);
    const read = (p: string) => execFileSync("getfattr", ["-h", "-e", "hex", "--only-values", "-n", "user.tscompose-test", join(dir, p)], { stdio: ["ignore", "pipe", "ignore"] });
    expect(read("a").toString("hex")).toBe("000102ff");
    expect(read("c").toString()).toBe("y");
  });

  test("a setfattr failure is an io UnpackError carrying setfattr's message", async () => {
    const err = await applyXattrs([{ path: join(dir, "missing"), name: "user.x", value: Buffer.from("y") }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnpackError);
    expect((err as UnpackError).code).toBe("io");
    expect((err as UnpackError).message).toMatch(/setfattr failed: .*No such file/);
  });
});
