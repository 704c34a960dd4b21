// Running another process in a running container: `runc exec --process
// <process.json>` in the foreground, so runc's exit code is the process's.
//
// Without a tty, runc hands its own stdin/stdout/stderr to the process:
// node's pipes go straight in, so output is byte-exact and stdout/stderr stay
// apart.
//
// With a tty, runc needs a terminal. Detached, it would pass the pty master
// over --console-socket with SCM_RIGHTS, which node cannot receive (and
// conmon's exec-attach speaks over a SOCK_SEQPACKET socket, which node cannot
// open either). In the foreground, runc makes the pty itself and copies
// between it and the terminal on its own stdio, so we give it one: util-linux
// `script` runs it on a fresh pty and relays that pty to plain pipes. The
// outer pty is put in raw mode without echo first (only the container's pty
// should echo and translate newlines, like docker exec -t), and a marker byte
// printed after that tells us when it is safe to send stdin: bytes sent
// earlier would be echoed by the outer pty. script -e passes the exit code on.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import type { ExecSpec } from "../types.js";
import { EngineError } from "../types.js";
import { hostBoundingCapabilities } from "./bundle.js";
import { capabilitySet, processCapabilities } from "./caps.js";
import type { OciProcess, OciSpec } from "./oci.js";
import type { Runc } from "./runc.js";
import { mergeEnv } from "./spec.js";
import { signalNumber } from "./signals.js";
import { ociUser, resolveUser } from "./user.js";

export interface ExecContext {
  runc: Runc;
  id: string;
  /** Where the process.json is written (the container's directory). */
  containerDir: string;
  /** The container's config.json: env, cwd, capabilities and rlimits to start from. */
  config: OciSpec;
  rootfs: string;
  /** The container's configured user (spec.user ?? image.user). */
  defaultUser: string | undefined;
  /**
   * The container's environment for a process with or without a terminal:
   * as dockerd, an exec's TERM=xterm follows the exec's own tty, not the
   * container's (an `exec -T` in a `tty: true` container has no TERM unless
   * the service sets one).
   */
  env(tty: boolean): string[];
  /** The container's group_add: an exec gets those groups too, as in Docker. */
  groupAdd?: readonly string[] | undefined;
}

/** The process.json of an exec: the container's process with the exec's command, env, user and cwd. */
export async function execProcess(ctx: ExecContext, spec: ExecSpec): Promise<OciProcess> {
  if (spec.cmd.length === 0) throw new EngineError("invalid", "exec: no command given");
  const base = ctx.config.process;
  const user = await resolveUser(ctx.rootfs, spec.user ?? ctx.defaultUser, ctx.groupAdd);
  const env = mergeEnv(ctx.env(spec.tty === true), spec.env ?? []);
  return {
    ...base,
    terminal: spec.tty === true,
    args: [...spec.cmd],
    env,
    cwd: spec.workingDir || base.cwd,
    user: ociUser(user),
    // The same set as the container, but a non-root exec gets only the bounding set (as Docker);
    // a privileged exec gets every capability the engine itself has, as `docker exec --privileged`.
    capabilities: processCapabilities(
      spec.privileged === true ? capabilitySet([], [], true, await hostBoundingCapabilities()) : base.capabilities.bounding,
      user.uid,
    ),
  };
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const MARKER = 0x01;

/** Runs the exec and resolves with its exit code (128+n when killed by signal n). */
export async function runExec(ctx: ExecContext, spec: ExecSpec): Promise<{ exitCode: number }> {
  const proc = await execProcess(ctx, spec);
  const file = join(ctx.containerDir, `exec-${randomBytes(6).toString("hex")}.json`);
  // Transient (read once by runc, then removed), so not the atomic writer; 0600: it holds the exec's environment.
  await writeFile(file, JSON.stringify(proc), { mode: 0o600 });
  try {
    return spec.tty ? await runTty(ctx, spec, file) : await runPlain(ctx, spec, file);
  } finally {
    await rm(file, { force: true });
  }
}

function runPlain(ctx: ExecContext, spec: ExecSpec, file: string): Promise<{ exitCode: number }> {
  const child = spawn(ctx.runc.binary, ctx.runc.execArgs(ctx.id, file, { tty: false }), {
    stdio: [spec.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
  });
  if (spec.stdin && child.stdin) pipeStdin(spec.stdin, child.stdin);
  const flushed = [forward(child.stdout, spec.stdout), forward(child.stderr, spec.stderr)];
  return settle(child, spec.signal, flushed);
}

function runTty(ctx: ExecContext, spec: ExecSpec, file: string): Promise<{ exitCode: number }> {
  // A tty.WriteStream (the CLI's own terminal) knows its size.
  const size = (spec.stdout ?? {}) as { rows?: unknown; columns?: unknown };
  const rows = typeof size.rows === "number" ? size.rows : 24;
  const cols = typeof size.columns === "number" ? size.columns : 80;
  const runcCmd = [ctx.runc.binary, ...ctx.runc.execArgs(ctx.id, file, { tty: true })].map(shellQuote).join(" ");
  const script = `stty raw -echo rows ${rows} cols ${cols} 2>/dev/null; printf '\\001'; exec ${runcCmd}`;
  const child = spawn("script", ["-qfec", script, "/dev/null"], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", SHELL: "/bin/sh" },
  });
  let ready = false;
  const output = forward(child.stdout, spec.stdout, (chunk) => {
    if (ready) return chunk;
    const at = chunk.indexOf(MARKER);
    if (at < 0) return undefined;
    ready = true;
    // Only now is the outer pty raw and silent.
    if (spec.stdin) pipeStdin(spec.stdin, child.stdin);
    return chunk.subarray(at + 1);
  });
  // A tty merges stderr into stdout; script's own stderr is only its errors.
  return settle(child, spec.signal, [output, forward(child.stderr, spec.stderr)]);
}

function pipeStdin(from: NodeJS.ReadableStream, to: Writable) {
  to.on("error", () => undefined); // the process may exit without reading everything (EPIPE)
  from.pipe(to);
  to.on("close", () => from.unpipe(to));
}

/**
 * Copies the process's output into the caller's stream, reading only as fast
 * as that stream takes it, and resolves once the last chunk has been accepted
 * (its write callback ran). The exit code must not be reported before then: a
 * caller that ends its session on the exit code (the daemon's attach server)
 * would cut off output still queued in the stream, and report success.
 */
function forward(from: NodeJS.ReadableStream | null, to: NodeJS.WritableStream | undefined, filter?: (chunk: Buffer) => Buffer | undefined): Promise<void> {
  if (!from) return Promise.resolve();
  if (!to) {
    from.resume();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    let pending = 0;
    let ended = false;
    const done = (): void => {
      if (ended && pending === 0) resolve();
    };
    // A destination that is gone takes nothing more: the rest is read and dropped, so the process is never blocked on it.
    const gone = (): boolean => (to as { destroyed?: boolean }).destroyed === true;
    const onGone = (): void => void from.resume();
    to.once("close", onGone);
    from.on("data", (chunk: Buffer) => {
      const data = filter ? filter(chunk) : chunk;
      if (!data || data.length === 0 || gone()) return;
      pending++;
      const more = to.write(data, () => {
        pending--;
        done();
      });
      if (!more) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    });
    // 'close' as well: a pipe destroyed by an error never emits 'end'.
    const onEnd = (): void => {
      to.off("close", onGone);
      ended = true;
      done();
    };
    from.once("end", onEnd);
    from.once("close", onEnd);
  });
}

function settle(child: ChildProcess, signal: AbortSignal | undefined, output: Promise<void>[]): Promise<{ exitCode: number }> {
  return new Promise((resolve, reject) => {
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      // runc forwards the signal to the process; force it if that is ignored.
      child.kill("SIGTERM");
      killTimer = setTimeout(() => child.kill("SIGKILL"), 2000);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();
    child.on("error", (e) => reject(new EngineError("unavailable", `exec: ${e.message}`, { cause: e })));
    child.on("close", (code, sig) => {
      clearTimeout(killTimer);
      signal?.removeEventListener("abort", onAbort);
      child.stdin?.destroy();
      const n = sig ? 128 + (signalNumber(sig) ?? 0) : (code ?? 255);
      // Reported only once the output has reached the caller's streams.
      void Promise.all(output).then(() => resolve({ exitCode: n }));
    });
  });
}
