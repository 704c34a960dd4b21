import { CommanderError, type Command } from "commander";
import { describe, expect, it } from "vitest";
import { CliError } from "./errors.js";
import { buildProgram, projectOptions } from "./program.js";
import type { ProjectOptions } from "../stack/load.js";

/** Parses argv and returns the project options the chosen command would get, without running it. */
async function parsed(argv: string[]): Promise<{ opts: ProjectOptions; command: Record<string, unknown> }> {
  const program = buildProgram("0.0.0-test");
  let seen: { opts: ProjectOptions; command: Record<string, unknown> } | undefined;
  program.hook("preAction", (_root, action) => {
    seen = { opts: projectOptions(program), command: action.opts() };
    throw new Error("stop before the action");
  });
  await expect(program.parseAsync(argv, { from: "user" })).rejects.toThrow("stop before the action");
  if (!seen) throw new Error("no action was chosen");
  return seen;
}

describe("project flags before and after the command", () => {
  it("takes -f after the command, as `tscompose up -f stack.yml`", async () => {
    const { opts } = await parsed(["up", "-f", "stack.yml", "-d"]);
    expect(opts.files).toEqual(["stack.yml"]);
  });

  it("keeps the order of repeated -f across both places", async () => {
    const { opts } = await parsed(["-f", "a.yml", "--file", "b.yml", "up", "-f", "c.yml", "--file=d.yml"]);
    expect(opts.files).toEqual(["a.yml", "b.yml", "c.yml", "d.yml"]);
  });

  it("takes every project flag after the command", async () => {
    const { opts } = await parsed(["down", "-p", "shop", "--project-directory", "/srv/shop", "--env-file", "x.env", "--profile", "debug", "--profile", "ops"]);
    expect(opts).toMatchObject({ projectName: "shop", projectDirectory: "/srv/shop", envFiles: ["x.env"], profiles: ["debug", "ops"] });
  });

  it("lets a name after the command override one before it", async () => {
    const { opts } = await parsed(["-p", "first", "ps", "-p", "second"]);
    expect(opts.projectName).toBe("second");
  });

  it("keeps a command's own letters: logs -f follows, rm -f forces, run -p publishes", async () => {
    const logs = await parsed(["logs", "-f", "--file", "s.yml"]);
    expect(logs.command.follow).toBe(true);
    expect(logs.opts.files).toEqual(["s.yml"]);
    const rm = await parsed(["rm", "-f"]);
    expect(rm.command.force).toBe(true);
    expect(rm.opts.files).toEqual([]);
    const run = await parsed(["run", "-p", "8080:80", "--project-name", "x", "web"]);
    expect(run.command.publish).toEqual(["8080:80"]);
    expect(run.opts.projectName).toBe("x");
  });

  it("leaves a command's arguments after the service to the command (exec web ls -f)", async () => {
    const { opts } = await parsed(["exec", "-f", "s.yml", "web", "ls", "-f", "x"]);
    expect(opts.files).toEqual(["s.yml"]);
  });

  it("takes them on nested commands (jobs logs)", async () => {
    const { opts } = await parsed(["jobs", "logs", "-f", "s.yml", "backup"]);
    expect(opts.files).toEqual(["s.yml"]);
  });
});

describe("an unknown flag on any command", () => {
  const paths = (cmd: Command, prefix: string[] = []): string[][] => cmd.commands.flatMap((sub) => [[...prefix, sub.name()], ...paths(sub, [...prefix, sub.name()])]);
  const all = paths(buildProgram("0.0.0-test"));

  it.each(all.map((p) => [p.join(" "), p]))("%s: says `unknown flag: --no-such-flag`, exits 1 and runs nothing", async (_name, path) => {
    const program = buildProgram("0.0.0-test");
    let err = "";
    const quiet = (cmd: Command): void => {
      cmd.configureOutput({ writeErr: (s) => (err += s), writeOut: () => undefined });
      for (const sub of cmd.commands) quiet(sub);
    };
    quiet(program);
    let ran = false;
    program.hook("preAction", () => {
      ran = true;
    });
    const failure = await program.parseAsync([...(path), "--no-such-flag"], { from: "user" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(CommanderError);
    expect((failure as CommanderError).exitCode).toBe(1);
    expect(err).toBe(`unknown flag: --no-such-flag\nSee 'tscompose ${(path).join(" ")} --help'.\n`);
    expect(ran).toBe(false);
  });

  it("covers the commands users type most (the list above is not empty by accident)", () => {
    for (const c of ["up", "down", "ps", "logs", "run", "exec", "image ls", "network ls", "jobs logs"]) expect(all.map((p) => p.join(" "))).toContain(c);
  });
});

describe("compose flags not implemented yet", () => {
  it.each([
    ["up --menu", ["up", "--menu"]],
    ["build --ssh", ["build", "--ssh", "default"]],
    ["build --check", ["build", "--check"]],
  ])("%s: refused by name before the action runs, exit 1", async (named, argv) => {
    const program = buildProgram("0.0.0-test");
    let ran = false;
    program.hook("preAction", () => {
      ran = true;
    });
    const failure = await program.parseAsync(argv, { from: "user" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(CliError);
    expect((failure as CliError).exitCode).toBe(1);
    expect((failure as CliError).message).toBe(`${named}: not supported yet (see docs/compat.md)`);
    expect(ran).toBe(false);
  });

  it("stays out of --help", () => {
    expect(buildProgram("0.0.0-test").commands.find((c) => c.name() === "up")!.helpInformation()).not.toContain("--menu");
  });
});
