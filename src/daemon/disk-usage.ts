// `system df`: what images, containers and volumes take, and what a prune
// could give back, as docker counts it. Images share layers: each layer is
// counted once, and an image's layers are reclaimable only when no image a
// container uses has them. Containers count what they wrote (their own
// layer); the stopped ones are reclaimable. Volumes count their files; the
// unused ones are reclaimable. There is no build cache (no builder yet).
// An engine that counts these itself (dockerd) answers with its own figures.
import { diskUsage } from "../../engine/snapshot/usage.js";
import type { Engine } from "../../engine/types.js";
import type { DiskUsageRow } from "./api.js";
import type { ObjectService } from "./objects.js";

export async function systemDiskUsage(engine: Engine, objects: ObjectService): Promise<DiskUsageRow[]> {
  if (engine.diskUsage) {
    // dockerd counts shared layers, volumes and its build cache itself: its figures, so `docker system df` of it agrees.
    const u = await engine.diskUsage();
    return [
      { type: "Images", ...u.images },
      { type: "Containers", ...u.containers },
      { type: "Local Volumes", ...u.volumes },
      { type: "Build Cache", ...u.buildCache },
    ];
  }
  const containers = await engine.listContainers({ all: true });
  const images = await engine.listImages();
  const usedImages = new Set(containers.map((c) => c.imageId));
  const layerSize = new Map<string, number>();
  const activeLayers = new Set<string>();
  for (const image of images) {
    // An engine that does not list layers (dockerd) counts each image whole, under its own id.
    for (const l of image.layers ?? [{ chainId: image.id, size: image.unpackedSize ?? image.size }]) {
      layerSize.set(l.chainId, l.size);
      if (usedImages.has(image.id)) activeLayers.add(l.chainId);
    }
  }
  let imageBytes = 0;
  let imageReclaimable = 0;
  for (const [chainId, size] of layerSize) {
    imageBytes += size;
    if (!activeLayers.has(chainId)) imageReclaimable += size;
  }

  const written = (await engine.containerSizes?.()) ?? {};
  const sizeOf = (id: string): number => written[id] ?? 0;
  const running = containers.filter((c) => c.state === "running" || c.state === "paused" || c.state === "restarting");

  const volumes = await objects.volumes([]);
  let volumeBytes = 0;
  let volumeReclaimable = 0;
  for (const v of volumes) {
    const { size } = await diskUsage(v.mountpoint);
    volumeBytes += size;
    if (v.usedBy.length === 0) volumeReclaimable += size;
  }

  return [
    { type: "Images", total: images.length, active: images.filter((i) => usedImages.has(i.id)).length, size: imageBytes, reclaimable: imageReclaimable },
    {
      type: "Containers",
      total: containers.length,
      active: running.length,
      size: containers.reduce((n, c) => n + sizeOf(c.id), 0),
      reclaimable: containers.filter((c) => !running.includes(c)).reduce((n, c) => n + sizeOf(c.id), 0),
    },
    { type: "Local Volumes", total: volumes.length, active: volumes.filter((v) => v.usedBy.length > 0).length, size: volumeBytes, reclaimable: volumeReclaimable },
    { type: "Build Cache", total: 0, active: 0, size: 0, reclaimable: 0 },
  ];
}
