// The loader works on plain YAML/JSON values; a Dict is a mapping among them
// (model/dict.ts, shared with the engine). The helpers here are the loader's own.
import { isDict, type Dict } from "../../model/dict.js";

export { isDict, type Dict };

/**
 * A mapping made by a parser (prototype Object or null), not an instance of a
 * class: the merge stage's `!override` wrapper is an object too, and must not
 * be taken for a mapping and merged key by key.
 */
export function isPlainDict(v: unknown): v is Dict {
  if (!isDict(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Assigns an own property even for the key `__proto__`, which a YAML file may well contain. */
export function setKey(obj: Dict, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** A scalar as text; a mapping or list (where a string was expected) as its JSON. */
export const scalarText = (v: unknown): string => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));
