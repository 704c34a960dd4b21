// Streams one layer blob onto disk: decompress (by magic bytes), hash the
// uncompressed tar on the fly (its sha256 is the layer's diffID), parse with
// tar-stream, and apply each entry ourselves (writer.ts).
//
// Why not the `tar` package's extractor: a layer is not a plain archive. Its
// `.wh.` entries must become overlay whiteouts (a 0/0 character device, an
// xattr on the directory) rather than files, and every path has to be resolved
// by us, without following symlinks, for the breakout rules to be ours to
// state and test. tar-stream only parses; every filesystem call is in writer.ts.
import { realpath, stat } from "node:fs/promises";
import type { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar-stream";
import type { Digest } from "../content/types.js";
import { decompressor, detectCompression, DigestCounter, peek } from "./decompress.js";
import { UnpackError } from "./errors.js";
import { LayerBudget, type LayerLimits } from "./limits.js";
import { LayerWriter, SourceError, type TarHeader, type WriterOptions } from "./writer.js";

export { UnpackError, type UnpackErrorCode } from "./errors.js";

export type UnpackOptions = WriterOptions & {
  /** Bounds on the layer's uncompressed size, inflation ratio and entries (default DEFAULT_LAYER_LIMITS). */
  limits?: Partial<LayerLimits>;
};

export interface UnpackResult {
  /** sha256 of the uncompressed tar stream, all of it (trailing padding included). */
  diffId: Digest;
  /** Bytes of the uncompressed tar. */
  size: number;
  /** Entries skipped or altered (devices not allowed, unsupported xattrs ...). */
  warnings: string[];
}

/**
 * Unpacks a layer (gzip or uncompressed tar) into `destDir`, an existing
 * directory that should be empty and private to this call. On failure the
 * directory is left partly written: callers unpack into a temporary directory
 * and discard it (the snapshotter does).
 */
export async function unpackLayer(input: Readable, destDir: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  let inputError: unknown;
  input.once("error", (err) => (inputError = err));

  let root: string;
  try {
    root = await realpath(destDir);
    if (!(await stat(root)).isDirectory()) throw new Error("not a directory");
  } catch (err) {
    input.destroy();
    throw new UnpackError("io", `unpack destination ${destDir}: ${(err as Error).message}`, { cause: err });
  }

  const { head, stream } = await peek(input, 6);
  let decompress: Transform | undefined;
  try {
    decompress = decompressor(detectCompression(head));
  } catch (err) {
    stream.destroy();
    input.destroy();
    throw err;
  }

  const budget = new LayerBudget(opts.limits);
  const counter = new DigestCounter((size) => budget.checkSize(size, decompress !== undefined));
  const extract = tar.extract();
  const writer = new LayerWriter(root, opts);
  const stages: NodeJS.ReadWriteStream[] = decompress === undefined ? [counter] : [budget.compressedCounter(), decompress, counter];
  // tar-stream is built on streamx, whose streams node's pipeline drives like its own.
  const piped = pipeline([stream, ...stages, extract as unknown as NodeJS.WritableStream]);
  // Observed below; this keeps an early rejection from counting as unhandled meanwhile.
  piped.catch(() => undefined);

  try {
    for await (const entry of extract) {
      budget.entry(entry.header.name);
      await writer.entry(entry.header as TarHeader, entry as AsyncIterable<Buffer>);
    }
    await piped;
    await writer.finish();
  } catch (err) {
    stream.destroy();
    input.destroy();
    const upstream = await piped.then(
      () => undefined,
      (e: unknown) => e,
    );
    // An entry whose data stopped is a symptom; the pipeline's error (a limit passed, bad gzip ...) is the cause.
    throw classify(upstream instanceof UnpackError || (err instanceof SourceError && upstream !== undefined) ? upstream : err, inputError);
  } finally {
    await writer.dispose();
  }
  return { diffId: counter.digest(), size: counter.size, warnings: writer.warnings };
}

/** Errors not raised by us come from the input (kept as they are), zlib or tar-stream (corrupt). */
function classify(err: unknown, inputError: unknown): unknown {
  if (err instanceof UnpackError) return err;
  if (inputError !== undefined) return inputError;
  const message = err instanceof Error ? err.message : String(err);
  return new UnpackError("corrupt", `layer is not a valid tar stream: ${message}`, { cause: err });
}
