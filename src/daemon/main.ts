// `tscompose daemon`: the one long-running process per machine. It hosts the
// engine, serves the API, and on start re-syncs every stack it knows against
// what really runs (level-triggered), so a kill -9 at any moment loses,
// leaks and duplicates nothing. Stopping the daemon never stops containers:
// each has its own monitor (conmon) and outlives us.
import { readFileSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { readEngineConfig } from "../../engine/config.js";
import { EngineError } from "../../engine/errors.js";
import { createEngine, openEmbeddedEngine, resolveEngineTarget } from "../../engine/index.js";
import type { EngineTarget } from "../../engine/index.js";
import type { ImageService } from "../../engine/image/service.js";
import { writeFileAtomicSync } from "../../engine/sys/atomic-file.js";
import { isRunning } from "../../engine/sys/proc.js";
import { ensureStateDir } from "../../engine/sys/state-dir.js";
import type { Engine } from "../../engine/types.js";
import type { DaemonEvent, EngineChoice } from "./api.js";
import { StackController } from "./controller.js";
import { EngineSet } from "./engines.js";
import { EngineJobRunner } from "./jobs-runner.js";
import { JobStore } from "./jobs-store.js";
import { fileLogger } from "./log.js";
import type { Logger } from "./log.js";
import { daemonPaths } from "./paths.js";
import { JobScheduler, cronTimer } from "./scheduler.js";
import { startServer } from "./server.js";
import { StackStore } from "./stacks.js";
import { engineEvent } from "./to-wire.js";
import { watchedFilesOf } from "./watch.js";

export interface DaemonOptions {
  stateDir?: string;
  group?: number;
  version: string;
  /** Log to stderr as well (foreground under systemd). */
  stderr?: boolean;
}

export interface RunningDaemon {
  server: Server;
  log: Logger;
  engine: Engine;
  controller: StackController;
  stop(): Promise<void>;
}

export async function startDaemon(opts: DaemonOptions): Promise<RunningDaemon> {
  const paths = daemonPaths(process.env, opts.stateDir);
  // Created private, or an older state dir's modes migrated, before anything is written in it.
  const tightened = ensureStateDir(paths.stateDir);
  const log: Logger = fileLogger(paths.logFile, opts.stderr);
  claimPidFile(paths.pidFile);
  log.info("daemon starting", { pid: process.pid, stateDir: paths.stateDir, socket: paths.socket });
  if (tightened.length > 0) log.warn("state dir modes tightened (other users could read or enter it)", { changed: tightened });

  const config = readEngineConfig(paths.configFile);
  const resolveTarget = (choice: EngineChoice): EngineTarget => resolveEngineTarget(choice, process.env, config);
  // daemon.json (or TSCOMPOSE_ENGINE) may make swarm the default of stacks (the controller asks resolveTarget);
  // swarm has no containers of ours, so container requests that name no stack then go to the embedded engine.
  const stackDefault = resolveTarget({});
  const defaultTarget: EngineTarget = stackDefault.kind === "swarm" ? { kind: "embedded" } : stackDefault;
  // The embedded engine's image service serves the verbs the Engine has no word for (tag, save, load, push); on dockerd they answer 404 yet.
  let images: ImageService | undefined;
  const open = async (target: EngineTarget): Promise<Engine> => {
    if (target.kind === "docker") return createEngine(target);
    // The controller sends swarm stacks to their manager (swarm-stacks.ts), never here.
    if (target.kind === "swarm") throw new EngineError("invalid", "the swarm engine runs stacks, not containers");
    const embedded = await openEmbeddedEngine({
      kind: "embedded",
      stateDir: paths.stateDir,
      configFile: paths.configFile,
      log: (msg: string, fields?: Record<string, unknown>) => log.info(msg, fields),
    });
    images = embedded.images;
    return embedded.engine;
  };
  const stacks = new StackStore(paths.stateDir, log);
  const engines = new EngineSet({
    open,
    defaultTarget,
    // Swarm stacks have no engine of containers here (swarm-stacks.ts): their records keep none open.
    targetOf: (project) => {
      const target = stacks.get(project)?.engine;
      return target?.kind === "swarm" ? undefined : target;
    },
    targetsInUse: () => stacks.list().flatMap((r) => (r.engine?.kind === "swarm" ? [] : [r.engine ?? defaultTarget])),
    log,
  });
  // The default engine opens now, as before per-stack engines: a daemon that cannot reach it fails at its start. Others open when a stack needs them.
  await engines.get(defaultTarget);
  const engine = engines.router;
  const listeners = new Set<(e: DaemonEvent) => void>();
  const publish = (e: DaemonEvent): void => {
    for (const l of listeners) l(e);
  };
  engine.onEvent((e) => publish(engineEvent(e)));
  const controller = new StackController(
    engines,
    resolveTarget,
    stacks,
    log,
    (id, name, status) => publish({ type: "container", action: "health_status", id, name, labels: {}, status: status as "healthy", time: Date.now() }),
    publish,
  );
  const scheduler = new JobScheduler({ runner: new EngineJobRunner(controller), store: new JobStore(paths.stateDir), timer: cronTimer, publish, log });
  controller.jobs = scheduler;
  controller.runtimes = Object.keys(config.runtimes);
  controller.images = () => images;
  const server = await startServer(
    paths.socket,
    {
      controller,
      log,
      version: opts.version,
      images: () => images,
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
    opts.group,
  );
  log.info("daemon listening", { socket: paths.socket });

  // Re-sync every known stack in the background: the API answers meanwhile,
  // and per-stack locks keep a concurrent `up` from interleaving with it.
  await controller.recoverUnreadableStacks();
  for (const record of controller.stacks.list()) {
    // A stack rebuilt from its containers' labels is supervised, not converged (see recoverUnreadableStacks).
    if (record.rebuilt) continue;
    if (record.options.watch && record.engine?.kind !== "swarm") {
      try {
        controller.watcher.watch(record.name, watchedFilesOf({ ...record.project }));
      } catch (err) {
        log.warn("cannot watch stack files", { stack: record.name, error: (err as Error).message });
      }
    }
    controller
      .resync(record.name)
      .then((ok) => log.info("stack re-synced", { stack: record.name, ok }))
      .catch((err: unknown) => log.error("re-sync failed", { stack: record.name, error: (err as Error).message }));
  }

  const stop = async (): Promise<void> => {
    scheduler.close();
    controller.health.close();
    controller.supervisor.close();
    await controller.watcher.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Stack operations under way (the re-sync after start, a client's up) finish before the engines close under them.
    if (!(await controller.drain(STOP_DRAIN_MS))) log.warn("stack operations still under way at stop: their engines close under them", { waitedMs: STOP_DRAIN_MS });
    await closed;
    server.closeAllConnections();
    await engine.close();
    rmSync(paths.pidFile, { force: true });
    rmSync(paths.socket, { force: true });
    log.info("daemon stopped", {});
  };
  return { server, log, engine, controller, stop };
}

/** How long a graceful stop waits for stack operations under way; systemd's default stop timeout is 90 s. */
const STOP_DRAIN_MS = 30_000;

/** One daemon per state dir: refuse to start when another live daemon holds the pid file. */
function claimPidFile(file: string): void {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    if (pid > 0 && pid !== process.pid && isLiveDaemon(pid)) throw new Error(`another tscompose daemon (pid ${pid}) is running with this state dir`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  writeFileAtomicSync(file, `${process.pid}\n`);
}

/** Whether `pid` is a running tscompose daemon: not a zombie (see proc.ts), and after a reboot the pid may belong to anything else. */
function isLiveDaemon(pid: number): boolean {
  try {
    return isRunning(pid) && readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("daemon");
  } catch {
    return false;
  }
}

/** More faults than this within GUARD_WINDOW_MS and the daemon restarts instead of going on. */
const GUARD_MAX_FAULTS = 10;
const GUARD_WINDOW_MS = 60_000;

/**
 * The last line of defence: an exception no handler caught, or a rejection
 * nobody awaited, is logged and the daemon keeps serving. Dying would stop
 * supervision, health checks and cron for every stack because of one fault.
 *
 * Going on is safe because nothing durable depends on the failed operation
 * finishing: records are written atomically, so a fault between two writes
 * leaves the last good record; what runs is level-triggered (the next
 * re-sync, restart-policy exit or up re-plans from the engine's observed
 * state, which is the kernel's and runc's, not our memory); per-stack locks
 * are promise chains released in `finally`. What may be lost is the one
 * operation that threw (its client sees its connection end). A burst of
 * faults means some in-memory state is wedged: then the process exits, and
 * the daemon, built to survive kill -9 at any instruction, restarts into a
 * consistent state (systemd, or the next CLI command's autostart).
 */
export function installProcessGuard(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  const recent: number[] = [];
  const onFault = (kind: string) => (err: unknown) => {
    const now = Date.now();
    recent.push(now);
    while (recent.length > 0 && (recent[0] as number) < now - GUARD_WINDOW_MS) recent.shift();
    const e = err instanceof Error ? err : new Error(String(err));
    log.error(`${kind}; the daemon goes on serving`, { error: e.message, stack: e.stack });
    if (recent.length > GUARD_MAX_FAULTS) {
      log.error("too many faults in a minute: exiting so that the daemon restarts clean", { faults: recent.length });
      exit(70);
    }
  };
  const onException = onFault("uncaught exception");
  const onRejection = onFault("unhandled promise rejection");
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return () => {
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
  };
}

export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const daemon = await startDaemon(opts);
  installProcessGuard(daemon.log);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  daemon.log.info("daemon stopping", { signal });
  await daemon.stop();
  return 0;
}
