// Declarations of the engine-object commands: the docker CLI's `volume` and
// `network` groups, `system df`, and the stack's `volumes` (docker compose volumes). Like
// program.ts, implementations are imported lazily in the actions.
import { Option } from "commander";
import type { Command } from "commander";
import type { ProjectOptions } from "../stack/load.js";

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const listFlags = (cmd: Command, quiet: string): Command =>
  cmd
    .option("-q, --quiet", quiet)
    .option("-f, --filter <filter>", 'filter output based on conditions provided (e.g. "label=k=v", repeatable)', collect, [])
    .option("--format <format>", 'output format: "table", "json", or a template such as "{{.Name}}"');

export function registerObjectCommands(program: Command, projectOptions: () => ProjectOptions): void {
  const volume = program.command("volume").description("Manage volumes");
  listFlags(volume.command("ls").alias("list").description("List volumes"), "only display volume names").action(async (opts: Record<string, unknown>) => {
    const { runVolumeLs } = await import("./volumes.js");
    process.exitCode = await runVolumeLs(opts);
  });
  volume
    .command("inspect")
    .description("Display detailed information on one or more volumes")
    .argument("<volume...>")
    .option("-f, --format <template>", "format the output using a template such as {{.Mountpoint}}")
    .action(async (names: string[], opts: { format?: string }) => {
      const { runVolumeInspect } = await import("./volumes.js");
      process.exitCode = await runVolumeInspect(names, opts);
    });
  volume
    .command("create")
    .description("Create a volume")
    .argument("[name]", "volume name (default: a random one)")
    .addOption(new Option("-d, --driver <driver>", "volume driver name").choices(["local"]))
    .option("--label <KEY=VAL>", "set metadata for a volume (repeatable)", collect, [])
    .action(async (name: string | undefined, opts: { driver?: string; label?: string[] }) => {
      const { runVolumeCreate } = await import("./volumes.js");
      process.exitCode = await runVolumeCreate(name, opts);
    });
  volume
    .command("rm")
    .alias("remove")
    .description("Remove one or more volumes (a volume a container uses is refused)")
    .argument("<volume...>")
    .option("-f, --force", "do not fail on a volume that does not exist")
    .action(async (names: string[], opts: { force?: boolean }) => {
      const { runVolumeRm } = await import("./volumes.js");
      process.exitCode = await runVolumeRm(names, opts);
    });
  volume
    .command("prune")
    .description("Remove unused anonymous volumes (with -a, every unused volume)")
    .option("-a, --all", "remove all unused volumes, not just anonymous ones")
    .option("-f, --force", "do not prompt for confirmation")
    .option("--filter <filter>", 'provide filter values (e.g. "label=k=v", repeatable)', collect, [])
    .action(async (opts: { all?: boolean; force?: boolean; filter?: string[] }) => {
      const { runVolumePrune } = await import("./volumes.js");
      process.exitCode = await runVolumePrune(opts);
    });

  const network = program.command("network").description("Manage networks");
  listFlags(network.command("ls").alias("list").description("List networks"), "only display network IDs")
    .option("--no-trunc", "do not truncate the output")
    .action(async (opts: Record<string, unknown>) => {
      const { runNetworkLs } = await import("./networks.js");
      process.exitCode = await runNetworkLs(opts);
    });
  network
    .command("inspect")
    .description("Display detailed information on one or more networks")
    .argument("<network...>")
    .option("-f, --format <template>", "format the output using a template such as {{.Id}}")
    .action(async (names: string[], opts: { format?: string }) => {
      const { runNetworkInspect } = await import("./networks.js");
      process.exitCode = await runNetworkInspect(names, opts);
    });
  network
    .command("create")
    .description("Create a network")
    .argument("<name>")
    .addOption(new Option("-d, --driver <driver>", "driver to manage the network").choices(["bridge"]).default("bridge"))
    .option("--subnet <cidr>", "subnet in CIDR format")
    .option("--gateway <ip>", "IPv4 gateway for the subnet")
    .option("--internal", "restrict external access to the network")
    .option("--label <KEY=VAL>", "set metadata on a network (repeatable)", collect, [])
    .action(async (name: string, opts: Record<string, unknown>) => {
      const { runNetworkCreate } = await import("./networks.js");
      process.exitCode = await runNetworkCreate(name, opts);
    });
  network
    .command("rm")
    .alias("remove")
    .description("Remove one or more networks (a network a container is attached to is refused)")
    .argument("<network...>")
    .option("-f, --force", "do not error if the network does not exist")
    .action(async (names: string[], opts: { force?: boolean }) => {
      const { runNetworkRm } = await import("./networks.js");
      process.exitCode = await runNetworkRm(names, opts);
    });
  network
    .command("prune")
    .description("Remove all unused networks")
    .option("-f, --force", "do not prompt for confirmation")
    .option("--filter <filter>", 'provide filter values (e.g. "label=k=v", repeatable)', collect, [])
    .action(async (opts: { force?: boolean; filter?: string[] }) => {
      const { runNetworkPrune } = await import("./networks.js");
      process.exitCode = await runNetworkPrune(opts);
    });
  network
    .command("connect")
    .description("Connect a container to a network")
    .argument("<network>")
    .argument("<container>")
    .option("--alias <alias>", "add a network-scoped alias for the container (repeatable)", collect, [])
    .option("--ip <address>", "IPv4 address")
    .action(async (net: string, container: string, opts: { alias?: string[]; ip?: string }) => {
      const { runNetworkConnect } = await import("./networks.js");
      process.exitCode = await runNetworkConnect(net, container, opts);
    });
  network
    .command("disconnect")
    .description("Disconnect a container from a network")
    .argument("<network>")
    .argument("<container>")
    .option("-f, --force", "do not error if the container is not attached")
    .action(async (net: string, container: string, opts: { force?: boolean }) => {
      const { runNetworkDisconnect } = await import("./networks.js");
      process.exitCode = await runNetworkDisconnect(net, container, opts);
    });

  const system = program.command("system").description("Manage the engine's data");
  system
    .command("df")
    .description("Show disk usage: images, containers, local volumes, build cache")
    .option("--format <format>", 'output format: "table", "json", or a template such as "{{.Type}} {{.Size}}"')
    .action(async (opts: { format?: string }) => {
      const { runSystemDf } = await import("./system.js");
      process.exitCode = await runSystemDf(opts);
    });

  system
    .command("prune")
    .description("Remove stopped containers, unused networks, dangling images (and with --volumes, unused anonymous volumes)")
    .option("-a, --all", "remove all unused images, not just dangling ones")
    .option("-f, --force", "do not prompt for confirmation")
    .option("--volumes", "prune anonymous volumes")
    .action(async (opts: { all?: boolean; force?: boolean; volumes?: boolean }) => {
      const { runSystemPrune } = await import("./system.js");
      process.exitCode = await runSystemPrune(opts);
    });

  for (const group of [volume, network, system]) {
    for (const cmd of group.commands) cmd.exitOverride();
    group.exitOverride();
  }

  program
    .command("volumes")
    .description("List the stack's volumes")
    .argument("[services...]", "only the volumes these services use")
    .option("-q, --quiet", "only display volume names")
    .option("--format <format>", 'output format: "table", "json", or a template such as "{{.Name}}"')
    .action(async (services: string[], opts: { quiet?: boolean; format?: string }) => {
      const { runStackVolumes } = await import("./volumes.js");
      process.exitCode = await runStackVolumes(projectOptions(), services, opts);
    });
}
