// docker compose v2's flags that tscompose does not implement yet. Each is
// declared, hidden from --help, so that using one says so by name and exits
// 1 before anything runs, rather than being taken for a typo (`unknown
// flag`) or, worse, ignored. docs/compat.md lists them; implementing one
// means taking it out of here.
import { Option } from "commander";
import type { Command } from "commander";
import { CliError } from "./errors.js";

export const NOT_YET: Readonly<Record<string, readonly string[]>> = {
  up: ["--menu"],
  build: ["--builder <name>", "--check", "-m, --memory <bytes>", "--print", "--provenance <value>", "--sbom <value>", "--ssh <value>"],
  config: ["--lock-image-digests", "--resolve-image-digests"],
};

const declared = new WeakMap<Command, Option[]>();

/** Declares the flags of NOT_YET on the program's commands (hidden from their help). */
export function declareNotYet(program: Command): void {
  for (const cmd of program.commands) {
    const flags = NOT_YET[cmd.name()];
    if (!flags) continue;
    const options = flags.map((f) => new Option(f, "not supported yet").hideHelp());
    for (const o of options) cmd.addOption(o);
    declared.set(cmd, options);
  }
}

/** Before an action runs: a NOT_YET flag given on the command line is an error naming it. */
export function refuseNotYet(cmd: Command): void {
  for (const o of declared.get(cmd) ?? []) {
    if (cmd.getOptionValueSource(o.attributeName()) === "cli") {
      throw new CliError(`${cmd.name()} ${o.long ?? o.short ?? o.flags}: not supported yet (see docs/compat.md)`);
    }
  }
}
