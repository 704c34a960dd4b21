// A thin wrapper over the runc CLI (one method per verb), every call with our
// own --root so our containers never mix with anyone else's runc state.
// `runc create` is not here: conmon runs it (see monitor.ts), because the
// process that creates the container becomes the parent of its stdio.
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
  ) {}

  private run(args: string[], timeoutMs = 30_000) {
    return run(this.binary, ["--root", this.root, ...args], { timeoutMs });
  }

  async state(id: string): Promise<RuncState | undefined> {
    try {
      return JSON.parse((await this.run(["state", id])).stdout) as RuncState;
    } catch (e) {
      if (isNotExist(e)) return undefined;
      throw e;
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
    return ["--root", this.root, "exec", ...(opts.tty ? ["-t"] : []), "--process", processFile, id];
  }
}
