// Rotation without conmon: a stand-in writer that behaves like conmon's
// k8s-file logger (appends to its open descriptor, reopens on "2 0 0" in the
// ctl FIFO by creating <log>.tmp and renaming it over <log>), so the
// rename-then-reopen protocol and reading across rotated files are checked
// line by line.
import { execFileSync } from "node:child_process";
import { close, constants, open as openCb } from "node:fs";
import { mkdir, mkdtemp, open, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogEntry, LogOptions } from "../types.js";
import { LogRotator, logChain, requestReopen, rotationPolicy, shiftLogs } from "./logrotate.js";
import { readLogs } from "./logs.js";
import { eventually } from "../../test/support/wait.js";

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tsc-rot-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ts = (i: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, 0) + i).toISOString().replace("Z", "000000+00:00");
const rec = (i: number, stream = "stdout", tag = "F", msg = `line ${i}`) => `${ts(i)} ${stream} ${tag} ${msg}\n`;

async function collect(path: string, opts: LogOptions = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLogs(path, opts)) out.push(e);
  return out;
}

async function fresh(): Promise<{ d: string; log: string }> {
  const d = join(dir, `c${++n}`);
  await mkdir(d);
  return { d, log: join(d, "ctr.log") };
}

/** conmon's logging, as far as rotation is concerned. */
class FakeConmon {
  private fh!: FileHandle;
  private sock: Socket | undefined;
  private dummy = -1;
  private chain: Promise<void> = Promise.resolve();
  reopens = 0;

  private constructor(
    private readonly log: string,
    readonly ctl: string,
  ) {}

  static async start(d: string, log: string): Promise<FakeConmon> {
    const c = new FakeConmon(log, join(d, "ctl"));
    execFileSync("mkfifo", [c.ctl]);
    c.fh = await open(log, "a");
    const fd = await new Promise<number>((res, rej) => openCb(c.ctl, constants.O_RDONLY | constants.O_NONBLOCK, (e, f) => (e ? rej(e) : res(f))));
    // conmon keeps a writer open too, so the reader never sees EOF.
    c.dummy = await new Promise<number>((res, rej) => openCb(c.ctl, constants.O_WRONLY, (e, f) => (e ? rej(e) : res(f))));
    c.sock = new Socket({ fd, readable: true, writable: false });
    c.sock.setEncoding("utf8");
    c.sock.on("data", (msg: string) => {
      for (const line of msg.split("\n")) if (line.startsWith("2 ")) c.chain = c.chain.then(() => c.reopen());
    });
    return c;
  }

  private async reopen(): Promise<void> {
    await this.fh.close();
    this.fh = await open(`${this.log}.tmp`, "w");
    await rename(`${this.log}.tmp`, this.log);
    this.reopens++;
  }

  write(text: string): Promise<void> {
    this.chain = this.chain.then(async () => {
      await this.fh.write(text);
    });
    return this.chain;
  }

  async stop(): Promise<void> {
    await this.chain;
    this.sock?.destroy();
    close(this.dummy, () => undefined);
    await this.fh.close();
  }
}

const numbers = (es: LogEntry[]) => es.map((e) => Number(e.line.split(" ")[1]));
/** The lines form one unbroken run ending at `last` (older ones may be dropped, none in between). */
function expectSuffix(xs: number[], last: number): void {
  expect(xs.length).toBeGreaterThan(0);
  expect(xs.at(-1)).toBe(last);
  expect(xs).toEqual(xs.map((_, i) => last - xs.length + 1 + i));
}

describe("policy", () => {
  it("Docker's json-file defaults: no rotation without max-size, max-file 1", () => {
    expect(rotationPolicy({ maxSize: undefined, maxFiles: 3 })).toBeUndefined();
    expect(rotationPolicy({ maxSize: 0, maxFiles: undefined })).toBeUndefined();
    expect(rotationPolicy({ maxSize: 1024, maxFiles: undefined })).toEqual({ maxSize: 1024, maxFiles: 1 });
    expect(rotationPolicy({ maxSize: 1024, maxFiles: 0 })).toEqual({ maxSize: 1024, maxFiles: 1 });
    expect(rotationPolicy({ maxSize: 1024, maxFiles: 3 })).toEqual({ maxSize: 1024, maxFiles: 3 });
  });
});

describe("shifting files", () => {
  it("keeps max-file files, newest rotated as .1, oldest dropped; gaps and extra files left by a crash are fine", async () => {
    const { d, log } = await fresh();
    for (let round = 1; round <= 5; round++) {
      await writeFile(log, `round ${round}\n`);
      await shiftLogs(log, 3);
    }
    expect((await readdir(d)).sort()).toEqual(["ctr.log.1", "ctr.log.2"]);
    expect(await logChain(log)).toEqual([`${log}.2`, `${log}.1`, log]);
    expect(await readFile(`${log}.1`, "utf8")).toBe("round 5\n");
    expect(await readFile(`${log}.2`, "utf8")).toBe("round 4\n");
    // Left over by a larger max-file or a crash: trimmed at the next rotation.
    await writeFile(`${log}.7`, "old\n");
    await writeFile(log, "round 6\n");
    await shiftLogs(log, 3);
    expect((await readdir(d)).sort()).toEqual(["ctr.log.1", "ctr.log.2"]);
    // max-file 1: Docker truncates.
    await writeFile(log, "x\n");
    await shiftLogs(log, 1);
    expect((await readdir(d)).sort()).toEqual(["ctr.log.1", "ctr.log.2"]);
  });

  it("asking for a reopen with no conmon listening is not an error", async () => {
    const { d } = await fresh();
    expect(await requestReopen(join(d, "ctl"))).toBe(false);
    execFileSync("mkfifo", [join(d, "ctl")]);
    expect(await requestReopen(join(d, "ctl"))).toBe(false);
  });
});

describe("reading across rotated files", () => {
  it("in order, tail across the boundary, streams apart, since", async () => {
    const { log } = await fresh();
    // .2: 0-9, .1: 10-19 (a line split in P fragments across the two files is not possible: conmon writes whole records).
    let text = "";
    for (let i = 0; i < 10; i++) text += rec(i, i % 2 ? "stderr" : "stdout");
    await writeFile(`${log}.2`, text);
    text = "";
    for (let i = 10; i < 20; i++) text += rec(i, i % 2 ? "stderr" : "stdout");
    await writeFile(`${log}.1`, text);
    await writeFile(log, rec(20) + rec(21, "stdout", "P", "part-") + rec(22, "stdout", "F", "22 end"));
    const all = await collect(log);
    expect(numbers(all.slice(0, -1))).toEqual([...Array(21).keys()]);
    expect(all.at(-1)?.line).toBe("part-22 end");
    // 4 = the 2 entries of the current file and 2 of .1.
    const lines = async (o: LogOptions) => (await collect(log, o)).map((e) => e.line);
    expect(await lines({ tail: 4 })).toEqual(["line 18", "line 19", "line 20", "part-22 end"]);
    expect((await lines({ tail: 13 }))[0]).toBe("line 9");
    expect(await lines({ tail: 13 })).toHaveLength(13);
    expect(await collect(log, { tail: 1000 })).toHaveLength(22);
    expect(await collect(log, { tail: 0 })).toEqual([]);
    // stderr only (odd numbers): the last 6 reach back into .2.
    expect(numbers(await collect(log, { stdout: false, tail: 6 }))).toEqual([9, 11, 13, 15, 17, 19]);
    expect(await lines({ stderr: false, sinceMs: Date.UTC(2026, 10, 23, 10, 0, 0) + 15 })).toEqual(["line 16", "line 18", "line 20", "part-22 end"]);
  });

  it("a newly rotated, empty log: tail comes from the rotated file", async () => {
    const { log } = await fresh();
    await writeFile(`${log}.1`, rec(1) + rec(2) + rec(3));
    await writeFile(log, "");
    expect(numbers(await collect(log, { tail: 2 }))).toEqual([2, 3]);
  });
});

describe("rotating while a writer writes", () => {
  it("no line lost between rename and reopen; at most max-file files; a follower reads everything in order", async () => {
    const { d, log } = await fresh();
    const conmon = await FakeConmon.start(d, log);
    const rotator = new LogRotator(50);
    await rotator.track("c", { logPath: log, ctlPath: conmon.ctl, policy: { maxSize: 2000, maxFiles: 3 } });
    let done = false;
    const followed: LogEntry[] = [];
    const follower = (async () => {
      for await (const e of readLogs(log, { follow: true }, { isDone: () => done, pollMs: 20 })) followed.push(e);
    })();
    const total = 600;
    for (let i = 0; i < total; i++) {
      await conmon.write(rec(i));
      // Give the rotator a chance now and then (it is driven by inotify and timers).
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 5));
    }
    await rotator.checkNow("c");
    // The follower stops once it has read every line (or the wait fails, naming how far it got), not after a guessed pause.
    await eventually(() => followed.length, (count) => count >= total, 30_000, `the follower to read ${total} lines`, 20);
    done = true;
    await follower;
    rotator.close();
    await conmon.stop();

    expect(conmon.reopens).toBeGreaterThan(3);
    const files = (await readdir(d)).filter((f) => f.startsWith("ctr.log"));
    expect(files.length).toBeLessThanOrEqual(3);
    expectSuffix(numbers(await collect(log)), total - 1);
    expect(numbers(followed)).toEqual([...Array(total).keys()]);
    expect(numbers(await collect(log, { tail: 5 }))).toEqual([595, 596, 597, 598, 599]);
  });

  it("a rotation cut short (renamed, never reopened) is finished by the next engine; until then the writer's lines land in .1", async () => {
    const { d, log } = await fresh();
    const conmon = await FakeConmon.start(d, log);
    await conmon.write(rec(1));
    await shiftLogs(log, 2); // ... and the engine died here
    await conmon.write(rec(2));
    expect(numbers(await collect(log))).toEqual([1, 2]);
    const rotator = new LogRotator(50);
    await rotator.track("c", { logPath: log, ctlPath: conmon.ctl, policy: { maxSize: 1 << 20, maxFiles: 2 } }, true);
    await eventually(() => conmon.reopens, (n) => n === 1, 5000, "conmon told to reopen its log", 25);
    await conmon.write(rec(3));
    rotator.close();
    await conmon.stop();
    expect(conmon.reopens).toBe(1);
    expect((await stat(log)).size).toBe(rec(3).length);
    expect(numbers(await collect(log))).toEqual([1, 2, 3]);
  });
});
