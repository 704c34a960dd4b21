import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { eventually } from "../../test/support/wait.js";
import { FileLock, HELPER_PROGRAM } from "./flock.js";

let dir: string;
const locks: FileLock[] = [];
const lockOf = (what = "the test lock"): FileLock => {
  const l = new FileLock(join(dir, "test.lock"), what);
  locks.push(l);
  return l;
};
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tscompose-test-flock-"));
});
afterEach(async () => {
  for (const l of locks.splice(0)) await l.close();
  rmSync(dir, { recursive: true, force: true });
});

test("an exclusive lock keeps every other holder out until it is released", async () => {
  const a = lockOf();
  const b = lockOf();
  expect(await a.lock("exclusive")).toBe(true);
  expect(await b.lock("exclusive", { wait: false })).toBe(false);
  expect(await b.lock("shared", { wait: false })).toBe(false);
  await a.unlock();
  expect(await b.lock("exclusive", { wait: false })).toBe(true);
});

test("shared locks coexist and keep an exclusive one out", async () => {
  const [a, b, c] = [lockOf(), lockOf(), lockOf()];
  expect(await a.lock("shared")).toBe(true);
  expect(await b.lock("shared", { wait: false })).toBe(true);
  expect(await c.lock("exclusive", { wait: false })).toBe(false);
  await a.close();
  await b.unlock();
  expect(await c.lock("exclusive", { wait: false })).toBe(true);
});

test("a waiter gets the lock when the holder lets go", async () => {
  const [a, b] = [lockOf(), lockOf()];
  await a.lock("exclusive");
  let got = false;
  const waiting = b.lock("exclusive").then((v) => (got = v));
  // The kernel shows b's request queued behind a's lock (a "->" line in /proc/locks on the file's inode):
  // b is really waiting, not merely not yet asked.
  const ino = statSync(join(dir, "test.lock")).ino;
  const blocked = new RegExp(`^\\d+: -> FLOCK\\s+ADVISORY\\s+WRITE\\s+\\d+\\s+[0-9a-f]+:[0-9a-f]+:${ino}\\s`, "m");
  await eventually(() => readFileSync("/proc/locks", "utf8"), (t) => blocked.test(t), 10_000, "b queued for the lock in /proc/locks", 20);
  expect(got).toBe(false);
  await a.unlock();
  expect(await waiting).toBe(true);
});

test("waiting too long is a clear error naming the lock, and the lock works afterwards", async () => {
  const [a, b] = [lockOf(), lockOf("the image store")];
  await a.lock("exclusive");
  await expect(b.lock("exclusive", { timeoutMs: 300 })).rejects.toThrow(/timed out after 0 s waiting for the lock on the image store \(.*test\.lock\): another tscompose process holds it/);
  await a.unlock();
  expect(await b.lock("exclusive", { wait: false })).toBe(true);
});

test("run() lets callers in one process take turns", async () => {
  const a = lockOf();
  let inside = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: 5 }, () =>
      a.run(async () => {
        most = Math.max(most, ++inside);
        await new Promise((r) => setTimeout(r, 20));
        inside--;
      }),
    ),
  );
  expect(most).toBe(1);
});

test("the lock goes with a process killed while it holds it (kill -9)", async () => {
  // A process that holds the lock as FileLock does: the helper on a pipe from it.
  const owner = spawn(
    process.execPath,
    [
      "-e",
      `const c = require("node:child_process").spawn("perl", [process.env.PROGRAM], { stdio: ["pipe", "inherit", "inherit"], env: { ...process.env, TSCOMPOSE_LOCK_FILE: process.env.LOCK } });
       c.stdin.write("x\\n"); setInterval(() => {}, 1000);`,
    ],
    { env: { ...process.env, PROGRAM: HELPER_PROGRAM, LOCK: join(dir, "test.lock") }, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  await new Promise<void>((resolve) =>
    owner.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.includes("K\n")) resolve();
    }),
  );
  const b = lockOf();
  expect(await b.lock("exclusive", { wait: false })).toBe(false);
  owner.kill("SIGKILL");
  expect(await b.lock("exclusive", { timeoutMs: 10_000 })).toBe(true);
});

test("close() of an idle lock keeps the process alive until the lock is gone", async () => {
  // An idle helper is unref'd; a process whose last work is awaiting close()
  // must still get to run what follows it (a CLI once exited 0 before its result).
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      // dist/ is built by the test run's global setup.
      `import { FileLock } from ${JSON.stringify(join(import.meta.dirname, "..", "..", "dist", "engine", "sys", "flock.js"))};
       const l = new FileLock(process.env.LOCK, "the test lock");
       await l.lock("exclusive"); await l.unlock();
       await l.close();
       console.log("after close");`,
    ],
    { env: { ...process.env, LOCK: join(dir, "test.lock") }, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.on("exit", resolve));
  expect(out).toContain("after close");
});
