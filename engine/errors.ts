// The engine's error class. The vocabulary it speaks (ErrorKind, kindOf ...)
// is model/errors.ts, shared by every layer; it is re-exported here so that
// the engine's modules have one place for their errors.
import type { ErrorKind, KindedError } from "../model/errors.js";

export { ERROR_KINDS, isErrorKind, kindOf, type ErrorKind, type KindedError } from "../model/errors.js";

/** The engine's error, for everything it refuses or fails at without a more specific class. */
export class EngineError extends Error implements KindedError {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(message, options);
    this.name = "EngineError";
    this.retryable = options?.retryable ?? kind === "unavailable";
  }
  readonly retryable: boolean;

  /** @deprecated the kind, under its former name: read `kind`. */
  get code(): ErrorKind {
    return this.kind;
  }
}
