// Renders the daemon's progress stream the way docker compose v2 prints it in
// plain mode: one line per step ("Container shop-web-1  Started"), errors at
// the end, warnings on stderr. Returns whether the operation succeeded.
import type { StreamMessage } from "../daemon/api.js";
import type { StackSpec } from "../../reconciler/model.js";
import { containerNameFor } from "../../reconciler/container-spec.js";

const WORDS: Record<string, [string, string]> = {
  pull: ["Pulling", "Pulled"],
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
};

function subject(kind: string, target: string, stack: StackSpec | undefined): string {
  switch (kind) {
    case "pull":
      return `Image ${target}`;
    case "create-network":
    case "remove-network":
      return `Network ${stack?.networks[target]?.name ?? target}`;
    case "create-volume":
    case "remove-volume":
      return `Volume "${stack?.volumes[target]?.name ?? target}"`;
    case "create":
    case "start": {
      const dash = target.lastIndexOf("-");
      const svc = stack?.services[target.slice(0, dash)];
      return `Container ${svc && stack ? containerNameFor(stack, svc, Number(target.slice(dash + 1))) : target}`;
    }
    case "wait":
      return `Service ${target}`;
    default:
      return `Container ${target}`;
  }
}

export async function renderProgress(messages: AsyncIterable<StreamMessage>, stack: StackSpec | undefined, quiet = false): Promise<boolean> {
  let ok = true;
  const errors: string[] = [];
  for await (const m of messages) {
    switch (m.type) {
      case "action": {
        const words = WORDS[m.kind] ?? ["Working", "Done"];
        const what = subject(m.kind, m.target, stack);
        if (m.status === "started" && !quiet) process.stdout.write(` ${what}  ${words[0]}\n`);
        else if (m.status === "done" && !quiet) process.stdout.write(` ${what}  ${words[1]}\n`);
        else if (m.status === "failed" || m.status === "skipped") {
          process.stdout.write(` ${what}  Error\n`);
          errors.push(`${what}: ${m.message ?? "failed"}`);
        }
        break;
      }
      case "pull":
        break;
      case "warning":
        process.stderr.write(`WARN ${m.message}\n`);
        break;
      case "info":
        if (!quiet) process.stdout.write(`${m.message}\n`);
        break;
      case "error":
        ok = false;
        errors.push(m.message);
        break;
      case "result":
        if (!m.ok) ok = false;
        break;
    }
  }
  // Root causes first: a skipped dependant only repeats its dependency's error.
  for (const e of [...new Set(errors)]) process.stderr.write(`Error: ${e}\n`);
  return ok && errors.length === 0;
}
