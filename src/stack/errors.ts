// Errors of the stack loader. Every error names where it comes from: the file,
// line and column when the YAML source is known, and always the dotted key path
// (`services.web.ports[1]`), because "invalid port" alone sends a user hunting.

import type { KindedError } from "../../engine/errors.js";

export interface SourceLocation {
  file: string;
  line: number; // 1-based
  column: number; // 1-based
}

export const STACK_ERROR_CODES = [
  "yaml", // the file is not well-formed YAML (duplicate keys included)
  "schema", // a key is unknown or a value has the wrong type or format
  "interpolation", // ${VAR:?err} on an unset variable, or a malformed ${...}
  "reference", // depends_on / networks / volumes naming something that does not exist
  "cycle", // depends_on, extends or include loops
  "file", // a stack file, env_file, extends/include target cannot be read
  "invalid", // any other semantic error found during normalization
  "unsupported", // a compose-spec key the engine does not implement (src/stack/support.ts), refused before acting
] as const;

export type StackErrorCode = (typeof STACK_ERROR_CODES)[number];

export class StackError extends Error implements KindedError {
  /** Whatever its code, a stack that does not load is the request's fault: the user fixes the file. */
  readonly kind = "invalid";
  readonly code: StackErrorCode;
  readonly path: string | undefined;
  readonly location: SourceLocation | undefined;

  constructor(
    code: StackErrorCode,
    message: string,
    opts: { path?: string | undefined; location?: SourceLocation | undefined; cause?: unknown } = {},
  ) {
    super(formatStackError(message, opts.path, opts.location), { cause: opts.cause });
    this.name = "StackError";
    this.code = code;
    this.path = opts.path;
    this.location = opts.location;
  }
}

function formatStackError(message: string, path?: string, location?: SourceLocation): string {
  const where = location ? `${location.file}:${location.line}:${location.column}: ` : "";
  const key = path ? `${path}: ` : "";
  return `${where}${key}${message}`;
}

/** Formats a key path the way compose users read it: services.web.ports[1]. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else out += out === "" ? s : `.${s}`;
  }
  return out;
}

/** An error of the merge stage (merge.ts, extends.ts); the loader turns it into a StackError with a position. */
export class MergeError extends Error {
  readonly code: Extract<StackErrorCode, "cycle" | "reference" | "invalid">;
  /** Key path of the offending value, for locating it in its file. */
  readonly path: (string | number)[];
  /** File the path refers to when it is not the file being merged (extends from another file). */
  readonly file: string | undefined;

  constructor(code: MergeError["code"], message: string, path: (string | number)[], file?: string) {
    super(message);
    this.name = "MergeError";
    this.code = code;
    this.path = path;
    this.file = file;
  }
}
