// The content store: blobs addressed by their digest ("sha256:<64 hex>").
//
// Lifecycle of a blob: a writer is opened for an expected digest (and size when
// known); bytes stream into an ingest file under <root>/ingest while their
// sha256 is computed on the fly; commit() checks digest (and size) and renames
// the file into <root>/blobs/sha256/<hex>. Only a committed blob is ever
// visible. A digest or size mismatch deletes the ingest file and fails with
// ContentError("digest-mismatch" / "size-mismatch"); a writer aborted, or
// whose stream is destroyed before it ends, deletes its file too. A kill -9
// mid-write leaves at most an orphaned ingest file: never visible, never
// resumed (every writer starts a file of its own, so a later pull simply
// starts over), and reclaimed by age (LocalContentStore.cleanIngest).
//
// Two writers for the same digest at once (two pulls of one image) are safe:
// each writes its own ingest file; the rename is atomic; the loser finds the
// blob present and succeeds.
//
// Every method taking a digest refuses a malformed or non-sha256 one with
// ContentError("invalid-digest") before touching storage (path() and read()
// throw it; the others reject).
import type { Readable, Writable } from "node:stream";
import type { ErrorKind, KindedError } from "../errors.js";

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
  /** Bytes accepted by the stream so far. */
  readonly written: number;
  /**
   * Ends the stream if the caller has not, waits for every byte, verifies size
   * and digest, then makes the blob visible. Rejects with the stream's error if
   * writing failed. Idempotent, and with concurrent writers of the same digest.
   */
  commit(): Promise<BlobInfo>;
  /** Discards the ingest file; a no-op once commit() has been called. */
  abort(): Promise<void>;
}

export interface ContentStore {
  readonly root: string;
  has(digest: Digest): Promise<boolean>;
  info(digest: Digest): Promise<BlobInfo | undefined>;
  /** Path of a committed blob (for tools that need a file). */
  path(digest: Digest): string;
  /** Streams a committed blob; a missing one fails the stream with ContentError("not-found"). */
  read(digest: Digest): Readable;
  /** Rejects with ContentError("not-found") when the blob is absent. */
  readBytes(digest: Digest): Promise<Buffer>;
  /** Writes a small blob from memory (manifests, configs), verifying it against `expected` when given. */
  put(data: Buffer, expected?: Digest): Promise<BlobInfo>;
  writer(expected: Digest, size?: number): Promise<BlobWriter>;
  /** Rejects with ContentError("not-found") when the blob is absent. */
  delete(digest: Digest): Promise<void>;
  list(): Promise<BlobInfo[]>;
}

export type ContentErrorCode = "not-found" | "digest-mismatch" | "size-mismatch" | "invalid-digest";

export class ContentError extends Error implements KindedError {
  constructor(
    readonly code: ContentErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ContentError";
    // Bytes or a digest that do not match what they claim are the writer's mistake.
    this.kind = code === "not-found" ? "not-found" : "invalid";
  }

  readonly kind: ErrorKind;
}
