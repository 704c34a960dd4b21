// `tscompose port SERVICE PRIVATE_PORT`: the public address a container port
// is published on, printed as compose does (`0.0.0.0:8080`).
import type { ProjectOptions } from "../stack/load.js";
import { CliError } from "./errors.js";
import { serviceContainer } from "./exec.js";
import { hostAddressText } from "./format.js";
import { daemon, projectNameLazy } from "./project-name.js";

export interface PortFlags {
  protocol?: string;
  index?: number;
}

export async function runPort(opts: ProjectOptions, service: string, privatePort: string, flags: PortFlags): Promise<number> {
  const port = Number(privatePort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`invalid port "${privatePort}": expected a number between 1 and 65535`);
  const protocol = flags.protocol ?? "tcp";
  const index = flags.index ?? 1;
  const project = await projectNameLazy(opts);
  const client = await daemon();
  const c = await serviceContainer(client, project, service, index).catch((err: unknown) => {
    // compose's wording for this command.
    throw err instanceof CliError ? new CliError(`no container found for ${service}-${index}`) : err;
  });
  const binding = c.ports.find((p) => p.containerPort === port && p.protocol === protocol);
  if (!binding) {
    const published = c.ports.map((p) => `${p.hostPort}/${p.protocol}`).join(", ");
    throw new CliError(`no port ${port}/${protocol} for container ${c.name}: ${published}`);
  }
  process.stdout.write(`${hostAddressText(binding.hostIp, binding.hostPort)}\n`);
  return 0;
}
