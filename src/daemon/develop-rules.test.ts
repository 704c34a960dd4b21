import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { DevelopWatchRule, ServiceSpec } from "../../model/stack.js";
import { Batcher, compileIgnore, compileRules, planBatch } from "./develop-rules.js";
import type { CompiledRule } from "./develop-rules.js";

const svc = (name: string, watch: DevelopWatchRule[], build?: ServiceSpec["build"]): ServiceSpec => ({ name, develop: { watch }, build }) as unknown as ServiceSpec;
const rule = (path: string, action: DevelopWatchRule["action"], target?: string, ignore: string[] = []): DevelopWatchRule => ({ path, action, target, ignore, exec: undefined, initialSync: false });

describe("compileIgnore (dockerignore syntax)", () => {
  const cases: [string[], string, boolean][] = [
    [["node_modules/"], "node_modules", true],
    [["node_modules/"], "node_modules/a/b.js", true],
    [["node_modules/"], "src/node_modules/a.js", false],
    [["**/node_modules"], "src/node_modules/a.js", true],
    [["/build"], "build/out.js", true],
    [["*.log"], "a.log", true],
    [["*.log"], "dir/a.log", false],
    [["**/*.log"], "dir/deep/a.log", true],
    [["*/tmp"], "a/tmp/x", true],
    [["*/tmp"], "a/b/tmp", false],
    [["a?c"], "abc", true],
    [["a?c"], "a/c", false],
    [["[ab].txt"], "b.txt", true],
    [["[!ab].txt"], "c.txt", true],
    [["[!ab].txt"], "a.txt", false],
    [["*.md", "!README.md"], "README.md", false],
    [["*.md", "!README.md"], "CHANGES.md", true],
    [["docs", "!docs/keep.md"], "docs/keep.md", false],
    [["docs", "!docs/keep.md"], "docs/other.md", true],
    [["./x/../y"], "y", true],
    [["a.b"], "aXb", false],
    [[], "anything", false],
    [["", "  "], "anything", false],
  ];
  for (const [patterns, path, want] of cases) {
    it(`${JSON.stringify(patterns)} ${want ? "ignores" : "keeps"} ${path}`, () => {
      expect(compileIgnore(patterns)(path)).toBe(want);
    });
  }
});

describe("compileRules", () => {
  const [r] = compileRules(svc("web", [rule("/p/src", "sync", "/app", ["*.tmp", "cache/"])]));
  it("ignores editor temp files and .git by default, anywhere below the rule's path", () => {
    for (const p of ["/p/src/.git/HEAD", "/p/src/a/.main.js.swp", "/p/src/main.js~", "/p/src/4913", "/p/src/.#main.js", "/p/src/#main.js#", "/p/src/x___jb_tmp___", "/p/src/.idea/workspace.xml"]) {
      expect(r!.ignored(p), p).toBe(true);
    }
    expect(r!.ignored("/p/src/main.js")).toBe(false);
    expect(r!.ignored("/p/src/swp.js")).toBe(false);
  });
  it("applies the rule's patterns relative to its path", () => {
    expect(r!.ignored("/p/src/x.tmp")).toBe(true);
    expect(r!.ignored("/p/src/cache/a/b")).toBe(true);
    expect(r!.ignored("/p/src/lib/cache.js")).toBe(false);
    // Outside the rule: not its business.
    expect(r!.ignored("/p/other/main.js")).toBe(true);
    expect(r!.ignored("/p/srcfoo/main.js")).toBe(true);
  });
  it("applies the build context's .dockerignore", () => {
    const dir = mkdtempSync(join(tmpdir(), "tscompose-devrules-"));
    try {
      mkdirSync(join(dir, "src"));
      writeFileSync(join(dir, ".dockerignore"), "# comment\nsrc/generated\n*.bak\n");
      const [c] = compileRules(svc("web", [rule(join(dir, "src"), "rebuild")], { context: dir, dockerfile: undefined, args: {}, target: undefined }));
      expect(c!.ignored(join(dir, "src/generated/x.js"))).toBe(true);
      expect(c!.ignored(join(dir, "old.bak"))).toBe(true);
      expect(c!.ignored(join(dir, "src/main.js"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("planBatch", () => {
  const rules: CompiledRule[] = [
    ...compileRules(svc("web", [rule("/p/web", "sync", "/srv", ["*.tmp"]), rule("/p/web/conf", "sync+restart", "/etc/web")])),
    ...compileRules(svc("api", [rule("/p/api/src", "sync", "/app/src"), rule("/p/api/package.json", "rebuild")])),
  ];
  const onHost = new Set(["/p/web/a.js", "/p/web/dir", "/p/web/dir/b.js", "/p/web/conf/c.ini", "/p/api/src/x.js", "/p/api/package.json"]);
  const exists = (p: string): boolean => onHost.has(p);

  it("maps paths below each rule to its target; gone paths become removals; ignored ones nothing", () => {
    const actions = planBatch(rules, ["/p/web/a.js", "/p/web/gone.js", "/p/web/x.tmp", "/p/elsewhere"], exists);
    expect(actions).toEqual([{ kind: "sync", service: "web", restart: false, copies: [{ hostPath: "/p/web/a.js", containerPath: "/srv/a.js" }], removals: ["/srv/gone.js"], changes: 2, execs: [] }]);
  });

  it("restart restarts without copying; sync+exec copies and carries its command once per batch", () => {
    const exec = { command: ["kill", "-HUP", "1"], user: undefined, privileged: false, workingDir: undefined, environment: {} };
    const more: CompiledRule[] = [
      ...compileRules(svc("cfg", [rule("/p/cfg", "restart")])),
      ...compileRules(svc("app", [{ ...rule("/p/app", "sync+exec", "/app"), exec }])),
    ];
    const on = new Set(["/p/cfg/a.conf", "/p/app/x.js", "/p/app/y.js"]);
    const actions = planBatch(more, ["/p/cfg/a.conf", "/p/app/x.js", "/p/app/y.js"], (p) => on.has(p));
    expect(actions).toEqual([
      {
        kind: "sync",
        service: "app",
        restart: false,
        copies: [
          { hostPath: "/p/app/x.js", containerPath: "/app/x.js" },
          { hostPath: "/p/app/y.js", containerPath: "/app/y.js" },
        ],
        removals: [],
        changes: 2,
        execs: [exec],
      },
      { kind: "sync", service: "cfg", restart: true, copies: [], removals: [], changes: 1, execs: [] },
    ]);
  });

  it("copies a new directory once (recursively), not each file in it too", () => {
    const [a] = planBatch(rules, ["/p/web/dir", "/p/web/dir/b.js"], exists);
    expect(a).toMatchObject({ copies: [{ hostPath: "/p/web/dir", containerPath: "/srv/dir" }] });
  });

  it("restarts when a sync+restart rule matched; a path under two rules goes to both targets", () => {
    const [a] = planBatch(rules, ["/p/web/conf/c.ini"], exists);
    expect(a).toMatchObject({ kind: "sync", restart: true });
    expect(a?.kind === "sync" && a.copies.map((c) => c.containerPath)).toEqual(["/etc/web/c.ini", "/srv/conf/c.ini"]);
  });

  it("a rule on a single file maps it to the target itself; rebuild wins over the service's syncs", () => {
    expect(planBatch(rules, ["/p/api/src/x.js", "/p/api/package.json"], exists)).toEqual([{ kind: "rebuild", service: "api", changes: 2 }]);
    const single = compileRules(svc("one", [rule("/p/conf.ini", "sync", "/etc/conf.ini")]));
    expect(planBatch(single, ["/p/conf.ini"], () => true)).toMatchObject([{ copies: [{ containerPath: "/etc/conf.ini" }] }]);
  });

  it("orders services and covers a removed directory's contents", () => {
    const actions = planBatch(rules, ["/p/web/old", "/p/web/old/1.js", "/p/api/src/x.js"], exists);
    expect(actions.map((a) => a.service)).toEqual(["api", "web"]);
    expect(actions[1]).toMatchObject({ removals: ["/srv/old"] });
  });
});

describe("Batcher", () => {
  it("flushes once after a quiet period, with each path once", () => {
    vi.useFakeTimers();
    try {
      const flushed: string[][] = [];
      const b = new Batcher((p) => flushed.push(p), 100, 1000);
      b.add("a");
      vi.advanceTimersByTime(50);
      b.add("b");
      b.add("a");
      vi.advanceTimersByTime(99);
      expect(flushed).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(flushed).toEqual([["a", "b"]]);
      b.add("c");
      vi.advanceTimersByTime(100);
      expect(flushed).toEqual([["a", "b"], ["c"]]);
      b.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it("does not wait forever under a steady stream of changes", () => {
    vi.useFakeTimers();
    try {
      const flushed: string[][] = [];
      const b = new Batcher((p) => flushed.push(p), 100, 1000);
      for (let i = 0; i < 30; i++) {
        b.add(`f${i}`);
        vi.advanceTimersByTime(50);
      }
      expect(flushed.length).toBe(1);
      expect(flushed[0]!.length).toBe(20);
      b.close();
      vi.advanceTimersByTime(1000);
      expect(flushed.length).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
