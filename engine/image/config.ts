// The image config blob (OCI image-spec config.md, the same JSON Docker
// writes): parsed and checked once when an image arrives, then mapped to the
// engine's ImageConfig. The config is what the image ID hashes, so it is
// trusted only after its digest was verified by whoever fetched it.
import type { Digest } from "../content/types.js";
import { isDigest } from "../content/digest.js";
import type { ImageConfig } from "../types.js";
import { EngineError } from "../types.js";

export interface OciImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, unknown>;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, unknown> | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
    [key: string]: unknown;
  };
  rootfs: { type: string; diff_ids: Digest[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
  [key: string]: unknown;
}

export function parseImageConfig(bytes: Buffer, what: string): OciImageConfig {
  const fail = (why: string): never => {
    throw new EngineError("invalid", `image config of ${what} is malformed: ${why}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    return fail(`invalid JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return fail("not a JSON object");
  const c = parsed as OciImageConfig;
  if (!c.rootfs || typeof c.rootfs !== "object" || !Array.isArray(c.rootfs.diff_ids)) return fail("rootfs.diff_ids is missing");
  for (const d of c.rootfs.diff_ids) if (!isDigest(d)) fail(`rootfs.diff_ids has ${JSON.stringify(d)}, not a sha256 digest`);
  if (c.config !== undefined && (c.config === null || typeof c.config !== "object")) return fail("config is not an object");
  c.architecture = typeof c.architecture === "string" ? c.architecture : "";
  c.os = typeof c.os === "string" ? c.os : "";
  return c;
}

const nsToMs = (ns: number | undefined): number | undefined => (typeof ns === "number" && ns > 0 ? Math.round(ns / 1e6) : undefined);
const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined);

export function toImageConfig(c: OciImageConfig): ImageConfig {
  const cfg = c.config ?? {};
  const hc = cfg.Healthcheck;
  const test = strings(hc?.Test);
  return {
    entrypoint: strings(cfg.Entrypoint),
    cmd: strings(cfg.Cmd),
    env: strings(cfg.Env) ?? [],
    workingDir: cfg.WorkingDir || undefined,
    user: cfg.User || undefined,
    exposedPorts: Object.keys(cfg.ExposedPorts ?? {}),
    volumes: Object.keys(cfg.Volumes ?? {}),
    labels: { ...(cfg.Labels ?? {}) },
    stopSignal: cfg.StopSignal || undefined,
    healthcheck:
      test && test.length > 0
        ? {
            test,
            ...(nsToMs(hc?.Interval) !== undefined && { intervalMs: nsToMs(hc?.Interval) }),
            ...(nsToMs(hc?.Timeout) !== undefined && { timeoutMs: nsToMs(hc?.Timeout) }),
            ...(nsToMs(hc?.StartPeriod) !== undefined && { startPeriodMs: nsToMs(hc?.StartPeriod) }),
            ...(typeof hc?.Retries === "number" && hc.Retries > 0 && { retries: hc.Retries }),
          }
        : undefined,
  };
}

/** toImageConfig's inverse, for applying -c changes to an image known only in the engine's form (the FakeEngine). */
export function fromImageConfig(c: ImageConfig): NonNullable<OciImageConfig["config"]> {
  const msToNs = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms * 1e6);
  return {
    ...(c.entrypoint !== undefined ? { Entrypoint: [...c.entrypoint] } : {}),
    ...(c.cmd !== undefined ? { Cmd: [...c.cmd] } : {}),
    Env: [...c.env],
    ...(c.workingDir !== undefined ? { WorkingDir: c.workingDir } : {}),
    ...(c.user !== undefined ? { User: c.user } : {}),
    ExposedPorts: Object.fromEntries(c.exposedPorts.map((p) => [p, {}])),
    Volumes: Object.fromEntries(c.volumes.map((v) => [v, {}])),
    Labels: { ...c.labels },
    ...(c.stopSignal !== undefined ? { StopSignal: c.stopSignal } : {}),
    ...(c.healthcheck !== undefined
      ? {
          Healthcheck: {
            Test: [...c.healthcheck.test],
            ...(c.healthcheck.intervalMs !== undefined && { Interval: msToNs(c.healthcheck.intervalMs) }),
            ...(c.healthcheck.timeoutMs !== undefined && { Timeout: msToNs(c.healthcheck.timeoutMs) }),
            ...(c.healthcheck.startPeriodMs !== undefined && { StartPeriod: msToNs(c.healthcheck.startPeriodMs) }),
            ...(c.healthcheck.retries !== undefined && { Retries: c.healthcheck.retries }),
          },
        }
      : {}),
  };
}
