// Declares every command with its flags and help text. Implementations are
// imported lazily in the action, so `tscompose --help` loads none of them.
import { Command, Option } from "commander";
import type { ProjectOptions } from "../stack/load.js";
import type { PullFlags, PushFlags } from "./images.js";
import { registerContainerCommands } from "./commands-containers.js";
import { registerObjectCommands } from "./commands-objects.js";
import type { EngineChoice } from "../daemon/api.js";
import { ENGINE_KINDS, engineChoiceFrom, type EngineFlags } from "./engine-flags.js";
import { CliError } from "./errors.js";
import { declareNotYet, refuseNotYet } from "./not-yet.js";
import { useEngineChoice } from "./project-name.js";
import { boolFlag, indexFlag, secondsFlag, tailFlag, timestampFlag } from "./flag-values.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * A flag named --no-X that takes a value (compose's --no-attach SERVICE):
 * commander reads every --no- flag as the negation of --X, which would make
 * it set `attach`; this one is its own option, `noAttach`.
 */
function valueFlag(flags: string, description: string): Option {
  const o = new Option(flags, description);
  o.negate = false;
  return o;
}

const DRY_RUN_HELP = "execute command in dry run mode: print the actions, change nothing";

/** --dry-run, given before the command (`tscompose --dry-run up`, as compose documents it) or after it. */
function dryRun(program: Command, opts: { dryRun?: unknown }): boolean {
  return opts.dryRun === true || program.opts<{ dryRun?: boolean }>().dryRun === true;
}

export interface GlobalFlags {
  file: string[];
  projectName?: string;
  projectDirectory?: string;
  envFile: string[];
  profile: string[];
}

/**
 * The project flags, given before the command (`tscompose -f a.yml up`), after
 * it (`tscompose up -f a.yml`), or both. Repeatable flags keep their order
 * across the two places: those before the command come first, as on the
 * command line.
 */
export function projectOptions(program: Command): ProjectOptions {
  const chain: Command[] = [];
  for (let c: Command | null = actionCommands.get(program) ?? program; c; c = c.parent) chain.unshift(c);
  const g: GlobalFlags = { file: [], envFile: [], profile: [] };
  for (const c of chain) {
    const o = c.opts<Partial<Record<keyof GlobalFlags, unknown>>>();
    const own = projectFlagsOf(c);
    if (own.has("file") && Array.isArray(o.file)) g.file.push(...(o.file as string[]));
    if (own.has("envFile") && Array.isArray(o.envFile)) g.envFile.push(...(o.envFile as string[]));
    if (own.has("profile") && Array.isArray(o.profile)) g.profile.push(...(o.profile as string[]));
    if (own.has("projectName") && typeof o.projectName === "string") g.projectName = o.projectName;
    if (own.has("projectDirectory") && typeof o.projectDirectory === "string") g.projectDirectory = o.projectDirectory;
  }
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

/** The engine the global flags (and their environment) ask for; undefined: the daemon's default. */
export function engineChoiceOfProgram(program: Command, env: NodeJS.ProcessEnv = process.env): EngineChoice | undefined {
  return engineChoiceFrom(program.opts<EngineFlags>(), env, process.cwd());
}

/** The command whose action runs, recorded by a preAction hook so projectOptions can read the flags given after it. */
const actionCommands = new WeakMap<Command, Command>();

/** The name of the command that ran (`exec`, `compose exec` ...'s last word), for errors that should name it. */
export function actionCommandName(program: Command): string | undefined {
  return actionCommands.get(program)?.name();
}

const PROJECT_FLAGS: { key: keyof GlobalFlags; short?: string; long: string; value: string; description: string; repeatable: boolean }[] = [
  { key: "file", short: "-f", long: "--file", value: "<file>", description: "stack file (repeatable; later files override earlier ones)", repeatable: true },
  { key: "projectName", short: "-p", long: "--project-name", value: "<name>", description: "project name", repeatable: false },
  { key: "projectDirectory", long: "--project-directory", value: "<dir>", description: "working directory (default: the directory of the first stack file)", repeatable: false },
  { key: "envFile", long: "--env-file", value: "<file>", description: "alternate environment file (repeatable)", repeatable: true },
  { key: "profile", long: "--profile", value: "<profile>", description: "enable a profile (repeatable)", repeatable: true },
];

/** Which project flags a command declares itself (its own flags of the same name or letter win). */
function projectFlagsOf(cmd: Command): Set<keyof GlobalFlags> {
  const keys = new Set<keyof GlobalFlags>();
  for (const f of PROJECT_FLAGS) if (cmd.options.some((o) => o.long === f.long)) keys.add(f.key);
  return keys;
}

/**
 * Declares the project flags on cmd and every command below it, as docker
 * compose accepts them after the command too. Where the command uses the
 * same letter for its own flag (`logs -f` follows, `rm -f` forces, `run -p`
 * publishes), the letter keeps the command's meaning and only the long form
 * (`--file`, `--project-name`) names the project flag there.
 */
function addProjectFlags(cmd: Command): void {
  for (const sub of cmd.commands) {
    for (const f of PROJECT_FLAGS) {
      if (sub.options.some((o) => o.long === f.long)) continue;
      const shortTaken = f.short !== undefined && sub.options.some((o) => o.short === f.short);
      const flags = `${f.short && !shortTaken ? `${f.short}, ` : ""}${f.long} ${f.value}`;
      const opt = new Option(flags, f.description).hideHelp();
      if (f.repeatable) opt.argParser(collect).default([]);
      sub.addOption(opt);
    }
    addProjectFlags(sub);
  }
}

/** The image commands of the docker CLI: requests to the daemon, which owns the image store (src/cli/images.ts). */
function addImageCommands(program: Command): void {
  const pull = (cmd: Command): Command =>
    cmd
      .description("Pull an image (docker pull), or with no image inside a stack directory every service's image")
      .argument("[image...]", "image to pull, or services of the stack (default: all)")
      .option("--platform <platform>", "pull for this platform (os/arch[/variant])")
      .option("-q, --quiet", "suppress progress output, print only the image name")
      .option("--dry-run", DRY_RUN_HELP)
      .option("--ignore-buildable", "of the stack's services: ignore images that can be built")
      .option("--ignore-pull-failures", "of the stack's services: pull what it can and ignore images with pull failures")
      .option("--include-deps", "of the stack's services: also pull services declared as dependencies")
      .addOption(new Option("--policy <policy>", "of the stack's services: apply this pull policy instead of theirs").choices(["missing", "always"]))
      .action(async (names: string[], opts: PullFlags) => {
        const { runPull } = await import("./images.js");
        process.exitCode = await runPull(projectOptions(program), names, { ...opts, dryRun: dryRun(program, opts) });
      });
  const ls = (cmd: Command, stackAware = false): Command =>
    cmd
      .description(stackAware ? "List images (docker images); with -p, -f or --project-directory, the stack's containers' images (docker compose images)" : "List images")
      .argument(stackAware ? "[repository-or-services...]" : "[repository]", stackAware ? "only images of this repository[:tag]; for a stack, its services" : "only images of this repository[:tag]")
      .option("-a, --all", "show all images")
      .option("-q, --quiet", "only show image IDs")
      .option("--digests", "show digests")
      .option("--no-trunc", "don't truncate output")
      .option("--format <format>", 'output format: "table", "json", or a template such as "{{.Repository}}:{{.Tag}}"')
      .action(async (args: string | string[] | undefined, opts: { all?: boolean; quiet?: boolean; digests?: boolean; trunc?: boolean; format?: string }) => {
        const project = projectOptions(program);
        // A named project makes it compose's `images`: docker's stays the default, as before.
        if (stackAware && (project.files.length > 0 || project.projectName !== undefined || project.projectDirectory !== undefined)) {
          if (opts.all || opts.digests || opts.trunc === false) throw new CliError("images of a stack: -a, --digests and --no-trunc are docker images' flags, not docker compose images'");
          const { runStackImages } = await import("./stack-images.js");
          process.exitCode = await runStackImages(project, Array.isArray(args) ? args : [], opts);
          return;
        }
        const list = Array.isArray(args) ? args : args === undefined ? [] : [args];
        if (list.length > 1) throw new CliError(`"images" requires at most 1 argument (a repository[:tag]), got ${list.length}`);
        const filter = list[0];
        const { runImages } = await import("./images.js");
        process.exitCode = await runImages(filter, { ...opts, noTrunc: opts.trunc === false });
      });
  const rm = (cmd: Command): Command =>
    cmd
      .description("Remove one or more images")
      .argument("<image...>")
      .option("-f, --force", "force removal of the image")
      .action(async (names: string[], opts: { force?: boolean }) => {
        const { runRmi } = await import("./images.js");
        process.exitCode = await runRmi(names, opts);
      });
  const tag = (cmd: Command): Command =>
    cmd
      .description("Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
      .argument("<source>")
      .argument("<target>")
      .action(async (source: string, target: string) => {
        const { runTag } = await import("./images.js");
        process.exitCode = await runTag(source, target);
      });
  const save = (cmd: Command): Command =>
    cmd
      .description("Save one or more images to a tar archive (streamed to STDOUT by default)")
      .argument("<image...>")
      .option("-o, --output <file>", "write to a file instead of STDOUT")
      .action(async (names: string[], opts: { output?: string }) => {
        const { runSave } = await import("./images.js");
        process.exitCode = await runSave(names, opts);
      });
  const load = (cmd: Command): Command =>
    cmd
      .description("Load images from a tar archive (docker save or OCI layout) or STDIN")
      .option("-i, --input <file>", "read from a tar archive file instead of STDIN")
      .option("-q, --quiet", "suppress the load output")
      .action(async (opts: { input?: string; quiet?: boolean }) => {
        const { runLoad } = await import("./images.js");
        process.exitCode = await runLoad(opts);
      });
  const push = (cmd: Command): Command =>
    cmd
      .description("Push an image to a registry (docker push), or with no image inside a stack directory the services' images (docker compose push)")
      .argument("[image-or-services...]", "image to push, or services of the stack (default: all)")
      .option("-q, --quiet", "push without printing progress")
      .option("--ignore-push-failures", "of the stack's services: push what it can and ignore images with push failures")
      .option("--include-deps", "of the stack's services: also push images of services declared as dependencies")
      .action(async (names: string[], opts: PushFlags) => {
        const { runPush } = await import("./images.js");
        process.exitCode = await runPush(projectOptions(program), names, opts);
      });
  const imp = (cmd: Command): Command =>
    cmd
      .description("Import the contents from a tarball to create a filesystem image")
      .argument("<file>", 'a tar file, or "-" for STDIN')
      .argument("[reference]", "repository[:tag] to tag the image with")
      .option("-c, --change <instruction>", "apply a Dockerfile instruction to the created image (repeatable)", collect, [])
      .option("-m, --message <message>", "set the commit message for the imported image")
      .option("--platform <platform>", "set the platform of the image")
      .action(async (file: string, ref: string | undefined, opts: { change?: string[]; message?: string; platform?: string }) => {
        const { runImport } = await import("./images.js");
        process.exitCode = await runImport(file, ref, opts);
      });
  program
    .command("commit")
    .description("Create a new image from a container's changes")
    .argument("<container>", "a container name or ID (as `ps` shows it)")
    .argument("[reference]", "repository[:tag] to tag the image with")
    .option("-a, --author <author>", 'author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option("-c, --change <instruction>", "apply a Dockerfile instruction to the created image (repeatable)", collect, [])
    .option("-m, --message <message>", "commit message")
    .option("-p, --pause [bool]", "pause the container during commit (--pause=false to not)", boolFlag, true)
    .action(async (container: string, ref: string | undefined, opts: { author?: string; change?: string[]; message?: string; pause?: boolean }) => {
      const { runCommit } = await import("./images.js");
      process.exitCode = await runCommit(container, ref, opts);
    });
  const inspect = (cmd: Command): Command =>
    cmd
      .description("Display detailed information on one or more images")
      .argument("<image...>")
      .option("-f, --format <template>", "format the output using a template such as {{.Id}}")
      .action(async (names: string[], opts: { format?: string }) => {
        const { runImageInspect } = await import("./images.js");
        process.exitCode = await runImageInspect(names, opts);
      });
  const prune = (cmd: Command): Command =>
    cmd
      .description("Remove unused images")
      .option("-a, --all", "remove all unused images, not just dangling ones")
      .option("-f, --force", "do not prompt for confirmation")
      .action(async (opts: { all?: boolean; force?: boolean }) => {
        const { runImagePrune } = await import("./images.js");
        process.exitCode = await runImagePrune(opts);
      });

  pull(program.command("pull"));
  ls(program.command("images"), true);
  rm(program.command("rmi"));
  tag(program.command("tag"));
  save(program.command("save"));
  load(program.command("load"));
  push(program.command("push"));
  imp(program.command("import"));

  const image = program.command("image").description("Manage images");
  image
    .command("build")
    .description("Build an image from a Dockerfile (docker build)")
    .argument("<context>", "the build context directory")
    .option("-t, --tag <name>", "name and optionally a tag (repeatable)", collect, [])
    .option("-f, --file <path>", "name of the Dockerfile (default: CONTEXT/Dockerfile)")
    .option("--build-arg <key=value>", "set build-time variables (repeatable)", collect, [])
    .option("--target <stage>", "set the target build stage to build")
    .option("--no-cache", "do not use cache when building the image")
    .option("--pull", "always attempt to pull a newer version of the image")
    .option("--label <key=value>", "set metadata for an image (repeatable)", collect, [])
    .action(async (context: string, opts: { tag?: string[]; file?: string; buildArg?: string[]; target?: string; cache?: boolean; pull?: boolean; label?: string[] }) => {
      const { runImageBuild } = await import("./build.js");
      process.exitCode = await runImageBuild(context, { ...opts, noCache: opts.cache === false });
    });
  pull(image.command("pull"));
  ls(image.command("ls").alias("list"));
  rm(image.command("rm").alias("remove"));
  tag(image.command("tag"));
  save(image.command("save"));
  load(image.command("load"));
  push(image.command("push"));
  imp(image.command("import"));
  inspect(image.command("inspect"));
  prune(image.command("prune"));
  for (const cmd of image.commands) cmd.exitOverride();
  image.exitOverride();

  program
    .command("login")
    .description("Log in to a registry (credentials go to ~/.docker/config.json, as docker login)")
    .argument("[server]", "registry host (default: Docker Hub)")
    .option("-u, --username <username>")
    .option("-p, --password <password>")
    .option("--password-stdin", "take the password from stdin")
    .action(async (server: string | undefined, opts: { username?: string; password?: string; passwordStdin?: boolean }) => {
      const { runLogin } = await import("./login.js");
      process.exitCode = await runLogin(server, opts);
    });

  program
    .command("logout")
    .description("Log out from a registry")
    .argument("[server]", "registry host (default: Docker Hub)")
    .action(async (server: string | undefined) => {
      const { runLogout } = await import("./login.js");
      process.exitCode = await runLogout(server);
    });
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
    .option("--dry-run", DRY_RUN_HELP)
    .addOption(new Option("--engine <engine>", "the engine a stack runs on (env TSCOMPOSE_ENGINE; default: daemon.json's, else embedded)").choices(ENGINE_KINDS))
    .option("-H, --host <host>", "the dockerd of the docker engine: unix:///path or tcp://host:port (env DOCKER_HOST)")
    .option("--tlsverify", "use TLS and verify the dockerd (env DOCKER_TLS_VERIFY)")
    .option("--tlscacert <file>", "trust certs signed only by this CA (default $DOCKER_CERT_PATH/ca.pem, else ~/.docker/ca.pem)")
    .option("--tlscert <file>", "TLS certificate file (default $DOCKER_CERT_PATH/cert.pem, else ~/.docker/cert.pem)")
    .option("--tlskey <file>", "TLS key file (default $DOCKER_CERT_PATH/key.pem, else ~/.docker/key.pem)")
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
    .option("--no-path-resolution", "don't resolve file paths")
    .option("--no-env-resolution", "don't resolve service env files")
    .option("--no-consistency", "don't check model consistency - warning: may produce an invalid stack file")
    .option("--variables", "print the variables the stack file interpolates, with their default values")
    .option("--environment", "print the environment used for interpolation")
    .action(async (opts: Record<string, unknown>) => {
      const { runConfig } = await import("./config.js");
      await runConfig(projectOptions(program), opts);
    });

  program
    .command("build")
    .description("Build or rebuild services")
    .argument("[services...]", "services to build (default: every service with build:)")
    .option("--no-cache", "do not use cache when building the image")
    .option("--pull", "always attempt to pull a newer version of the image")
    .option("--build-arg <key=value>", "set build-time variables for services (repeatable)", collect, [])
    .option("-q, --quiet", "don't print anything to STDOUT")
    .option("--with-dependencies", "also build dependencies (transitively)")
    .option("--push", "push the service images once built (as push SERVICE...)")
    .action(async (services: string[], opts: { cache?: boolean; pull?: boolean; buildArg?: string[]; quiet?: boolean; withDependencies?: boolean; push?: boolean }) => {
      const { runBuild } = await import("./build.js");
      process.exitCode = await runBuild(projectOptions(program), services, { ...opts, noCache: opts.cache === false });
    });

  program
    .command("up")
    .description("Create and start containers")
    .argument("[services...]", "services to start (default: all)")
    .option("-d, --detach", "run containers in the background")
    .option("--wait", "wait for services to be running or healthy (implies detached mode)")
    .option("--no-wait", "on the swarm engine: return once the services are sent, without waiting for them to converge")
    .option("--wait-timeout <seconds>", "maximum duration to wait for the stack to be running or healthy", secondsFlag)
    .option("--force-recreate", "recreate containers even if their configuration has not changed")
    .option("--no-recreate", "if containers already exist, do not recreate them")
    .option("--always-recreate-deps", "recreate the containers of the dependencies of the services named (incompatible with --no-recreate)")
    .option("--no-deps", "do not start linked services")
    .option("--scale <service=num>", "scale a service to NUM instances (repeatable)", collect, [])
    .option("--remove-orphans", "remove containers for services not defined in the stack file")
    .option("-t, --timeout <seconds>", "shutdown timeout in seconds of the containers up stops: recreated ones, and all when attached", secondsFlag)
    .option("-V, --renew-anon-volumes", "recreate anonymous volumes instead of retrieving data from the previous containers")
    .option("--build", "build images before starting containers")
    .option("--no-build", "don't build an image, even if it's missing")
    .addOption(new Option("--pull <policy>", "pull images before running").choices(["always", "missing", "never"]))
    .option("--quiet-pull", "pull (and build) without printing progress information")
    .option("--abort-on-container-exit", "stop all containers if any container stops (attached mode)")
    .option("--abort-on-container-failure", "stop all containers if any container exits with a failure; up exits with its code (attached mode)")
    .option("--exit-code-from <service>", "return the exit code of the selected service container (implies --abort-on-container-exit)")
    .option("--attach <service>", "restrict attaching to the specified services (repeatable; incompatible with --attach-dependencies)", collect, [])
    .addOption(valueFlag("--no-attach <service>", "do not attach (stream logs) to the specified services (repeatable)").argParser(collect).default([]))
    .option("--attach-dependencies", "also attach to the log output of the services' dependencies")
    .option("--no-color", "produce monochrome output")
    .option("--no-log-prefix", "don't print the service prefix in logs")
    .option("--timestamps", "show timestamps")
    .option("-y, --yes", 'assume "yes" as answer to all prompts and run non-interactively')
    .option("--watch", "watch the stack files and converge on every change")
    .option("--no-start", "don't start the services after creating them (as create)")
    .option("--dry-run", DRY_RUN_HELP)
    .action(async (services: string[], opts: Record<string, unknown>) => {
      opts.dryRun = dryRun(program, opts);
      if (opts.start === false) {
        const clash = (["wait", "watch", "abortOnContainerExit", "abortOnContainerFailure", "exitCodeFrom"] as const).find((k) => opts[k] !== undefined && opts[k] !== false);
        if (clash) throw new CliError(`--no-start and --${clash.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} cannot be combined`);
        const { runCreate } = await import("./up.js");
        process.exitCode = await runCreate(projectOptions(program), services, opts);
        return;
      }
      if (opts.dryRun && opts.watch) throw new CliError("--dry-run and --watch cannot be combined");
      if (opts.watch && !opts.detach) {
        // Attached watch mode, as `docker compose up --watch`: converge, then follow the files.
        const { runWatch } = await import("./watch.js");
        process.exitCode = await runWatch(projectOptions(program), services);
        return;
      }
      const { runUp } = await import("./up.js");
      process.exitCode = await runUp(projectOptions(program), services, opts);
    });

  program
    .command("create")
    .description("Creates containers for a service (started by the next up)")
    .argument("[services...]", "services to create (default: all)")
    .option("--build", "build images before creating containers")
    .option("--no-build", "don't build an image, even if it's missing")
    .option("--force-recreate", "recreate containers even if their configuration has not changed")
    .option("--no-recreate", "if containers already exist, do not recreate them")
    .addOption(new Option("--pull <policy>", "pull images before creating").choices(["always", "missing", "never"]))
    .option("--quiet-pull", "pull (and build) without printing progress information")
    .option("--remove-orphans", "remove containers for services not defined in the stack file")
    .option("--scale <service=num>", "scale a service to NUM instances (repeatable)", collect, [])
    .option("-y, --yes", 'assume "yes" as answer to all prompts and run non-interactively')
    .option("--dry-run", DRY_RUN_HELP)
    .action(async (services: string[], opts: Record<string, unknown>) => {
      const { runCreate } = await import("./up.js");
      process.exitCode = await runCreate(projectOptions(program), services, { ...opts, dryRun: dryRun(program, opts) });
    });

  program
    .command("scale")
    .description("Scale services (up -d --scale of just those services, down as well as up)")
    .argument("<service=num...>", "services and their number of replicas")
    .option("--no-deps", "don't start linked services")
    .option("--dry-run", DRY_RUN_HELP)
    .action(async (pairs: string[], opts: { deps?: boolean; dryRun?: boolean }) => {
      const { runScale } = await import("./up.js");
      process.exitCode = await runScale(projectOptions(program), pairs, { deps: opts.deps, dryRun: dryRun(program, opts) });
    });

  program
    .command("wait")
    .description("Block until containers of the services stop; print each exit code, exit with the first's")
    .argument("<services...>")
    .option("--down-project", "drops project when the first container stops")
    .action(async (services: string[], opts: { downProject?: boolean }) => {
      const { runWait } = await import("./wait.js");
      process.exitCode = await runWait(projectOptions(program), services, opts);
    });

  program
    .command("watch")
    .description("Converge the stack, then follow edits of its files (the daemon reloads and converges changed services)")
    .argument("[services...]")
    .action(async (services: string[]) => {
      const { runWatch } = await import("./watch.js");
      process.exitCode = await runWatch(projectOptions(program), services);
    });

  program
    .command("down")
    .description("Stop and remove containers, networks (and with -v, volumes)")
    .option("-v, --volumes", "remove named volumes declared in the stack file and anonymous volumes")
    .option("--remove-orphans", "remove containers for services not defined in the stack file")
    .addOption(new Option("--rmi <type>", 'remove images used by services: "local" the ones built without a custom tag (image:), "all" every one').choices(["local", "all"]))
    .option("-t, --timeout <seconds>", "shutdown timeout in seconds", secondsFlag)
    .option("--dry-run", DRY_RUN_HELP)
    .action(async (opts: Record<string, unknown>) => {
      const { runDown } = await import("./down.js");
      process.exitCode = await runDown(projectOptions(program), { ...opts, dryRun: dryRun(program, opts) });
    });

  program
    .command("ps")
    .description("List the stack's containers")
    .argument("[services...]")
    .option("-a, --all", "show all stopped containers")
    .option("-q, --quiet", "only display IDs")
    .option("--services", "display services")
    .option("--format <format>", 'output format: "table", "json", or a Go template ({{.Name}}, {{json .}})', "table")
    .option("--status <status>", "filter by status (repeatable)", collect, [])
    .option("--filter <key=value>", "filter by a property: status=STATE (repeatable)", collect, [])
    .option("--no-trunc", "don't truncate output")
    .option("--orphans [bool]", "include orphaned services (not declared by the project); --orphans=false hides them", boolFlag, true)
    .action(async (services: string[], opts: Record<string, unknown>) => {
      const { runPs } = await import("./ps.js");
      process.exitCode = await runPs(projectOptions(program), services, opts);
    });

  program
    .command("ls")
    .description("List running stacks")
    .option("-a, --all", "show all stacks, stopped ones too")
    .option("-q, --quiet", "only display names")
    .option("--filter <filter>", "filter output based on conditions provided: name=NAME, a regular expression (repeatable)", collect, [])
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (opts: Record<string, unknown>) => {
      const { runLs } = await import("./ps.js");
      process.exitCode = await runLs(opts);
    });

  const jobs = program
    .command("jobs")
    .description("Show the stack's scheduled services (x-tscompose schedule): next run, last runs and exit codes; with a service, its run history")
    .argument("[service]")
    .addOption(new Option("--format <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (service: string | undefined, opts: { format?: string }) => {
      const { runJobs } = await import("./jobs.js");
      process.exitCode = await runJobs(projectOptions(program), service, opts);
    });
  jobs
    .command("logs")
    .description("Print the output kept of a scheduled service's run (default: the latest)")
    .argument("<service>")
    .argument("[run]", "run id (or its end, e.g. the time 030500) as `jobs SERVICE` lists them")
    .action(async (service: string, run: string | undefined) => {
      const { runJobLogs } = await import("./jobs.js");
      process.exitCode = await runJobLogs(projectOptions(program), service, run);
    });

  program
    .command("logs")
    .description("View output from containers")
    .argument("[services...]")
    .option("-f, --follow", "follow log output")
    .option("-t, --timestamps", "show timestamps")
    .option("-n, --tail <lines>", 'number of lines to show from the end of the logs ("all" for every line)', tailFlag)
    .option("--since <time>", "show logs since a timestamp (RFC 3339 or Unix seconds) or relative (e.g. 42m, 1h30m)", timestampFlag)
    .option("--until <time>", "show logs before a timestamp (RFC 3339 or Unix seconds) or relative (e.g. 42m, 1h30m)", timestampFlag)
    .option("--index <index>", "index of the container if the service has several replicas", indexFlag)
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
    if (verb === "stop" || verb === "restart") cmd.option("-t, --timeout <seconds>", "shutdown timeout in seconds", secondsFlag);
    if (verb === "kill") cmd.option("-s, --signal <signal>", "signal to send to the container", "SIGKILL").option("--remove-orphans", "also kill containers of services not defined in the stack file");
    if (verb === "restart") cmd.option("--no-deps", "don't restart the dependent services (depends_on with restart: true)");
    if (verb === "rm") cmd.option("-f, --force", "don't ask to confirm removal").option("-s, --stop", "stop the containers first").option("-v, --volumes", "remove anonymous volumes");
    cmd.option("--dry-run", DRY_RUN_HELP);
    cmd.action(async (services: string[], opts: Record<string, unknown>) => {
      const { runLifecycle } = await import("./lifecycle.js");
      process.exitCode = await runLifecycle(verb, projectOptions(program), services, { ...opts, dryRun: dryRun(program, opts) });
    });
  }

  addImageCommands(program);
  registerContainerCommands(program, () => projectOptions(program));
  registerObjectCommands(program, () => projectOptions(program));

  program
    .command("tui")
    .description("Terminal UI: every stack, service and container of the daemon, with logs, actions and events")
    .option("--no-color", "produce monochrome output (also NO_COLOR)")
    .action(async (opts: { color?: boolean }) => {
      const { runTui } = await import("../tui/main.js");
      process.exitCode = await runTui(opts);
    });

  program
    .command("daemon")
    .description("Run the tscompose daemon in the foreground")
    .option("--state-dir <dir>", "where the daemon keeps its state (default /var/lib/tscompose)")
    .option("--group <group>", "group (name or gid) allowed to use the API socket: its members are root-equivalent")
    .option("--log-stderr", "also log to stderr")
    .action(async (opts: { stateDir?: string; group?: string; logStderr?: boolean }) => {
      const { resolveGroup } = await import("../daemon/socket.js");
      let group: number | undefined;
      try {
        group = opts.group !== undefined ? await resolveGroup(opts.group) : undefined;
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const { runDaemon } = await import("../daemon/main.js");
      process.exitCode = await runDaemon({ stateDir: opts.stateDir, group, version, stderr: opts.logStderr });
    });

  program
    .command("version")
    .description("Show the tscompose version")
    .addOption(new Option("--format <format>", "output format").choices(["pretty", "json"]).default("pretty"))
    .option("--short", "print only the version number")
    .action((opts: { format: string; short?: boolean }) => {
      if (opts.short) process.stdout.write(`${version}\n`);
      // compose v2's JSON has the "v" (`{"version":"v2.29.0"}`); --short has not.
      else if (opts.format === "json") process.stdout.write(`${JSON.stringify({ version: `v${version}` })}\n`);
      else process.stdout.write(`tscompose version ${version}\n`);
    });

  declareNotYet(program);
  addProjectFlags(program);
  program.hook("preAction", (_root, actionCommand) => {
    actionCommands.set(program, actionCommand);
    refuseNotYet(actionCommand);
    useEngineChoice(engineChoiceOfProgram(program));
    // As compose: --dry-run goes before the command too; a command that cannot plan without acting refuses it.
    if (program.opts<{ dryRun?: boolean }>().dryRun && !actionCommand.options.some((o) => o.long === "--dry-run")) {
      throw new CliError(`--dry-run is not supported by "${actionCommand.name()}"`);
    }
  });
  for (const cmd of program.commands) cmd.exitOverride();
  usageErrorsAsDocker(program, "tscompose");
  return program;
}

/**
 * Usage errors as the docker CLI words them: `unknown flag: --rmix` and where
 * to read the usage, exit 1, nothing run. Commander's own printed the whole
 * help after its message, which buried the one line that said what was wrong.
 */
function usageErrorsAsDocker(cmd: Command, path: string): void {
  cmd.showHelpAfterError(`See '${path} --help'.`).configureOutput({
    outputError: (message, write) => write(message.replace(/^error: unknown option '([^']*)'/, "unknown flag: $1").replace(/^error: /, "")),
  });
  for (const sub of cmd.commands) usageErrorsAsDocker(sub, `${path} ${sub.name()}`);
}
