// Where the embedded engine keeps its state and reads its daemon.json, for
// the commands that use the engine directly. Today those are the image
// commands (pull, images, rmi, save, load, push, import ...): they run the
// image service in this process, against the same state directory a daemon
// would use. When the daemon owns the image service, they become API calls
// and this module only tells the daemon client where to look.
//
//   TSCOMPOSE_STATE_DIR  default /var/lib/tscompose
//   TSCOMPOSE_CONFIG     default /etc/tscompose/daemon.json
import type { ImageService } from "../../engine/image/service.js";

export interface EngineLocation {
  stateDir: string;
  configFile: string;
}

export function engineLocation(env: NodeJS.ProcessEnv = process.env): EngineLocation {
  return {
    stateDir: env.TSCOMPOSE_STATE_DIR || "/var/lib/tscompose",
    configFile: env.TSCOMPOSE_CONFIG || "/etc/tscompose/daemon.json",
  };
}

/** Opens the image service in-process; callers close it. */
export async function openImageService(env: NodeJS.ProcessEnv = process.env): Promise<ImageService> {
  const { ImageService } = await import("../../engine/image/service.js");
  const where = engineLocation(env);
  return ImageService.open({
    stateDir: where.stateDir,
    configFile: where.configFile,
    warn: (message) => process.stderr.write(`WARNING: ${message}\n`),
  });
}
