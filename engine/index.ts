// The one place where engine backends are wired. Everything above the engine
// asks createEngine() for an Engine and never names a backend's parts.
//
// Embedded layout under the state dir:
//   content/     blobs by digest (content store)
//   images/      image records and references
//   snapshots/   unpacked layers by chain ID, container rootfs dirs
//   runtime/     runc state, conmon exits, container bundles and logs
//   network/     network and sandbox records, IPAM
//   volumes/     named volumes
import { join } from "node:path";
import { readEngineConfig, type EngineConfig } from "./config.js";
import { EngineError } from "./errors.js";
import { DEFAULT_DOCKER_HOST, tlsFromEnv, type DockerTlsFiles } from "./docker/connection.js";
import { DockerEngine } from "./docker/engine.js";
import { EmbeddedEngine } from "./embedded.js";
import { openImageBackend } from "./image/backend.js";
import type { ImageService } from "./image/service.js";
import { openNetworkManager } from "./network/index.js";
import type { DnsUpstream } from "./network/index.js";
import { ContainerRuntime } from "./runtime/runtime.js";
import { withEngineErrors } from "./boundary.js";
import { holdLauncher } from "./sys/exec.js";
import { OverlaySnapshotter } from "./snapshot/overlay.js";
import type { Engine } from "./types.js";
import { VolumeStore } from "./volumes.js";

/** The Docker engine: an existing dockerd (engine/docker/), found as DOCKER_HOST says. */
export interface CreateDockerEngineOptions {
  kind: "docker";
  /** DOCKER_HOST's syntax (unix://, tcp://); undefined: env DOCKER_HOST, else the local socket. */
  host?: string;
  /** TLS files for a tcp:// host; undefined: env DOCKER_TLS_VERIFY/DOCKER_CERT_PATH. */
  tls?: DockerTlsFiles;
}

export interface CreateEngineOptions {
  kind: "embedded";
  stateDir: string;
  /** daemon.json (engine/config.ts), read once here. */
  configFile: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

function parseUpstream(s: string): DnsUpstream {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(s);
  return { host: m?.[1] ?? s, port: m?.[2] ? Number(m[2]) : 53 };
}

/** The engines a stack may run on. */
export const ENGINE_KINDS = ["embedded", "docker", "swarm"] as const;

/** Where a stack runs, fully resolved: what the daemon keeps in the stack's record to find its engine again after a restart. */
export type EngineTarget = { kind: "embedded" } | { kind: "docker"; host: string; tls?: DockerTlsFiles } | { kind: "swarm"; host: string; tls?: DockerTlsFiles };

/** What a client asked for (each part undefined when the user did not say). */
export interface EngineRequest {
  kind?: string | undefined;
  host?: string | undefined;
  tls?: DockerTlsFiles | undefined;
}

/**
 * The engine a request means: its own choice (the CLI's --engine, or its
 * TSCOMPOSE_ENGINE), else the daemon's env TSCOMPOSE_ENGINE, else daemon.json's
 * x-tscompose-engine, else embedded. A docker engine's dockerd (a swarm
 * engine's manager) likewise: the
 * request's host (-H, DOCKER_HOST) with its TLS files, else the daemon's
 * DOCKER_HOST and TLS environment, else x-tscompose-docker-host, else the local socket.
 */
export function resolveEngineTarget(req: EngineRequest, env: NodeJS.ProcessEnv, config: Pick<EngineConfig, "engine" | "dockerHost">): EngineTarget {
  const kind = req.kind || env.TSCOMPOSE_ENGINE || config.engine || "embedded";
  if (kind !== "embedded" && kind !== "docker" && kind !== "swarm") throw new EngineError("invalid", `engine "${kind}": the engines are ${ENGINE_KINDS.join(", ")} (--engine, TSCOMPOSE_ENGINE)`);
  if (kind === "embedded") return { kind };
  // The request's host comes with the request's TLS (none when it sent none); the daemon's own host with the daemon's.
  const host = req.host || env.DOCKER_HOST || config.dockerHost || DEFAULT_DOCKER_HOST;
  const tls = req.host ? req.tls : (req.tls ?? tlsFromEnv(env));
  return tls && host.startsWith("tcp://") ? { kind, host, tls } : { kind, host };
}

/** The one name of an engine: stacks on the same key share one open engine. */
export function engineKey(t: EngineTarget): string {
  return t.kind === "embedded" ? "embedded" : `${t.kind} ${t.host}`;
}

export async function createEngine(opts: CreateEngineOptions | CreateDockerEngineOptions): Promise<Engine> {
  // dockerd's errors are translated inside the Docker engine (engine/docker/errors.ts); the boundary wrapper is for the embedded one's own failures.
  if (opts.kind === "docker") return DockerEngine.open({ host: opts.host, tls: opts.tls });
  return (await openEmbeddedEngine(opts)).engine;
}

/**
 * The engine and the image service inside it: the daemon serves the image
 * verbs the Engine interface does not have (tag, save, load, push, import,
 * docker's inspect) from the same service, so one process owns the store.
 */
export async function openEmbeddedEngine(opts: CreateEngineOptions): Promise<{ engine: Engine; images: ImageService; config: EngineConfig }> {
  const config = readEngineConfig(opts.configFile);
  const log = opts.log ?? (() => undefined);
  // The engine's commands (ip, iptables, runc ...) go through a launcher process while it is open.
  const releaseLauncher = holdLauncher();
  try {
    const snapshotter = new OverlaySnapshotter({ root: join(opts.stateDir, "snapshots"), unpack: { limits: config.layerLimits } });
    const prefix = config.networkPrefix;
    const network = await openNetworkManager({
      stateDir: join(opts.stateDir, "network"),
      // A test daemon names its kernel objects apart from a real one's ("t1a2" -> bridges t1a2b-..., chains T1A2-...).
      prefixes: prefix ? { bridge: `${prefix}b-`, veth: `${prefix}v`, netns: `${prefix}-`, chain: prefix.toUpperCase() } : undefined,
      pools: config.defaultAddressPools,
      upstreamDns: config.dns?.map(parseUpstream),
    });
    const report = await network.repair();
    log("network repaired", { report });
    const runtime = await ContainerRuntime.open({
      stateDir: join(opts.stateDir, "runtime"),
      log,
      cgroupParent: prefix ? `/${prefix}` : undefined,
      runtimes: config.runtimes,
      // A rootfs mounted on the host (an image of very many layers) is gone after a reboot: mount it again.
      beforeStart: async (info) => {
        await snapshotter.mount(info.id);
      },
    });
    // A create killed while it read an image's files left its view mounted.
    await snapshotter.removeStaleViews();
    const images = await openImageBackend({ stateDir: opts.stateDir, config, snapshotter, log });
    const engine = new EmbeddedEngine({ images, snapshotter, network, runtime, volumes: new VolumeStore(opts.stateDir), log, release: releaseLauncher });
    const leftovers = await engine.removeLeftovers();
    if (leftovers.length > 0) log("removed leftovers of interrupted creates", { containers: leftovers.map((id) => id.slice(0, 12)) });
    return { engine: withEngineErrors(engine, opts.stateDir), images, config };
  } catch (e) {
    releaseLauncher();
    throw e;
  }
}
