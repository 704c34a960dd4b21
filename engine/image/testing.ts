// Image records for the image store's unit tests: what a pull or a build
// would have written, without blobs or layers behind them.
import type { Digest } from "../content/types.js";
import type { ImageRecord } from "./types.js";

/** A digest of one repeated hex character ("a" -> sha256:aaaa...). */
export const testDigest = (c: string): Digest => `sha256:${c.repeat(64)}`;

/** A record with no layers, made on `parent` when given (a build step's). */
export function testRecord(digest: Digest, parent?: Digest): ImageRecord {
  return {
    id: digest,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest, size: 2 },
    manifest: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: testDigest("f"), size: 3 },
    layers: [],
    platform: { os: "linux", architecture: "amd64" },
    created: "2020-01-01T00:00:00Z",
    imageConfig: { entrypoint: undefined, cmd: ["sh"], env: [], workingDir: undefined, user: undefined, exposedPorts: [], volumes: [], labels: {}, stopSignal: undefined, healthcheck: undefined },
    addedAt: "2020-01-01T00:00:00Z",
    ...(parent ? { parent } : {}),
  };
}
