// Manifest media types and the checks a manifest from the network must pass
// before anything trusts its descriptors. Four kinds are pulled: Docker v2
// schema 2 manifests and manifest lists, OCI manifests and indexes. Schema 1
// (deprecated, signed JSON with a different shape) is refused by name.
import { isDigest } from "./digest.js";
import { RegistryError } from "./errors.js";
import type { Descriptor } from "./types.js";

export const MediaTypes = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayer: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
} as const;

export const MANIFEST_TYPES: readonly string[] = [MediaTypes.dockerManifest, MediaTypes.ociManifest];
export const INDEX_TYPES: readonly string[] = [MediaTypes.dockerManifestList, MediaTypes.ociIndex];

/** The Accept header for manifest requests: every kind we can pull. */
export const MANIFEST_ACCEPT = [...MANIFEST_TYPES, ...INDEX_TYPES].join(", ");

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type ParsedManifest = { kind: "manifest"; manifest: ImageManifest } | { kind: "index"; index: ImageIndex };

export const isManifestType = (mediaType: string): boolean => MANIFEST_TYPES.includes(mediaType);
export const isIndexType = (mediaType: string): boolean => INDEX_TYPES.includes(mediaType);

/** The media type of a Content-Type header value, without parameters ("; charset=utf-8"). */
export function bareMediaType(contentType: string | undefined): string | undefined {
  const bare = contentType?.split(";")[0]?.trim().toLowerCase();
  return bare ? bare : undefined;
}

function checkDescriptor(value: unknown, where: string, fail: (why: string) => never): Descriptor {
  if (!value || typeof value !== "object") fail(`${where} is not an object`);
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== "string" || d.mediaType === "") fail(`${where}.mediaType is missing`);
  if (!isDigest(d.digest)) fail(`${where}.digest ${JSON.stringify(d.digest)} is not a sha256 digest`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) {
    fail(`${where}.size ${JSON.stringify(d.size)} is not a non-negative integer`);
  }
  if (d.platform !== undefined) {
    const p = d.platform as Record<string, unknown> | null;
    if (!p || typeof p !== "object" || typeof p.os !== "string" || typeof p.architecture !== "string") {
      fail(`${where}.platform needs string "os" and "architecture"`);
    }
  }
  return value as Descriptor;
}

/**
 * Parses and validates manifest bytes. `contentType` is the response's
 * Content-Type (undefined for bytes from elsewhere); `what` names the
 * manifest in errors ("127.0.0.1:5000/library/busybox:latest").
 *
 * The media type comes from the Content-Type when it names a manifest kind,
 * else from the body's own mediaType field (registries serving plain
 * application/json), else from the shape (old OCI manifests omit mediaType).
 * A body whose mediaType contradicts its Content-Type is refused: one of the
 * two is lying, and the digest covers only the body.
 */
export function parseManifest(bytes: Buffer, contentType: string | undefined, what: string): ParsedManifest {
  const fail: (why: string) => never = (why) => {
    throw new RegistryError("invalid-manifest", `malformed manifest for ${what}: ${why}`);
  };
  const header = bareMediaType(contentType);
  if (header === MediaTypes.dockerSchema1 || header === MediaTypes.dockerSchema1Signed) {
    throw new RegistryError("unsupported", `${what} is a Docker schema 1 manifest, which is deprecated and not supported; push the image again with a current client`);
  }
  if (header !== undefined && !isManifestType(header) && !isIndexType(header) && header !== "application/json" && header !== "text/plain") {
    throw new RegistryError("unsupported", `unexpected Content-Type ${JSON.stringify(header)} for manifest ${what}: expected one of ${MANIFEST_ACCEPT}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    fail(`invalid JSON (${(err as Error).message})`);
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) fail("not a JSON object");
  const m = body as Record<string, unknown>;
  if (m.schemaVersion === 1) {
    throw new RegistryError("unsupported", `${what} is a Docker schema 1 manifest, which is deprecated and not supported; push the image again with a current client`);
  }
  if (m.schemaVersion !== 2) fail(`schemaVersion is ${JSON.stringify(m.schemaVersion)}, expected 2`);
  if (m.mediaType !== undefined && typeof m.mediaType !== "string") fail("mediaType is not a string");
  const own = m.mediaType;
  const fromHeader = header !== undefined && (isManifestType(header) || isIndexType(header)) ? header : undefined;
  if (fromHeader && own && own !== fromHeader) {
    fail(`mediaType ${JSON.stringify(own)} in the body contradicts Content-Type ${JSON.stringify(fromHeader)}`);
  }
  const mediaType =
    fromHeader ?? own ?? (Array.isArray(m.manifests) ? MediaTypes.ociIndex : m.config !== undefined ? MediaTypes.ociManifest : undefined);
  if (mediaType === undefined) fail("no mediaType, and neither config nor manifests to tell its kind");
  if (isIndexType(mediaType)) {
    if (!Array.isArray(m.manifests)) fail(`an index (${mediaType}) needs a "manifests" array`);
    const manifests = m.manifests.map((d, i) => checkDescriptor(d, `manifests[${i}]`, fail));
    return { kind: "index", index: { ...m, schemaVersion: 2, mediaType, manifests } satisfies ImageIndex };
  }
  if (isManifestType(mediaType)) {
    const config = checkDescriptor(m.config, "config", fail);
    if (!Array.isArray(m.layers)) fail(`an image manifest (${mediaType}) needs a "layers" array`);
    const layers = m.layers.map((d, i) => checkDescriptor(d, `layers[${i}]`, fail));
    return { kind: "manifest", manifest: { ...m, schemaVersion: 2, mediaType, config, layers } satisfies ImageManifest };
  }
  throw new RegistryError("unsupported", `${what} has media type ${JSON.stringify(mediaType)}, not an image manifest or index`);
}
