// The engine's image types mapped to the wire's (api.ts "--- images"): the
// one place reference parsing happens for what the CLI displays, so the CLI
// needs no reference parser of its own and imports nothing from engine/.
import { familiarName, normalizedName, parseReference, referenceString } from "../../engine/content/reference.js";
import { unpackedSize, type ImageEntry } from "../../engine/image/types.js";
import type { ContainerInfo, ImageInfo, PullProgress } from "../../engine/types.js";
import type { ImageProgressMessage, ImageRow, StackImageRow } from "./api.js";

/** The reference as docker prints it after a pull: "docker.io/library/busybox:latest", or by digest. */
export function pulledName(ref: string): string {
  const r = parseReference(ref);
  return r.digest !== undefined ? referenceString({ domain: r.domain, path: r.path, digest: r.digest }) : normalizedName(r);
}

/** The name `push -q` prints: "example.com/team/app:v1", familiar. */
export function pushedName(ref: string): string {
  return familiarName(parseReference(ref));
}

export function progressMessage(p: PullProgress): ImageProgressMessage {
  return { type: "progress", id: p.id, status: p.status, ...(p.current !== undefined ? { current: p.current } : {}), ...(p.total !== undefined ? { total: p.total } : {}) };
}

/** A `docker images REPOSITORY[:TAG]` filter as a row predicate. */
function rowFilter(filter: string): (repository: string, tag: string) => boolean {
  const colon = filter.lastIndexOf(":");
  const hasTag = colon > filter.lastIndexOf("/");
  const repo = familiarName({ ...parseReference(hasTag ? filter.slice(0, colon) : filter), tag: undefined, digest: undefined });
  const tag = hasTag ? filter.slice(colon + 1) : undefined;
  return (r, t) => r === repo && (tag === undefined || t === tag);
}

/** docker images' rows: one per repository:tag, an image pulled by digest only under <none>, an image without references as <none> <none>. */
export function imageRows(entries: ImageEntry[], filter?: string, opts: { all?: boolean } = {}): ImageRow[] {
  // docker images: an intermediate image (no reference, and the parent of another: a build's earlier step) only with -a.
  const parents = new Set(entries.flatMap((e) => (e.record.parent !== undefined ? [e.record.parent] : [])));
  const shown = opts.all === true ? entries : entries.filter((e) => e.tags.length > 0 || e.digests.length > 0 || !parents.has(e.record.id));
  return listedRows(
    shown.map(({ record, tags, digests }) => ({ id: record.id, created: record.created, size: unpackedSize(record), tags, digests })),
    filter,
  );
}

/** The same rows from an engine's images (a dockerd's: the docker engine has no image store of ours). */
export function imageRowsOfInfos(images: ImageInfo[], filter?: string): ImageRow[] {
  return listedRows(
    images.map((i) => ({ id: i.id, created: i.created, size: i.unpackedSize ?? i.size, tags: i.repoTags, digests: i.repoDigests })),
    filter,
  );
}

interface ListedImage {
  id: string;
  created: string | undefined;
  size: number;
  /** Normalized references. */
  tags: string[];
  digests: string[];
}

function listedRows(images: ListedImage[], filter: string | undefined): ImageRow[] {
  const match = filter ? rowFilter(filter) : undefined;
  const rows: ImageRow[] = [];
  for (const { id, created, size, tags, digests } of images) {
    const base = { id, created, size };
    const digestOf = (repo: string): string => digests.map((d) => parseReference(d)).find((d) => familiarName({ ...d, digest: undefined }) === repo)?.digest ?? "<none>";
    const imageRows: ImageRow[] = [];
    for (const t of tags) {
      const ref = parseReference(t);
      const repository = familiarName({ domain: ref.domain, path: ref.path });
      imageRows.push({ ...base, repository, tag: ref.tag ?? "latest", digest: digestOf(repository) });
    }
    if (tags.length === 0) {
      const byRepo = new Map(digests.map((d) => parseReference(d)).map((d) => [familiarName({ domain: d.domain, path: d.path }), d.digest ?? "<none>"]));
      for (const [repository, digest] of byRepo) imageRows.push({ ...base, repository, tag: "<none>", digest });
      if (byRepo.size === 0) imageRows.push({ ...base, repository: "<none>", tag: "<none>", digest: "<none>" });
    }
    rows.push(...imageRows.filter((r) => !match || match(r.repository, r.tag)));
  }
  return rows;
}

/** docker compose images: each container's image as its service names it, with the image's size. */
export function stackImageRows(containers: ContainerInfo[], images: ImageInfo[]): StackImageRow[] {
  const byId = new Map(images.map((i) => [i.id, i]));
  return containers.map((c) => {
    const ref = parseReference(c.image);
    const image = byId.get(c.imageId);
    return {
      ContainerName: c.name,
      Repository: familiarName({ ...ref, tag: undefined, digest: undefined }),
      Tag: ref.tag ?? (ref.digest ? "<none>" : "latest"),
      ID: c.imageId,
      Size: image?.unpackedSize ?? image?.size ?? 0,
    };
  });
}
