// Small helpers shared by the end-to-end tests that drive stacks through the CLI.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pushTestImage } from "../fixtures/push.js";
import type { TestImageName } from "../fixtures/images.js";
import { startRegistry } from "../fixtures/registry.js";
import type { TestRegistry } from "../fixtures/registry.js";
import { buildOnce, cleanupDir, leaks, testDaemon } from "./daemon.js";
import { jsonLines, spawnCli } from "./e2e.js";
import type { TestDaemon } from "./daemon.js";
import { eventually } from "./wait.js";

/** A row of `ps -a --format json`, the fields the tests read. */
export interface PsRow {
  Name: string;
  Service: string;
  State: string;
  Health: string;
  ExitCode: number;
  RestartCount: number;
  ID: string;
}

export function psRows(d: TestDaemon, project: string, cwd: string): PsRow[] {
  const r = d.cli(["-p", project, "ps", "-a", "--format", "json"], { cwd });
  return r.code === 0 ? jsonLines<PsRow>(r.stdout) : [];
}

/** eventually() (test/support/wait.ts) with the stack suites' deadline: a daemon converging a stack is slower than an engine call. */
export function until<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  return eventually(fn, ok, timeoutMs, "state", 250);
}

/**
 * `tscompose -p PROJECT ARGS` in the suite's work dir: its stdout, or an
 * error with its stderr when it exits non-zero; `sh` runs a script in a
 * service with exec -T. Asynchronous, so the test's worker keeps answering
 * vitest while a long `up` runs. `suite` is read at each call: suites start
 * in beforeAll, after the file's top level has run.
 */
export function projectCli(suite: () => StackSuite, project: string): {
  cli: (args: string[], env?: NodeJS.ProcessEnv) => Promise<string>;
  sh: (service: string, script: string) => Promise<string>;
} {
  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> => {
    const s = suite();
    const run = spawnCli(s.daemon, ["-p", project, ...args], { cwd: s.work, env });
    const code = await run.exited(240_000);
    if (code !== 0) throw new Error(`tscompose ${args.join(" ")} exited ${code}: ${run.stderr()}`);
    return run.stdout();
  };
  return { cli, sh: (service, script) => cli(["exec", "-T", service, "sh", "-c", script]) };
}

/** A registry serving test images as docker.io's mirror, a daemon using it, and a work dir: what every stack e2e file starts with. */
export interface StackSuite {
  registry: TestRegistry;
  daemon: TestDaemon;
  work: string;
  /** Projects to take down at the end: name and the directory to run `down` in. */
  projects: { name: string; cwd: string }[];
}

export async function startStackSuite(name: string, images: TestImageName[] = ["busybox"], config?: Record<string, unknown>): Promise<StackSuite> {
  buildOnce();
  const registry = await startRegistry();
  try {
    for (const image of images) await pushTestImage(registry, image);
    const daemon = testDaemon({ mirror: registry.url, config });
    await daemon.start();
    return { registry, daemon, work: mkdtempSync(join(tmpdir(), `tscompose-test-${name}-`)), projects: [] };
  } catch (err) {
    await registry.stop();
    throw err;
  }
}

/** Takes every project down, stops the daemon and the registry, removes the work dir; returns what leaked. */
export async function stopStackSuite(s: StackSuite | undefined, downArgs: string[] = ["-t", "0"]): Promise<string[]> {
  if (!s) return [];
  for (const p of s.projects) s.daemon.cli(["-p", p.name, "down", ...downArgs], { cwd: p.cwd });
  await s.daemon.stop();
  const left = leaks(s.daemon);
  cleanupDir(s.daemon);
  await s.registry.stop();
  rmSync(s.work, { recursive: true, force: true });
  return left;
}
