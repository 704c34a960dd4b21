// The daemon's HTTP API over its unix socket: paths and message shapes,
// shared by the daemon, the CLI and the TUI. Versioned under /v1. Streams are
// NDJSON: one JSON object per line, so a client can act on each as it comes.
import type { ContainerInfo, EngineEvent, LogEntry } from "../../engine/types.js";
import type { ProgressEvent } from "../../reconciler/apply.js";
import type { UpOptions } from "../../reconciler/plan.js";

export const API_VERSION = "v1";

/** Everything the daemon needs to load a stack the way the CLI did. */
export interface ProjectRef {
  files: string[];
  projectName?: string | undefined;
  projectDirectory?: string | undefined;
  envFiles: string[];
  profiles: string[];
  env: Record<string, string | undefined>;
  cwd: string;
}

export interface UpRequest {
  project: ProjectRef;
  options: UpOptions & {
    /** Wait until services are running/healthy (up --wait). */
    wait?: boolean;
    waitTimeoutMs?: number;
    /** Keep watching the stack files in the daemon (up --watch -d). */
    watch?: boolean;
  };
}

export interface DownRequest {
  /** The project to take down: by name (stack known to the daemon) or by files. */
  projectName: string;
  project?: ProjectRef;
  options: { removeVolumes?: boolean; removeOrphans?: boolean; timeoutMs?: number; services?: string[] };
}

export type StreamMessage =
  | ProgressEvent
  | { type: "warning"; message: string }
  | { type: "info"; message: string }
  | { type: "result"; ok: boolean; failed: { id: string; target: string; error: string }[]; project: string }
  | { type: "error"; message: string; code?: string };

export interface StackSummary {
  name: string;
  status: string;
  configFiles: string[];
  running: number;
  total: number;
  watching: boolean;
}

export interface ContainerView extends ContainerInfo {
  project: string | undefined;
  service: string | undefined;
  number: number | undefined;
  health: "starting" | "healthy" | "unhealthy" | undefined;
}

export type DaemonEvent = EngineEvent | { type: "stack"; action: "up" | "down" | "converged" | "reload" | "error"; project: string; message?: string; time: number };

export type { LogEntry };
