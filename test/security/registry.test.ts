// A hostile registry (a scripted fake on 127.0.0.1) against the bounds on
// everything a registry sends: error and token bodies, manifests, config
// blobs, blobs longer than their descriptor, and layers that inflate without
// end (a gzip bomb). Each answer is one a real registry never gives; the
// client must refuse it early, say which limit it passed, and keep nothing.
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RegistryError } from "../../engine/content/errors.js";
import { MAX_ERROR_BODY } from "../../engine/content/limits.js";
import { MediaTypes } from "../../engine/content/manifest.js";
import { RegistryClient } from "../../engine/content/registry.js";
import { LocalContentStore } from "../../engine/content/store.js";
import type { Descriptor, Digest } from "../../engine/content/types.js";
import { parseEngineConfig } from "../../engine/config.js";
import { ImageService } from "../../engine/image/service.js";
import { gzipBomb } from "../../engine/snapshot/testing.js";
import { sendLongBody, startFakeRegistry, type FakeRegistry } from "../fixtures/fake-registry.js";
import { loopbackOnlyDispatcher } from "../fixtures/loopback.js";

const DEAD_HUB = "http://127.0.0.1:9";
const MiB = 1 << 20;
const net = loopbackOnlyDispatcher();
const sha = (data: Buffer | string): Digest => `sha256:${createHash("sha256").update(data).digest("hex")}`;

let tmp: string;
let fake: FakeRegistry;
let repo: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tscompose-test-secreg-"));
  fake = await startFakeRegistry();
  repo = `${fake.host}/hostile/image`;
});

afterAll(async () => {
  await fake?.stop();
  await net.close();
  await fs.rm(tmp, { recursive: true, force: true });
  expect(net.refused).toEqual([]);
});

function client(): RegistryClient {
  return new RegistryClient({
    dispatcher: net.dispatcher,
    insecureDispatcher: net.dispatcher,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    dockerHubUrl: DEAD_HUB,
    platform: { os: "linux", architecture: "amd64" },
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw err;
  }
  throw new Error("expected a failure, got success");
}

/** Routes the fake's requests by exact path; anything else is a 404 with an empty body. */
function routes(table: Record<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<unknown>>): void {
  fake.handle(async (req, res) => {
    const route = table[req.url ?? ""];
    if (route) await route(req, res);
    else res.writeHead(404).end();
  });
}

const manifestPath = (tag: string): string => `/v2/hostile/image/manifests/${tag}`;
const blobPath = (digest: string): string => `/v2/hostile/image/blobs/${digest}`;
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const serve = (body: Buffer, contentType?: string) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { "content-length": body.length, ...(contentType ? { "content-type": contentType } : {}) });
  res.end(body);
};

function imageManifest(config: Descriptor, layers: Descriptor[]): Buffer {
  return json({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers });
}

describe("the registry client reads a bounded amount of every answer", () => {
  test("an endless error body: the error is reported, at most 64 KiB of it is read", async () => {
    let sent: Promise<number> | undefined;
    routes({
      [manifestPath("latest")]: (_req, res) => {
        sent = sendLongBody(res, 404, { "content-type": "application/json" }, 64 * MiB, 0x61);
      },
    });
    const err = await rejection(client().resolve(`${repo}:latest`));
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: "not-found" });
    // The client hung up long before the 64 MiB: what the kernel buffered on the way is all that was sent.
    expect(await sent).toBeLessThan(16 * MiB);
    expect(MAX_ERROR_BODY).toBe(64 * 1024);
  });

  test("an endless 401/403 body is not read to its end either", async () => {
    let sent: Promise<number> | undefined;
    routes({
      [manifestPath("latest")]: (_req, res) => {
        sent = sendLongBody(res, 403, { "content-type": "application/json" }, 64 * MiB);
      },
    });
    const err = await rejection(client().resolve(`${repo}:latest`));
    expect(err).toMatchObject({ code: "denied" });
    expect(await sent).toBeLessThan(16 * MiB);
  });

  test("a token body over 1 MiB is refused, naming the limit", async () => {
    let sent: Promise<number> | undefined;
    // Every registry request is challenged; the token server sends an endless token.
    fake.handle((req, res) => {
      if (req.url?.startsWith("/token")) sent = sendLongBody(res, 200, { "content-type": "application/json" }, 64 * MiB, 0x20);
      else res.writeHead(401, { "www-authenticate": `Bearer realm="${fake.url}/token",service="fake"` }).end();
    });
    const err = await rejection(client().resolve(`${repo}:latest`));
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.message).toBe(`registry ${fake.host}: token server ${fake.url}/token: token response exceeds the 1 MiB limit`);
    expect(err).toMatchObject({ code: "protocol" });
    expect(await sent).toBeLessThan(16 * MiB);
  });

  test("a manifest over 4 MiB is refused, with or without a Content-Length", async () => {
    const huge = Buffer.alloc(5 * MiB, 0x20);
    routes({ [manifestPath("declared")]: serve(huge, MediaTypes.ociManifest) });
    const declared = await rejection(client().resolve(`${repo}:declared`));
    expect(declared.message).toBe(`manifest of ${repo}:declared exceeds the 4 MiB limit`);

    let sent: Promise<number> | undefined;
    routes({
      [manifestPath("chunked")]: (_req, res) => {
        sent = sendLongBody(res, 200, { "content-type": MediaTypes.ociManifest }, 64 * MiB);
      },
    });
    const chunked = await rejection(client().resolve(`${repo}:chunked`));
    expect(chunked.message).toBe(`manifest of ${repo}:chunked exceeds the 4 MiB limit`);
    expect(await sent).toBeLessThan(16 * MiB);
  });

  test("an index entry claiming a manifest over 4 MiB is refused before it is fetched", async () => {
    const digest = sha("never served");
    const index = json({
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [{ mediaType: MediaTypes.ociManifest, digest, size: 1 << 30, platform: { os: "linux", architecture: "amd64" } }],
    });
    routes({ [manifestPath("index")]: serve(index, MediaTypes.ociIndex) });
    const start = fake.requests.length;
    const err = await rejection(client().resolve(`${repo}:index`));
    expect(err.message).toBe(`manifest of ${repo}@${digest} (linux/amd64 of ${repo}:index) exceeds the 4 MiB limit (its descriptor says 1073741824 bytes)`);
    expect(fake.requests.slice(start).map((r) => r.path)).toEqual([manifestPath("index")]);
  });

  test("a blob longer than its descriptor is cut off at the descriptor's size, not downloaded whole", async () => {
    const desc: Descriptor = { mediaType: MediaTypes.ociLayerGzip, digest: sha("small"), size: 1000 };
    let sent: Promise<number> | undefined;
    routes({
      [blobPath(desc.digest)]: (_req, res) => {
        sent = sendLongBody(res, 200, {}, 256 * MiB);
      },
    });
    const store = await LocalContentStore.open(await fs.mkdtemp(path.join(tmp, "store-")), { sync: false });
    const err = await rejection(client().fetchBlob(`${repo}:latest`, desc, await store.writer(desc.digest, desc.size)));
    expect(err.message).toBe(`${repo}: blob ${desc.digest} from ${fake.host} is larger than the 1000 bytes its descriptor says`);
    expect(await sent).toBeLessThan(16 * MiB);
    expect(await store.has(desc.digest)).toBe(false);
  });
});

describe("pulls refuse oversized configs and layers that inflate without end", () => {
  const services: ImageService[] = [];
  afterAll(async () => {
    for (const s of services) await s.close();
  });

  async function service(extra: Record<string, unknown> = {}): Promise<{ svc: ImageService; state: string }> {
    const state = await fs.mkdtemp(path.join(tmp, "state-"));
    const svc = await ImageService.open({
      stateDir: state,
      daemonConfig: { "x-tscompose-docker-hub-url": DEAD_HUB, ...extra },
      sync: false,
      registry: { dispatcher: net.dispatcher, insecureDispatcher: net.dispatcher, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 5 } },
    });
    services.push(svc);
    return { svc, state };
  }

  test("a config descriptor over 8 MiB is refused before a byte of it is fetched", async () => {
    const config: Descriptor = { mediaType: MediaTypes.ociConfig, digest: sha("config"), size: 9 * MiB };
    routes({ [manifestPath("bigconfig")]: serve(imageManifest(config, []), MediaTypes.ociManifest) });
    const { svc } = await service();
    const start = fake.requests.length;
    const err = await rejection(svc.pull(`${repo}:bigconfig`));
    expect(err.message).toBe(`image config of ${repo}:bigconfig exceeds the 8 MiB limit (its descriptor says ${9 * MiB} bytes)`);
    expect(fake.requests.slice(start).map((r) => r.path)).toEqual([manifestPath("bigconfig")]);
  });

  test("a gzip bomb is refused at the configured layer size, and nothing of it is kept", async () => {
    const bomb = await gzipBomb(256 * MiB);
    const layer: Descriptor = { mediaType: MediaTypes.ociLayerGzip, digest: sha(bomb), size: bomb.length };
    const configBytes = json({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha("whatever the tar hashes to")] }, config: {} });
    const config: Descriptor = { mediaType: MediaTypes.ociConfig, digest: sha(configBytes), size: configBytes.length };
    routes({
      [manifestPath("bomb")]: serve(imageManifest(config, [layer]), MediaTypes.ociManifest),
      [blobPath(config.digest)]: serve(configBytes),
      [blobPath(layer.digest)]: serve(bomb),
    });
    const { svc, state } = await service({ "x-tscompose-max-layer-size": 16 * MiB });
    const err = await rejection(svc.pull(`${repo}:bomb`));
    expect(err.message).toBe(`failed to register layer ${layer.digest}: layer unpacks to more than the 16 MiB limit (x-tscompose-max-layer-size in daemon.json)`);
    // The unpack's temporary directory and the downloaded blob are gone.
    expect(await fs.readdir(path.join(state, "snapshots", "layers"))).toEqual([]);
    expect(await svc.content.has(layer.digest)).toBe(false);
    expect(await svc.list()).toEqual([]);
  });

  test("the layer limits in daemon.json are checked", () => {
    expect(parseEngineConfig({}).layerLimits).toEqual({ maxSize: 64 * 2 ** 30, maxRatio: 100, ratioFloor: 2 ** 30, maxEntries: 1_000_000 });
    expect(parseEngineConfig({ "x-tscompose-max-layer-ratio": 20, "x-tscompose-max-layer-entries": 5 }).layerLimits).toMatchObject({ maxRatio: 20, maxEntries: 5 });
    expect(() => parseEngineConfig({ "x-tscompose-max-layer-size": "10G" }, "/etc/tscompose/daemon.json")).toThrow(
      '/etc/tscompose/daemon.json: "x-tscompose-max-layer-size" must be a positive integer',
    );
    expect(() => parseEngineConfig({ "x-tscompose-max-layer-ratio": 0.5 })).toThrow('daemon config: "x-tscompose-max-layer-ratio" must be a number of at least 1');
  });
});
