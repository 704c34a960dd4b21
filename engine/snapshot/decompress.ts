// Layer blobs arrive gzip-compressed, uncompressed, or (newer images) zstd
// compressed. The media type says which, but blobs from docker save, from
// registries that mislabel, or from tests are often wrong about it, so we look
// at the magic bytes instead, as docker's DecompressStream does.
import { createHash, type Hash } from "node:crypto";
import { Readable, Transform, type TransformCallback } from "node:stream";
import * as zlib from "node:zlib";
import { UnpackError } from "./errors.js";

export type Compression = "gzip" | "zstd" | "bzip2" | "xz" | "none";

const MAGIC: Array<[Compression, number[]]> = [
  ["gzip", [0x1f, 0x8b]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
  ["bzip2", [0x42, 0x5a, 0x68]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
];

export function detectCompression(head: Buffer): Compression {
  for (const [kind, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return kind;
  }
  return "none";
}

/**
 * Reads the first `n` bytes (fewer at end of stream) without losing them: the
 * returned stream yields the head again followed by the rest of the input.
 */
export async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < n) {
    const r = await it.next();
    if (r.done === true) {
      ended = true;
      break;
    }
    const chunk = typeof r.value === "string" ? Buffer.from(r.value) : r.value;
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      if (ended) return;
      for (;;) {
        const r = await it.next();
        if (r.done === true) return;
        yield typeof r.value === "string" ? Buffer.from(r.value) : r.value;
      }
    } finally {
      // Destroyed early (an unpack error): stop reading the source too.
      if (!ended) await it.return?.();
    }
  }
  return { head, stream: Readable.from(replay(), { objectMode: false }) };
}

type ZstdZlib = { createZstdDecompress?: (opts?: zlib.ZlibOptions) => Transform };

// zlib's default output chunk is 16 KiB: every chunk is a round trip to the
// thread pool, a trip through the tar parser and a write(2). With 128 KiB
// chunks an unpack spends a fraction of the CPU (measured by bench/pull.ts:
// several times less wall and CPU time for a 100 MB image); 512 KiB cut the
// CPU time of unpacking the bench's 5 layers by another ~10% (medians of 4
// runs: 1.39 s -> 1.25 s of user+system time, both including the inflating).
// The inflation limits are checked per chunk, so they may overshoot by this much.
const INFLATE_CHUNK = 512 * 1024;

/** A decompressing transform for `kind`, or undefined for an uncompressed tar. */
export function decompressor(kind: Compression): Transform | undefined {
  switch (kind) {
    case "none":
      return undefined;
    case "gzip":
      return zlib.createGunzip({ chunkSize: INFLATE_CHUNK });
    case "zstd": {
      // Node 22.15+/23.8+ ship zstd in zlib; Node 20 does not.
      const create = (zlib as unknown as ZstdZlib).createZstdDecompress;
      if (typeof create === "function") return create({ chunkSize: INFLATE_CHUNK });
      throw new UnpackError("unsupported", `zstd layers are not supported yet (node ${process.version} has no zstd in zlib)`);
    }
    case "bzip2":
    case "xz":
      throw new UnpackError("unsupported", `${kind} layers are not supported (only gzip, uncompressed, and zstd where node has it)`);
  }
}

/** Passes bytes through while computing their sha256 and count: the diffID of the tar. */
export class DigestCounter extends Transform {
  private readonly hash: Hash = createHash("sha256");
  size = 0;

  /** `check` sees the running size after each chunk; an error it returns stops the stream before the chunk goes on. */
  constructor(private readonly check?: (size: number) => Error | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(this.check?.(this.size) ?? null, chunk);
  }

  digest(): `sha256:${string}` {
    return `sha256:${this.hash.digest("hex")}`;
  }
}
