// The per-container monitor: conmon (CRI-O's and podman's), a small C
// process that runs `runc create`, then owns the container's stdio for its
// whole life: it writes stdout/stderr to the log in CRI format, keeps stdin
// open when asked, notices OOM kills (an `oom` file in its persist dir) and
// writes the exit code to <exit dir>/<id> when the container ends. It double-
// forks and starts its own session, so our process can die or be upgraded
// without touching running containers (a few MB of RSS per container).
//
// Knowing when the container exists: conmon's first process exits at once,
// long before `runc create` is done. conmon's sync pipe protocol tells us:
// with _OCI_SYNCPIPE=<fd> it writes `{"data": <pid>}` once runc create has
// succeeded (the container is then in runc's "created" state) or
// `{"data": -1, "message": "<runc's stderr>"}` when it failed. That is the
// same signal as polling `runc state` until it says created, without
// spawning runc over and over.
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { Readable } from "node:stream";
import { heldLauncher } from "../sys/exec.js";
import { DEFAULT_KILL_GRACE_MS, signalGroup, type Launcher } from "../sys/launcher.js";
import { EngineError } from "../types.js";

export interface MonitorOptions {
  id: string;
  name: string;
  /** The OCI bundle (config.json); conmon also puts its ctl/winsz fifos and `oom` here. */
  bundle: string;
  /**
   * CRI-format log (k8s-file). No --log-size-max: conmon's own rotation
   * throws the log away; logrotate.ts rotates instead.
   */
  logPath: string;
  /** "none": conmon keeps no log (the logging driver none). */
  logDriver?: "k8s-file" | "none";
  exitDir: string;
  /** conmon writes `exit` and `oom` here. */
  persistDir: string;
  /** Where conmon puts the attach socket's symlink; must exist. */
  socketDir: string;
  /** runc writes the container's init pid here. */
  pidFile: string;
  conmonPidFile: string;
  runcRoot: string;
  runcBinary?: string;
  /** The runtime's own arguments (daemon.json runtimeArgs), before --root. */
  runtimeArgs?: readonly string[];
  conmonBinary?: string;
  terminal: boolean;
  stdin: boolean;
  /** The attach client's EOF closes the container's stdin (docker's StdinOnce). */
  stdinOnce?: boolean;
  timeoutMs?: number;
}

const found = new Map<string, string>();

/**
 * An executable's absolute path via PATH (conmon execv()s its runtime, so it
 * needs one). Hits are remembered per PATH: every start asks for conmon and
 * runc, and probing PATH takes a few synchronous stat calls.
 */
export function which(binary: string, path = process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"): string | undefined {
  if (binary.includes("/")) return binary;
  const key = `${binary}\0${path}`;
  const hit = found.get(key);
  if (hit !== undefined) return hit;
  const p = lookPath(binary, path);
  if (p !== undefined) found.set(key, p);
  return p;
}

function lookPath(binary: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export function conmonArgs(o: MonitorOptions, runtimePath: string): string[] {
  const args = [
    "--api-version", "1",
    "-c", o.id,
    "-u", o.id,
    "-n", o.name,
    "-r", runtimePath,
    "-b", o.bundle,
    "-p", o.pidFile,
    "-P", o.conmonPidFile,
    "-l", `${o.logDriver ?? "k8s-file"}:${o.logPath}`,
    "--exit-dir", o.exitDir,
    "-0", o.persistDir,
    "--socket-dir-path", o.socketDir,
    // No fsync of the log before the exit file (Docker's json-file never
    // syncs either): on a busy disk it delayed every exit by milliseconds.
    "--no-sync-log",
    ...(o.runtimeArgs ?? []).flatMap((a) => ["--runtime-arg", a]),
    "--runtime-arg", "--root",
    "--runtime-arg", o.runcRoot,
  ];
  if (o.terminal) args.push("-t");
  // Without attach there is no writer, so stdin stays open and empty: what
  // `docker run -i` without a client attached looks like to the process. An
  // attach client's EOF closes it only with stdinOnce (conmon closes it when
  // a client leaves, unless told to leave it open).
  if (o.stdin) args.push("-i");
  if (o.stdin && o.stdinOnce !== true) args.push("--leave-stdin-open");
  return args;
}

interface SyncMessage {
  data: number;
  message?: string;
}

/** Reads conmon's first sync-pipe message (one JSON line). */
function readSyncMessage(pipe: Readable, timeoutMs: number): Promise<SyncMessage | undefined> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const done = (v: SyncMessage | undefined, err?: Error) => {
      clearTimeout(timer);
      pipe.removeAllListeners("data");
      pipe.destroy();
      if (err) reject(err);
      else resolve(v);
    };
    const timer = setTimeout(() => done(undefined, new Error(`conmon did not report within ${timeoutMs} ms; it was killed`)), timeoutMs);
    pipe.setEncoding("utf8");
    pipe.on("data", (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        try {
          done(parseSyncMessage(buf.slice(0, nl)));
        } catch (e) {
          done(undefined, e as Error);
        }
      }
    });
    pipe.on("error", () => done(undefined));
    pipe.on("end", () => done(undefined));
  });
}

/**
 * Starts conmon for a prepared bundle and resolves once the container is in
 * runc's "created" state, with its init pid. Throws with runc's message when
 * runc create failed (a missing executable shows up at `runc start`, not here).
 */
export async function launchMonitor(o: MonitorOptions): Promise<{ pid: number }> {
  const conmon = which(o.conmonBinary ?? "conmon");
  const runtime = which(o.runcBinary ?? "runc");
  if (!conmon) throw new EngineError("unavailable", "conmon is not installed (apt-get install conmon)");
  if (!runtime) {
    throw new EngineError("unavailable", o.runcBinary && o.runcBinary !== "runc" ? `the runtime binary ${o.runcBinary} is not found` : "runc is not installed (apt-get install runc)");
  }
  const args = conmonArgs(o, runtime);
  // A clean environment: runc and the container must not inherit ours.
  const env = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", _OCI_SYNCPIPE: "3" };
  const timeoutMs = o.timeoutMs ?? 30_000;
  const launcher = heldLauncher();
  const started = launcher ? await viaLauncher(launcher, conmon, args, env, o.bundle, timeoutMs) : await viaSpawn(conmon, args, env, o.bundle, timeoutMs);
  try {
    if (started.msg && started.msg.data > 0) return { pid: started.msg.data };
    // Its stderr is complete once it ended (or as complete as it gets within a second).
    const code = await started.exitCode;
    const detail = (started.msg?.message ?? started.stderr()).trim() || `conmon exited (${String(code)}) without creating the container`;
    throw new EngineError("internal", `creating container ${o.name}: ${cleanRuncMessage(detail)}`);
  } finally {
    started.done();
  }
}

interface Started {
  msg: SyncMessage | undefined;
  /** The first conmon process's exit code, or undefined when it has not ended within a second. */
  exitCode: Promise<number | null | undefined>;
  stderr: () => string;
  done: () => void;
}

const withinASecond = <T>(p: Promise<T>) => Promise.race([p, new Promise<undefined>((r) => setTimeout(r, 1000, undefined))]);

/** Through the engine's launcher (see engine/sys/launcher.ts): no fork of the daemon. */
async function viaLauncher(launcher: Launcher, conmon: string, args: string[], env: Record<string, string>, cwd: string, timeoutMs: number): Promise<Started> {
  // The launcher's timeout kills a conmon that hangs before reporting (SIGTERM, then SIGKILL);
  // one that reported in time has ended its first process by then (it daemonizes), and no timer is left.
  const started = launcher.start({ cmd: conmon, args, env, cwd, detached: true, syncPipe: true, timeoutMs });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`conmon did not report within ${timeoutMs} ms; it was killed`)), timeoutMs);
  });
  let line: string;
  try {
    line = await Promise.race([started.syncLine, timeout]).finally(() => clearTimeout(timer));
  } catch (e) {
    started.discard();
    throw e;
  }
  let msg: SyncMessage | undefined;
  try {
    msg = line === "" ? undefined : parseSyncMessage(line);
  } catch (e) {
    started.discard();
    throw e;
  }
  return {
    msg,
    exitCode: withinASecond(started.ended.then((r) => r.code)),
    stderr: () => started.stderrSoFar(),
    done: () => started.discard(),
  };
}

async function viaSpawn(conmon: string, args: string[], env: Record<string, string>, cwd: string, timeoutMs: number): Promise<Started> {
  const child = spawn(conmon, args, { cwd, detached: true, stdio: ["ignore", "ignore", "pipe", "pipe"], env });
  child.unref();
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => resolve(code));
    child.on("error", () => resolve(null));
  });
  let msg: SyncMessage | undefined;
  try {
    msg = await readSyncMessage(child.stdio[3] as Readable, timeoutMs);
  } catch (e) {
    // Hung before reporting: it (a session of its own, detached) and what it started go.
    if (child.pid !== undefined) {
      const group = -child.pid;
      signalGroup(group, "SIGTERM");
      setTimeout(() => signalGroup(group, "SIGKILL"), DEFAULT_KILL_GRACE_MS).unref();
    }
    throw e;
  } finally {
    child.stderr?.destroy();
  }
  return { msg, exitCode: withinASecond(exited), stderr: () => stderr, done: () => undefined };
}

function parseSyncMessage(line: string): SyncMessage {
  try {
    return JSON.parse(line) as SyncMessage;
  } catch (e) {
    throw new Error(`conmon sent an unreadable sync message: ${line}`, { cause: e });
  }
}

/** runc logs as `time="..." level=error msg="..."`; keep the msg part for people. */
export function cleanRuncMessage(text: string): string {
  const msgs = [...text.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? "").replace(/\\"/g, '"'));
  return msgs.length ? msgs.join("; ") : text.trim();
}
