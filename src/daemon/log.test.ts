import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { fileLogger } from "./log.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tscompose-test-daemonlog-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const files = (): string[] => readdirSync(dir).sort();
const lines = (name: string): { msg: string; n: number }[] =>
  readFileSync(join(dir, name), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { msg: string; n: number });

test("daemon.log rotates by size, keeps maxFiles files and bounds the disk it uses", () => {
  const path = join(dir, "daemon.log");
  const log = fileLogger(path, false, { maxSize: 4096, maxFiles: 3 });
  const total = 2000;
  for (let n = 0; n < total; n++) log.info("line", { n, pad: "x".repeat(40) });

  expect(files()).toEqual(["daemon.log", "daemon.log.1", "daemon.log.2"]);
  const longest = 120;
  let bytes = 0;
  for (const f of files()) {
    const size = statSync(join(dir, f)).size;
    expect(size, f).toBeLessThan(4096 + longest);
    bytes += size;
  }
  expect(bytes).toBeLessThan(3 * (4096 + longest));
  // Whole lines, in order, the newest in daemon.log: oldest file first, no gap between files.
  const kept = [...lines("daemon.log.2"), ...lines("daemon.log.1"), ...lines("daemon.log")].map((l) => l.n);
  expect(kept.at(-1)).toBe(total - 1);
  expect(kept).toEqual(kept.map((_, i) => kept[0]! + i));
});

test("another writer appending to daemon.log (an autostarted daemon's stderr) writes into the current file after a rotation", () => {
  const path = join(dir, "daemon.log");
  const log = fileLogger(path, false, { maxSize: 2048, maxFiles: 2 });
  log.info("first");
  const stderr = openSync(path, "a");
  try {
    for (let n = 0; n < 100; n++) log.info("line", { n, pad: "x".repeat(40) });
    writeSync(stderr, "a stack trace\n");
  } finally {
    closeSync(stderr);
  }
  expect(readFileSync(path, "utf8")).toMatch(/a stack trace\n$/);
  expect(statSync(path).size).toBeLessThan(2048 + 200);
  expect(files()).toEqual(["daemon.log", "daemon.log.1"]);
});

test("bad rotation settings are refused", () => {
  expect(() => fileLogger(join(dir, "d.log"), false, { maxSize: 0, maxFiles: 3 })).toThrow(/positive size/);
  expect(() => fileLogger(join(dir, "d.log"), false, { maxSize: 10, maxFiles: 1 })).toThrow(/at least 2 files/);
});
