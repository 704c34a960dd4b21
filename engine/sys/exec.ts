// The seam between the engine and the OS's tools (runc, ip, iptables, mount,
// conmon). Every external command goes through run(), so failures always name
// the command and what it printed, and tests can see what was invoked.
import { execFile } from "node:child_process";
import { Launcher } from "./launcher.js";

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export class CommandError extends Error {
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

export interface RunOptions {
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

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
  for (const o of observers) o(cmd, args, opts.input);
  if (launcher) {
    const r = await launcher.run({ cmd, args, input: opts.input, env: opts.env, cwd: opts.cwd, timeoutMs: opts.timeoutMs });
    if (r.notFound) throw new Error(`${cmd} is not installed (run scripts/install-deps.sh)`);
    const result = { stdout: r.stdout, stderr: r.stderr, code: r.code };
    if (r.code !== 0 && !opts.allowFailure) throw new CommandError(cmd, args, result);
    return result;
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: opts.env, cwd: opts.cwd, timeout: opts.timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
        const result = { stdout, stderr, code };
        if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new Error(`${cmd} is not installed (run scripts/install-deps.sh)`));
        } else if (code !== 0 && !opts.allowFailure) {
          reject(new CommandError(cmd, args, result));
        } else {
          resolve(result);
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
