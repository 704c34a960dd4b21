import type { ErrorKind, KindedError } from "../../errors.js";

/**
 * A Dockerfile the frontend refuses. The message follows docker's
 * `Dockerfile:LINE: INSTRUCTION: what` so that a user can jump to the line;
 * `line` (1-based) is kept for callers that point at it themselves.
 */
export class DockerfileError extends Error implements KindedError {
  readonly kind: ErrorKind = "invalid";
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly detail: string,
  ) {
    super(line === undefined ? `${file}: ${detail}` : `${file}:${line}: ${detail}`);
    this.name = "DockerfileError";
  }
}

/** A variable expansion that failed (`${X:?msg}`, an unterminated quote); the caller adds the location. */
export class ExpansionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExpansionError";
  }
}
