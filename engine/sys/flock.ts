// flock(2) locks for Node, which has no flock: a tiny perl process (perl-base
// is Essential in Debian, like the launcher's) opens the lock file and takes
// or drops the lock when told to over its stdin. The kernel ties the lock to
// that process's open file, so it goes when the process goes: when we call
// close(), and when we die in any way (kill -9 included), since its stdin then
// reaches EOF and it exits. No stale lock files, no pid reuse to guard against,
// unlike a pid file. The program is flock.pl;
// its protocol is in its header and docs/perl-helpers.md.
//
// One helper per FileLock, one lock per FileLock. Within a process, callers
// of run() take turns on a Mutex (keyed-mutex.ts) first: flock locks are per open file, so
// the helper must never be asked to lock while it already waits for the lock.
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { EngineError } from "../types.js";
import { Mutex } from "./keyed-mutex.js";
import { perlProgram } from "./perl.js";

/** The helper (exported for the test that kills its owner). */
export const HELPER_PROGRAM = perlProgram("flock.pl", import.meta.url);

export type LockMode = "exclusive" | "shared";

export interface LockOptions {
  /** Wait for the lock (default); false: take it only if free now. */
  wait?: boolean;
  /** How long to wait before giving up with a clear error (default 2 minutes). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

type HelperProcess = ChildProcessByStdio<Writable, Readable, null>;

/** A running helper and the replies it owes (each helper its own: an old one's exit must not answer a new one's questions). */
interface Helper {
  child: HelperProcess;
  replies: ((line: string) => void)[];
}

export class FileLock {
  #helper: Helper | undefined;
  readonly #turns = new Mutex();

  /** `what` names the lock in errors ("the image store"). */
  constructor(
    readonly path: string,
    readonly what: string,
  ) {}

  /**
   * Takes the lock (converting a held one: shared <-> exclusive); true when
   * held. With wait: false, false when another process holds it.
   */
  async lock(mode: LockMode, opts: LockOptions = {}): Promise<boolean> {
    const wait = opts.wait ?? true;
    const cmd = mode === "exclusive" ? (wait ? "x" : "X") : wait ? "s" : "S";
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const reply = await this.#ask(cmd, wait ? timeoutMs : DEFAULT_TIMEOUT_MS);
    if (reply === "K") return true;
    if (reply === "B") return false;
    throw new EngineError("internal", `cannot lock ${this.what} (${this.path}): ${reply.replace(/^E /, "")}`);
  }

  async unlock(): Promise<void> {
    if (!this.#helper) return; // never locked, or the helper is gone (and the lock with it)
    const reply = await this.#ask("u", DEFAULT_TIMEOUT_MS);
    if (reply !== "K") throw new EngineError("internal", `cannot unlock ${this.what} (${this.path}): ${reply}`);
  }

  /** Runs fn holding the lock exclusively; callers in this process take turns. */
  run<T>(fn: () => Promise<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
    const body = async (): Promise<T> => {
      await this.lock("exclusive", { wait: true, ...opts });
      try {
        return await fn();
      } finally {
        await this.unlock();
      }
    };
    return this.#turns.run(body);
  }

  /**
   * Ends the helper: whatever it held is released once the returned promise
   * settles (the kernel drops the lock when the helper's exit closes its file,
   * which is after kill(2) returns).
   */
  close(): Promise<void> {
    const helper = this.#helper;
    this.#helper = undefined;
    if (!helper) return Promise.resolve();
    const exited = helper.child.exitCode !== null || helper.child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => helper.child.once("exit", () => resolve()));
    // An idle helper is unref'd: ref it again, or a caller awaiting its exit
    // could see the event loop end first (the CLI once exited 0 that way,
    // with its own result still pending).
    hold(helper.child, true);
    // Killed, not only told (stdin EOF): gone at once, with its lock, before our own exit.
    helper.child.stdin.end();
    helper.child.kill("SIGKILL");
    answerAll(helper, `E ${this.what}: the lock was closed`);
    return exited;
  }

  async #ask(cmd: string, timeoutMs: number): Promise<string> {
    const helper = await this.#started();
    const reply = new Promise<string>((resolve) => helper.replies.push(resolve));
    hold(helper.child, true);
    helper.child.stdin.write(`${cmd}\n`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // The helper is blocked in flock(2): ending it is the only way to stop the wait.
        this.#kill(helper);
        reject(new EngineError("unavailable", `timed out after ${Math.round(timeoutMs / 1000)} s waiting for the lock on ${this.what} (${this.path}): another tscompose process holds it`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
      if (helper.replies.length === 0) hold(helper.child, false);
    }
  }

  async #started(): Promise<Helper> {
    if (this.#helper) return this.#helper;
    // The path goes in the environment, not argv: a helper's command line then
    // names no state dir, so what lists a state dir's processes (leak checks,
    // "every container's monitor lives on") sees only containers and monitors.
    const child = spawn("perl", [HELPER_PROGRAM], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, TSCOMPOSE_LOCK_FILE: this.path } });
    const helper: Helper = { child, replies: [] };
    this.#helper = helper;
    let buffered = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        helper.replies.shift()?.(line);
      }
    });
    child.stdin.on("error", () => undefined); // reported by "exit"
    const gone = (why: string): void => {
      if (this.#helper === helper) this.#helper = undefined;
      answerAll(helper, `E the lock helper for ${this.what} ${why}`);
    };
    child.on("error", (e) => gone(`failed (${e.message})`));
    child.on("exit", (code, signal) => gone(`exited (${signal ?? String(code)})`));
    // The first line says the lock file is open (or why not).
    const ready = await new Promise<string>((resolve) => helper.replies.push(resolve));
    if (ready !== "R") {
      this.#kill(helper);
      throw new EngineError("internal", `cannot lock ${this.what}: ${ready.replace(/^E /, "")}`);
    }
    return helper;
  }

  #kill(helper: Helper): void {
    if (this.#helper === helper) this.#helper = undefined;
    helper.child.kill("SIGKILL");
  }
}

/** Questions still open get an error reply once their helper is gone. */
function answerAll(helper: Helper, line: string): void {
  for (const r of helper.replies.splice(0)) r(line);
}

/** An idle helper must not keep a process alive (the CLI); one we wait for must. */
function hold(child: HelperProcess, busy: boolean): void {
  for (const h of [child, child.stdin, child.stdout] as { ref?: () => void; unref?: () => void }[]) (busy ? h.ref : h.unref)?.call(h);
}
