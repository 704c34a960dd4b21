// The loader works on plain YAML/JSON values; a Dict is a mapping among them.
export type Dict = Record<string, unknown>;

/** A mapping (not a list, not null). */
export const isDict = (v: unknown): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v);
