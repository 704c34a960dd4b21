// The snapshotter: image layers on disk, and the root filesystems of containers.
//
// Vocabulary
// - diffID: sha256 of a layer's *uncompressed* tar, as listed in the image
//   config's rootfs.diff_ids. (The blob digest in the manifest is of the
//   compressed bytes; that one belongs to the content store.)
// - chain ID: names a layer together with everything below it, so that the same
//   tar applied on different parents gives different snapshots. Per the OCI
//   image spec: chainID(L0) = diffID(L0), chainID(Ln) = sha256(chainID(Ln-1) +
//   " " + diffID(Ln)). Two images sharing a base share its chain IDs, hence its
//   directories on disk.
// - layer: one unpacked tar, read-only once committed, stored under its chain ID.
//   Its directory holds only that tar's changes (OCI whiteouts already turned
//   into overlay whiteouts), never the merged view of its parents.
// - key: the name a caller gives a container's snapshot (a container ID). A key
//   names something writable; a chain ID names something immutable.
//
// Lifecycle (compare containerd's prepare -> mount -> remove, without commit:
// we never turn a container back into a layer)
// 1. applyLayer({ parent, diffId, open }) for each layer of an image, base
//    first. If the chain already exists nothing is read; otherwise the tar is
//    unpacked into a private temporary directory and renamed into place, so a
//    layer is either fully there or absent (kill -9 mid-unpack leaves only a
//    temporary directory that cleanup() removes), and two pulls of the same
//    layer at once both succeed with one copy on disk.
// 2. prepare(key, chainIds) creates the container's upper and work
//    directories and returns the overlay Mount for them: lowerdirs are the
//    layers, topmost first. Nothing is mounted yet.
// 3. mount(key) mounts that overlay on the container's merged directory (the
//    rootfs the runtime uses); unmount(key) undoes it. Both are idempotent.
// 4. remove(key) unmounts and deletes the container's directories (its
//    writes are gone with it).
// 5. removeLayer(chainId) deletes a layer no container and no child layer
//    uses; deciding *which* layers are garbage (no image refers to them) is the
//    image store's job, not the snapshotter's.
import type { Readable } from "node:stream";
import type { Digest } from "../content/types.js";
import type { ErrorKind, KindedError } from "../errors.js";

/** A chain ID, "sha256:<64 hex>". */
export type ChainId = Digest;

export interface LayerInfo {
  chainId: ChainId;
  diffId: Digest;
  /** Chain ID of the layer below, absent for a base layer. */
  parent?: ChainId;
  /** Bytes of the uncompressed tar. */
  size: number;
  /** Directory holding the unpacked files (a lowerdir). */
  path: string;
  created: string;
}

export interface ContainerSnapshot {
  key: string;
  /** Chain IDs of the container's layers, base first. */
  layers: ChainId[];
  upper: string;
  work: string;
  merged: string;
  created: string;
}

/**
 * A filesystem mount in the form of mount(8): `mount -t <type> -o <options> <source> <target>`.
 * When `cwd` is set, the paths inside `options` are relative to it and the mount
 * must be made from that directory (how we stay under the kernel's one-page
 * limit on mount options when a container has many layers).
 */
export interface Mount {
  type: string;
  source: string;
  options: string[];
  cwd?: string;
}

export interface Usage {
  /** Bytes allocated on disk (st_blocks * 512), hard links counted once. */
  size: number;
  inodes: number;
}

export interface SnapshotterUsage {
  layers: Record<ChainId, Usage>;
  containers: Record<string, Usage>;
  total: Usage;
}

export interface ApplyLayerRequest {
  /** Chain ID of the layer below; absent for the base layer. */
  parent?: ChainId;
  /**
   * Expected diffID (from the image config). When given, an existing chain is
   * found without reading the blob, and the unpacked tar must hash to it.
   */
  diffId?: Digest;
  /**
   * Settles when the parent layer has been applied. Layer directories are
   * independent (each holds only its own tar's changes), so with this the
   * tar is unpacked at once, in parallel with the layers below it, and only
   * the commit waits for the parent: a rejection, or a parent still missing
   * then, fails the apply and leaves nothing behind.
   */
  parentReady?: Promise<unknown>;
  /** Opens the layer blob (gzip or plain tar); called only when the layer must be unpacked. */
  open: () => Readable | Promise<Readable>;
}

export interface Snapshotter {
  readonly root: string;

  /**
   * Unpacks a layer unless its chain exists. Fails with UnpackError (unpack.ts)
   * for a hostile, corrupt or unsupported blob, with SnapshotError
   * "digest-mismatch" when the tar does not hash to req.diffId, "not-found"
   * when the parent is missing. A failed apply leaves nothing behind.
   */
  applyLayer(req: ApplyLayerRequest): Promise<LayerInfo>;
  getLayer(chainId: ChainId): Promise<LayerInfo | undefined>;
  listLayers(): Promise<LayerInfo[]>;
  /** Fails with "in-use" while a container snapshot or a child layer uses the layer. */
  removeLayer(chainId: ChainId): Promise<void>;

  /** Creates the container's writable directories; fails with "conflict" if the key exists. */
  prepare(key: string, layers: ChainId[]): Promise<Mount>;
  /** The overlay mount of an existing container snapshot. */
  mounts(key: string): Promise<Mount>;
  /** Where mount() mounts the container's rootfs (an empty directory until then). */
  mountpoint(key: string): string;
  /** Mounts the container's rootfs and returns its path. Idempotent. */
  mount(key: string): Promise<string>;
  /**
   * Runs fn with a read-only directory showing `layers` (base first) merged:
   * what a new container of that image sees before it writes anything. Made
   * for fn's duration only; more than one layer costs a mount and an unmount.
   */
  withLayersView<T>(layers: ChainId[], fn: (dir: string) => Promise<T>): Promise<T>;
  /**
   * An image's files (below `subpath`, a directory in them) as a container
   * mounts them read-only, without a mount on the host: one layer's directory
   * to bind, or the options of a lowerdir-only overlay. Keep the layers with
   * a prepare() of their own while the mount is in use.
   */
  readOnlyMount(layers: ChainId[], subpath?: string): Promise<{ type: "bind"; source: string } | { type: "overlay"; options: string[] }>;
  /** Unmounts and deletes views a crash left behind. Call at start, before any create. */
  removeStaleViews(): Promise<void>;
  /**
   * A directory already in layer form (an unmounted overlay upper dir on the
   * snapshotter's filesystem: a build step's) made the layer `diffId` over
   * `parent` by a rename, instead of unpacking its tar again. An existing
   * layer of that chain wins and the directory is left where it is.
   */
  adoptLayer(req: { parent?: ChainId; diffId: Digest; size: number; dir: string }): Promise<LayerInfo>;
  /** Idempotent: unmounting something not mounted is fine. */
  unmount(key: string): Promise<void>;
  /** Unmounts and deletes the container's snapshot. Removing an unknown key is fine. */
  remove(key: string): Promise<void>;
  get(key: string): Promise<ContainerSnapshot | undefined>;
  list(): Promise<ContainerSnapshot[]>;

  usage(): Promise<SnapshotterUsage>;
  /** Deletes leftovers of interrupted unpacks and removals. Call when no other process uses the root. */
  cleanup(): Promise<void>;
}

export type SnapshotErrorCode = "not-found" | "invalid" | "conflict" | "in-use" | "digest-mismatch" | "unavailable";

const SNAPSHOT_KINDS: Readonly<Record<SnapshotErrorCode, ErrorKind>> = {
  "not-found": "not-found",
  invalid: "invalid",
  conflict: "conflict",
  "in-use": "conflict",
  "digest-mismatch": "invalid",
  unavailable: "unavailable",
};

export class SnapshotError extends Error implements KindedError {
  constructor(
    readonly code: SnapshotErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "SnapshotError";
    this.kind = SNAPSHOT_KINDS[code];
  }

  readonly kind: ErrorKind;
}
