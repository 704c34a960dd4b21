// Pushing to a registry (distribution spec, "Pushing blobs" and "Pushing
// manifests"): a blob the repository already has is skipped (HEAD); one that
// another repository of the same registry has can be mounted without sending
// a byte; anything else is uploaded in one PUT (monolithic) or as a series of
// PATCH chunks closed by a PUT. A failed upload restarts from a fresh session:
// a half-finished session is not resumable in any portable way.
import type { Readable } from "node:stream";
import { pullScope, pushScope } from "./auth.js";
import { sha256Digest } from "./digest.js";
import { RegistryError } from "./errors.js";
import type { Endpoint } from "./hosts.js";
import { sleep, type RegistryResponse, type Transport, unexpectedStatus } from "./transport.js";
import type { Descriptor, Digest } from "./types.js";

export type BlobContent = Buffer | (() => Readable);
export type PushBlobResult = "exists" | "mounted" | "uploaded";

export interface PushBlobOptions {
  /** Another repository on the same registry that has the blob ("library/busybox"). */
  mountFrom?: string;
  /** Upload in PATCH chunks of this many bytes instead of one PUT. */
  chunkSize?: number;
}

function location(res: RegistryResponse, endpoint: Endpoint, what: string): string {
  const value = res.headers.location;
  if (typeof value !== "string" || value === "") {
    throw new RegistryError("protocol", `${what}: registry ${endpoint.host} started an upload without a Location`);
  }
  // Relative Locations are relative to the request URL.
  return new URL(value, res.url).href;
}

function withDigest(url: string, digest: Digest): string {
  const u = new URL(url);
  u.searchParams.set("digest", digest);
  return u.href;
}

/** The content as chunks of at most `size` bytes, reading a stream only as far as needed. */
async function* chunks(content: BlobContent, size: number): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(content)) {
    for (let i = 0; i < content.length; i += size) yield content.subarray(i, i + size);
    return;
  }
  let pending: Buffer[] = [];
  let pendingLength = 0;
  for await (const raw of content() as AsyncIterable<Buffer>) {
    let data = raw;
    while (pendingLength + data.length >= size) {
      const take = size - pendingLength;
      pending.push(data.subarray(0, take));
      yield Buffer.concat(pending);
      data = data.subarray(take);
      pending = [];
      pendingLength = 0;
    }
    if (data.length > 0) {
      pending.push(data);
      pendingLength += data.length;
    }
  }
  if (pendingLength > 0) yield Buffer.concat(pending);
}

async function expectStatus(endpoint: Endpoint, res: RegistryResponse, statuses: number[], what: string, action: string): Promise<void> {
  if (!statuses.includes(res.status)) throw await unexpectedStatus(endpoint, res, what, action);
  await res.body.dump().catch(() => {});
}

async function uploadOnce(
  transport: Transport,
  endpoint: Endpoint,
  path: string,
  desc: Descriptor,
  content: BlobContent,
  opts: PushBlobOptions,
  scopes: string[],
  what: string,
): Promise<PushBlobResult> {
  const query = opts.mountFrom ? `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(opts.mountFrom)}` : "";
  const start = await transport.request(endpoint, { method: "POST", path: `/v2/${path}/blobs/uploads/${query}`, scopes, what, retry: true });
  if (start.status === 201 && opts.mountFrom) {
    await start.body.dump().catch(() => {});
    return "mounted";
  }
  await expectStatus(endpoint, start, [202], what, "starting an upload");
  let url = location(start, endpoint, what);

  if (opts.chunkSize && desc.size > opts.chunkSize) {
    let offset = 0;
    for await (const chunk of chunks(content, opts.chunkSize)) {
      const res = await transport.request(endpoint, {
        method: "PATCH",
        path: url,
        headers: {
          "content-type": "application/octet-stream",
          "content-range": `${offset}-${offset + chunk.length - 1}`,
          "content-length": String(chunk.length),
        },
        body: chunk,
        scopes,
        what,
        retry: false,
      });
      await expectStatus(endpoint, res, [202], what, `uploading bytes ${offset}-${offset + chunk.length - 1}`);
      url = location(res, endpoint, what);
      offset += chunk.length;
    }
    if (offset !== desc.size) throw new RegistryError("protocol", `${what}: the content has ${offset} bytes, the descriptor says ${desc.size}`);
    const done = await transport.request(endpoint, { method: "PUT", path: withDigest(url, desc.digest), headers: { "content-length": "0" }, scopes, what, retry: false });
    await expectStatus(endpoint, done, [201], what, "closing the upload");
    return "uploaded";
  }

  const res = await transport.request(endpoint, {
    method: "PUT",
    path: withDigest(url, desc.digest),
    headers: { "content-type": "application/octet-stream", "content-length": String(desc.size) },
    body: content,
    scopes,
    what,
    retry: false,
  });
  await expectStatus(endpoint, res, [201], what, "uploading the blob");
  return "uploaded";
}

export async function pushBlob(
  transport: Transport,
  endpoint: Endpoint,
  path: string,
  desc: Descriptor,
  content: BlobContent,
  opts: PushBlobOptions,
  what: string,
): Promise<PushBlobResult> {
  const scopes = [pushScope(path), ...(opts.mountFrom ? [pullScope(opts.mountFrom)] : [])];
  const head = await transport.request(endpoint, { method: "HEAD", path: `/v2/${path}/blobs/${desc.digest}`, scopes, what });
  await head.body.dump().catch(() => {});
  if (head.status === 200) return "exists";
  if (head.status !== 404) throw await unexpectedStatus(endpoint, head, what, "checking for the blob");
  let attempt = 0;
  for (;;) {
    try {
      return await uploadOnce(transport, endpoint, path, desc, content, opts, scopes, what);
    } catch (err) {
      if (!(err instanceof RegistryError) || err.code !== "unavailable" || attempt + 1 >= transport.retry.attempts) throw err;
      await sleep(transport.backoff(attempt++));
    }
  }
}

/** PUTs a manifest under `reference` (a tag or its digest) and checks the digest the registry computed. */
export async function pushManifest(
  transport: Transport,
  endpoint: Endpoint,
  path: string,
  reference: string,
  bytes: Buffer,
  mediaType: string,
  what: string,
): Promise<Descriptor> {
  const digest = sha256Digest(bytes);
  const res = await transport.request(endpoint, {
    method: "PUT",
    path: `/v2/${path}/manifests/${reference}`,
    headers: { "content-type": mediaType },
    body: bytes,
    scopes: [pushScope(path)],
    what,
    // Same bytes under the same name: resending is harmless.
    retry: true,
  });
  await expectStatus(endpoint, res, [201], what, "pushing the manifest");
  const theirs = res.headers["docker-content-digest"];
  if (typeof theirs === "string" && theirs.startsWith("sha256:") && theirs !== digest) {
    throw new RegistryError("digest-mismatch", `${what}: registry ${endpoint.host} stored the manifest as ${theirs}, expected ${digest}`);
  }
  return { mediaType, digest, size: bytes.length };
}
