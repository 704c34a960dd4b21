// `tscompose config`: load, resolve and print the stack in canonical form, as
// `docker compose config` does. Warnings go to stderr so stdout stays a
// valid stack file (or JSON document) that can be piped on.
import { writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { loadMergedAsWritten, loadStack } from "../stack/load.js";
import type { ProjectOptions } from "../stack/load.js";
import { isDict, type Dict } from "../stack/dict.js";
import { parseEnvironment } from "../stack/environment.js";
import { extractVariables } from "../stack/interpolate.js";
import { renderStack } from "../stack/render.js";
import { table } from "./format.js";
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
  /** false with --no-path-resolution. */
  pathResolution?: boolean;
  /** false with --no-consistency. */
  consistency?: boolean;
  /** false with --no-env-resolution. */
  envResolution?: boolean;
  variables?: boolean;
  environment?: boolean;
}

export function warn(lines: readonly string[]): void {
  for (const line of lines) process.stderr.write(`WARN ${line}\n`);
}

export async function runConfig(project: ProjectOptions, flags: ConfigFlags): Promise<void> {
  if (flags.variables) {
    // The file as written: nothing interpolated, nothing looked up (compose's ToModel without interpolation).
    const found = [...extractVariables(loadMergedAsWritten(project)).values()].sort((a, b) => a.name.localeCompare(b.name));
    const out =
      flags.format === "json"
        ? `${JSON.stringify(Object.fromEntries(found.map((v) => [v.name, { Name: v.name, DefaultValue: v.defaultValue, PresenceValue: v.presenceValue, Required: v.required }])))}\n`
        : table(["NAME", "REQUIRED", "DEFAULT VALUE", "ALTERNATE VALUE"], found.map((v) => [v.name, String(v.required), v.defaultValue, v.presenceValue]));
    if (!flags.quiet) emit(out, flags);
    return;
  }
  const result = loadStack({ ...project, interpolate: flags.interpolate !== false, resolvePaths: flags.pathResolution !== false, consistency: flags.consistency !== false });
  warn(result.warnings);
  const { stack } = result;
  let out: string;
  if (flags.quiet) return;
  if (flags.services) out = lines(Object.keys(stack.services));
  else if (flags.volumes) out = lines(Object.keys(stack.volumes));
  else if (flags.networks) out = lines(Object.keys(stack.networks));
  else if (flags.profiles) out = lines(result.allProfiles);
  else if (flags.environment) out = lines(Object.entries(result.environment).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`));
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
    if (flags.envResolution === false && flags.normalize !== false) unresolveEnvironment(model, result.merged);
    out = flags.format === "json" ? `${JSON.stringify(model, null, 2)}\n` : stringify(model, { lineWidth: 0, aliasDuplicateObjects: false });
  }
  emit(out, flags);
  await Promise.resolve();
}

function emit(out: string, flags: Pick<ConfigFlags, "output">): void {
  if (flags.output) writeFileSync(flags.output, out);
  else process.stdout.write(out);
}

const lines = (items: readonly string[]): string => (items.length === 0 ? "" : `${items.join("\n")}\n`);

/**
 * config --no-env-resolution: each service's environment as its files write
 * it (env_file contents not merged in, a name without a value left null
 * rather than read from the host), its env_file kept, as compose prints it.
 */
function unresolveEnvironment(model: Dict, merged: Dict): void {
  const rendered = isDict(model.services) ? model.services : {};
  const written = isDict(merged.services) ? merged.services : {};
  for (const [name, svc] of Object.entries(rendered)) {
    if (!isDict(svc)) continue;
    const raw = isDict(written[name]) ? written[name].environment : undefined;
    const env = parseEnvironment(raw, () => undefined);
    if (Object.keys(env).length > 0) svc.environment = env;
    else delete svc.environment;
  }
}
