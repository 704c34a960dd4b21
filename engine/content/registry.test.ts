// The registry client against the real docker-registry (distribution 2.8) on
// 127.0.0.1, with images built from Debian packages and pushed by skopeo; and
// against a scripted fake server for the broken answers a real registry never
// gives. Docker Hub is replaced by a local fake everywhere (dockerHubUrl), and
// every connection goes through a loopback-only pool.
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startFakeRegistry, sendError, type FakeRegistry } from "../../test/fixtures/fake-registry.js";
import { buildBusybox, buildMultiplatform, layoutBlobPath } from "../../test/fixtures/images.js";
import { loopbackOnlyDispatcher } from "../../test/fixtures/loopback.js";
import { inspectRaw, pushLayout, pushTestImage, type PushedImage } from "../../test/fixtures/push.js";
import { startRegistry, type TestRegistry } from "../../test/fixtures/registry.js";
import { loadDockerCredentials } from "./credentials.js";
import { RegistryError } from "./errors.js";
import { MediaTypes } from "./manifest.js";
import { RegistryClient, type RegistryClientOptions } from "./registry.js";
import { LocalContentStore } from "./store.js";
import type { Descriptor, Digest } from "./types.js";

const net = loopbackOnlyDispatcher();
const sha = (data: Buffer | string): Digest => `sha256:${createHash("sha256").update(data).digest("hex")}`;

let tmp: string;
let registry: TestRegistry;
let hub: FakeRegistry;
let busybox: PushedImage;
let multiplatform: PushedImage;

function client(opts: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({
    dispatcher: net.dispatcher,
    insecureDispatcher: net.dispatcher,
    // Fast retries: tests of backoff should not take seconds.
    retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
    // Docker Hub is a local fake that answers 404 to everything.
    dockerHubUrl: hub.url,
    platform: { os: "linux", architecture: "amd64" },
    ...opts,
  });
}

async function newStore(): Promise<LocalContentStore> {
  return LocalContentStore.open(await fs.mkdtemp(path.join(tmp, "store-")), { sync: false });
}

async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error("expected a RegistryError, got success");
}

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tscompose-test-"));
  hub = await startFakeRegistry((_req, res) => sendError(res, 404, "NAME_UNKNOWN", "not on this fake hub"));
  registry = await startRegistry();
  busybox = await pushTestImage(registry, "busybox");
  multiplatform = await pushTestImage(registry, "multiplatform");
  await pushLayout(await buildBusybox({ format: "docker" }), registry, "tscompose/busybox-docker:latest");
  await pushLayout(await buildMultiplatform({ format: "docker" }), registry, "tscompose/multiplatform-docker:latest");
});

afterAll(async () => {
  await registry?.stop();
  await hub?.stop();
  await net.close();
  await fs.rm(tmp, { recursive: true, force: true });
  expect(net.refused).toEqual([]);
});

describe("resolve and fetch from the real registry", () => {
  test("busybox by tag: manifest, config and layer land verified in the store", async () => {
    const c = client();
    const image = await c.resolve(`${registry.host}/library/busybox:latest`);
    const built = busybox.layout.images[0]!;
    expect(image.descriptor).toEqual({ mediaType: MediaTypes.ociManifest, digest: busybox.digest, size: built.manifest.size });
    expect(image.manifest.descriptor).toEqual(image.descriptor);
    expect(image.bytes.equals(await fs.readFile(layoutBlobPath(busybox.layout, busybox.digest)))).toBe(true);
    expect(image.index).toBeUndefined();
    expect(image.source).toBe(registry.url);
    expect(image.manifest.parsed.layers.map((l) => l.digest)).toEqual(built.layers.map((l) => l.digest));

    const store = await newStore();
    const ref = image.reference;
    for (const desc of [image.manifest.parsed.config, ...image.manifest.parsed.layers]) {
      const info = await c.fetchBlob(ref, desc, await store.writer(desc.digest, desc.size));
      expect(info).toEqual({ digest: desc.digest, size: desc.size });
    }
    const config = JSON.parse((await store.readBytes(image.manifest.parsed.config.digest)).toString()) as { config: { Cmd: string[] } };
    expect(config.config.Cmd).toEqual(["sh"]);
    const layer = built.layers[0]!;
    expect((await store.readBytes(layer.digest)).equals(await fs.readFile(layoutBlobPath(busybox.layout, layer.digest)))).toBe(true);
  });

  test("busybox by digest, and a missing tag names the reference", async () => {
    const c = client();
    const image = await c.resolve(`${registry.host}/library/busybox@${busybox.digest}`);
    expect(image.descriptor.digest).toBe(busybox.digest);
    expect(image.reference.tag).toBeUndefined();

    const err = await rejection(c.resolve(`${registry.host}/library/busybox:nope`));
    expect(err.code).toBe("not-found");
    expect(err.message).toBe(
      `manifest unknown: ${registry.host}/library/busybox:nope not found on ${registry.host} (MANIFEST_UNKNOWN: manifest unknown)`,
    );
  });

  test("a Docker schema 2 manifest resolves with its own media types", async () => {
    const image = await client().resolve(`${registry.host}/tscompose/busybox-docker`);
    expect(image.descriptor.mediaType).toBe(MediaTypes.dockerManifest);
    expect(image.manifest.parsed.config.mediaType).toBe(MediaTypes.dockerConfig);
    expect(image.reference.tag).toBe("latest");
  });

  test.each([
    ["tscompose/multiplatform", MediaTypes.ociIndex],
    ["tscompose/multiplatform-docker", MediaTypes.dockerManifestList],
  ])("platform selection from %s", async (repo, indexType) => {
    const c = client();
    const ref = `${registry.host}/${repo}:latest`;
    const layouts = repo.endsWith("docker") ? await buildMultiplatform({ format: "docker" }) : multiplatform.layout;
    const [amd64, arm64, arm] = layouts.images.map((i) => i.manifest.digest);

    const byDefault = await c.resolve(ref);
    expect(byDefault.descriptor.mediaType).toBe(indexType);
    expect(byDefault.index?.manifests).toHaveLength(3);
    expect(byDefault.manifest.descriptor.digest).toBe(amd64);
    expect((await c.resolve(ref, { platform: "linux/arm64" })).manifest.descriptor.digest).toBe(arm64);
    expect((await c.resolve(ref, { platform: "linux/arm64/v8" })).manifest.descriptor.digest).toBe(arm64);
    expect((await c.resolve(ref, { platform: "linux/arm/v7" })).manifest.descriptor.digest).toBe(arm);
    expect((await client({ platform: { os: "linux", architecture: "aarch64" } }).resolve(ref)).manifest.descriptor.digest).toBe(arm64);

    const err = await rejection(c.resolve(ref, { platform: "linux/s390x" }));
    expect(err.code).toBe("platform");
    expect(err.message).toBe(`no manifest for platform linux/s390x in ${ref}; it has linux/amd64, linux/arm64/v8, linux/arm/v7`);
  });

  test("fetchManifest gets another platform's manifest by descriptor", async () => {
    const c = client();
    const image = await c.resolve(multiplatform.ref);
    const arm = image.index!.manifests[2]!;
    const fetched = await c.fetchManifest(multiplatform.ref, arm);
    expect(fetched.descriptor.digest).toBe(arm.digest);
    expect(fetched.parsed.kind).toBe("manifest");
  });
});

describe("Docker Hub mirrors", () => {
  test("`busybox` resolves through the mirror and never reaches Hub", async () => {
    const before = hub.requests.length;
    const c = client({ hosts: { mirrors: [registry.url], insecure: [] } });
    const image = await c.resolve("busybox");
    expect(image.reference).toEqual({ domain: "docker.io", path: "library/busybox", tag: "latest" });
    expect(image.descriptor.digest).toBe(busybox.digest);
    expect(image.source).toBe(registry.url);
    const layer = image.manifest.parsed.layers[0]!;
    const store = await newStore();
    await c.fetchBlob("busybox", layer, await store.writer(layer.digest, layer.size));
    expect(await store.has(layer.digest)).toBe(true);
    expect(hub.requests.length).toBe(before);
  });

  test("a dead mirror, then a failing one, are skipped with warnings", async () => {
    const failing = await startFakeRegistry((_req, res) => sendError(res, 503, "UNAVAILABLE", "maintenance"));
    const dead = await startFakeRegistry();
    const deadUrl = dead.url;
    await dead.stop();
    try {
      const warnings: string[] = [];
      const c = client({ hosts: { mirrors: [deadUrl, failing.url, registry.url], insecure: [] }, warn: (m) => warnings.push(m) });
      const image = await c.resolve("busybox:latest");
      expect(image.source).toBe(registry.url);
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatch(new RegExp(`^registry mirror ${deadUrl} failed for docker.io/library/busybox:latest, trying ${failing.url}: .*ECONNREFUSED`));
      expect(warnings[1]).toContain(`registry mirror ${failing.url} failed for docker.io/library/busybox:latest, trying ${registry.url}`);
      // 503 is retried (3 attempts) before the mirror is given up.
      expect(failing.requests).toHaveLength(3);
    } finally {
      await failing.stop();
    }
  });

  test("when every mirror fails, Hub is asked last and its answer is the error", async () => {
    const before = hub.requests.length;
    const c = client({ hosts: { mirrors: [registry.url], insecure: [] } });
    const err = await rejection(c.resolve("tscompose/not-there"));
    expect(err.code).toBe("not-found");
    expect(err.message).toMatch(new RegExp(`^manifest unknown: docker.io/tscompose/not-there:latest not found on ${hub.host} .* \\(after mirrors failed: ${registry.url}: manifest unknown`));
    expect(hub.requests.length).toBe(before + 1);
  });
});

describe("authentication", () => {
  test("token auth: anonymous pull, then the login's token, one token per scope", async () => {
    const reg = await startRegistry({ auth: "token" });
    try {
      const pushed = await pushTestImage(reg, "busybox", { credentials: reg.credentials });
      const tokens = reg.tokenServer!.requests;
      tokens.length = 0;

      const anonymous = await client().resolve(pushed.ref);
      expect(anonymous.descriptor.digest).toBe(busybox.digest);
      expect(tokens).toEqual([
        { account: undefined, service: "tscompose-test-registry", scopes: ["repository:library/busybox:pull"], status: 200, granted: [{ type: "repository", name: "library/busybox", actions: ["pull"] }] },
      ]);

      tokens.length = 0;
      const c = client({ credentials: (host) => (host === reg.host ? reg.credentials : undefined) });
      const image = await c.resolve(pushed.ref);
      const store = await newStore();
      for (const desc of [image.manifest.parsed.config, ...image.manifest.parsed.layers]) {
        await c.fetchBlob(pushed.ref, desc, await store.writer(desc.digest, desc.size));
      }
      // The manifest and both blobs share one token.
      expect(tokens).toHaveLength(1);
      expect(tokens[0]!.account).toBe("tscompose");
    } finally {
      await reg.stop();
    }
  });

  test("token auth: a private registry refuses anonymous clients and wrong passwords, naming itself", async () => {
    const reg = await startRegistry({ auth: "token", anonymousPull: false });
    try {
      const pushed = await pushTestImage(reg, "busybox", { credentials: reg.credentials });
      const anonymous = await rejection(client().resolve(pushed.ref));
      expect(anonymous.code).toBe("unauthorized");
      expect(anonymous.message).toBe(
        `${pushed.ref}: registry ${reg.host} answered 401 Unauthorized: UNAUTHORIZED: authentication required; ` +
          `no credentials for ${reg.host} (log in with docker login ${reg.host}, or add them to ~/.docker/config.json)`,
      );
      const wrong = await rejection(client({ credentials: () => ({ username: "tscompose", password: "wrong" }) }).resolve(pushed.ref));
      expect(wrong.code).toBe("unauthorized");
      expect(wrong.message).toBe(
        `registry ${reg.host}: token server ${reg.tokenServer!.realm} refused the credentials of "tscompose" (401): UNAUTHORIZED: invalid username or password`,
      );
      const ok = await client({ credentials: () => reg.credentials }).resolve(pushed.ref);
      expect(ok.descriptor.digest).toBe(pushed.digest);
    } finally {
      await reg.stop();
    }
  });

  test("basic auth with credentials from a Docker config.json", async () => {
    const reg = await startRegistry({ auth: "basic" });
    try {
      const pushed = await pushTestImage(reg, "busybox", { credentials: reg.credentials });
      const err = await rejection(client().resolve(pushed.ref));
      expect(err.code).toBe("unauthorized");
      expect(err.message).toContain(`registry ${reg.host} answered 401 Unauthorized`);

      const configPath = path.join(tmp, "docker-config.json");
      const auth = Buffer.from(`${reg.credentials.username}:${reg.credentials.password}`).toString("base64");
      await fs.writeFile(configPath, JSON.stringify({ auths: { [`http://${reg.host}`]: { auth } }, credsStore: "desktop" }));
      const warnings: string[] = [];
      const credentials = await loadDockerCredentials({ path: configPath, warn: (m) => warnings.push(m) });
      expect(warnings).toEqual([`${configPath}: credsStore "desktop" is not supported; only credentials stored in "auths" are used`]);
      const image = await client({ credentials }).resolve(pushed.ref);
      expect(image.descriptor.digest).toBe(pushed.digest);
    } finally {
      await reg.stop();
    }
  });
});

describe("push", () => {
  test("blobs (monolithic, chunked, mounted, existing) and a manifest, checked with skopeo", async () => {
    const reg = await startRegistry({ auth: "token" });
    try {
      const c = client({ credentials: () => reg.credentials });
      const built = busybox.layout.images[0]!;
      const layer = built.layers[0]!;
      const layerDesc: Descriptor = { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
      const ref = `${reg.host}/tscompose/pushed:v1`;
      const configBytes = await fs.readFile(layoutBlobPath(busybox.layout, built.config.digest));
      expect(await c.pushBlob(ref, built.config, configBytes)).toBe("uploaded");
      const { createReadStream } = await import("node:fs");
      expect(await c.pushBlob(ref, layerDesc, () => createReadStream(layoutBlobPath(busybox.layout, layer.digest)), { chunkSize: 256 * 1024 })).toBe("uploaded");
      expect(await c.pushBlob(ref, layerDesc, () => createReadStream(layoutBlobPath(busybox.layout, layer.digest)))).toBe("exists");
      expect(await c.pushBlob(`${reg.host}/tscompose/other:v1`, layerDesc, Buffer.alloc(0), { mountFrom: "tscompose/pushed" })).toBe("mounted");

      const manifestBytes = await fs.readFile(layoutBlobPath(busybox.layout, busybox.digest));
      const desc = await c.pushManifest(ref, manifestBytes, MediaTypes.ociManifest);
      expect(desc).toEqual({ mediaType: MediaTypes.ociManifest, digest: busybox.digest, size: manifestBytes.length });
      expect(await inspectRaw(ref, { credentials: reg.credentials })).toBe(manifestBytes.toString());
      expect((await c.resolve(ref)).descriptor.digest).toBe(busybox.digest);
      const scopes = reg.tokenServer!.requests.flatMap((r) => r.scopes);
      expect(scopes).toContain("repository:tscompose/pushed:pull,push");
    } finally {
      await reg.stop();
    }
  });
});

describe("broken registries (scripted fake)", () => {
  const blob = Buffer.from("x".repeat(300_000) + "the end");
  const blobDesc: Descriptor = { mediaType: MediaTypes.ociLayerGzip, digest: sha(blob), size: blob.length };
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: { mediaType: MediaTypes.ociConfig, digest: blobDesc.digest, size: blob.length }, layers: [] }),
  );
  let fake: FakeRegistry;
  let ref: string;

  beforeAll(async () => {
    fake = await startFakeRegistry();
    ref = `${fake.host}/test/image:latest`;
  });
  afterAll(async () => {
    await fake.stop();
  });

  const serveManifest = (body: Buffer | string, contentType: string = MediaTypes.ociManifest) =>
    fake.handle((_req, res) => {
      res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
      res.end(body);
    });

  test("a corrupted blob fails with expected and actual digest, and leaves nothing in the store", async () => {
    const corrupted = Buffer.from(blob);
    corrupted[10] = 0x79;
    fake.handle((_req, res) => {
      res.writeHead(200, { "content-length": corrupted.length });
      res.end(corrupted);
    });
    const store = await newStore();
    const err = await rejection(client().fetchBlob(ref, blobDesc, await store.writer(blobDesc.digest, blobDesc.size)));
    expect(err.code).toBe("digest-mismatch");
    expect(err.message).toBe(`${fake.host}/test/image: blob ${blobDesc.digest} from ${fake.host}: digest mismatch: expected ${blobDesc.digest}, got ${sha(corrupted)}`);
    expect(await store.has(blobDesc.digest)).toBe(false);
    expect(await fs.readdir(path.join(store.root, "ingest"))).toEqual([]);
  });

  test("a body that always ends early is retried with Range, then reported as truncated", async () => {
    const start = fake.requests.length;
    fake.handle((req, res) => {
      const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? "")?.[1] ?? 0);
      const part = blob.subarray(from, from + 1000);
      res.writeHead(from > 0 ? 206 : 200, {
        "content-length": part.length,
        ...(from > 0 ? { "content-range": `bytes ${from}-${from + part.length - 1}/${blob.length}` } : {}),
      });
      res.end(part);
    });
    const store = await newStore();
    const err = await rejection(client().fetchBlob(ref, blobDesc, await store.writer(blobDesc.digest, blobDesc.size)));
    expect(err.code).toBe("truncated");
    expect(err.message).toBe(`${fake.host}/test/image: blob ${blobDesc.digest} from ${fake.host} truncated: received 3000 of ${blob.length} bytes`);
    expect(fake.requests.slice(start).map((r) => r.headers.range)).toEqual([undefined, "bytes=1000-", "bytes=2000-"]);
    expect(await fs.readdir(path.join(store.root, "ingest"))).toEqual([]);
  });

  test("a connection dropped mid-blob resumes with Range and completes", async () => {
    const start = fake.requests.length;
    fake.handle((req, res, index) => {
      if (index === start) {
        // Promise the whole blob, send a third, and cut the connection.
        res.writeHead(200, { "content-length": blob.length });
        res.write(blob.subarray(0, 100_000), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? "")?.[1] ?? 0);
      res.writeHead(206, { "content-length": blob.length - from, "content-range": `bytes ${from}-${blob.length - 1}/${blob.length}` });
      res.end(blob.subarray(from));
    });
    const store = await newStore();
    const info = await client().fetchBlob(ref, blobDesc, await store.writer(blobDesc.digest, blobDesc.size));
    expect(info).toEqual({ digest: blobDesc.digest, size: blob.length });
    const ranges = fake.requests.slice(start).map((r) => r.headers.range);
    expect(ranges).toHaveLength(2);
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(ranges[1]!)![0])).toBeGreaterThan(0);
    expect((await store.readBytes(blobDesc.digest)).equals(blob)).toBe(true);
  });

  test("a registry that ignores Range after a drop still completes (the bytes we have are skipped)", async () => {
    const start = fake.requests.length;
    fake.handle((_req, res, index) => {
      res.writeHead(200, { "content-length": blob.length });
      if (index === start) {
        res.write(blob.subarray(0, 100_000), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      res.end(blob);
    });
    const store = await newStore();
    await client().fetchBlob(ref, blobDesc, await store.writer(blobDesc.digest, blobDesc.size));
    expect((await store.readBytes(blobDesc.digest)).equals(blob)).toBe(true);
  });

  test("a 500 is retried, then the manifest resolves", async () => {
    const start = fake.requests.length;
    fake.handle((_req, res, index) => {
      if (index === start) return sendError(res, 500, "UNKNOWN", "try again");
      res.writeHead(200, { "content-type": MediaTypes.ociManifest });
      res.end(manifest);
    });
    const image = await client().resolve(ref);
    expect(image.descriptor.digest).toBe(sha(manifest));
    expect(fake.requests.length - start).toBe(2);
  });

  test("500s until the retries run out name the registry", async () => {
    fake.handle((_req, res) => sendError(res, 500, "UNKNOWN", "disk on fire"));
    const err = await rejection(client().resolve(ref));
    expect(err.code).toBe("unavailable");
    expect(err.message).toBe(`${ref}: registry ${fake.host} failed manifest lookup (500): UNKNOWN: disk on fire`);
  });

  test("malformed manifest JSON", async () => {
    serveManifest(manifest.subarray(0, 40));
    const err = await rejection(client().resolve(ref));
    expect(err.code).toBe("invalid-manifest");
    expect(err.message).toMatch(new RegExp(`^malformed manifest for ${ref}: invalid JSON \\(.+\\)$`));
  });

  test("a manifest with a broken descriptor names the field", async () => {
    const bad = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: blobDesc, layers: [{ mediaType: "x", digest: "sha256:abc", size: 1 }] });
    serveManifest(bad);
    const err = await rejection(client().resolve(ref));
    expect(err.message).toBe(`malformed manifest for ${ref}: layers[0].digest "sha256:abc" is not a sha256 digest`);
  });

  test("a wrong Content-Type is refused", async () => {
    serveManifest("<html>login page</html>", "text/html; charset=utf-8");
    const err = await rejection(client().resolve(ref));
    expect(err.code).toBe("unsupported");
    expect(err.message).toBe(
      `unexpected Content-Type "text/html" for manifest ${ref}: expected one of ${[MediaTypes.dockerManifest, MediaTypes.ociManifest, MediaTypes.dockerManifestList, MediaTypes.ociIndex].join(", ")}`,
    );
  });

  test("a Content-Type contradicting the body's mediaType is refused", async () => {
    serveManifest(manifest, MediaTypes.dockerManifest);
    const err = await rejection(client().resolve(ref));
    expect(err.message).toBe(
      `malformed manifest for ${ref}: mediaType "${MediaTypes.ociManifest}" in the body contradicts Content-Type "${MediaTypes.dockerManifest}"`,
    );
  });

  test("pulling by digest verifies the manifest bytes", async () => {
    serveManifest(manifest);
    const wanted = sha("something else");
    const err = await rejection(client().resolve(`${fake.host}/test/image@${wanted}`));
    expect(err.code).toBe("digest-mismatch");
    expect(err.message).toBe(`${fake.host}/test/image@${wanted}: manifest from ${fake.host} does not match its digest: expected ${wanted}, got ${sha(manifest)}`);
  });

  test("a Docker-Content-Digest that does not match the body is refused", async () => {
    const claimed = sha("other");
    fake.handle((_req, res) => {
      res.writeHead(200, { "content-type": MediaTypes.ociManifest, "docker-content-digest": claimed });
      res.end(manifest);
    });
    const err = await rejection(client().resolve(ref));
    expect(err.code).toBe("digest-mismatch");
    expect(err.message).toContain(`expected ${claimed}, got ${sha(manifest)}`);
  });

  test("403 names the registry", async () => {
    fake.handle((_req, res) => sendError(res, 403, "DENIED", "requested access to the resource is denied"));
    const err = await rejection(client().resolve(ref));
    expect(err.code).toBe("denied");
    expect(err.message).toBe(`${ref}: registry ${fake.host} denied access (403 Forbidden): DENIED: requested access to the resource is denied`);
  });

  test("a schema 1 manifest is refused by name", async () => {
    serveManifest(JSON.stringify({ schemaVersion: 1, name: "test/image", tag: "latest", fsLayers: [] }), MediaTypes.dockerSchema1Signed);
    const err = await rejection(client().resolve(ref));
    expect(err.code).toBe("unsupported");
    expect(err.message).toContain("Docker schema 1 manifest");
  });

  test("redirected blob downloads follow the Location without the registry's credentials", async () => {
    const storage = await startFakeRegistry((_req, res) => {
      res.writeHead(200, { "content-length": blob.length });
      res.end(blob);
    });
    try {
      fake.handle((req, res) => {
        if (!req.headers.authorization) {
          res.writeHead(401, { "www-authenticate": 'Basic realm="fake"' });
          return void res.end();
        }
        res.writeHead(307, { location: `${storage.url}/bucket/blob?sig=1` });
        res.end();
      });
      const store = await newStore();
      const c = client({ credentials: () => ({ username: "u", password: "p" }) });
      await c.fetchBlob(ref, blobDesc, await store.writer(blobDesc.digest, blobDesc.size));
      expect(await store.has(blobDesc.digest)).toBe(true);
      expect(storage.requests).toHaveLength(1);
      expect(storage.requests[0]!.path).toBe("/bucket/blob?sig=1");
      expect(storage.requests[0]!.headers.authorization).toBeUndefined();
    } finally {
      await storage.stop();
    }
  });
});
