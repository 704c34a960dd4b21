// The image service as the embedded engine sees it (ImageBackend): opened on
// the engine's state dir, sharing the engine's snapshotter, so an image's
// layers and a container's rootfs are the same directories.
import type { EngineConfig } from "../config.js";
import type { ImageBackend } from "../embedded.js";
import type { Snapshotter } from "../snapshot/types.js";
import { ImageService } from "./service.js";

export async function openImageBackend(opts: {
  stateDir: string;
  config: EngineConfig;
  snapshotter: Snapshotter;
  log: (msg: string, fields?: Record<string, unknown>) => void;
}): Promise<ImageBackend & ImageService> {
  return ImageService.open({
    stateDir: opts.stateDir,
    config: opts.config,
    snapshotter: opts.snapshotter,
    warn: (message) => opts.log("image warning", { message }),
    // The daemon starts: what a pull, unpack or removal killed with it (or a CLI's) left is reclaimed.
    cleanLeftovers: (report) => opts.log(report.cleaned ? "image store leftovers removed" : "image store leftovers not cleaned", { ...report }),
  });
}
