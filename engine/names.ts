// The rules for names that reach paths, files or kernel objects, checked where
// a name enters (the daemon's API, the engine's entry points, the stores that
// turn a name into a file name), not only in the CLI: a name like
// "../../etc/foo" or "a/../b" must never become a path.
import { EngineError } from "./types.js";

/** Compose's project name rule (also the stack name: stacks/<name>.json, jobs/<name>.json). */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** Docker's rule for volume and network names (volumes/<name>/). */
export const OBJECT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Docker's container name rule (a leading "/" is Docker's own prefix and allowed). */
export const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** A full container id. */
export const CONTAINER_ID = /^[0-9a-f]{64}$/;

const RULES = {
  project: { re: PROJECT_NAME, says: "lowercase letters, digits, '-' and '_', starting with a letter or digit" },
  volume: { re: OBJECT_NAME, says: "letters, digits, '_', '.' and '-', starting with a letter or digit" },
  network: { re: OBJECT_NAME, says: "letters, digits, '_', '.' and '-', starting with a letter or digit" },
  container: { re: CONTAINER_NAME, says: "letters, digits, '_', '.' and '-', starting with a letter or digit" },
} as const;

export type NameKind = keyof typeof RULES;

export function isValidName(kind: NameKind, name: unknown): name is string {
  return typeof name === "string" && name.length <= 255 && RULES[kind].re.test(name);
}

/** Throws EngineError "invalid" (HTTP 400 at the API) naming the offending name and the rule. */
export function checkName(kind: NameKind, name: unknown): string {
  if (!isValidName(kind, name)) throw new EngineError("invalid", `invalid ${kind} name ${JSON.stringify(name)}: only ${RULES[kind].says} (${RULES[kind].re.source})`);
  return name;
}
