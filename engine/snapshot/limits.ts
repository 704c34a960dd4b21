// Bounds on what one layer may unpack to. A layer's blob is bounded by its
// descriptor, but its uncompressed tar is not: a few MiB of gzip can inflate
// to terabytes (a "gzip bomb"), and a tar of empty files to millions of
// inodes. Docker and containerd set no bound and let the disk fill; we stop
// the unpack (the snapshotter then discards its temporary directory) once a
// layer passes any of these, and say which and how to raise it.
//
// The ratio check is what catches a bomb early: real layers inflate 2 to 10
// times (text-heavy ones rarely 20), deflate at most about 1032 times. It
// applies only past `ratioFloor`, so a small layer of zeros is never refused.
import { Transform, type TransformCallback } from "node:stream";
import { formatLimit } from "../content/limits.js";
import { UnpackError } from "./errors.js";

export interface LayerLimits {
  /** Most bytes of uncompressed tar one layer may have. */
  maxSize: number;
  /** Most uncompressed bytes per compressed byte, once past `ratioFloor`. */
  maxRatio: number;
  /** Uncompressed bytes any layer may reach whatever its ratio. */
  ratioFloor: number;
  /** Most tar entries (files, directories, links ...) in one layer. */
  maxEntries: number;
}

export const DEFAULT_LAYER_LIMITS: LayerLimits = {
  maxSize: 64 * 2 ** 30,
  maxRatio: 100,
  ratioFloor: 2 ** 30,
  maxEntries: 1_000_000,
};

/** The daemon.json keys that set the limits (read by engine/config.ts), named in the errors. */
export const LAYER_LIMIT_KEYS = {
  maxSize: "x-tscompose-max-layer-size",
  maxRatio: "x-tscompose-max-layer-ratio",
  maxEntries: "x-tscompose-max-layer-entries",
} as const;

/** Counts one layer's bytes (compressed, uncompressed) and entries against its limits. */
export class LayerBudget {
  readonly limits: LayerLimits;
  compressed = 0;
  #entries = 0;

  constructor(limits: Partial<LayerLimits> = {}) {
    this.limits = { ...DEFAULT_LAYER_LIMITS, ...limits };
  }

  /** A pass-through stage counting the compressed bytes that go in. */
  compressedCounter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) => {
        this.compressed += chunk.length;
        cb(null, chunk);
      },
    });
  }

  /** The error for `size` uncompressed bytes so far, if that is over a limit. `compressed`: whether the layer is. */
  checkSize(size: number, compressed: boolean): UnpackError | undefined {
    const { maxSize, maxRatio, ratioFloor } = this.limits;
    if (size > maxSize) {
      return new UnpackError("limit", `layer unpacks to more than the ${formatLimit(maxSize)} limit (${LAYER_LIMIT_KEYS.maxSize} in daemon.json)`);
    }
    if (compressed && size > ratioFloor && size > maxRatio * this.compressed) {
      return new UnpackError(
        "limit",
        `layer inflates more than ${maxRatio} times (${formatLimit(size)} from ${formatLimit(this.compressed)} so far), a compression bomb? (limit: ${LAYER_LIMIT_KEYS.maxRatio} in daemon.json)`,
      );
    }
    return undefined;
  }

  /** Counts one more entry; throws past the limit. */
  entry(name: string): void {
    if (++this.#entries > this.limits.maxEntries) {
      throw new UnpackError("limit", `layer has more than the limit of ${this.limits.maxEntries} entries (${LAYER_LIMIT_KEYS.maxEntries} in daemon.json)`, { entry: name });
    }
  }
}
