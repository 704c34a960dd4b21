// `docker image inspect`'s JSON for an image, built from its record, its
// references and its config blob (Config is echoed as the image has it, with
// Docker's key names, as docker does).
import { familiarName, parseReference } from "../content/reference.js";
import type { Snapshotter } from "../snapshot/types.js";
import type { ImageInfo } from "../types.js";
import type { OciImageConfig } from "./config.js";
import { compressedSize, unpackedSize, type ImageEntry } from "./types.js";

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  VirtualSize: number;
  GraphDriver: { Name: string; Data: Record<string, string> };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  /** The image manifest (as docker's containerd image store shows it). */
  Descriptor: { mediaType: string; digest: string; size: number };
}

const familiar = (refs: string[]): string[] => refs.map((r) => familiarName(parseReference(r)));

/** ImageInfo, the engine's view of an image. */
export function toImageInfo(e: ImageEntry): ImageInfo {
  const r = e.record;
  return {
    id: r.id,
    repoTags: e.tags,
    repoDigests: e.digests,
    created: r.created,
    size: compressedSize(r),
    unpackedSize: unpackedSize(r),
    layers: r.layers.map((l) => ({ chainId: l.chainId, size: l.unpackedSize })),
    architecture: r.platform.architecture,
    os: r.platform.os,
    ...(r.platform.variant ? { variant: r.platform.variant } : {}),
    config: r.imageConfig,
  };
}

export async function inspectImage(e: ImageEntry, config: OciImageConfig, snapshotter: Snapshotter): Promise<ImageInspect> {
  const r = e.record;
  const lower: string[] = [];
  for (const l of [...r.layers].reverse()) {
    const info = await snapshotter.getLayer(l.chainId);
    if (info) lower.push(info.path);
  }
  const last = config.history?.at(-1);
  return {
    Id: r.id,
    RepoTags: familiar(e.tags),
    RepoDigests: familiar(e.digests),
    Parent: "",
    Comment: last?.comment ?? "",
    Created: config.created ?? "0001-01-01T00:00:00Z",
    DockerVersion: typeof config.docker_version === "string" ? config.docker_version : "",
    Author: config.author ?? "",
    Config: { ...(config.config ?? {}) },
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: unpackedSize(r),
    VirtualSize: unpackedSize(r),
    GraphDriver: { Name: "overlay", Data: lower.length > 0 ? { LowerDir: lower.join(":") } : {} },
    RootFS: { Type: "layers", Layers: r.layers.map((l) => l.diffId) },
    Metadata: { LastTagTime: r.addedAt },
    Descriptor: { mediaType: r.manifest.mediaType, digest: r.manifest.digest, size: r.manifest.size },
  };
}
