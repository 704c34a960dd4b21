// A small long-lived process that starts the engine's short commands (ip,
// iptables, mount, runc ...) for the daemon.
//
// Why: Node's child_process forks the whole daemon (~100 MB of page tables)
// and then blocks its event loop until the child has exec'd: about 9 ms per
// command on these machines, with 3-5 commands per container. While `up` of
// 20 services runs, that is most of the daemon's time, and nothing else it
// should be doing (starting the next container, answering the CLI) happens
// meanwhile. The launcher is a perl script (perl-base is Essential in Debian,
// so always there): its fork is cheap, it never blocks us, and to the daemon
// a command is a pipe write and, later, a pipe read.
//
// The program is launcher.pl; its protocol (length-prefixed requests, fixed-size
// replies) is in its header and docs/perl-helpers.md.
// Output goes through files in a private directory, read once the command ends:
// simpler and no slower here than multiplexing pipes in the launcher.
import { spawn } from "node:child_process";
import type { ChildProcessByStdio } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { perlProgram } from "./perl.js";

const PROGRAM = perlProgram("launcher.pl", import.meta.url);


export interface LaunchRequest {
  cmd: string;
  args: readonly string[];
  input?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  cwd?: string | undefined;
  /**
   * Past this, the command and everything it started (its own process group)
   * get SIGTERM, and SIGKILL killGraceMs later if still there.
   */
  timeoutMs?: number | undefined;
  killGraceMs?: number | undefined;
  /** In a session of its own (detached: it must outlive us and our Ctrl-C). */
  detached?: boolean;
  /** Give it a pipe on fd 3 and report the first line written there (conmon's sync pipe). */
  syncPipe?: boolean;
}

export interface LaunchResult {
  stdout: string;
  stderr: string;
  /** The exit code; 128 + n when killed by signal n. */
  code: number;
  /** exec failed (the command is not installed). */
  notFound: boolean;
  /** It outlived its timeout and was killed. */
  timedOut: boolean;
}

/** How long a command that outlived its timeout has between SIGTERM and SIGKILL. */
export const DEFAULT_KILL_GRACE_MS = 2000;

export interface Launched {
  /** When the process ends, with its output. */
  ended: Promise<LaunchResult>;
  /** With syncPipe: the first line on fd 3, or what was written before every writer closed it ("" for nothing). */
  syncLine: Promise<string>;
  /** stderr as far as written (a detached process may still be writing it). */
  stderrSoFar(): string;
  /** With syncPipe: removes the stderr file once the caller has no more use for it. */
  discard(): void;
}

interface Pending {
  /** With the command's wait status. */
  ended: (status: number) => void;
  synced: (line: string) => void;
  failed: (e: Error) => void;
  waitingFor: number;
  pid?: number;
  timer?: NodeJS.Timeout;
  timedOut?: boolean;
  /** SIGTERM to the command's group now; SIGKILL after the grace. */
  kill?: () => void;
}

export class Launcher {
  private child: ChildProcessByStdio<Writable, Readable, null> | undefined;
  /** The running launcher's directory for output files (it removes it when it ends). */
  private dir = "";
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private replies: Buffer = Buffer.alloc(0);

  async run(req: LaunchRequest): Promise<LaunchResult> {
    return this.start(req).ended;
  }

  start(req: LaunchRequest): Launched {
    const child = this.ensureStarted();
    const id = this.nextId++;
    const base = join(this.dir, String(id));
    const files: { in?: string; out: string; err: string } = { out: `${base}.out`, err: `${base}.err` };
    // Sync file I/O on purpose: these are tiny files in the page cache (tens of microseconds),
    // where each fs/promises call costs several thread-pool round trips.
    if (req.input !== undefined) {
      files.in = `${base}.in`;
      writeFileSync(files.in, req.input);
    }
    const env = req.env === undefined ? undefined : Object.entries(req.env).filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => `${k}=${v}`);
    const timed = req.timeoutMs !== undefined;
    // Detached is a session of its own, hence a group of its own already.
    const flags = `${req.detached ? "d" : timed ? "g" : ""}${req.syncPipe ? "s" : ""}`;
    const fields = [String(id), flags, req.cwd ?? "", files.in ?? "", files.out, files.err, String(env?.length ?? -1), ...(env ?? []), req.cmd, ...req.args];
    if (fields.some((f) => f.includes("\0"))) throw new Error(`${req.cmd}: an argument holds a NUL byte`);
    const payload = Buffer.from(fields.join("\0"));
    const frame = Buffer.alloc(4 + payload.length);
    frame.writeUInt32BE(payload.length, 0);
    payload.copy(frame, 4);

    let p!: Pending;
    const status = new Promise<number>((resolve, reject) => {
      p = { ended: resolve, synced: () => undefined, failed: reject, waitingFor: req.syncPipe ? 2 : 1 };
    });
    const syncLine = new Promise<string>((resolve, reject) => {
      p.synced = resolve;
      const failed = p.failed;
      p.failed = (e) => {
        failed(e);
        reject(e);
      };
    });
    if (!req.syncPipe) p.synced("");
    syncLine.catch(() => undefined); // also reported by `ended`
    this.pending.set(id, p);
    if (req.timeoutMs !== undefined) {
      const grace = req.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
      p.kill = () => {
        if (p.pid === undefined) return;
        const group = -p.pid;
        signalGroup(group, "SIGTERM");
        // Until it ends ("E" clears the timer): a command that ignores SIGTERM is not let off.
        p.timer = setTimeout(() => signalGroup(group, "SIGKILL"), grace);
      };
      p.timer = setTimeout(() => {
        p.timedOut = true;
        p.kill?.();
      }, req.timeoutMs);
    }
    this.holdOpen(child, true);
    child.stdin.write(frame);

    const ended = status.then((st) => {
      const stdout = readAndRemove(files.out);
      // A process that reports on its sync pipe may fork and go on writing stderr after it ended (conmon): kept until discard().
      const stderr = req.syncPipe ? readOrEmpty(files.err) : readAndRemove(files.err);
      if (files.in) rmSync(files.in, { force: true });
      const signal = st & 0x7f;
      const code = signal !== 0 ? 128 + signal : st >> 8;
      return { stdout, stderr, code, notFound: code === 127 && stderr.startsWith(`tscompose-launcher: exec ${req.cmd}: No such file`), timedOut: p.timedOut === true };
    });
    return { ended, syncLine, stderrSoFar: () => readOrEmpty(files.err), discard: () => rmSync(files.err, { force: true }) };
  }

  /** Ends the launcher once its commands are done; it also ends by itself if we die (its stdin closes). */
  close(): void {
    // It finishes what runs, then removes its directory and exits.
    this.child?.stdin.end();
    this.child = undefined;
  }

  private ensureStarted(): ChildProcessByStdio<Writable, Readable, null> {
    if (this.child) return this.child;
    const dir = mkdtempSync(join(tmpdir(), "tscompose-launcher-"));
    this.dir = dir;
    const child = spawn("perl", [PROGRAM, dir], { stdio: ["pipe", "pipe", "inherit"] });
    child.stdout.on("data", (chunk: Buffer) => this.onReplies(chunk));
    const fail = (why: string) => {
      if (this.child === child) this.child = undefined;
      // Gone already when it ended normally; not when it was killed.
      rmSync(dir, { recursive: true, force: true });
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.failed(new Error(`the command launcher ${why} while command ${id} ran`));
      }
      this.pending.clear();
    };
    child.on("error", (e) => fail(`failed (${e.message})`));
    child.on("exit", (code, signal) => fail(`exited (${signal ?? String(code)})`));
    child.stdin.on("error", () => undefined); // reported by "exit"
    this.child = child;
    return child;
  }

  /** An idle launcher must not keep a process alive (a CLI that ran engine code); a busy one must. */
  private holdOpen(child: ChildProcessByStdio<Writable, Readable, null>, busy: boolean): void {
    const handles = [child, child.stdin, child.stdout] as { ref?: () => void; unref?: () => void }[];
    for (const h of handles) (busy ? h.ref : h.unref)?.call(h);
  }

  private onReplies(chunk: Buffer): void {
    this.replies = this.replies.length === 0 ? chunk : Buffer.concat([this.replies, chunk]);
    while (this.replies.length >= 9) {
      const kind = String.fromCharCode(this.replies[0]!);
      const id = this.replies.readUInt32BE(1);
      const value = this.replies.readUInt32BE(5);
      if (kind === "L" && this.replies.length < 9 + value) return; // the rest of the line is on its way
      const line = kind === "L" ? this.replies.subarray(9, 9 + value).toString("utf8") : "";
      this.replies = this.replies.subarray(kind === "L" ? 9 + value : 9);
      const p = this.pending.get(id);
      if (!p) continue;
      if (kind === "S") {
        p.pid = value;
        if (p.timedOut) p.kill?.();
        continue;
      }
      if (kind === "L") p.synced(line);
      else {
        clearTimeout(p.timer);
        // What it started may ignore SIGTERM and outlive it: the group goes with it.
        if (p.timedOut && p.pid !== undefined) signalGroup(-p.pid, "SIGKILL");
        p.ended(value);
      }
      if (--p.waitingFor === 0) {
        this.pending.delete(id);
        if (this.pending.size === 0 && this.child) this.holdOpen(this.child, false);
      }
    }
  }
}

/** A signal to a process group that may have ended meanwhile. */
export function signalGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(group, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function readAndRemove(path: string): string {
  const text = readOrEmpty(path);
  rmSync(path, { force: true });
  return text;
}
