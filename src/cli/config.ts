// `tscompose config`: load, resolve and print the stack in canonical form, as
// `docker compose config` does. Warnings go to stderr so stdout stays a
// valid stack file (or JSON document) that can be piped on.
import { writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { loadStack } from "../stack/load.js";
import type { ProjectOptions } from "../stack/load.js";
import { renderStack } from "../stack/render.js";
import { CliError } from "./errors.js";

export interface ConfigFlags {
  format?: string;
  services?: boolean;
  volumes?: boolean;
  networks?: boolean;
  profiles?: boolean;
  images?: boolean;
  hash?: string;
  quiet?: boolean;
  output?: string;
  interpolate?: boolean;
  normalize?: boolean;
}

export function warn(lines: readonly string[]): void {
  for (const line of lines) process.stderr.write(`WARN ${line}\n`);
}

export async function runConfig(project: ProjectOptions, flags: ConfigFlags): Promise<void> {
  const result = loadStack({ ...project, interpolate: flags.interpolate !== false, acceptUnsupported: true });
  warn(result.warnings);
  const { stack } = result;
  let out: string;
  if (flags.quiet) return;
  if (flags.services) out = lines(Object.keys(stack.services));
  else if (flags.volumes) out = lines(Object.keys(stack.volumes));
  else if (flags.networks) out = lines(Object.keys(stack.networks));
  else if (flags.profiles) out = lines(result.allProfiles);
  else if (flags.images) out = lines(Object.values(stack.services).map((s) => s.image ?? `${stack.name}-${s.name}`));
  else if (flags.hash !== undefined) {
    const wanted = flags.hash === "*" ? Object.keys(stack.services) : flags.hash.split(",").map((s) => s.trim());
    const rows: string[] = [];
    for (const name of wanted) {
      const svc = stack.services[name];
      if (!svc) throw new CliError(`no such service: ${name}`);
      rows.push(`${name} ${svc.configHash}`);
    }
    out = lines(rows);
  } else {
    const model = flags.normalize === false ? result.merged : renderStack(stack);
    out = flags.format === "json" ? `${JSON.stringify(model, null, 2)}\n` : stringify(model, { lineWidth: 0, aliasDuplicateObjects: false });
  }
  if (flags.output) writeFileSync(flags.output, out);
  else process.stdout.write(out);
  await Promise.resolve();
}

const lines = (items: readonly string[]): string => (items.length === 0 ? "" : `${items.join("\n")}\n`);
