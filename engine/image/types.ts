// What the image service knows about an image, as persisted under
// <stateDir>/images (store.ts). Following Docker's model: an image is
// identified by the digest of its config (the image ID); its layers are
// content-store blobs (compressed as pulled) and, once unpacked, snapshotter
// layers named by chain ID; references (tags and digests) point at image IDs.
import type { Descriptor, Digest, Platform } from "../content/types.js";
import type { ChainId } from "../snapshot/types.js";
import type { ImageConfig } from "../types.js";

export interface ImageLayerRecord {
  /** The blob as stored and pushed (media type, digest and size of the compressed bytes). */
  blob: Descriptor;
  /** sha256 of the uncompressed tar, from the config's rootfs.diff_ids. */
  diffId: Digest;
  chainId: ChainId;
  /** Bytes of the uncompressed tar. */
  unpackedSize: number;
}

export interface ImageRecord {
  /** The config digest: the image ID. */
  id: Digest;
  config: Descriptor;
  /** The platform image manifest, kept in the content store (what push sends). */
  manifest: Descriptor;
  /** The index (manifest list) the manifest was chosen from, when pulled through one. */
  index?: Descriptor;
  layers: ImageLayerRecord[];
  platform: Platform;
  created: string | undefined;
  /** Parsed from the config blob once, so listing never reads blobs. */
  imageConfig: ImageConfig;
  /** When the image was pulled, loaded or imported here (Docker's Metadata.LastTagTime). */
  addedAt: string;
  /**
   * The image a build step was made on (docker's classic builder's Parent):
   * an image without references that is some image's parent is an
   * intermediate one, which `images` lists only with -a.
   */
  parent?: Digest;
}

/** An image with the references that point at it. */
export interface ImageEntry {
  record: ImageRecord;
  /** Normalized "docker.io/library/busybox:latest" references. */
  tags: string[];
  /** Normalized "docker.io/library/busybox@sha256:..." references. */
  digests: string[];
}

/** Compressed size: what a pull downloads. */
export const compressedSize = (r: ImageRecord): number => r.layers.reduce((n, l) => n + l.blob.size, 0);

/** Uncompressed size: what `docker images` shows as SIZE. */
export const unpackedSize = (r: ImageRecord): number => r.layers.reduce((n, l) => n + l.unpackedSize, 0);

/** "sha256:abc..." -> "abc..." (12 characters), Docker's short image and layer IDs. */
export const shortDigest = (d: string): string => d.replace(/^sha256:/, "").slice(0, 12);
