// Where the daemon keeps its socket, state and log. Overridable by
// environment so tests and several daemons on one machine do not collide.
import { join } from "node:path";

export interface DaemonPaths {
  stateDir: string;
  socket: string;
  logFile: string;
  pidFile: string;
  configFile: string;
}

export function daemonPaths(env: NodeJS.ProcessEnv = process.env, stateDirFlag?: string): DaemonPaths {
  const stateDir = stateDirFlag ?? env.TSCOMPOSE_STATE_DIR ?? "/var/lib/tscompose";
  return {
    stateDir,
    socket: env.TSCOMPOSE_SOCKET ?? join(stateDir, "tscompose.sock"),
    logFile: env.TSCOMPOSE_LOG ?? join(stateDir, "daemon.log"),
    pidFile: join(stateDir, "daemon.pid"),
    configFile: env.TSCOMPOSE_CONFIG ?? "/etc/tscompose/daemon.json",
  };
}
