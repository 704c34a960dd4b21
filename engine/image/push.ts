// docker push: the image a local tag names goes to that tag's registry:
// layers and config first (skipped when the repository has them), then the
// manifest we keep for the image, byte for byte, so the pushed digest is the
// one the image was pulled or loaded with. Progress reads like docker's.
import { Transform, type Readable } from "node:stream";
import { DEFAULT_TAG, parseReference, repositoryName } from "../content/reference.js";
import type { Descriptor, Digest } from "../content/types.js";
import { EngineError, type PullProgress } from "../types.js";
import { Semaphore } from "../sys/semaphore.js";
import type { PullContext } from "./pull.js";
import { refKey } from "./store.js";
import { shortDigest } from "./types.js";

export interface PushResult {
  digest: Digest;
  size: number;
  tag: string;
}

function counted(source: Readable, onBytes: (n: number) => void): Readable {
  let n = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      onBytes(n);
      cb(null, chunk);
    },
  });
  source.on("error", (err) => t.destroy(err));
  return source.pipe(t);
}

export async function pushImage(ctx: PullContext, input: string, opts: { onProgress?: (p: PullProgress) => void; maxConcurrentUploads?: number } = {}): Promise<PushResult> {
  const emit = (p: PullProgress): void => opts.onProgress?.(p);
  const parsed = parseReference(input);
  if (parsed.digest !== undefined) throw new EngineError("invalid", `cannot push a digest reference: ${input}`);
  const ref = { ...parsed, tag: parsed.tag ?? DEFAULT_TAG };
  const id = await ctx.store.getRef(ref);
  const record = id ? await ctx.store.get(id) : undefined;
  if (!record) throw new EngineError("not-found", `An image does not exist locally with the tag: ${repositoryName(ref)}`);
  emit({ id: "", status: `The push refers to repository [${repositoryName(ref)}]` });

  const slots = new Semaphore(opts.maxConcurrentUploads ?? 5);
  // Docker lists layers top first.
  const layers = [...record.layers].reverse();
  for (const l of layers) emit({ id: shortDigest(l.blob.digest), status: "Preparing" });
  const upload = async (desc: Descriptor, progress: boolean): Promise<void> => {
    const release = await slots.acquire();
    try {
      const lid = shortDigest(desc.digest);
      if (progress) emit({ id: lid, status: "Waiting" });
      let last = 0;
      const result = await ctx.registry.pushBlob(ref, desc, () =>
        counted(ctx.content.read(desc.digest), (n) => {
          const now = Date.now();
          if (!progress || (now - last < 100 && n < desc.size)) return;
          last = now;
          emit({ id: lid, status: "Pushing", current: n, total: desc.size });
        }),
      );
      if (progress) emit({ id: lid, status: result === "exists" ? "Layer already exists" : result === "mounted" ? "Mounted from another repository" : "Pushed" });
    } finally {
      release();
    }
  };
  await Promise.all(layers.map((l) => upload(l.blob, true)));
  await upload(record.config, false);
  const bytes = await ctx.content.readBytes(record.manifest.digest);
  const pushed = await ctx.registry.pushManifest(ref, bytes, record.manifest.mediaType);
  await ctx.store.setRef(`${repositoryName(ref)}@${pushed.digest}`, record.id);
  emit({ id: "", status: `${ref.tag}: digest: ${pushed.digest} size: ${pushed.size}` });
  return { digest: pushed.digest, size: pushed.size, tag: refKey(ref) };
}
