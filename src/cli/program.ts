// Declares every command with its flags and help text. Implementations are
// imported lazily in the action, so `tscompose --help` loads none of them.
import { Command, Option } from "commander";
import type { ProjectOptions } from "../stack/load.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export interface GlobalFlags {
  file: string[];
  projectName?: string;
  projectDirectory?: string;
  envFile: string[];
  profile: string[];
}

export function projectOptions(program: Command): ProjectOptions {
  const g = program.opts<GlobalFlags>();
  return {
    files: g.file,
    projectName: g.projectName,
    projectDirectory: g.projectDirectory,
    envFiles: g.envFile,
    profiles: g.profile,
    env: process.env,
    cwd: process.cwd(),
  };
}

export function buildProgram(version: string): Command {
  const program = new Command("tscompose")
    .description("Declarative multi-container orchestrator for compose-style stacks")
    .version(`tscompose version ${version}`, "-v, --version", "show the tscompose version")
    .enablePositionalOptions()
    .option("-f, --file <file>", "stack file (repeatable; later files override earlier ones)", collect, [])
    .option("-p, --project-name <name>", "project name")
    .option("--project-directory <dir>", "working directory (default: the directory of the first stack file)")
    .option("--env-file <file>", "alternate environment file (repeatable)", collect, [])
    .option("--profile <profile>", "enable a profile (repeatable)", collect, [])
    .showHelpAfterError()
    .exitOverride();

  program
    .command("config")
    .description("Parse, resolve and render the stack file in canonical form")
    .addOption(new Option("--format <format>", "output format").choices(["yaml", "json"]).default("yaml"))
    .option("--services", "print the service names, one per line")
    .option("--volumes", "print the volume names, one per line")
    .option("--networks", "print the network names, one per line")
    .option("--profiles", "print the profile names, one per line")
    .option("--images", "print the image names, one per line")
    .option("--hash <services>", 'print the config hash of the services ("*" for all)')
    .option("-q, --quiet", "only validate the configuration, print nothing")
    .option("-o, --output <file>", "save to a file instead of stdout")
    .option("--no-interpolate", "do not interpolate environment variables")
    .option("--no-normalize", "do not normalize the stack (print the merged file)")
    .action(async (opts: Record<string, unknown>) => {
      const { runConfig } = await import("./config.js");
      await runConfig(projectOptions(program), opts);
    });

  program
    .command("version")
    .description("Show the tscompose version")
    .addOption(new Option("--format <format>", "output format").choices(["pretty", "json"]).default("pretty"))
    .option("--short", "print only the version number")
    .action((opts: { format: string; short?: boolean }) => {
      if (opts.short) process.stdout.write(`${version}\n`);
      else if (opts.format === "json") process.stdout.write(`${JSON.stringify({ version })}\n`);
      else process.stdout.write(`tscompose version ${version}\n`);
    });

  for (const cmd of program.commands) cmd.exitOverride().showHelpAfterError();
  return program;
}
