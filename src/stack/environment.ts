// compose's `environment` (a service's, a lifecycle hook's): a list of
// NAME=VALUE / NAME items or a mapping. A name without a value takes the
// host's value, as `docker run -e NAME` does, or null when the host has none
// (`config` prints it as written, the container does not get it).
import { isDict, scalarText } from "./dict.js";

export function parseEnvironment(raw: unknown, lookupEnv: (name: string) => string | undefined): Record<string, string | null> {
  const env: Record<string, string | null> = {};
  const set = (key: string, value: unknown): void => {
    env[key] = value === undefined || value === null ? (lookupEnv(key) ?? null) : scalarText(value);
  };
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const s = scalarText(item);
      const eq = s.indexOf("=");
      if (eq < 0) set(s, undefined);
      else set(s.slice(0, eq), s.slice(eq + 1));
    }
  } else if (isDict(raw)) {
    for (const [k, v] of Object.entries(raw)) set(k, v);
  }
  return env;
}
