// Declarations of the commands that work inside a stack's containers: exec,
// run, attach, top, events, port and stats, with docker compose's flags. Like
// program.ts, implementations are imported lazily in the actions.
//
// exec and run take the command to run after the service, options included
// (`exec web ls -la`): passThroughOptions stops option parsing at the first
// argument, so `-la` goes to ls (the program has enablePositionalOptions).
import { Option } from "commander";
import type { Command } from "commander";
import type { ProjectOptions } from "../stack/load.js";
import { boolFlag, indexFlag } from "./flag-values.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerContainerCommands(program: Command, projectOptions: () => ProjectOptions): void {
  program
    .command("exec")
    .description("Execute a command in a running container")
    .argument("<service>")
    .argument("<command...>", "command and arguments")
    .passThroughOptions()
    .option("-d, --detach", "detached mode: run the command in the background")
    .option("-T, --no-TTY", "disable pseudo-TTY allocation (by default exec allocates a TTY when stdin is one)")
    .option("-e, --env <KEY=VAL>", "set environment variables (repeatable)", collect, [])
    .option("-u, --user <user>", "run the command as this user")
    .option("-w, --workdir <dir>", "path to workdir directory for this command")
    .option("--index <index>", "index of the container if the service has several replicas", indexFlag, 1)
    .option("--privileged", "give extended privileges to the process: every capability")
    .addOption(new Option("-i, --interactive", "keep STDIN open (always on; accepted for compatibility)").hideHelp())
    .action(async (service: string, command: string[], opts: Record<string, unknown>) => {
      const { runExec } = await import("./exec.js");
      process.exitCode = await runExec(projectOptions(), service, command, opts);
    });

  program
    .command("run")
    .description("Run a one-off command on a service")
    .argument("<service>")
    .argument("[command...]", "command and arguments (default: the service's)")
    .passThroughOptions()
    .option("--rm", "automatically remove the container when it exits")
    .option("-d, --detach", "run the container in the background and print its name")
    .option("-T, --no-TTY", "disable pseudo-TTY allocation")
    .option("-e, --env <KEY=VAL>", "set environment variables (repeatable)", collect, [])
    .option("-l, --label <KEY=VAL>", "add or override a label (repeatable)", collect, [])
    .option("--name <name>", "assign a name to the container")
    .option("--entrypoint <cmd>", "override the entrypoint of the image")
    .option("-u, --user <user>", "run as this username or uid")
    .option("-w, --workdir <dir>", "working directory inside the container")
    .option("--no-deps", "don't start linked services")
    .option("-p, --publish <port>", "publish a container's port(s) to the host (repeatable)", collect, [])
    .option("-P, --service-ports", "run with the service's ports enabled and mapped to the host")
    .option("--use-aliases", "use the service's network aliases in the network(s) the container connects to")
    .addOption(new Option("--pull <policy>", "pull image before running").choices(["always", "missing", "never"]))
    .option("--quiet-pull", "pull without printing progress information")
    .option("--build", "build the image before starting the container (services with build:)")
    .option("-v, --volume <volume>", "bind mount a volume, SRC:DST[:MODE] (repeatable; added to the service's)", collect, [])
    .option("--cap-add <capability>", "add Linux capabilities (repeatable)", collect, [])
    .option("--cap-drop <capability>", "drop Linux capabilities (repeatable)", collect, [])
    .option("--env-from-file <file>", "set environment variables from a file (repeatable; -e wins)", collect, [])
    .option("-q, --quiet", "print no progress (pulls, builds, dependencies)")
    .option("--quiet-build", "suppress the build's progress output")
    .option("--remove-orphans", "remove containers for services not defined in the stack file")
    .addOption(new Option("-i, --interactive", "keep STDIN open (accepted for compatibility)").hideHelp())
    .action(async (service: string, command: string[], opts: Record<string, unknown>) => {
      const { runRun } = await import("./run.js");
      process.exitCode = await runRun(projectOptions(), service, command, opts);
    });

  program
    .command("top")
    .description("Display the running processes")
    .argument("[services...]")
    .action(async (services: string[]) => {
      const { runTop } = await import("./top.js");
      process.exitCode = await runTop(projectOptions(), services);
    });

  program
    .command("events")
    .description("Receive real time events from containers")
    .argument("[services...]")
    .option("--json", "output events as a stream of json objects")
    .action(async (services: string[], opts: { json?: boolean }) => {
      const { runEvents } = await import("./events.js");
      process.exitCode = await runEvents(projectOptions(), services, opts);
    });

  program
    .command("attach")
    .description("Attach local standard input, output, and error streams to a service's running container")
    .argument("<service>")
    .option("--index <index>", "index of the container if the service has several replicas", indexFlag, 1)
    .option("--no-stdin", "do not attach STDIN")
    .option("--sig-proxy [bool]", "proxy all received signals to the process", boolFlag, true)
    .option("--detach-keys <keys>", "override the key sequence for detaching from a container", "ctrl-p,ctrl-q")
    .action(async (service: string, opts: Record<string, unknown>) => {
      const { runAttach } = await import("./attach-service.js");
      process.exitCode = await runAttach(projectOptions(), service, opts);
    });

  program
    .command("port")
    .description("Print the public port for a port binding")
    .argument("<service>")
    .argument("<private_port>")
    .addOption(new Option("--protocol <protocol>", "tcp or udp").choices(["tcp", "udp", "sctp"]).default("tcp"))
    .option("--index <index>", "index of the container if the service has several replicas", indexFlag, 1)
    .action(async (service: string, privatePort: string, opts: { protocol?: string; index?: number }) => {
      const { runPort } = await import("./port.js");
      process.exitCode = await runPort(projectOptions(), service, privatePort, opts);
    });

  program
    .command("stats")
    .description("Display a live stream of container(s) resource usage statistics")
    .argument("[services...]")
    .option("-a, --all", "show all containers (default shows just running)")
    .option("--no-stream", "disable streaming stats and only pull the first result")
    .option("--no-trunc", "do not truncate output")
    .option("--format <format>", 'output format: "table", "json", or a Go template ({{.Name}}, {{json .}})', "table")
    .action(async (services: string[], opts: Record<string, unknown>) => {
      const { runStats } = await import("./stats.js");
      process.exitCode = await runStats(projectOptions(), services, opts);
    });

  program
    .command("cp")
    .description("Copy files/folders between a service container and the local filesystem")
    .usage("[OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n       tscompose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH")
    .argument("<source>")
    .argument("<destination>")
    .option("--index <index>", "index of the container if the service has several replicas (default: all of them into, the first out of)", indexFlag)
    .option("-a, --archive", "archive mode (copy all uid/gid information)")
    .option("-L, --follow-link", "always follow symbol link in SRC_PATH")
    .action(async (source: string, destination: string, opts: Record<string, unknown>) => {
      const { runCp } = await import("./cp.js");
      process.exitCode = await runCp(projectOptions(), source, destination, opts);
    });

  program
    .command("export")
    .description("Export a service container's filesystem as a tar archive")
    .argument("<service>")
    .option("-o, --output <file>", "write to a file (required: stdout is not supported yet)")
    .option("--index <index>", "index of the container if the service has several replicas", indexFlag, 1)
    .action(async (service: string, opts: { output?: string; index?: number }) => {
      const { runExport } = await import("./export.js");
      process.exitCode = await runExport(projectOptions(), service, opts);
    });
}
