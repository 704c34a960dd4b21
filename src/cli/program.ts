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
    .command("up")
    .description("Create and start containers")
    .argument("[services...]", "services to start (default: all)")
    .option("-d, --detach", "run containers in the background")
    .option("--wait", "wait for services to be running or healthy (implies detached mode)")
    .option("--wait-timeout <seconds>", "maximum duration to wait for the stack to be running or healthy")
    .option("--force-recreate", "recreate containers even if their configuration has not changed")
    .option("--no-recreate", "if containers already exist, do not recreate them")
    .option("--no-deps", "do not start linked services")
    .option("--scale <service=num>", "scale a service to NUM instances (repeatable)", collect, [])
    .option("--remove-orphans", "remove containers for services not defined in the stack file")
    .addOption(new Option("--pull <policy>", "pull images before running").choices(["always", "missing", "never"]))
    .option("--abort-on-container-exit", "stop all containers if any container stops (attached mode)")
    .option("--exit-code-from <service>", "return the exit code of the selected service container (implies --abort-on-container-exit)")
    .option("--no-color", "produce monochrome output")
    .option("--watch", "watch the stack files and converge on every change")
    .action(async (services: string[], opts: Record<string, unknown>) => {
      const { runUp } = await import("./up.js");
      process.exitCode = await runUp(projectOptions(program), services, opts);
    });

  program
    .command("down")
    .description("Stop and remove containers, networks (and with -v, volumes)")
    .option("-v, --volumes", "remove named volumes declared in the stack file and anonymous volumes")
    .option("--remove-orphans", "remove containers for services not defined in the stack file")
    .option("-t, --timeout <seconds>", "shutdown timeout in seconds")
    .action(async (opts: Record<string, unknown>) => {
      const { runDown } = await import("./down.js");
      process.exitCode = await runDown(projectOptions(program), opts);
    });

  program
    .command("ps")
    .description("List the stack's containers")
    .argument("[services...]")
    .option("-a, --all", "show all stopped containers")
    .option("-q, --quiet", "only display IDs")
    .option("--services", "display services")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .option("--status <status>", "filter by status (repeatable)", collect, [])
    .action(async (services: string[], opts: Record<string, unknown>) => {
      const { runPs } = await import("./ps.js");
      process.exitCode = await runPs(projectOptions(program), services, opts);
    });

  program
    .command("ls")
    .description("List running stacks")
    .option("-a, --all", "show all stacks, stopped ones too")
    .option("-q, --quiet", "only display names")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (opts: Record<string, unknown>) => {
      const { runLs } = await import("./ps.js");
      process.exitCode = await runLs(opts);
    });

  program
    .command("logs")
    .description("View output from containers")
    .argument("[services...]")
    .option("-f, --follow", "follow log output")
    .option("-t, --timestamps", "show timestamps")
    .option("-n, --tail <lines>", 'number of lines to show from the end of the logs ("all" for every line)')
    .option("--since <time>", "show logs since a timestamp (RFC 3339) or relative (e.g. 42m)")
    .option("--no-color", "produce monochrome output")
    .option("--no-log-prefix", "do not print a prefix in logs")
    .action(async (services: string[], opts: Record<string, unknown>) => {
      const { runLogs } = await import("./logs.js");
      process.exitCode = await runLogs(projectOptions(program), services, { ...opts, prefix: opts.logPrefix as boolean | undefined });
    });

  const lifecycle: [verb: "start" | "stop" | "restart" | "kill" | "pause" | "unpause" | "rm", description: string][] = [
    ["start", "Start services"],
    ["stop", "Stop services"],
    ["restart", "Restart service containers"],
    ["kill", "Force stop service containers"],
    ["pause", "Pause services"],
    ["unpause", "Unpause services"],
    ["rm", "Remove stopped service containers"],
  ];
  for (const [verb, description] of lifecycle) {
    const cmd = program.command(verb).description(description).argument("[services...]");
    if (verb === "stop" || verb === "restart") cmd.option("-t, --timeout <seconds>", "shutdown timeout in seconds");
    if (verb === "kill") cmd.option("-s, --signal <signal>", "signal to send to the container", "SIGKILL");
    if (verb === "rm") cmd.option("-f, --force", "don't ask to confirm removal").option("-s, --stop", "stop the containers first").option("-v, --volumes", "remove anonymous volumes");
    cmd.action(async (services: string[], opts: Record<string, unknown>) => {
      const { runLifecycle } = await import("./lifecycle.js");
      process.exitCode = await runLifecycle(verb, projectOptions(program), services, opts);
    });
  }

  program
    .command("daemon")
    .description("Run the tscompose daemon in the foreground")
    .option("--state-dir <dir>", "where the daemon keeps its state (default /var/lib/tscompose)")
    .option("--group <gid>", "group allowed to use the API socket")
    .option("--log-stderr", "also log to stderr")
    .action(async (opts: { stateDir?: string; group?: string; logStderr?: boolean }) => {
      const { runDaemon } = await import("../daemon/main.js");
      process.exitCode = await runDaemon({ stateDir: opts.stateDir, group: opts.group !== undefined ? Number(opts.group) : undefined, version, stderr: opts.logStderr });
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
