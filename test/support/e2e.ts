// Helpers shared by the end-to-end suites that drive the real CLI against a
// test daemon: a CLI run in the background (attached `up`, `logs -f`, an `up`
// to interrupt half way), polling until a condition holds, `ps` as JSON.
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { bin } from "./daemon.js";
import type { TestDaemon } from "./daemon.js";
export { eventually } from "./wait.js";

export interface PsRow {
  ID: string;
  Name: string;
  Service: string;
  State: string;
  Status: string;
  Health: string;
  ExitCode: number;
  Created: number;
}

export interface BackgroundCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout match of `re`; rejects on timeout or when the CLI exits first. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (128+n for a signal), rejecting after timeoutMs. */
  exited(timeoutMs?: number): Promise<number>;
}

/** Starts the CLI without waiting for it, as a user's shell runs a long command (stdin "pipe": the test types into child.stdin). */
export function spawnCli(d: TestDaemon, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: "pipe" } = {}): BackgroundCli {
  const spawnOpts = { cwd: opts.cwd ?? d.dir, env: { ...d.env, ...opts.env } };
  const child = opts.stdin === "pipe" ? spawn(process.execPath, [bin, ...args], { ...spawnOpts, stdio: ["pipe", "pipe", "pipe"] }) : spawn(process.execPath, [bin, ...args], { ...spawnOpts, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const watchers = new Set<() => void>();
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
    for (const w of [...watchers]) w();
  });
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number>((resolve) => {
    child.once("exit", (code, signal) => {
      for (const w of [...watchers]) w();
      resolve(code ?? 128 + (signal === "SIGKILL" ? 9 : signal === "SIGINT" ? 2 : 15));
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`timed out waiting for ${re}; stdout: ${out}\nstderr: ${err}`));
        }, timeoutMs);
        const check = (): void => {
          const m = re.exec(out);
          if (m) {
            clearTimeout(timer);
            watchers.delete(check);
            resolve(m);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            watchers.delete(check);
            reject(new Error(`the CLI exited (${child.exitCode ?? child.signalCode}) before ${re}; stdout: ${out}\nstderr: ${err}`));
          }
        };
        watchers.add(check);
        check();
      });
    },
    exited(timeoutMs = 120_000) {
      return Promise.race([
        exit,
        new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`the CLI did not exit in ${timeoutMs} ms; stdout: ${out}\nstderr: ${err}`)), timeoutMs).unref()),
      ]);
    },
  };
}


/** Runs the CLI to its end, keeping stdout and stderr whatever the exit code (TestDaemon.cli drops stderr on success). */
export function runCli(d: TestDaemon, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: opts.cwd ?? d.dir, env: { ...d.env, ...opts.env }, encoding: "utf8", timeout: 180_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** Output in JSON lines (`ps --format json`, `volume ls --format json` ...): one value per non-empty line. */
export function jsonLines<T>(text: string): T[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}

/** `ps -a --format json` of a project, parsed; throws with the CLI's stderr when it fails. */
export function psAll(d: TestDaemon, project: string, cwd?: string, extra: string[] = []): PsRow[] {
  const r = runCli(d, ["-p", project, "ps", "-a", "--format", "json", ...extra], { cwd });
  if (r.code !== 0) throw new Error(`ps failed (${r.code}): ${r.stderr}`);
  return jsonLines<PsRow>(r.stdout);
}

/** "svc:state" for every container, sorted: one string to compare in an assertion. */
export function states(rows: PsRow[]): string[] {
  return rows.map((r) => `${r.Name}:${r.State}`).sort();
}
