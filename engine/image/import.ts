// docker import: a root filesystem tar (plain or compressed, from a file or
// stdin) becomes a one-layer image. The tar is kept as it came as the layer
// blob; the config is written the way docker import writes it, with the
// changes (-c) applied that docker allows there.
import type { Readable } from "node:stream";
import { hostPlatform, parsePlatform } from "../content/platform.js";
import type { Digest } from "../content/types.js";
import { EngineError, type ImportOptions } from "../types.js";
import { applyChanges } from "./changes.js";
import { spoolToStore } from "./ingest.js";
import type { PullContext } from "./pull.js";
import { registerImage } from "./register.js";
import { refKey } from "./store.js";

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
    applyChanges(containerConfig, opts.changes ?? [], "import");
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
