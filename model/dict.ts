// A mapping among plain YAML/JSON values, and the one test for it. Every
// layer that reads such values (the loader, the engine's seccomp profiles and
// daemon.json) asks the same question, so it lives below them all.
export type Dict = Record<string, unknown>;

/** A mapping (not a list, not null). */
export const isDict = (v: unknown): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v);
