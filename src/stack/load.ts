// The stack loader: files -> StackSpec, in named stages as compose-go does.
//
//   find files -> read env (.env / --env-file) -> per file: parse (positions)
//   -> interpolate -> cast -> validate (schema) -> resolve paths -> include
//   -> extends -> merge files -> profiles -> normalize -> consistency -> hash
//
// Everything is synchronous: stack files are small, and a sync pipeline is the
// fastest way through 200 services (see bench/config.ts).
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { checkHostResources } from "./host-resources.js";
import type { HostResources } from "./host-resources.js";
import type { StackSpec } from "../../model/stack.js";
import { checkConsistency } from "./consistency.js";
import { checkFileObjects } from "./file-objects.js";
import { parseRawEnvFile } from "./lifecycle.js";
import { parseDotenv } from "./dotenv.js";
import { MergeError, StackError, formatPath } from "./errors.js";
import type { SourceLocation } from "./errors.js";
import { serviceConfigHash } from "./hash.js";
import { castInterpolated, interpolateValue } from "./interpolate.js";
import { mergeFiles } from "./merge.js";
import { applyMergeTags } from "./merge-tags.js";
import { resolveExtends } from "./extends.js";
import { normalizeStack } from "./normalize.js";
import { locateNearest, parseYaml } from "./parse.js";
import type { ParsedFile, PathSegment } from "./parse.js";
import { homeOf, resolveRelativePaths } from "./paths.js";
import { isValidProjectName, normalizeProjectName } from "./units.js";
import { validateSchema } from "./validate.js";
import { isDict, type Dict } from "./dict.js";


export interface ProjectOptions {
  /** -f files as given (relative to cwd); empty: COMPOSE_FILE or the default names. */
  files: string[];
  projectName?: string | undefined;
  projectDirectory?: string | undefined;
  envFiles: string[];
  profiles: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  /** false: leave ${VAR} as written (config --no-interpolate). */
  interpolate?: boolean;
  /** false: leave relative paths as written (config --no-path-resolution). */
  resolvePaths?: boolean;
  /** false: skip the checks across the model (references, cycles, names): config --no-consistency. */
  consistency?: boolean;
  /** The host the stack is to run on (`up`, `run`; not `config`): its resource keys, and the files of the secrets and configs services use, are checked against it. */
  host?: HostResources | undefined;
}

export interface LoadResult {
  stack: StackSpec;
  /** The merged file before normalization (config --no-normalize). */
  merged: Dict;
  /** Every profile named by any service, enabled or not. */
  allProfiles: string[];
  /** Services left out because their profiles are not enabled. */
  disabledServices: string[];
  /** Files whose change should reload the stack: stack files, env files, included and extended files. */
  watchedFiles: string[];
  warnings: string[];
  /** The variables interpolation reads: the project's .env (or --env-file) under the shell's (config --environment). */
  environment: Record<string, string>;
  /** Where a key of the stack is in its files (for errors found after loading: the swarm engine's refused keys). */
  locate: (path: readonly PathSegment[]) => SourceLocation | undefined;
}

export const DEFAULT_FILE_NAMES = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];
const OVERRIDE_NAMES: Record<string, string> = {
  "compose.yaml": "compose.override.yaml",
  "compose.yml": "compose.override.yml",
  "docker-compose.yaml": "docker-compose.override.yaml",
  "docker-compose.yml": "docker-compose.override.yml",
};

/** Which files make the stack: -f, else COMPOSE_FILE, else the default names searched upward from cwd. */
export function findStackFiles(opts: Pick<ProjectOptions, "files" | "env" | "cwd">): string[] {
  if (opts.files.length > 0) return opts.files.map((f) => resolve(opts.cwd, f));
  const fromEnv = opts.env.COMPOSE_FILE;
  if (fromEnv) {
    const sep = opts.env.COMPOSE_PATH_SEPARATOR ?? ":";
    return fromEnv.split(sep).filter((f) => f !== "").map((f) => resolve(opts.cwd, f));
  }
  for (let dir = resolve(opts.cwd); ; dir = dirname(dir)) {
    for (const name of DEFAULT_FILE_NAMES) {
      const candidate = resolve(dir, name);
      if (existsSync(candidate)) {
        const override = resolve(dir, OVERRIDE_NAMES[name] as string);
        return existsSync(override) ? [candidate, override] : [candidate];
      }
    }
    if (dirname(dir) === dir) break;
  }
  throw new StackError("file", `no configuration file provided: not found (looked for ${DEFAULT_FILE_NAMES.join(", ")} in ${opts.cwd} and its parents)`);
}

/** A loader run: the parsed files seen so far, for error locations, and the warnings. */
class LoadSession {
  readonly parsed: ParsedFile[] = [];
  readonly warnings: string[] = [];
  readonly watched = new Set<string>();
  private readonly warnedVars = new Set<string>();

  constructor(
    readonly interpolate: boolean,
    /** What `~` in a path means: the caller's home. */
    readonly home: string,
    readonly resolvePaths = true,
    /** false: the files as written, ${VAR} still in values the schema would refuse (config --variables). */
    readonly validate = true,
  ) {}

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  warnVar(message: string): void {
    if (this.warnedVars.has(message)) return;
    this.warnedVars.add(message);
    this.warn(message);
  }

  /** The location of a key path in the last file that defines it (later files override earlier ones). */
  locate(path: readonly PathSegment[]): SourceLocation | undefined {
    for (let i = this.parsed.length - 1; i >= 0; i--) {
      const loc = this.parsed[i]?.locate(path);
      if (loc) return loc;
    }
    for (let i = this.parsed.length - 1; i >= 0; i--) {
      const p = this.parsed[i];
      const loc = p ? locateNearest(p, path) : undefined;
      if (loc && loc.line > 1) return loc;
    }
    return undefined;
  }

  fail(code: StackError["code"], path: readonly PathSegment[], message: string): never {
    throw new StackError(code, message, { path: formatPath(path), location: this.locate(path) });
  }

  readText(file: string, what: string): string {
    try {
      this.watched.add(file);
      return readFileSync(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : (err as Error).message;
      throw new StackError("file", `cannot read ${what} ${file}: ${reason}`, { cause: err });
    }
  }

  /** parse -> interpolate -> cast -> validate -> resolve paths, for one file. */
  loadFile(file: string, env: (name: string) => string | undefined, baseDir: string): Dict {
    const text = this.readText(file, "stack file");
    const parsed = parseYaml(text, file);
    this.parsed.push(parsed);
    let value = parsed.value;
    if (this.interpolate) {
      value = interpolateValue(parsed, env, (msg) => this.warnVar(msg));
      value = castInterpolated(value, (msg) => this.warnVar(msg));
    }
    if (this.validate) validateSchema({ ...parsed, value });
    const model = value as Dict;
    if ("version" in model) this.warn(`${file}: the attribute \`version\` is obsolete, it will be ignored`);
    const resolved = this.resolvePaths ? resolveRelativePaths(model, { base: baseDir, file: dirname(file), home: this.home }) : model;
    return applyMergeTags(resolved, parsed.mergeTags) as Dict;
  }
}

/** The files read, included, extended and merged: the model before profiles and normalization. */
function loadMerged(opts: ProjectOptions, validate = true): { files: string[]; workingDir: string; session: LoadSession; envValues: Record<string, string | undefined>; lookup: (name: string) => string | undefined; merged: Dict } {
  const files = findStackFiles(opts);
  const firstFile = files[0] as string;
  const workingDir = opts.projectDirectory ? resolve(opts.cwd, opts.projectDirectory) : dirname(firstFile);
  const session = new LoadSession(opts.interpolate !== false, homeOf(opts.env), opts.resolvePaths !== false, validate);

  const dotenv = readProjectEnv(session, opts, workingDir);
  // The shell's environment wins over .env, as in compose.
  const envValues: Record<string, string | undefined> = { ...dotenv, ...definedOnly(opts.env) };
  const lookup = (name: string): string | undefined => envValues[name];

  const models = files.map((f) => session.loadFile(f, lookup, workingDir));
  let merged: Dict = {};
  for (const [i, model] of models.entries()) {
    const withIncludes = applyIncludes(session, model, lookup, [files[i] as string]);
    merged = mergeFiles(merged, withExtends(session, withIncludes, files[i] as string, lookup));
  }
  return { files, workingDir, session, envValues, lookup, merged };
}

/**
 * The merged files as written (config --variables): neither validated nor
 * normalized, since a value still holding `${VAR}` (a port, a size) is not
 * yet what its key takes.
 */
export function loadMergedAsWritten(opts: ProjectOptions): Dict {
  return loadMerged({ ...opts, interpolate: false, resolvePaths: false }, false).merged;
}

export function loadStack(opts: ProjectOptions): LoadResult {
  const { files, workingDir, session, envValues, lookup, merged } = loadMerged(opts);

  const projectName = chooseProjectName(opts, envValues, merged, workingDir, session);
  const activeProfiles = new Set([...opts.profiles, ...splitList(envValues.COMPOSE_PROFILES)]);
  const { enabled, disabled, allProfiles } = applyProfiles(merged, activeProfiles);
  const fail = (path: readonly PathSegment[], message: string): never => session.fail("invalid", path, message);

  const stack = normalizeStack(enabled, {
    projectName,
    workingDir,
    configFiles: files,
    readEnvFile: (path, format) => {
      if (!existsSync(path)) return undefined;
      const text = session.readText(path, "env file");
      return format === "raw" ? parseRawEnvFile(text, lookup) : parseDotenv(text, path, lookup);
    },
    readFile: (path, what) => session.readText(path, what),
    lookupEnv: lookup,
    fail,
    locate: (path) => session.locate(path),
  });
  // A dependency on a service of an inactive profile fails as in compose v2,
  // unless it is `required: false`, which only warns and drops the edge.
  for (const svc of Object.values(stack.services)) {
    for (const [dep, d] of Object.entries(svc.dependsOn)) {
      if (dep in stack.services) continue;
      if (!d.required) {
        session.warn(`service "${svc.name}" depends on "${dep}", which is not enabled; ignoring (required: false)`);
        delete svc.dependsOn[dep];
      } else if (disabled.includes(dep)) {
        session.fail(
          "reference",
          ["services", svc.name, "depends_on", dep],
          `service "${dep}" was pulled in as a dependency of service "${svc.name}" but is not enabled by the active profiles. You may fix this by adding a common profile to "${dep}" and "${svc.name}"`,
        );
      }
    }
  }
  if (opts.consistency !== false) checkConsistency(stack, (path, message) => session.fail(message.includes("cycle") ? "cycle" : "reference", path, message));
  if (opts.host) {
    // What the stack needs of the host it is to run on; `config` prints a stack whatever the host has.
    checkFileObjects(stack, fail);
    checkHostResources(stack, opts.host, fail, (message) => session.warn(message));
  }
  for (const svc of Object.values(stack.services)) svc.configHash = serviceConfigHash(svc, stack);

  return {
    stack,
    merged,
    allProfiles,
    disabledServices: disabled,
    watchedFiles: [...session.watched],
    locate: (path) => session.locate(path),
    warnings: session.warnings,
    environment: definedOnly(envValues),
  };
}

const definedOnly = (env: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));

const splitList = (s: string | undefined): string[] => (s ? s.split(",").map((x) => x.trim()).filter((x) => x !== "") : []);

function readProjectEnv(session: LoadSession, opts: ProjectOptions, workingDir: string): Record<string, string> {
  const shell = (name: string): string | undefined => opts.env[name];
  if (opts.envFiles.length > 0) {
    const out: Record<string, string> = {};
    for (const f of opts.envFiles) {
      const path = resolve(opts.cwd, f);
      Object.assign(out, parseDotenv(session.readText(path, "env file"), path, (n) => shell(n) ?? out[n]));
    }
    return out;
  }
  const dflt = resolve(workingDir, ".env");
  if (!existsSync(dflt)) return {};
  return parseDotenv(session.readText(dflt, "env file"), dflt, shell);
}

function chooseProjectName(
  opts: ProjectOptions,
  env: Record<string, string | undefined>,
  merged: Dict,
  workingDir: string,
  session: LoadSession,
): string {
  const explicit = opts.projectName ?? env.COMPOSE_PROJECT_NAME;
  if (explicit !== undefined && explicit !== "") {
    if (!isValidProjectName(explicit)) {
      throw new StackError(
        "invalid",
        `invalid project name "${explicit}": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`,
      );
    }
    return explicit;
  }
  if (typeof merged.name === "string" && merged.name !== "") {
    if (!isValidProjectName(merged.name)) session.fail("invalid", ["name"], `invalid project name "${merged.name}": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`);
    return merged.name;
  }
  const fromDir = normalizeProjectName(basename(workingDir));
  if (fromDir === "") throw new StackError("invalid", `project name could not be derived from directory "${workingDir}": use -p`);
  return fromDir;
}

function applyProfiles(merged: Dict, active: Set<string>): { enabled: Dict; disabled: string[]; allProfiles: string[] } {
  const services = isDict(merged.services) ? merged.services : {};
  const kept: Dict = {};
  const disabled: string[] = [];
  const all = new Set<string>();
  for (const [name, svc] of Object.entries(services)) {
    const profiles = isDict(svc) && Array.isArray(svc.profiles) ? svc.profiles.map(String) : [];
    profiles.forEach((p) => all.add(p));
    if (profiles.length === 0 || active.has("*") || profiles.some((p) => active.has(p))) kept[name] = svc;
    else disabled.push(name);
  }
  return { enabled: { ...merged, services: kept }, disabled, allProfiles: [...all].sort() };
}

/** `include:` entries become part of this model; a resource defined twice is a conflict, as in compose. */
function applyIncludes(session: LoadSession, model: Dict, parentEnv: (n: string) => string | undefined, chain: string[]): Dict {
  if (!Array.isArray(model.include)) return model;
  let result: Dict = { ...model };
  delete result.include;
  model.include.forEach((inc, i) => {
    const spec = isDict(inc) ? inc : { path: [inc] };
    const paths = (Array.isArray(spec.path) ? spec.path : [spec.path]).map(String);
    const first = paths[0];
    if (first === undefined) return session.fail("invalid", ["include", i], "include needs a path");
    for (const p of paths) {
      if (chain.includes(p)) session.fail("cycle", ["include", i], `include cycle: ${[...chain, p].join(" -> ")}`);
    }
    const projectDir = typeof spec.project_directory === "string" ? spec.project_directory : dirname(first);
    const envFiles = Array.isArray(spec.env_file) ? spec.env_file.map(String) : [resolve(projectDir, ".env")];
    const incEnv: Record<string, string> = {};
    for (const f of envFiles) {
      if (existsSync(f)) Object.assign(incEnv, parseDotenv(session.readText(f, "env file"), f, parentEnv));
    }
    const lookup = (n: string): string | undefined => parentEnv(n) ?? incEnv[n];
    let included: Dict = {};
    for (const p of paths) {
      const m = session.loadFile(p, lookup, projectDir);
      included = mergeFiles(included, withExtends(session, applyIncludes(session, m, lookup, [...chain, p]), p, lookup));
    }
    result = mergeIncluded(session, result, included, i);
  });
  return result;
}

function mergeIncluded(session: LoadSession, model: Dict, included: Dict, index: number): Dict {
  const out: Dict = { ...model };
  for (const key of ["services", "networks", "volumes", "secrets", "configs"]) {
    const inc = included[key];
    if (!isDict(inc)) continue;
    const mine = isDict(out[key]) ? { ...out[key] } : {};
    for (const [name, value] of Object.entries(inc)) {
      if (name in mine) session.fail("invalid", ["include", index], `${key}.${name} conflicts with imported resource`);
      mine[name] = value;
    }
    out[key] = mine;
  }
  return out;
}

function withExtends(session: LoadSession, model: Dict, file: string, lookup: (n: string) => string | undefined): Dict {
  if (!isDict(model.services)) return model;
  const needs = Object.values(model.services).some((s) => isDict(s) && s.extends !== undefined);
  if (!needs) return model;
  try {
    const services = resolveExtends(
      model.services,
      (other: string) => {
        const m = session.loadFile(other, lookup, dirname(other));
        return { services: isDict(m.services) ? m.services : {}, dir: dirname(other) };
      },
      { file, dir: dirname(file) },
    );
    return { ...model, services };
  } catch (err) {
    if (!(err instanceof MergeError)) throw err;
    const parsed = session.parsed.find((p) => p.file === (err.file ?? file));
    throw new StackError(err.code, err.message, {
      path: formatPath(err.path),
      location: parsed ? locateNearest(parsed, err.path) : session.locate(err.path),
      cause: err,
    });
  }
}
