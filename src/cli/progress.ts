// Renders the daemon's progress stream the way docker compose v2 prints it in
// plain mode: one line per step ("Container shop-web-1  Started"), errors at
// the end, warnings on stderr. Returns whether the operation succeeded.
import { NO_SUCH_SERVICE } from "../daemon/api.js";
import type { StreamMessage } from "../daemon/api.js";
import { STACK_ERROR_CODES } from "../stack/errors.js";
import { BuildPrinter } from "./build-progress.js";
import { reportError } from "./errors.js";

const WORDS: Record<string, [string, string]> = {
  pull: ["Pulling", "Pulled"],
  build: ["Building", "Built"],
  "create-network": ["Creating", "Created"],
  "create-volume": ["Creating", "Created"],
  create: ["Creating", "Created"],
  start: ["Starting", "Started"],
  restart: ["Restarting", "Restarted"],
  stop: ["Stopping", "Stopped"],
  remove: ["Removing", "Removed"],
  wait: ["Waiting", "Ready"],
  "remove-network": ["Removing", "Removed"],
  "remove-volume": ["Removing", "Removed"],
  "remove-image": ["Removing", "Removed"],
};

/** The line's subject; `name` is the object's name as the daemon resolved it (the CLI loads no stack). */
export function actionSubject(kind: string, name: string): string {
  switch (kind) {
    case "pull":
    case "remove-image":
      return `Image ${name}`;
    case "create-network":
    case "remove-network":
      return `Network ${name}`;
    case "create-volume":
    case "remove-volume":
      return `Volume "${name}"`;
    case "wait":
    case "build":
      return `Service ${name}`;
    default:
      return `Container ${name}`;
  }
}

/**
 * Errors the daemon raises before it changes anything, about the request itself (a stack
 * file that does not load, a service that does not exist): printed as the CLI's own
 * errors are, without compose's "Error:" prefix for failed steps.
 */
const REQUEST_ERRORS: ReadonlySet<string> = new Set([...STACK_ERROR_CODES, NO_SUCH_SERVICE]);

export interface ProgressOutcome {
  ok: boolean;
  /** The project the daemon acted on (it resolves the name from the files). */
  project: string | undefined;
  /** Services an attached `up` leaves out of its output (`attach: false`). */
  notAttached: string[];
  /** The stack runs on swarm: nothing of ours to attach to. */
  detached?: boolean;
}

/** What compose prints before each line of a dry run (`--dry-run`). */
export const DRY_RUN_PREFIX = "DRY-RUN MODE - ";

export interface ProgressStyle {
  quiet?: boolean;
  /**
   * --quiet-pull: no pull or build progress, the steps' lines still. Our lines
   * for a pull are already what compose prints with it (Pulling, Pulled: no
   * layers); its build progress, like compose's under --quiet-pull, goes.
   */
  quietPull?: boolean;
  /** The daemon only planned: each action comes once, as done, and its line says so. */
  dryRun?: boolean;
  /** Build lines: compact per service (a terminal) or BuildKit's plain lines; default: stdout is a terminal. */
  tty?: boolean;
  /** The stream is one image build (`image build`): its errors are the build's. */
  imageBuild?: boolean;
}

export async function renderProgress(messages: AsyncIterable<StreamMessage>, style: ProgressStyle = {}): Promise<ProgressOutcome> {
  const quiet = style.quiet === true;
  const prefix = style.dryRun ? `${DRY_RUN_PREFIX} ` : "";
  let ok = true;
  let project: string | undefined;
  let notAttached: string[] = [];
  let detached = false;
  const errors: string[] = [];
  // Printed first and as the CLI prints its own errors (no compose "Error:"): `Dockerfile:LINE: INSTRUCTION: what` is the whole story.
  const buildErrors: string[] = [];
  const builds = new BuildPrinter({ quiet: quiet || style.quietPull === true, tty: style.tty ?? process.stdout.isTTY === true });
  for await (const m of messages) {
    switch (m.type) {
      case "action": {
        const words = WORDS[m.kind] ?? ["Working", "Done"];
        const what = actionSubject(m.kind, m.name);
        if (m.status === "started" && !quiet) process.stdout.write(` ${what}  ${words[0]}\n`);
        // A note replaces the word where the step did less than asked (compose's "Resource is still in use").
        else if (m.status === "done" && !quiet) process.stdout.write(` ${prefix}${what}  ${m.message ?? words[1]}\n`);
        else if (m.status === "failed" || m.status === "skipped") {
          process.stdout.write(` ${what}  Error\n`);
          (m.kind === "build" && m.status === "failed" ? buildErrors : errors).push(`${what}: ${m.message ?? "failed"}`);
        }
        break;
      }
      case "pull":
        break;
      case "build":
        builds.add(m);
        break;
      case "warning":
        process.stderr.write(`WARN ${m.message}\n`);
        break;
      case "info":
        if (!quiet) process.stdout.write(`${m.message}\n`);
        break;
      case "error":
        ok = false;
        if (m.code !== undefined && REQUEST_ERRORS.has(m.code)) reportError(m.message);
        else (style.imageBuild ? buildErrors : errors).push(m.message);
        break;
      case "result":
        if (!m.ok) ok = false;
        project = m.project;
        notAttached = m.notAttached ?? [];
        detached = m.detached === true;
        break;
    }
  }
  // Root causes first: a skipped dependant only repeats its dependency's error.
  for (const e of new Set(buildErrors)) reportError(e);
  for (const e of [...new Set(errors)]) process.stderr.write(`Error: ${e}\n`);
  return { ok: ok && errors.length === 0 && buildErrors.length === 0, project, notAttached, ...(detached ? { detached } : {}) };
}
