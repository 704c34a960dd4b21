// `tscompose tui`: the terminal UI, a client of the daemon's API. It does not
// start the daemon (a person keeps it open; it says when the daemon is gone
// and reconnects when it is back).
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DaemonClient } from "../daemon/client.js";
import { daemonPaths } from "../daemon/paths.js";
import { App } from "./app.js";
import { openTerm } from "./term.js";

export interface TuiFlags {
  color?: boolean;
}

/** NO_COLOR (https://no-color.org): present and not empty turns colours off, as does --no-color. */
export function colorWanted(flags: TuiFlags, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flags.color === false) return false;
  return !(env.NO_COLOR !== undefined && env.NO_COLOR !== "");
}

export async function runTui(flags: TuiFlags): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write("tscompose tui needs a terminal (stdin and stdout a TTY)\n");
    return 1;
  }
  const client = new DaemonClient(daemonPaths().socket);
  const bin = resolve(dirname(fileURLToPath(import.meta.url)), "../../../bin/tscompose");
  const term = openTerm();
  const app = new App(term, client, { color: colorWanted(flags), cli: [process.execPath, bin], env: process.env });
  try {
    await app.run();
  } finally {
    term.destroy();
  }
  return 0;
}
