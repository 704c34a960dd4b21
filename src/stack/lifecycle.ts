// The lifecycle keys of a service, schema-valid -> model: hooks (post_start,
// pre_stop, develop.watch exec), label_file, env_file `format: raw`, and the
// logging drivers the embedded engine has (src/stack/support.ts refuses the
// others at up).
import type { ServiceHook } from "../../model/stack.js";
import { isDict, scalarText, type Dict } from "./dict.js";
import { parseEnvironment } from "./environment.js";
import type { Fail } from "./normalize.js";
import type { PathSegment } from "./parse.js";
import { shellSplit } from "./units.js";


/** A hook's command: a list as written, a string split as compose splits it (shell words, no shell). */
function hookCommand(v: unknown, path: PathSegment[], fail: Fail): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map(scalarText);
  try {
    return shellSplit(scalarText(v));
  } catch (e) {
    return fail(path, (e as Error).message);
  }
}

/** environment of a hook: list of KEY=VALUE (KEY alone: the host's value) or a mapping. */
export function normalizeHook(d: Dict, path: PathSegment[], fail: Fail, lookupEnv: (name: string) => string | undefined): ServiceHook {
  const command = hookCommand(d.command, [...path, "command"], fail);
  if (command.length === 0) fail([...path, "command"], "a hook needs a command");
  return {
    command,
    user: d.user === undefined || d.user === null ? undefined : scalarText(d.user),
    privileged: d.privileged === true || d.privileged === "true",
    workingDir: d.working_dir === undefined || d.working_dir === null ? undefined : scalarText(d.working_dir),
    environment: parseEnvironment(d.environment, lookupEnv),
  };
}

export function normalizeHooks(v: unknown, path: PathSegment[], fail: Fail, lookupEnv: (name: string) => string | undefined): ServiceHook[] {
  if (!Array.isArray(v)) return [];
  return v.map((h, i) => normalizeHook(isDict(h) ? h : {}, [...path, i], fail, lookupEnv));
}

/**
 * An env_file of `format: raw` (compose 2.30): every line KEY=VALUE with the
 * value taken as written: no quotes removed, no escapes, no interpolation.
 * Blank lines and lines starting with `#` are skipped; a line without `=`
 * takes the host's value, or is left out when the host has none.
 */
export function parseRawEnvFile(text: string, lookupEnv: (name: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.replace(/^\uFEFF/, "").split(/\r?\n/)) {
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) {
      const value = lookupEnv(line.trim());
      if (value !== undefined) out[line.trim()] = value;
      continue;
    }
    out[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return out;
}

/** The env_file formats compose reads: its own dotenv rules (no format) and raw. */
export function envFileFormat(v: unknown, path: PathSegment[], fail: Fail): "raw" | undefined {
  if (v === undefined || v === null) return undefined;
  const s = scalarText(v);
  if (s === "raw") return "raw";
  return fail(path, `unsupported env_file format "${s}" (compose knows only "raw", or no format for its dotenv rules)`);
}

export function labelFilePaths(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map(scalarText);
}

/**
 * The service's labels: each label_file in order (a later file wins), then
 * `labels`, which wins over every file, as compose merges them. A missing
 * label file is an error at its entry.
 */
export function mergeLabelFiles(
  files: string[],
  labels: Record<string, string>,
  read: (path: string) => Record<string, string> | undefined,
  path: PathSegment[],
  fail: Fail,
): Record<string, string> {
  const out: Record<string, string> = {};
  files.forEach((f, i) => {
    const values = read(f);
    if (values === undefined) fail(files.length === 1 ? path : [...path, i], `label file ${f} not found`);
    Object.assign(out, values);
  });
  return { ...out, ...labels };
}

/** What the embedded engine does with each logging driver: keeps a log file (json-file, local) or none. */
export const LOG_DRIVERS = ["json-file", "local", "none"] as const;

