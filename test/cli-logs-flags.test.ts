// logs --index and --until, ps and stats --format end to end: a service with two replicas that each
// print their own lines, through the real CLI and daemon.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, jsonLines, runCli } from "./support/e2e.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tlf${process.pid}`;

const STACK = `
services:
  talker:
    image: busybox
    command: ["sh", "-c", "echo hello from $$(hostname); trap 'exit 0' TERM; while true; do sleep 1; done"]
    deploy:
      replicas: 2
`;

const logs = (...args: string[]) => runCli(s.daemon, ["-p", project, "logs", "--no-color", ...args], { cwd: s.work });

beforeAll(async () => {
  s = await startStackSuite("logs-flags");
  s.projects.push({ name: project, cwd: s.work });
  writeFileSync(join(s.work, "compose.yaml"), STACK);
  const up = runCli(s.daemon, ["-p", project, "up", "-d"], { cwd: s.work });
  expect(up.code).toBe(0);
  await eventually(() => logs().stdout, (out) => (out.match(/hello from/g) ?? []).length === 2);
}, 300_000);

afterAll(async () => {
  expect(await stopStackSuite(s)).toEqual([]);
}, 180_000);

describe("logs", () => {
  it("--index shows one replica's lines", () => {
    const r = logs("--index", "2", "talker");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^talker-2\s+\| hello from /);
    expect(logs("--index", "0", "talker").code).toBe(1);
  });

  it("--until leaves out what was logged after it; a bad value is a usage error", () => {
    expect(logs("--until", "2000-01-01T00:00:00Z").stdout).toBe("");
    const future = logs("--until", String(Math.floor(Date.now() / 1000) + 3600));
    expect((future.stdout.match(/hello from/g) ?? []).length).toBe(2);
    const bad = logs("--until", "yesterday-ish");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--until/);
  });
});

describe("--format", () => {
  it("ps takes Go templates: fields and {{json .}}", () => {
    const names = runCli(s.daemon, ["-p", project, "ps", "--format", "{{.Name}} {{.Service}} {{.State}}"], { cwd: s.work });
    expect(names.code).toBe(0);
    expect(names.stdout).toBe(`${project}-talker-1 talker running\n${project}-talker-2 talker running\n`);
    const json = runCli(s.daemon, ["-p", project, "ps", "--format", "{{json .}}"], { cwd: s.work });
    const rows = jsonLines<Record<string, unknown>>(json.stdout);
    expect(rows.map((r) => [r.Name, r.Service, r.Project])).toEqual([
      [`${project}-talker-1`, "talker", project],
      [`${project}-talker-2`, "talker", project],
    ]);
  });

  it("stats --format json has docker stats' fields; a template prints them", () => {
    const r = runCli(s.daemon, ["-p", project, "stats", "--no-stream", "--format", "json"], { cwd: s.work });
    expect(r.code).toBe(0);
    const rows = jsonLines<Record<string, string>>(r.stdout);
    expect(rows.map((x) => x.Name)).toEqual([`${project}-talker-1`, `${project}-talker-2`]);
    for (const x of rows) {
      expect(Object.keys(x).sort()).toEqual(["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"]);
      expect(x.CPUPerc).toMatch(/^\d+\.\d\d%$/);
      expect(Number(x.PIDs)).toBeGreaterThan(0);
    }
    const t = runCli(s.daemon, ["-p", project, "stats", "--no-stream", "--format", "{{.Name}}={{.PIDs}}"], { cwd: s.work });
    expect(t.stdout).toMatch(new RegExp(`^${project}-talker-1=\\d+\n${project}-talker-2=\\d+\n$`));
  });
});
