// The seam between the engine and the OS's tools (runc, ip, iptables, mount,
// conmon). Every external command goes through run(), so failures always name
// the command and what it printed, and tests can see what was invoked.
import { spawn } from "node:child_process";
import { constants as osConstants } from "node:os";
import { DEFAULT_KILL_GRACE_MS, Launcher, signalGroup } from "./launcher.js";
import type { KindedError } from "../errors.js";

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class CommandError extends Error implements KindedError {
  // A command of ours failing is our failure; the few callers that know better (runc: "does not exist") translate it.
  readonly kind = "internal";

  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly result: RunResult,
  ) {
    const detail = (result.stderr || result.stdout).trim().split("\n").slice(-3).join("; ");
    super(`${command} ${args.join(" ")} failed (exit ${result.code})${detail ? `: ${detail}` : ""}`);
    this.name = "CommandError";
  }
}

/** The command does not exist on this machine (exec failed with ENOENT). */
export class CommandNotFoundError extends Error {
  constructor(readonly command: string) {
    super(`${command} is not installed (run scripts/install-deps.sh)`);
    this.name = "CommandNotFoundError";
  }
}

/** A command that outlived its timeout; it and what it started were killed (SIGTERM, then SIGKILL). */
export class CommandTimeoutError extends Error implements KindedError {
  readonly kind = "timeout";

  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly timeoutMs: number,
    readonly result: RunResult,
  ) {
    const detail = (result.stderr || result.stdout).trim().split("\n").slice(-3).join("; ");
    super(`${command} ${args.join(" ")} timed out after ${timeoutMs} ms and was killed${detail ? `: ${detail}` : ""}`);
    this.name = "CommandTimeoutError";
  }
}

export interface RunOptions {
  /** Resolve with the result instead of throwing on a non-zero exit (a timeout still throws). */
  allowFailure?: boolean;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * The engine's commands (ip, iptables, mount, runc ...) can hang: on a
   * lock (xtables), a dead NFS server, a stuck kernel. Past this the command
   * and what it started get SIGTERM, then SIGKILL after killGraceMs, and
   * run() throws CommandTimeoutError. Default DEFAULT_TIMEOUT_MS.
   */
  timeoutMs?: number;
  killGraceMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 120_000;

/** Observers see every command run (tests record them; the daemon can log them). */
const observers = new Set<(cmd: string, args: readonly string[], input: string | undefined) => void>();
export function observeCommands(fn: (cmd: string, args: readonly string[], input: string | undefined) => void): () => void {
  observers.add(fn);
  return () => observers.delete(fn);
}

/** The launcher commands go through while anyone holds it (see launcher.ts); else child_process. */
let launcher: Launcher | undefined;
let holders = 0;

/** Routes run() through a launcher process until the returned release is called (by every holder). */
export function holdLauncher(): () => void {
  holders++;
  launcher ??= new Launcher();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders === 0) {
      launcher?.close();
      launcher = undefined;
    }
  };
}

/** The launcher while one is held (see holdLauncher), for callers that need more than run(). */
export function heldLauncher(): Launcher | undefined {
  return launcher;
}

export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const killGraceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  // NaN would mean no timer at all: a hung command holding whatever its caller holds, forever.
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`${cmd}: timeout must be a positive number of milliseconds, got ${timeoutMs}`);
  if (!(Number.isFinite(killGraceMs) && killGraceMs >= 0)) throw new RangeError(`${cmd}: kill grace must be a number of milliseconds, got ${killGraceMs}`);
  for (const o of observers) o(cmd, args, opts.input);
  if (launcher) {
    const r = await launcher.run({ cmd, args, input: opts.input, env: opts.env, cwd: opts.cwd, timeoutMs, killGraceMs });
    if (r.notFound) throw new CommandNotFoundError(cmd);
    const result = { stdout: r.stdout, stderr: r.stderr, code: r.code };
    if (r.timedOut) throw new CommandTimeoutError(cmd, args, timeoutMs, result);
    if (r.code !== 0 && !opts.allowFailure) throw new CommandError(cmd, args, result);
    return result;
  }
  return new Promise((resolve, reject) => {
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    // detached: a process group of its own, so a timeout kills what it started too, as through
    // the launcher. (execFile cannot: it does not pass `detached` on to spawn.)
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdin.on("error", () => undefined); // a command that does not read its input
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === "ENOENT" ? new CommandNotFoundError(cmd) : err);
    });
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      if (timedOut && child.pid !== undefined) signalGroup(-child.pid, "SIGKILL");
      const code = status ?? 128 + (signal ? osConstants.signals[signal] : 0);
      const result = { stdout, stderr, code };
      if (timedOut) reject(new CommandTimeoutError(cmd, args, timeoutMs, result));
      else if (code !== 0 && !opts.allowFailure) reject(new CommandError(cmd, args, result));
      else resolve(result);
    });
    timer = setTimeout(() => {
      if (child.pid === undefined) return;
      timedOut = true;
      const group = -child.pid;
      signalGroup(group, "SIGTERM");
      timer = setTimeout(() => signalGroup(group, "SIGKILL"), killGraceMs);
    }, timeoutMs);
    child.stdin.end(opts.input ?? "");
  });
}
