// The tscompose command line. Project flags follow docker compose; they go
// before the command (`tscompose -f a.yml config`) or after it (`tscompose up
// -f a.yml`); where a command reuses a letter (`logs -f` follows) the letter
// is the command's and the long form (`--file`) names the project flag.
//
// Startup time matters (every `ps` pays it): `--version` answers before any
// module is loaded, and each command's implementation is imported only when
// that command runs.
import { readFileSync } from "node:fs";
import { CommanderError } from "commander";
import type { Command } from "commander";
import { SWARM_STACK } from "../daemon/api.js";
import { actionCommandName, buildProgram } from "./program.js";
import { CliError, exitCodeOf, reportError } from "./errors.js";

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v" || argv[0] === "version")) {
    process.stdout.write(`tscompose version ${version()}\n`);
    return 0;
  }
  let program: Command | undefined;
  try {
    program = buildProgram(version());
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version requests arrive here as "errors" with exit code 0.
      return err.exitCode;
    }
    // A container command on a stack on swarm: said with the command's name.
    const shown = (err as { code?: unknown }).code === SWARM_STACK ? new CliError(`"${(program && actionCommandName(program)) ?? "this command"}" is not available on the swarm engine: ${(err as Error).message}`, undefined, { cause: err }) : err;
    reportError(shown);
    return exitCodeOf(shown);
  }
}
