// Where the engine's errors are translated, once, for every caller: each
// promise-returning method of the engine (and of the image service) rejects
// with an error that carries a kind (errors.ts), and so does every async
// iterable one (logs, events) when its iteration fails. Our own classes already do
// and pass unchanged; a full state dir is said so (no-space.ts); anything
// else (a Node error, a library's plain Error) becomes an EngineError of the
// kind its code implies, its message kept and the original as its cause.
import { EngineError, isErrorKind, kindOf } from "./errors.js";
import { noSpaceError } from "./no-space.js";

/** The error the engine's caller sees for err. */
export function engineError(err: unknown, stateDir: string): unknown {
  const mapped = noSpaceError(err, stateDir);
  if (mapped !== err) return mapped;
  if (isErrorKind((err as { kind?: unknown } | null)?.kind)) return err;
  return new EngineError(kindOf(err), err instanceof Error ? err.message : String(err), { cause: err });
}

/** An iterable such as logs()'s; a stream is one too, but it carries its errors as events and must stay a stream. */
function isPlainAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { [Symbol.asyncIterator]?: unknown; pipe?: unknown };
  return typeof v[Symbol.asyncIterator] === "function" && typeof v.pipe !== "function";
}

/** The iterable whose failures (at any step, or when it is closed early) are passed through engineError. */
async function* translated<T>(source: AsyncIterable<T>, stateDir: string): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (err) {
    throw engineError(err, stateDir);
  }
}

/** The object with every promise-returning method's rejection, and every async iterable's failure, passed through engineError. */
export function withEngineErrors<T extends object>(engine: T, stateDir: string): T {
  return new Proxy(engine, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]): unknown => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise)
          return result.catch((err: unknown) => {
            throw engineError(err, stateDir);
          });
        if (isPlainAsyncIterable(result)) return translated(result, stateDir);
        return result;
      };
    },
  });
}
