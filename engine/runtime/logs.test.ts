import { appendFile, mkdtemp, open, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogEntry, LogOptions } from "../types.js";
import { parseCriLine, parseRfc3339Nano, readLogs, tailOffset } from "./logs.js";
import { eventually } from "../../test/support/wait.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tsc-logs-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ts = (sec: number, nanos = 0) => `2026-11-23T10:00:${String(sec).padStart(2, "0")}.${String(nanos).padStart(9, "0")}+00:00`;
const rec = (sec: number, stream: string, tag: string, msg: string) => `${ts(sec)} ${stream} ${tag} ${msg}\n`;

async function collect(path: string, opts: LogOptions = {}, isDone?: () => boolean): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLogs(path, opts, isDone ? { isDone, pollMs: 20 } : undefined)) out.push(e);
  return out;
}

describe("CRI parsing", () => {
  it("timestamps with nanoseconds and offsets", () => {
    expect(parseRfc3339Nano("2026-11-23T19:31:52.811149080+00:00")).toBe(Date.UTC(2026, 10, 23, 19, 31, 52) + 811.14908);
    expect(parseRfc3339Nano("2026-11-23T21:31:52Z")).toBe(Date.UTC(2026, 10, 23, 21, 31, 52));
    expect(parseRfc3339Nano("2026-11-23T21:31:52.5+02:00")).toBe(Date.UTC(2026, 10, 23, 19, 31, 52, 500));
    expect(parseRfc3339Nano("yesterday")).toBeNaN();
  });
  it("lines; messages keep their spaces", () => {
    expect(parseCriLine(`${ts(1)} stderr F  two  spaces `)).toMatchObject({ stream: "stderr", partial: false, text: " two  spaces " });
    expect(parseCriLine(`${ts(1)} stdout P `)).toMatchObject({ partial: true, text: "" });
    expect(parseCriLine("garbage")).toBeUndefined();
  });
});

describe("reading", () => {
  it("joins P fragments per stream, even interleaved", async () => {
    const p = join(dir, "join.log");
    await writeFile(p, rec(1, "stdout", "P", "hel") + rec(1, "stderr", "F", "err") + rec(2, "stdout", "P", "lo ") + rec(3, "stdout", "F", "world"));
    const got = await collect(p);
    expect(got.map((e) => [e.stream, e.line])).toEqual([
      ["stderr", "err"],
      ["stdout", "hello world"],
    ]);
    expect(got[1]?.timestamp).toBe(ts(1));
  });

  it("stream filters, since/until, unfinished fragment at the end", async () => {
    const p = join(dir, "filter.log");
    await writeFile(p, rec(1, "stdout", "F", "a") + rec(2, "stderr", "F", "b") + rec(3, "stdout", "F", "c") + rec(4, "stdout", "P", "no newline"));
    expect((await collect(p, { stderr: false })).map((e) => e.line)).toEqual(["a", "c", "no newline"]);
    expect((await collect(p, { stdout: false })).map((e) => e.line)).toEqual(["b"]);
    expect((await collect(p, { sinceMs: parseRfc3339Nano(ts(2)), untilMs: parseRfc3339Nano(ts(3)) })).map((e) => e.line)).toEqual(["b", "c"]);
  });

  it("tail N from the end, across chunk boundaries, counting whole entries", async () => {
    const p = join(dir, "tail.log");
    let text = "";
    for (let i = 0; i < 5000; i++) text += rec(i % 60, i % 3 === 0 ? "stderr" : "stdout", "F", `line ${i} ${"x".repeat(i % 50)}`);
    text += rec(1, "stdout", "P", "part-") + rec(1, "stdout", "F", "end");
    await writeFile(p, text);
    const last = await collect(p, { tail: 3 });
    expect(last.map((e) => e.line.split(" ").slice(0, 2).join(" "))).toEqual(["line 4998", "line 4999", "part-end"]);
    const errs = await collect(p, { tail: 2, stdout: false });
    expect(errs.map((e) => e.line.split(" ")[1])).toEqual(["4995", "4998"]);
    expect(await collect(p, { tail: 0 })).toEqual([]);
    expect((await collect(p, { tail: 100000 })).length).toBe(5001);
    const fh = await open(p, "r");
    expect(await tailOffset(fh, (await fh.stat()).size, 0, () => true)).toBe(text.length);
    await fh.close();
  });

  it("a missing file is empty", async () => {
    expect(await collect(join(dir, "nope.log"))).toEqual([]);
  });
});

describe("follow", () => {
  it("sees appends and a rotation, stops when done and drained", async () => {
    const p = join(dir, "follow.log");
    await writeFile(p, rec(1, "stdout", "F", "first"));
    let done = false;
    const got: string[] = [];
    const reader = (async () => {
      for await (const e of readLogs(p, { follow: true }, { isDone: () => done, pollMs: 20 })) got.push(e.line);
    })();
    // Each change comes once the reader has shown the line before it: it follows, rather than reading a file finished before it looked.
    const read = (n: number, what: string) => eventually(() => got.length, (count) => count >= n, 10_000, what, 10);
    await read(1, "the first line");
    await appendFile(p, rec(2, "stdout", "F", "second"));
    await read(2, "the appended line");
    // conmon's rotation: write a fresh file and rename it over the log.
    await writeFile(`${p}.tmp`, rec(3, "stdout", "F", "after rotation"));
    await rename(`${p}.tmp`, p);
    await read(3, "the line of the rotated-in file");
    await appendFile(p, rec(4, "stderr", "F", "last"));
    done = true;
    await reader;
    expect(got).toEqual(["first", "second", "after rotation", "last"]);
  });

  it("stops on abort", async () => {
    const p = join(dir, "abort.log");
    await writeFile(p, rec(1, "stdout", "F", "only"));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    // A follow ends only when aborted: returning at all is the behaviour (one
    // that ignored the signal would run into the test's timeout).
    const got = await collect(p, { follow: true, signal: ac.signal }, () => false);
    expect(ac.signal.aborted).toBe(true);
    expect(got.map((e) => e.line)).toEqual(["only"]);
  });
});

describe("long lines are bounded", () => {
  it("splits a 1 MB line without a newline into 16 KiB partial entries, as Docker does", async () => {
    const p = join(dir, "endless.log");
    // conmon writes its 8 KiB buffer as P records when no newline comes.
    const piece = "x".repeat(8192);
    let text = "";
    for (let i = 0; i < 128; i++) text += rec(1, "stdout", "P", piece);
    text += rec(2, "stdout", "F", "end");
    await writeFile(p, text);
    const got = await collect(p);
    expect(got.length).toBe(65);
    expect(got.slice(0, 64).every((e) => e.line.length === 16 * 1024 && e.partial === true)).toBe(true);
    expect(got[64]).toMatchObject({ line: "end", stream: "stdout" });
    expect(got[64]?.partial).toBeUndefined();
    expect(got.map((e) => e.line).join("")).toBe(`${"x".repeat(1 << 20)}end`);
  });

  it("a line that never ends comes out in 16 KiB entries as it is written, never held whole", async () => {
    const p = join(dir, "never.log");
    await writeFile(p, rec(1, "stderr", "P", "y".repeat(8192)).repeat(5));
    const got = await collect(p);
    // Two full entries, then the unfinished 8 KiB tail when the reader ends.
    expect(got.map((e) => [e.line.length, e.partial])).toEqual([
      [16384, true],
      [16384, true],
      [8192, undefined],
    ]);
  });

  it("skips a damaged record of megabytes without a newline instead of buffering it", async () => {
    const p = join(dir, "damaged.log");
    await writeFile(p, `${rec(1, "stdout", "F", "before")}${"z".repeat(3 << 20)}\n${rec(2, "stdout", "F", "after")}`);
    expect((await collect(p)).map((e) => e.line)).toEqual(["before", "after"]);
  });
});
