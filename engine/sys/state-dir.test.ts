import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureStateDir, STATE_SUBTREES } from "./state-dir.js";

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), "tscompose-test-statedir-"));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const mode = (p: string): number => statSync(p).mode & 0o7777;

describe("ensureStateDir", () => {
  it("creates the state dir 0711 and its subtrees 0700 whatever the umask", () => {
    const old = process.umask(0);
    try {
      expect(ensureStateDir(join(base, "state"))).toEqual([]);
    } finally {
      process.umask(old);
    }
    expect(mode(join(base, "state"))).toBe(0o711);
    for (const sub of STATE_SUBTREES) expect({ sub, mode: mode(join(base, "state", sub)) }).toEqual({ sub, mode: 0o700 });
  });

  it("tightens an older state dir (top, subtrees, log and pid file) and says what it changed; nothing deeper is touched", () => {
    const s = join(base, "state");
    mkdirSync(join(s, "snapshots", "containers", "c1", "upper"), { recursive: true, mode: 0o755 });
    chmodSync(s, 0o755);
    chmodSync(join(s, "snapshots"), 0o755);
    writeFileSync(join(s, "daemon.log"), "", { mode: 0o644 });
    const changed = ensureStateDir(s);
    expect(changed).toEqual([`${s}: 755 -> 711`, `${join(s, "snapshots")}: 755 -> 700`, `${join(s, "daemon.log")}: 644 -> 600`]);
    expect(mode(join(s, "snapshots", "containers", "c1", "upper"))).toBe(0o755);
    expect(ensureStateDir(s)).toEqual([]);
  });

  it("leaves unknown entries alone and refuses a symlink where a subtree belongs", () => {
    const s = join(base, "state");
    mkdirSync(s);
    writeFileSync(join(s, "notes.txt"), "", { mode: 0o644 });
    mkdirSync(join(base, "elsewhere"), { mode: 0o755 });
    symlinkSync(join(base, "elsewhere"), join(s, "volumes"));
    expect(() => ensureStateDir(s)).toThrow(/volumes is not a directory/);
    expect(mode(join(base, "elsewhere"))).toBe(0o755);
    expect(mode(join(s, "notes.txt"))).toBe(0o644);
  });

  it("refuses a world-writable or sticky directory (a mistaken --state-dir /tmp) without changing it", () => {
    const shared = join(base, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    expect(() => ensureStateDir(shared)).toThrow(/world-writable or sticky/);
    expect(mode(shared)).toBe(0o1777);
  });
});
