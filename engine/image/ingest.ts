// Getting bytes of unknown digest into the content store (docker load and
// docker import read streams whose digests nobody told us). The store only
// accepts a blob whose digest is named up front, so the bytes are first
// spooled to a private temporary file while hashed, then written to the store
// from there, which verifies them again. The temp file goes either way.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { detectCompression, type Compression } from "../snapshot/decompress.js";
import { MediaTypes } from "../content/manifest.js";
import type { BlobInfo, ContentStore, Digest } from "../content/types.js";

export async function spoolToStore(content: ContentStore, input: Readable, tmpDir: string): Promise<BlobInfo> {
  const tmp = join(tmpDir, `spool-${randomBytes(8).toString("hex")}`);
  const hash = createHash("sha256");
  let size = 0;
  try {
    await pipeline(
      input,
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      }),
      createWriteStream(tmp, { mode: 0o600 }),
    );
    const digest: Digest = `sha256:${hash.digest("hex")}`;
    if (await content.has(digest)) return { digest, size };
    const writer = await content.writer(digest, size);
    try {
      await pipeline(createReadStream(tmp), writer.stream);
      return await writer.commit();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** How a stored blob is compressed, from its first bytes. */
export async function blobCompression(content: ContentStore, digest: Digest): Promise<Compression> {
  const handle = await open(content.path(digest), "r");
  try {
    const head = Buffer.alloc(6);
    const { bytesRead } = await handle.read(head, 0, 6, 0);
    return detectCompression(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** The OCI layer media type for a compression. */
export function ociLayerMediaType(c: Compression): string {
  switch (c) {
    case "gzip":
      return MediaTypes.ociLayerGzip;
    case "zstd":
      return MediaTypes.ociLayerZstd;
    default:
      return MediaTypes.ociLayer;
  }
}
