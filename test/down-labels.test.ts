// `-p NAME down` with no stack files: the project's networks (and with -v its
// volumes) are found by their labels and removed, as compose does, even when
// no container of the project is left (a `run --rm` leaves its network and
// its volume behind).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/e2e.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tdl${process.pid}`;

const STACK = `
services:
  job:
    image: busybox
    command: ["true"]
    volumes: ["data:/data"]
volumes:
  data: {}
`;

beforeAll(async () => {
  s = await startStackSuite("down-labels");
  s.projects.push({ name: project, cwd: s.work });
  mkdirSync(join(s.work, "stack"));
  mkdirSync(join(s.work, "elsewhere"));
  writeFileSync(join(s.work, "stack", "compose.yaml"), STACK);
}, 300_000);

afterAll(async () => {
  expect(await stopStackSuite(s, ["-v", "-t", "0"])).toEqual([]);
}, 180_000);

describe("-p NAME down without stack files", () => {
  it("removes the network a run --rm left; the volume only with -v", () => {
    const volume = join(s.daemon.stateDir, "volumes", `${project}_data`);
    const run = runCli(s.daemon, ["-p", project, "run", "--rm", "job"], { cwd: join(s.work, "stack") });
    expect(run.code).toBe(0);
    expect(existsSync(volume)).toBe(true);
    const noContainers = runCli(s.daemon, ["-p", project, "ps", "-a", "-q"], { cwd: join(s.work, "stack") });
    expect(noContainers.stdout).toBe("");

    const down = runCli(s.daemon, ["-p", project, "down"], { cwd: join(s.work, "elsewhere") });
    expect(down.code).toBe(0);
    expect(down.stdout + down.stderr).toMatch(new RegExp(`Network ${project}_default\\s+Removed`));
    expect(existsSync(volume)).toBe(true);

    const again = runCli(s.daemon, ["-p", project, "down"], { cwd: join(s.work, "elsewhere") });
    expect(again.code).toBe(0);
    expect(again.stdout + again.stderr).not.toMatch(/Network/);

    const withVolumes = runCli(s.daemon, ["-p", project, "down", "-v"], { cwd: join(s.work, "elsewhere") });
    expect(withVolumes.code).toBe(0);
    expect(withVolumes.stdout + withVolumes.stderr).toMatch(new RegExp(`Volume "?${project}_data"?\\s+Removed`));
    expect(existsSync(volume)).toBe(false);
  });

  it("leaves another project's network alone", () => {
    const other = `${project}x`;
    s.projects.push({ name: other, cwd: join(s.work, "stack") });
    expect(runCli(s.daemon, ["-p", other, "run", "--rm", "job"], { cwd: join(s.work, "stack") }).code).toBe(0);
    const down = runCli(s.daemon, ["-p", project, "down", "-v"], { cwd: join(s.work, "elsewhere") });
    expect(down.code).toBe(0);
    expect(down.stdout + down.stderr).not.toMatch(new RegExp(other));
    expect(existsSync(join(s.daemon.stateDir, "volumes", `${other}_data`))).toBe(true);
    const cleanup = runCli(s.daemon, ["-p", other, "down", "-v"], { cwd: join(s.work, "elsewhere") });
    expect(cleanup.stdout + cleanup.stderr).toMatch(new RegExp(`Network ${other}_default\\s+Removed`));
  });
});
