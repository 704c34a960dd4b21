// The content store: blobs addressed by their digest ("sha256:<64 hex>").
//
// Lifecycle of a blob: a writer is opened for an expected digest (and size when
// known); bytes stream into an ingest file under <root>/ingest while their
// sha256 is computed on the fly; commit() checks digest (and size) and renames
// the file into <root>/blobs/sha256/<hex>. Only a committed blob is ever
// visible, so a kill -9 mid-write leaves at most an ingest file, which the next
// open of the same digest discards or resumes. A digest mismatch deletes the
// ingest file and fails with ContentError("digest-mismatch").
//
// Two writers for the same digest at once (two pulls of one image) are safe:
// each writes its own ingest file; the rename is atomic; the loser finds the
// blob present and succeeds.
import type { Readable, Writable } from "node:stream";

export type Digest = `sha256:${string}`;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface BlobWriter {
  /** The stream to write the blob's bytes to. */
  readonly stream: Writable;
  /** Bytes written so far (including bytes resumed from an earlier attempt). */
  readonly written: number;
  /** Verifies digest and size, then makes the blob visible. Idempotent with concurrent writers. */
  commit(): Promise<BlobInfo>;
  /** Discards the ingest file. */
  abort(): Promise<void>;
}

export interface ContentStore {
  readonly root: string;
  has(digest: Digest): Promise<boolean>;
  info(digest: Digest): Promise<BlobInfo | undefined>;
  /** Path of a committed blob (for tools that need a file). */
  path(digest: Digest): string;
  read(digest: Digest): Readable;
  readBytes(digest: Digest): Promise<Buffer>;
  /** Writes a small blob from memory (manifests, configs), verifying it against `expected` when given. */
  put(data: Buffer, expected?: Digest): Promise<BlobInfo>;
  writer(expected: Digest, size?: number): Promise<BlobWriter>;
  delete(digest: Digest): Promise<void>;
  list(): Promise<BlobInfo[]>;
}

export type ContentErrorCode = "not-found" | "digest-mismatch" | "size-mismatch" | "invalid-digest";

export class ContentError extends Error {
  constructor(
    readonly code: ContentErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ContentError";
  }
}
