// Removing images (docker rmi, docker image prune) and collecting what they
// leave unreferenced: layers (snapshotter chains) and blobs no remaining image
// record names and no operation in flight has leased. Layers go top first,
// since the snapshotter refuses to remove a layer that still has a child.
import { familiarName, parseReference } from "../content/reference.js";
import type { ContentStore, Digest } from "../content/types.js";
import { kindOf } from "../errors.js";
import { SnapshotError, type ChainId, type Snapshotter } from "../snapshot/types.js";
import { EngineError } from "../types.js";
import type { FileLock } from "../sys/flock.js";
import type { Leases } from "./leases.js";
import { isDigestRef, type ImageStore } from "./store.js";
import { shortDigest, type ImageEntry, type ImageRecord } from "./types.js";

export interface RemoveContext {
  content: ContentStore;
  snapshotter: Snapshotter;
  store: ImageStore;
  leases: Leases;
  /**
   * The image store's cross-process lock (the CLI and the daemon both run
   * this code on one state dir): held to take a lease, to commit an image
   * record with its references, and for every removal and collection.
   */
  storeLock: FileLock;
}

export interface RemoveOptions {
  force?: boolean;
  /** Whether a container (running or not) was created from the image. */
  inUse: (imageId: string) => Promise<boolean>;
}

/** docker rmi's report, one line each: "Untagged: busybox:latest", "Deleted: sha256:...". */
export type RemoveReport = string[];

const familiar = (key: string): string => familiarName(parseReference(key));
const repoOf = (key: string): string => key.replace(/[@].*$/, "").replace(/:[^:/]+$/, "");

/** The blobs an image record names. */
export function blobsOf(r: ImageRecord): Digest[] {
  return [r.config.digest, r.manifest.digest, ...(r.index ? [r.index.digest] : []), ...r.layers.map((l) => l.blob.digest)];
}

/**
 * Removes the chains and blobs among `candidates` that no image record names
 * and no lease (of any process) holds. Returns the chain IDs and blobs
 * removed. Layers used by a container snapshot (or by a layer above them)
 * stay: the snapshotter says "in-use" and the layer is skipped, to be
 * collected with its last user.
 */
export async function collectGarbage(ctx: RemoveContext, candidates: { chains: ChainId[]; blobs: Digest[] }): Promise<{ chains: ChainId[]; blobs: Digest[] }> {
  return ctx.storeLock.run(async () => collectLocked(ctx, candidates, await ctx.leases.held()));
}

/** collectGarbage with the store lock held and the leases read. */
async function collectLocked(ctx: RemoveContext, candidates: { chains: ChainId[]; blobs: Digest[] }, leased: Set<string>): Promise<{ chains: ChainId[]; blobs: Digest[] }> {
  const records = await ctx.store.list();
  const usedChains = new Set(records.flatMap((r) => r.layers.map((l) => l.chainId)));
  const usedBlobs = new Set(records.flatMap(blobsOf));
  const removed = { chains: [] as ChainId[], blobs: [] as Digest[] };
  // Candidates come base first: remove from the top down.
  for (const chain of [...new Set(candidates.chains)].reverse()) {
    if (usedChains.has(chain) || leased.has(chain)) continue;
    try {
      if (!(await ctx.snapshotter.getLayer(chain))) continue;
      await ctx.snapshotter.removeLayer(chain);
      removed.chains.push(chain);
    } catch (err) {
      if (!(err instanceof SnapshotError && err.code === "in-use")) throw err;
    }
  }
  for (const blob of new Set(candidates.blobs)) {
    if (usedBlobs.has(blob) || leased.has(blob)) continue;
    try {
      await ctx.content.delete(blob);
      removed.blobs.push(blob);
    } catch (err) {
      if (kindOf(err) !== "not-found") throw err;
    }
  }
  return removed;
}

/** Deletes an image record with no references left, then its unshared layers and blobs (store lock held). */
async function deleteImage(ctx: RemoveContext, record: ImageRecord, report: RemoveReport, leased: Set<string>): Promise<ChainId[]> {
  await ctx.store.delete(record.id);
  report.push(`Deleted: ${record.id}`);
  const removed = await collectLocked(ctx, { chains: record.layers.map((l) => l.chainId), blobs: blobsOf(record) }, leased);
  for (const chain of removed.chains) report.push(`Deleted: ${chain}`);
  return removed.chains;
}

/**
 * Deletes an image (store lock held), then its ancestors that are left
 * untagged, without a child and unused (dockerd deletes with prune=true: a
 * build's steps go with the last image made on them). Returns the bytes of
 * the unpacked layers freed.
 */
async function deleteWithAncestors(ctx: RemoveContext, record: ImageRecord, report: RemoveReport, leased: Set<string>, opts: Pick<RemoveOptions, "inUse">): Promise<number> {
  let reclaimed = 0;
  for (let r: ImageRecord | undefined = record; r !== undefined; ) {
    const gone = new Set(await deleteImage(ctx, r, report, leased));
    for (const l of r.layers) if (gone.has(l.chainId)) reclaimed += l.unpackedSize;
    const up: Digest | undefined = r.parent;
    if (up === undefined) break;
    const entries = await ctx.store.entries();
    const p: ImageEntry | undefined = entries.find((x) => x.record.id === up);
    r = p && p.tags.length === 0 && p.digests.length === 0 && !hasChild(entries, up) && !(await usedBy(opts, leased, up)) ? p.record : undefined;
  }
  return reclaimed;
}

/** Whether an image was built on (docker's imageStore.Children). */
const hasChild = (entries: readonly ImageEntry[], id: Digest): boolean => entries.some((x) => x.record.parent === id);

/** At most one tag, and every reference in one repository: docker's "single reference". */
function isSingleReference(refs: string[]): boolean {
  const tags = refs.filter((r) => !isDigestRef(r));
  return tags.length <= 1 && new Set(refs.map(repoOf)).size <= 1;
}

/**
 * docker rmi: a reference is untagged (with the digest references of its
 * repository when no tag of it is left); an image whose last reference goes
 * is deleted unless a container uses it, with its untagged ancestors left
 * childless; untagged, an image something was built on stays (intermediate).
 * By ID, the image goes with its references if they are all in one
 * repository, otherwise only with force; never while it has children.
 */
export async function removeImage(ctx: RemoveContext, input: string, opts: RemoveOptions): Promise<RemoveReport> {
  return ctx.storeLock.run(() => removeLocked(ctx, input, opts));
}

/**
 * Whether an image is in use: by a container (the caller knows), or by an
 * operation in flight in any process, which leases the image ID with its
 * content (a pull of it, a create from it).
 */
async function usedBy(opts: RemoveOptions, leased: Set<string>, id: Digest): Promise<boolean> {
  return leased.has(id) || (await opts.inUse(id));
}

async function removeLocked(ctx: RemoveContext, input: string, opts: RemoveOptions): Promise<RemoveReport> {
  const leased = await ctx.leases.held();
  const found = await ctx.store.lookup(input);
  if (!found) throw new EngineError("not-found", `No such image: ${input}`);
  const record = await ctx.store.get(found.id);
  if (!record) throw new EngineError("not-found", `No such image: ${input}`);
  const report: RemoveReport = [];
  const refsOf = async (): Promise<string[]> => [...(await ctx.store.refs())].filter(([, id]) => id === record.id).map(([ref]) => ref);
  let refs = await refsOf();
  const used = await usedBy(opts, leased, record.id);
  const built = hasChild(await ctx.store.entries(), record.id);

  if (found.ref !== undefined) {
    if (!opts.force && used && isSingleReference(refs)) {
      throw new EngineError("conflict", `conflict: unable to remove repository reference "${input}" (must force) - a container is using its referenced image ${shortDigest(record.id)}`);
    }
    await ctx.store.deleteRef(found.ref);
    report.push(`Untagged: ${familiar(found.ref)}`);
    refs = refs.filter((r) => r !== found.ref);
    if (!isDigestRef(found.ref)) {
      const repo = repoOf(found.ref);
      if (!refs.some((r) => !isDigestRef(r) && repoOf(r) === repo)) {
        for (const r of refs.filter((x) => isDigestRef(x) && repoOf(x) === repo)) {
          await ctx.store.deleteRef(r);
          report.push(`Untagged: ${familiar(r)}`);
        }
        refs = refs.filter((r) => !(isDigestRef(r) && repoOf(r) === repo));
      }
    }
    if (refs.length > 0) return report;
    // Untagged, an image something was built on stays as an intermediate one (docker's quiet conflict).
    if (built) return report;
  } else if (built) {
    throw new EngineError("conflict", `conflict: unable to delete ${shortDigest(record.id)} (cannot be forced) - image has dependent child images`);
  } else if (refs.length > 0) {
    if (!isSingleReference(refs) && !opts.force) {
      throw new EngineError("conflict", `conflict: unable to delete ${shortDigest(record.id)} (must be forced) - image is referenced in multiple repositories`);
    }
    if (used && !opts.force) {
      throw new EngineError("conflict", `conflict: unable to delete ${shortDigest(record.id)} (must be forced) - image is being used by a container`);
    }
    for (const r of refs) {
      await ctx.store.deleteRef(r);
      report.push(`Untagged: ${familiar(r)}`);
    }
  }
  if (used) {
    // Forced: the references are gone, the image stays for its containers (dangling).
    if (!opts.force) throw new EngineError("conflict", `conflict: unable to delete ${shortDigest(record.id)} (must be forced) - image is being used by a container`);
    return report;
  }
  await deleteWithAncestors(ctx, record, report, leased, opts);
  return report;
}

export interface PruneResult {
  report: RemoveReport;
  /** Bytes of unpacked layers freed (docker's "Total reclaimed space"). */
  reclaimed: number;
}

/**
 * docker image prune (dockerd's ImagesPrune): dangling images, those without
 * a tag (a digest reference alone does not keep an image) that no image was
 * built on, or with `all` every image, that no container uses. An untagged
 * image with children is an intermediate one (a build step another step or
 * image was made on: the step cache of what is tagged) and stays; with `all`
 * a tagged image with children loses its tags and stays as one. Deleting an
 * image deletes its untagged ancestors that are left without a child (dockerd
 * deletes with prune=true), so a failed build's steps go together.
 */
export async function pruneImages(ctx: RemoveContext, opts: { all?: boolean; inUse: (imageId: string) => Promise<boolean> }): Promise<PruneResult> {
  const report: RemoveReport = [];
  let reclaimed = 0;
  for (const candidate of await ctx.store.entries()) {
    // One image at a time under the lock, so a pull or create in another process waits for one image's collection at most.
    await ctx.storeLock.run(async () => {
      // What the image is now: another process may have tagged, removed or started using it since the listing.
      const entries = await ctx.store.entries();
      const e = entries.find((x) => x.record.id === candidate.record.id);
      if (!e) return;
      if (e.tags.length > 0 && !opts.all) return;
      if (e.tags.length === 0 && hasChild(entries, e.record.id)) return;
      const leased = await ctx.leases.held();
      if (await usedBy(opts, leased, e.record.id)) return;
      for (const r of [...e.tags, ...e.digests]) {
        await ctx.store.deleteRef(r);
        report.push(`Untagged: ${familiar(r)}`);
      }
      if (!hasChild(entries, e.record.id)) reclaimed += await deleteWithAncestors(ctx, e.record, report, leased, opts);
    });
  }
  return { report, reclaimed };
}
