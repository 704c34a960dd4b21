// Streams one blob from a registry into a content-store writer.
//
// The store hashes while it writes and checks the digest at commit, so this
// module only moves bytes: with backpressure (a slow disk slows the socket,
// memory stays flat), and with resumption. When the connection drops or the
// body ends early, the next try asks for the rest with `Range: bytes=N-`;
// a registry that ignores Range answers 200 with the whole blob, and the bytes
// we already have are skipped. The writer is never rewound, so a resumed
// download costs only the missing bytes and the hash is computed once.
import type { Readable, Writable } from "node:stream";
import { pullScope } from "./auth.js";
import { RegistryError } from "./errors.js";
import type { Endpoint } from "./hosts.js";
import { describeNetworkError, isRetryableNetworkError, sleep, type Transport, unexpectedStatus } from "./transport.js";
import type { BlobWriter, Descriptor } from "./types.js";

// A failure of the local writer (disk full, size overrun): never retried.
class WriterFailure extends Error {
  constructor(readonly original: Error) {
    super(original.message);
  }
}

function waitWritable(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off("drain", onDrain);
      stream.off("error", onError);
      stream.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (err: Error): void => done(new WriterFailure(err));
    const onClose = (): void => done(new WriterFailure(stream.errored ?? new Error("the blob writer closed before the download finished")));
    stream.on("drain", onDrain);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
}

/**
 * Copies `body` into `stream` from byte `skip` of the body on, advancing
 * `state.offset` chunk by chunk: when the body fails midway, the offset says
 * exactly how much the writer already has.
 */
async function pump(body: Readable, stream: Writable, skip: number, state: DownloadState, size: number, tooLarge: () => Error): Promise<void> {
  let toSkip = skip;
  for await (const raw of body as AsyncIterable<Buffer>) {
    let chunk = raw;
    if (toSkip > 0) {
      if (chunk.length <= toSkip) {
        toSkip -= chunk.length;
        continue;
      }
      chunk = chunk.subarray(toSkip);
      toSkip = 0;
    }
    if (state.offset + chunk.length > size) {
      body.destroy();
      throw tooLarge();
    }
    if (stream.destroyed || stream.errored) throw new WriterFailure(stream.errored ?? new Error("the blob writer was closed"));
    state.offset += chunk.length;
    if (!stream.write(chunk)) await waitWritable(stream);
  }
}

/** "bytes 100-199/200" -> 100 */
function rangeStart(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const m = /^bytes\s+(\d+)-\d+\/(\d+|\*)$/.exec(value?.trim() ?? "");
  return m?.[1] !== undefined ? Number(m[1]) : undefined;
}

export interface DownloadState {
  /** Bytes of the blob already handed to the writer. */
  offset: number;
}

/**
 * Downloads the rest of `desc` from one endpoint into `writer`, starting at
 * `state.offset` and advancing it, so the caller can continue on another
 * endpoint after a failure. Does not commit.
 */
export async function downloadBlob(
  transport: Transport,
  endpoint: Endpoint,
  path: string,
  desc: Descriptor,
  writer: BlobWriter,
  state: DownloadState,
  what: string,
): Promise<void> {
  const label = `${what}: blob ${desc.digest}`;
  let attempt = 0;
  const again = async (): Promise<boolean> => {
    if (attempt + 1 >= transport.retry.attempts) return false;
    await sleep(transport.backoff(attempt++));
    return true;
  };
  while (state.offset < desc.size) {
    const headers: Record<string, string> = {};
    if (state.offset > 0) headers.range = `bytes=${state.offset}-`;
    const res = await transport.request(endpoint, {
      method: "GET",
      path: `/v2/${path}/blobs/${desc.digest}`,
      headers,
      scopes: [pullScope(path)],
      what: label,
    });
    let skip: number;
    if (res.status === 200) {
      skip = state.offset;
    } else if (res.status === 206) {
      const start = rangeStart(res.headers["content-range"]);
      if (start === undefined || start > state.offset) {
        await res.body.dump().catch(() => {});
        throw new RegistryError("protocol", `${label}: ${endpoint.host} answered a range request with Content-Range ${JSON.stringify(res.headers["content-range"])}`);
      }
      skip = state.offset - start;
    } else {
      throw await unexpectedStatus(endpoint, res, label, "blob download");
    }
    try {
      await pump(res.body, writer.stream, skip, state, desc.size, () =>
        new RegistryError("digest-mismatch", `${label} from ${endpoint.host} is larger than the ${desc.size} bytes its descriptor says`),
      );
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      // The store's own error (ContentError, ENOSPC ...): a local failure, not the registry's.
      if (err instanceof WriterFailure) throw err.original;
      // Bytes counted so far did reach the writer: the retry resumes after them.
      if (isRetryableNetworkError(err) && (await again())) continue;
      throw new RegistryError("unavailable", `${label}: download from ${endpoint.host} failed at byte ${state.offset} of ${desc.size}: ${describeNetworkError(err)}`, { cause: err });
    }
    if (state.offset < desc.size && !(await again())) {
      throw new RegistryError("truncated", `${label} from ${endpoint.host} truncated: received ${state.offset} of ${desc.size} bytes`);
    }
  }
}
