// How the CLI reports failure: one line on stderr, prefixed like docker
// compose's messages, and a non-zero exit code (1 for errors, as compose; 15
// for bad usage is compose's, but commander's own usage errors exit 1 too).

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CliError";
  }
}

export function reportError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${message}\n`);
  if (process.env.TSCOMPOSE_DEBUG && err instanceof Error && err.stack) {
    process.stderr.write(`${err.stack}\n`);
  }
}
