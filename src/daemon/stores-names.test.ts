import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobStore } from "./jobs-store.js";
import { StackStore } from "./stacks.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tscompose-test-stores-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("the daemon's stores turn only valid project names into file names", () => {
  it("StackStore.delete and JobStore.delete of ../../victim touch nothing outside and throw", () => {
    const victim = join(dir, "victim.json");
    writeFileSync(victim, "{}");
    const stacks = new StackStore(join(dir, "state"));
    const jobs = new JobStore(join(dir, "state"));
    expect(() => stacks.delete("../../victim")).toThrow(/invalid project name/);
    expect(() => jobs.delete("../../victim")).toThrow(/invalid project name/);
    expect(() => jobs.save({ project: "../../victim" } as never)).toThrow(/invalid project name/);
    expect(existsSync(victim)).toBe(true);
    expect(stacks.get("../../victim")).toBeUndefined();
  });

  it("a truncated jobs file is kept aside, not overwritten by the next save", () => {
    const jobs = new JobStore(join(dir, "state"));
    writeFileSync(join(dir, "state", "jobs", "web.json"), '{"project": "web", "hist');
    expect(jobs.load("web")).toBeUndefined();
    expect(readdirSync(join(dir, "state", "jobs")).filter((n) => n.startsWith("web.json.corrupt-"))).toHaveLength(1);
  });

  it("a truncated stack record is set aside and reported, never skipped silently nor deleted", () => {
    const stacksDir = join(dir, "state", "stacks");
    new StackStore(join(dir, "state"));
    writeFileSync(join(stacksDir, "web.json"), '{"name": "web", "spe');
    const errors: unknown[] = [];
    const store = new StackStore(join(dir, "state"), { info: () => undefined, warn: () => undefined, error: (m, f) => errors.push({ m, f }) });
    expect(store.list()).toEqual([]);
    expect(store.unreadable()).toEqual([{ name: "web", file: expect.stringMatching(/web\.json\.corrupt-/) as string, reason: expect.any(String) as string }]);
    expect(errors).toHaveLength(1);
    // At the next start it is still reported (no good record was written since).
    expect(new StackStore(join(dir, "state")).unreadable().map((u) => u.name)).toEqual(["web"]);
  });
});
