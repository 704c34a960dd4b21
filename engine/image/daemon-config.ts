// The part of the engine's daemon.json the image service reads, with
// Docker's key names: registry-mirrors, insecure-registries,
// max-concurrent-downloads (and -uploads); plus our own
// x-tscompose-docker-hub-url, where Docker Hub itself is reached (tests point
// it at a dead loopback port so a pull can never leave the machine), and
// x-tscompose-max-layer-size/-ratio/-entries, the bounds on what one layer may
// unpack to (snapshot/limits.ts).
import { readFile } from "node:fs/promises";
import { parseHostsConfig, type RegistryHostsConfig } from "../content/hosts.js";
import { DEFAULT_LAYER_LIMITS, LAYER_LIMIT_KEYS, type LayerLimits } from "../snapshot/limits.js";

export interface ImageDaemonConfig {
  hosts: RegistryHostsConfig;
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  dockerHubUrl: string | undefined;
  layerLimits: LayerLimits;
}

const positive = (raw: Record<string, unknown>, key: string, fallback: number, source: string): number => {
  const v = raw[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error(`${source}: "${key}" must be a positive integer`);
  return v;
};

/** The layer limits of a daemon.json object: whole numbers of bytes and entries, a ratio of at least 1. */
export function parseLayerLimits(raw: Record<string, unknown>, source = "daemon config"): LayerLimits {
  const ratio = raw[LAYER_LIMIT_KEYS.maxRatio];
  if (ratio !== undefined && (typeof ratio !== "number" || !Number.isFinite(ratio) || ratio < 1)) {
    throw new Error(`${source}: "${LAYER_LIMIT_KEYS.maxRatio}" must be a number of at least 1`);
  }
  return {
    ...DEFAULT_LAYER_LIMITS,
    maxSize: positive(raw, LAYER_LIMIT_KEYS.maxSize, DEFAULT_LAYER_LIMITS.maxSize, source),
    maxEntries: positive(raw, LAYER_LIMIT_KEYS.maxEntries, DEFAULT_LAYER_LIMITS.maxEntries, source),
    ...(ratio === undefined ? {} : { maxRatio: ratio }),
  };
}

export function parseImageDaemonConfig(raw: Record<string, unknown>, source = "daemon config"): ImageDaemonConfig {
  let hosts: RegistryHostsConfig;
  try {
    hosts = parseHostsConfig(raw);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message.replace(/^daemon config: /, "")}`, { cause: err });
  }
  const hub = raw["x-tscompose-docker-hub-url"];
  if (hub !== undefined && typeof hub !== "string") throw new Error(`${source}: "x-tscompose-docker-hub-url" must be a URL string`);
  return {
    hosts,
    maxConcurrentDownloads: positive(raw, "max-concurrent-downloads", 3, source),
    maxConcurrentUploads: positive(raw, "max-concurrent-uploads", 5, source),
    dockerHubUrl: hub,
    layerLimits: parseLayerLimits(raw, source),
  };
}

/** Reads daemon.json; a missing file means the defaults. */
export async function readImageDaemonConfig(file: string): Promise<ImageDaemonConfig> {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a JSON object");
    raw = parsed as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseImageDaemonConfig(raw, file);
}
