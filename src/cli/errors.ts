// How the CLI reports failure: one line on stderr, prefixed like docker
// compose's messages, and a non-zero exit code.
//
// The exit code of each error kind (engine/errors.ts). docker and docker
// compose exit 1 on any error the daemon reports, and scripts test for it,
// so every kind is 1 today; the table is the one place to change that.
//   not-found 1   conflict 1      invalid 1   unauthorized 1   forbidden 1
//   unavailable 1 (no daemon too) timeout 1   no-space 1       internal 1
// Commander's usage errors exit 1 as well (compose's own would be 15); a
// container's exit code (run, exec) is passed through as it is.
import { kindOf } from "../../model/errors.js";
import type { ErrorKind, KindedError } from "../../model/errors.js";

export const EXIT_CODE_OF_KIND: Readonly<Record<ErrorKind, number>> = {
  "not-found": 1,
  conflict: 1,
  invalid: 1,
  unauthorized: 1,
  forbidden: 1,
  unavailable: 1,
  timeout: 1,
  "no-space": 1,
  internal: 1,
};

/** A failure the CLI found itself, or one it wraps (its kind is the cause's, else "invalid": a usage mistake). */
export class CliError extends Error implements KindedError {
  readonly exitCode: number;
  readonly kind: ErrorKind;

  constructor(message: string, exitCode?: number, options?: { cause?: unknown; kind?: ErrorKind }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
    this.kind = options?.kind ?? (options?.cause === undefined ? "invalid" : kindOf(options.cause));
    this.exitCode = exitCode ?? EXIT_CODE_OF_KIND[this.kind];
  }
}

/** The exit code for anything a command threw: a CliError's own, else its kind's. */
export function exitCodeOf(err: unknown): number {
  return err instanceof CliError ? err.exitCode : EXIT_CODE_OF_KIND[kindOf(err)];
}

export function reportError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${message}\n`);
  if (process.env.TSCOMPOSE_DEBUG && err instanceof Error && err.stack) {
    process.stderr.write(`${err.stack}\n`);
  }
}
