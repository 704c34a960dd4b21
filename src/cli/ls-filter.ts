// `ls --filter name=VALUE`, as docker compose ls filters: name is its only
// key, and a stack is kept when VALUE equals its name or, as a regular
// expression, matches anywhere in it (docker's filters.Args.Match). Several
// values of the key keep a stack that any of them matches.
import { CliError } from "./errors.js";

const ACCEPTED = ["name"];

/** The name filter the flags give: undefined keeps every stack; a bad filter stops before anything is asked. */
export function stackNameFilter(filters: string[]): ((name: string) => boolean) | undefined {
  const names: string[] = [];
  for (const f of filters) {
    const eq = f.indexOf("=");
    if (eq < 0) throw new CliError(`invalid argument "${f}" for "--filter" flag: bad format of filter (expected name=value)`);
    const key = f.slice(0, eq).trim().toLowerCase();
    if (!ACCEPTED.includes(key)) throw new CliError(`invalid filter '${key}'`);
    names.push(f.slice(eq + 1).trim());
  }
  if (names.length === 0) return undefined;
  return (name) => names.some((v) => v === name || matches(v, name));
}

/** As Go's regexp.MatchString there: a value that is no valid expression matches nothing (but equality). */
function matches(pattern: string, name: string): boolean {
  try {
    return new RegExp(pattern).test(name);
  } catch {
    return false;
  }
}
