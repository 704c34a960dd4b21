import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "./program.js";

/** Parses argv up to the point of running an action: a bad value must stop it before (nothing is sent to the daemon). */
async function usageError(argv: string[]): Promise<CommanderError> {
  const program = buildProgram("0.0.0");
  let ran = false;
  for (const cmd of program.commands) cmd.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  const hook = (): void => {
    ran = true;
    throw new Error("the action ran");
  };
  program.hook("preAction", hook);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    expect(ran, argv.join(" ")).toBe(false);
    if (err instanceof CommanderError) return err;
    throw err;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
}

describe("numeric flags are parsed strictly before any action", () => {
  it.each([
    [["down", "-t", "abc"], /option '-t, --timeout <seconds>' argument 'abc' is invalid. "abc" is not an integer/],
    [["down", "-t", "10s"], /"10s" is not an integer/],
    [["down", "--timeout", "-1"], /out of range/],
    [["stop", "-t", "1.5"], /"1.5" is not an integer/],
    [["restart", "-t", ""], /"" is not an integer/],
    [["up", "--wait-timeout", "5m"], /"5m" is not an integer/],
    [["logs", "-n", "ten"], /"ten" is neither "all" nor a number of lines/],
    [["logs", "--since", "yesterday"], /neither a timestamp/],
    [["exec", "--index", "0", "web", "ls"], /out of range/],
    [["port", "--index", "x", "web", "80"], /"x" is not an integer/],
  ])("%j", async (argv, message) => {
    const err = await usageError(argv);
    expect(err.code).toBe("commander.invalidArgument");
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(message);
  });

  it("passes good values on as numbers", async () => {
    const program = buildProgram("0.0.0");
    const seen: Record<string, unknown>[] = [];
    program.hook("preAction", (_p, action) => {
      seen.push(action.opts());
      throw new Error("stop here");
    });
    for (const argv of [["down", "-t", "0"], ["logs", "-n", "all", "--since", "1700000000"], ["logs", "-n", "5"]]) {
      await program.parseAsync(argv, { from: "user" }).catch(() => undefined);
    }
    expect(seen[0]?.timeout).toBe(0);
    expect(seen[1]?.tail).toBe("all");
    expect(seen[1]?.since).toBe(1_700_000_000_000);
    expect(seen[2]?.tail).toBe(5);
  });
});
