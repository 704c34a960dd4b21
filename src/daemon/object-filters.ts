// The docker CLI's `--filter KEY=VALUE` for `volume ls`, `network ls` and
// their prune commands, parsed once and matched in the daemon. As in Docker:
// label filters all have to match; several values of another key match when
// any of them does. A key the object kind does not know is an error, never
// ignored.
import { HttpError } from "./http.js";

export interface ObjectFilters {
  /** KEY (present) or KEY=VALUE (equal), all required. */
  labels: { key: string; value: string | undefined }[];
  /** Any-of values per key: name (substring), driver, id (prefix), dangling (true/false). */
  values: Map<string, string[]>;
}

/** What a filter is matched against. */
export interface Filterable {
  name: string;
  id?: string;
  driver: string;
  labels: Record<string, string>;
  /** Whether a container uses it (dangling=false). */
  used: boolean;
}

export const VOLUME_FILTERS = ["label", "name", "driver", "dangling"] as const;
export const NETWORK_FILTERS = ["label", "name", "driver", "id", "dangling"] as const;

export function parseFilters(texts: string[], allowed: readonly string[]): ObjectFilters {
  const filters: ObjectFilters = { labels: [], values: new Map() };
  for (const text of texts) {
    const eq = text.indexOf("=");
    if (eq <= 0) throw new HttpError(400, `bad format of filter (expected name=value): ${JSON.stringify(text)}`);
    const key = text.slice(0, eq);
    const value = text.slice(eq + 1);
    if (!allowed.includes(key)) throw new HttpError(400, `invalid filter '${key}' (supported: ${allowed.join(", ")})`);
    if (key === "label") {
      const kv = value.indexOf("=");
      filters.labels.push(kv < 0 ? { key: value, value: undefined } : { key: value.slice(0, kv), value: value.slice(kv + 1) });
      continue;
    }
    if (key === "dangling" && !["true", "false", "1", "0"].includes(value)) throw new HttpError(400, `invalid filter 'dangling=${value}': expected true or false`);
    filters.values.set(key, [...(filters.values.get(key) ?? []), key === "dangling" ? String(value === "true" || value === "1") : value]);
  }
  return filters;
}

export function matches(f: ObjectFilters, o: Filterable): boolean {
  if (!f.labels.every((l) => (l.value === undefined ? l.key in o.labels : o.labels[l.key] === l.value))) return false;
  for (const [key, wanted] of f.values) {
    const ok = wanted.some((w) => {
      if (key === "name") return o.name.includes(w);
      if (key === "driver") return o.driver === w;
      if (key === "id") return o.id?.startsWith(w) === true;
      return (w === "true") === !o.used; // dangling
    });
    if (!ok) return false;
  }
  return true;
}
