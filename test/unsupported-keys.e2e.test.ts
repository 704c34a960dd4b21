// A compose-spec key the embedded engine does not implement: `config` prints it
// as docker compose does, and every command that would create containers (up,
// create, run) stops before touching anything, naming the file, line, column
// and key. Checked through the real CLI and daemon: the exit code, the message
// the user reads, and what exists on the engine afterwards.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tuk${process.pid}`;

const stack = (webExtra: string): string =>
  [
    "services:",
    "  ok:",
    "    image: busybox",
    "    command: [sleep, '300']",
    "    volumes: [data:/data]",
    "  web:",
    "    image: busybox",
    "    command: [sleep, '300']",
    webExtra,
    "volumes:",
    "  data: {}",
    "",
  ].join("\n");

const cli = (args: string[]): { code: number; stdout: string; stderr: string } => s.daemon.cli(["-p", project, ...args], { cwd: s.work });
const lines = (text: string): string[] => text.split("\n").filter((l) => l !== "");
const ours = (names: string[]): string[] => names.filter((n) => n.startsWith(`${project}_`));
const created = (): { containers: string[]; networks: string[]; volumes: string[] } => ({
  containers: lines(cli(["ps", "-a", "-q"]).stdout),
  networks: ours(lines(cli(["network", "ls", "--format", "{{.Name}}"]).stdout)),
  volumes: ours(lines(cli(["volume", "ls", "-q"]).stdout)),
});

beforeAll(async () => {
  s = await startStackSuite("unsupported-keys");
  s.projects.push({ name: project, cwd: s.work });
}, 300_000);

afterAll(async () => {
  expect(await stopStackSuite(s, ["-v", "-t", "0"])).toEqual([]);
}, 180_000);

describe("keys the embedded engine does not implement", () => {
  it("config prints them; up, create and run refuse them at file:line:col before creating anything; without them the stack comes up", () => {
    const file = join(s.work, "compose.yaml");
    writeFileSync(file, stack("    storage_opt: {size: 1G}\n    isolation: hyperv"));

    const config = cli(["config"]);
    expect(config.code).toBe(0);
    expect(config.stdout).toMatch(/^ {4}storage_opt:\n {6}size: 1G$/m);
    expect(config.stdout).toMatch(/^ {4}isolation: hyperv$/m);

    const refused = /compose\.yaml:9:5: services\.web\.storage_opt: not supported by the embedded engine: the overlay snapshotter has no per-container quota \(and 1 more unsupported key\)/;
    for (const args of [["up", "-d"], ["create"], ["run", "--rm", "web", "true"], ["run", "--rm", "--no-deps", "web", "true"]]) {
      const r = cli(args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr, args.join(" ")).toMatch(refused);
      expect(r.stderr).toContain(file);
      expect(created(), args.join(" ")).toEqual({ containers: [], networks: [], volumes: [] });
    }

    // A service built from a remote context: the located refusal, not a fetch or a registry's error.
    writeFileSync(file, stack("    build: https://example.com/app.git").replace("  web:\n    image: busybox\n", "  web:\n"));
    const build = cli(["up", "-d"]);
    expect(build.code).not.toBe(0);
    expect(build.stderr).toMatch(/compose\.yaml:8:5: services\.web\.build: not supported by the embedded engine: remote build contexts \(git, http\) are not fetched/);
    expect(created()).toEqual({ containers: [], networks: [], volumes: [] });

    // The positive control: the same stack without the keys is created, and the listings above see it.
    writeFileSync(file, stack("    runtime: runc"));
    const up = cli(["up", "-d"]);
    expect(up.code, up.stderr).toBe(0);
    const after = created();
    expect(after.containers).toHaveLength(2);
    expect(after.networks).toEqual([`${project}_default`]);
    expect(after.volumes).toEqual([`${project}_data`]);
  }, 240_000);
});
