// A thin wrapper over the runc CLI (one method per verb), every call with our
// own --root so our containers never mix with anyone else's runc state.
// `runc create` is not here: conmon runs it (see monitor.ts), because the
// process that creates the container becomes the parent of its stdio.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CommandError, run } from "../sys/exec.js";

/** `runc state` output. "stopped": the init process is gone but the state (and cgroup) remain until delete. */
export interface RuncState {
  ociVersion: string;
  id: string;
  pid: number;
  status: "creating" | "created" | "running" | "paused" | "stopped";
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
}

const NOT_EXIST = /container does not exist|not found/i;
const NOT_RUNNING = /not running|container not running|process already finished|no such process/i;

/** Whether a runc failure says the container is not there (any more). */
export function isNotExist(e: unknown): boolean {
  return e instanceof CommandError && NOT_EXIST.test(e.result.stderr + e.result.stdout);
}

/** Whether a runc failure says the container's process has already ended. */
export function isNotRunning(e: unknown): boolean {
  return e instanceof CommandError && NOT_RUNNING.test(e.result.stderr + e.result.stdout);
}

export class Runc {
  constructor(
    /** runc's state directory (--root). */
    readonly root: string,
    readonly binary = "runc",
    /** A configured runtime's own arguments (daemon.json runtimeArgs), before runc's global ones. */
    readonly runtimeArgs: readonly string[] = [],
  ) {}

  private run(args: string[], timeoutMs = 30_000) {
    return run(this.binary, [...this.runtimeArgs, "--root", this.root, ...args], { timeoutMs });
  }

  async state(id: string): Promise<RuncState | undefined> {
    try {
      return JSON.parse((await this.run(["state", id])).stdout) as RuncState;
    } catch (e) {
      if (isNotExist(e)) return undefined;
      throw e;
    }
  }

  /**
   * kill(2) of the container's init process, which is all `runc kill`
   * (without --all) does, without launching runc: a stop of 100 containers
   * otherwise spends seconds of the daemon's CPU in spawn(). The pid and its
   * start time come from runc's own state.json, and the start time is
   * checked against /proc as runc checks it, so a pid reused after the
   * container exited is never signalled. "gone": the container is not
   * running; "unknown": the state could not be read, use `kill` instead.
   */
  async signalInit(id: string, sig: NodeJS.Signals): Promise<"sent" | "gone" | "unknown"> {
    let state: { init_process_pid?: number; init_process_start?: number };
    try {
      state = JSON.parse(await readFile(join(this.root, id, "state.json"), "utf8")) as typeof state;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ENOENT" ? "gone" : "unknown";
    }
    const pid = state.init_process_pid;
    if (!pid || state.init_process_start === undefined) return "unknown";
    let stat: string;
    try {
      stat = await readFile(`/proc/${pid}/stat`, "utf8");
    } catch {
      return "gone";
    }
    // Field 22 (starttime), counted after the command name, which may hold spaces and parentheses.
    const startTime = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    if (startTime !== state.init_process_start) return "gone";
    try {
      process.kill(pid, sig);
      return "sent";
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ESRCH" ? "gone" : "unknown";
    }
  }

  /** Every container under our root, with its current status (one process for all). */
  async list(): Promise<RuncState[]> {
    const out = (await this.run(["list", "--format", "json"])).stdout.trim();
    return out === "" || out === "null" ? [] : (JSON.parse(out) as RuncState[]);
  }

  async start(id: string): Promise<void> {
    await this.run(["start", id]);
  }

  /** Signals the init process (all = every process of the container). */
  async kill(id: string, signal: string, opts: { all?: boolean } = {}): Promise<void> {
    await this.run(["kill", ...(opts.all ? ["--all"] : []), id, signal]);
  }

  /** Removes the container's state and cgroup; force kills it first. Missing is fine. */
  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    try {
      await this.run(["delete", ...(opts.force ? ["--force"] : []), id]);
    } catch (e) {
      if (!isNotExist(e)) throw e;
    }
  }

  async pause(id: string): Promise<void> {
    await this.run(["pause", id]);
  }

  async resume(id: string): Promise<void> {
    await this.run(["resume", id]);
  }

  /** `runc ps`: runs the host's ps with psArgs and keeps the container's processes. */
  async ps(id: string, psArgs: string[] = ["-ef"]): Promise<string> {
    // urfave/cli stops parsing flags at the id, so the ps options follow it as they are.
    return (await this.run(["ps", id, ...psArgs])).stdout;
  }

  /** PIDs of every process in the container. */
  async pids(id: string): Promise<number[]> {
    return JSON.parse((await this.run(["ps", "--format", "json", id])).stdout) as number[] ?? [];
  }

  /** argv (after the binary) of a foreground `runc exec` of a process.json. */
  execArgs(id: string, processFile: string, opts: { tty: boolean }): string[] {
    return [...this.runtimeArgs, "--root", this.root, "exec", ...(opts.tty ? ["-t"] : []), "--process", processFile, id];
  }
}
