// docker import: a root filesystem tar (plain or compressed, from a file or
// stdin) becomes a one-layer image. The tar is kept as it came as the layer
// blob; the config is written the way docker import writes it, with the
// changes (-c) applied that docker allows there.
import type { Readable } from "node:stream";
import { hostPlatform, parsePlatform } from "../content/platform.js";
import type { Digest } from "../content/types.js";
import { EngineError } from "../types.js";
import { spoolToStore } from "./ingest.js";
import type { PullContext } from "./pull.js";
import { registerImage } from "./register.js";
import { refKey } from "./store.js";

export interface ImportOptions {
  /** The reference to tag the image with. */
  ref?: string;
  /** History comment (docker import -m); default "Imported from -". */
  message?: string;
  /** Dockerfile instructions (docker import -c): CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL. */
  changes?: string[];
  platform?: string;
}

/** A Dockerfile argument list: JSON array, or shell form wrapped in /bin/sh -c. */
function command(arg: string): string[] {
  if (arg.trim().startsWith("[")) {
    const parsed: unknown = JSON.parse(arg);
    if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) return parsed;
  }
  return ["/bin/sh", "-c", arg];
}

/** KEY=VALUE pairs (quotes allowed), or the legacy "KEY VALUE" form. */
function pairs(arg: string): [string, string][] {
  if (!arg.includes("=")) {
    const [k, ...v] = arg.trim().split(/\s+/);
    return k ? [[k, v.join(" ")]] : [];
  }
  const out: [string, string][] = [];
  for (const m of arg.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    const raw = m[2] ?? "";
    out.push([m[1] ?? "", raw.startsWith('"') ? (JSON.parse(raw) as string) : raw.replace(/^'|'$/g, "")]);
  }
  return out;
}

export function applyChanges(config: Record<string, unknown>, changes: string[]): void {
  for (const change of changes) {
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(change);
    if (!m) throw new EngineError("invalid", `invalid change ${JSON.stringify(change)}: expected "INSTRUCTION arguments"`);
    const [, word = "", arg = ""] = m;
    switch (word.toUpperCase()) {
      case "CMD":
        config.Cmd = command(arg);
        break;
      case "ENTRYPOINT":
        config.Entrypoint = command(arg);
        break;
      case "ENV": {
        const env = (config.Env as string[] | undefined) ?? [];
        for (const [k, v] of pairs(arg)) {
          const i = env.findIndex((e) => e.split("=")[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        config.Env = env;
        break;
      }
      case "LABEL":
        config.Labels = { ...((config.Labels) ?? {}), ...Object.fromEntries(pairs(arg)) };
        break;
      case "EXPOSE":
        config.ExposedPorts = { ...((config.ExposedPorts) ?? {}), ...Object.fromEntries(arg.trim().split(/\s+/).map((p) => [p.includes("/") ? p : `${p}/tcp`, {}])) };
        break;
      case "VOLUME":
        config.Volumes = { ...((config.Volumes) ?? {}), ...Object.fromEntries(command(arg)[0] === "/bin/sh" ? arg.trim().split(/\s+/).map((v) => [v, {}]) : command(arg).map((v) => [v, {}])) };
        break;
      case "USER":
        config.User = arg.trim();
        break;
      case "WORKDIR":
        config.WorkingDir = arg.trim();
        break;
      case "STOPSIGNAL":
        config.StopSignal = arg.trim();
        break;
      default:
        throw new EngineError("invalid", `${word} is not supported by import; use one of CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL`);
    }
  }
}

export async function importRootfs(ctx: PullContext, input: Readable, opts: ImportOptions & { tmpDir: string }): Promise<Digest> {
  const tag = opts.ref !== undefined ? refKey(opts.ref) : undefined;
  if (tag?.includes("@")) throw new EngineError("invalid", `cannot import to a digest reference: ${opts.ref}`);
  const blob = await spoolToStore(ctx.content, input, opts.tmpDir);
  let ok = false;
  let chain: Digest | undefined;
  try {
    // The diffID is only known once unpacked; the snapshotter computes it.
    const layer = await ctx.snapshotter.applyLayer({ open: () => ctx.content.read(blob.digest) });
    chain = layer.chainId;
    const platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
    const now = new Date().toISOString();
    const containerConfig: Record<string, unknown> = {};
    applyChanges(containerConfig, opts.changes ?? []);
    const config = {
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      created: now,
      config: containerConfig,
      rootfs: { type: "layers", diff_ids: [layer.diffId] },
      history: [{ created: now, comment: opts.message ?? "Imported from -" }],
    };
    const { record } = await registerImage(ctx, {
      configBytes: Buffer.from(JSON.stringify(config)),
      layers: [blob],
      tags: tag ? [tag] : [],
      what: "the imported image",
    });
    ok = true;
    return record.id;
  } finally {
    if (!ok) await ctx.collect({ chains: chain ? [chain] : [], blobs: [blob.digest] }).catch(() => undefined);
  }
}
