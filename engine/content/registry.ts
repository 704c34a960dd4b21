// The registry client: resolves references to manifests, streams blobs into
// the content store, and pushes. It speaks the distribution API over undici
// connection pools (keep-alive: a pull's many requests share connections).
//
// Docker Hub references go to the configured mirrors first, then to Hub; a
// mirror that fails in any way (down, 404, 5xx, bad content) is skipped with
// a warning. Every byte is verified: manifests against the digest they were
// asked by (or the registry's Docker-Content-Digest), platform manifests
// against their index entry, blobs by the content store at commit.
import { pullScope } from "./auth.js";
import { Authorizer } from "./auth.js";
import { noCredentials, type CredentialLookup } from "./credentials.js";
import { sha256Digest } from "./digest.js";
import { describeErrorBody, RegistryError } from "./errors.js";
import { downloadBlob } from "./fetch-blob.js";
import { emptyHostsConfig, endpointsFor, type Endpoint, type RegistryHostsConfig } from "./hosts.js";
import { isIndexType, MANIFEST_ACCEPT, parseManifest, type ImageIndex, type ImageManifest, type ParsedManifest } from "./manifest.js";
import { formatPlatform, hostPlatform, normalizePlatform, parsePlatform, selectPlatform } from "./platform.js";
import { DEFAULT_TAG, manifestReference, normalizedName, parseReference, repositoryName, type ImageReference } from "./reference.js";
import { formatLimit, MAX_MANIFEST_SIZE } from "./limits.js";
import { errorBodyText, readBody, Transport, unexpectedStatus, type RetryPolicy } from "./transport.js";
import { ContentError, type BlobInfo, type BlobWriter, type Descriptor, type Digest, type Platform } from "./types.js";
import { pushBlob, pushManifest, type BlobContent, type PushBlobOptions, type PushBlobResult } from "./upload.js";
import type { Dispatcher } from "undici";

export interface RegistryClientOptions {
  /** Mirrors and insecure registries, as in daemon.json. */
  hosts?: RegistryHostsConfig;
  credentials?: CredentialLookup;
  /** Default platform for resolve (default: this machine's, e.g. linux/amd64). */
  platform?: Platform;
  /** Where Docker Hub itself is reached (default https://registry-1.docker.io); tests point it at a local server. */
  dockerHubUrl?: string;
  dispatcher?: Dispatcher;
  insecureDispatcher?: Dispatcher;
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Notices that are not errors: a mirror skipped, and why. */
  warn?: (message: string) => void;
}

export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface ResolvedImage {
  reference: ImageReference;
  /** What the tag (or digest) names, an index or a manifest; its digest is the image's repo digest. */
  descriptor: Descriptor;
  /** The bytes of `descriptor`. */
  bytes: Buffer;
  /** Set when the reference names an index (manifest list): the parsed index. */
  index?: ImageIndex;
  /** The image manifest for the platform (the same as descriptor/bytes when no index is involved). */
  manifest: FetchedManifest & { parsed: ImageManifest };
  /** The platform asked for. */
  platform: Platform;
  /** Base URL of the endpoint that answered: a mirror or the registry itself. */
  source: string;
}

export interface ResolveOptions {
  /** "os/arch[/variant]" or a Platform; default the client's platform. */
  platform?: Platform | string;
}

// OCI allows indexes of indexes; real images nest at most once.
const MAX_INDEX_DEPTH = 4;

const asReference = (ref: ImageReference | string): ImageReference => (typeof ref === "string" ? parseReference(ref) : ref);

/** "127.0.0.1:5000/library/busybox:latest": the reference as errors name it. */
const display = (ref: ImageReference): string => normalizedName(ref);

export class RegistryClient {
  readonly #transport: Transport;
  readonly #hosts: RegistryHostsConfig;
  readonly #platform: Platform;
  readonly #dockerHubUrl: string | undefined;
  readonly #warn: (message: string) => void;

  constructor(opts: RegistryClientOptions = {}) {
    // Token requests go through the transport's pools; the closure runs only after construction.
    const authorizer = new Authorizer(opts.credentials ?? noCredentials, (url, headers) => this.#transport.fetchToken(url, headers));
    this.#transport = new Transport({
      authorizer,
      dispatcher: opts.dispatcher,
      insecureDispatcher: opts.insecureDispatcher,
      retry: opts.retry,
      userAgent: opts.userAgent,
      headersTimeoutMs: opts.headersTimeoutMs,
      bodyTimeoutMs: opts.bodyTimeoutMs,
    });
    this.#hosts = opts.hosts ?? emptyHostsConfig();
    this.#platform = normalizePlatform(opts.platform ?? hostPlatform());
    this.#dockerHubUrl = opts.dockerHubUrl;
    this.#warn = opts.warn ?? (() => {});
  }

  /** Closes the connection pools the client created. */
  close(): Promise<void> {
    return this.#transport.close();
  }

  /** The endpoints tried for a reference, in order (mirrors first for Docker Hub). */
  endpoints(ref: ImageReference | string): Endpoint[] {
    return endpointsFor(asReference(ref).domain, this.#hosts, this.#dockerHubUrl);
  }

  /**
   * Runs `op` against each endpoint of `ref` in order until one succeeds. A
   * failure on a mirror moves on to the next endpoint, except errors that
   * describe the image rather than the mirror (`final`), and local failures
   * (anything not a RegistryError, such as a content store write error).
   */
  async #withEndpoints<T>(ref: ImageReference, op: (e: Endpoint) => Promise<T>, final: (err: unknown) => boolean = () => false): Promise<T> {
    const endpoints = this.endpoints(ref);
    const skipped: string[] = [];
    for (const [i, endpoint] of endpoints.entries()) {
      try {
        return await op(endpoint);
      } catch (err) {
        const next = endpoints[i + 1];
        if (!next || !endpoint.mirror || !(err instanceof RegistryError) || final(err)) {
          if (skipped.length > 0 && err instanceof RegistryError) err.message += ` (after mirrors failed: ${skipped.join("; ")})`;
          throw err;
        }
        const why = err instanceof Error ? err.message : String(err);
        skipped.push(`${endpoint.url}: ${why}`);
        this.#warn(`registry mirror ${endpoint.url} failed for ${display(ref)}, trying ${next.url}: ${why}`);
      }
    }
    throw new Error(`no registry endpoint for ${display(ref)}`);
  }

  async #getManifest(endpoint: Endpoint, ref: ImageReference, reference: string, what: string, expected?: Descriptor | Digest): Promise<FetchedManifest & { parsed: ParsedManifest }> {
    if (typeof expected === "object" && expected.size > MAX_MANIFEST_SIZE) {
      throw new RegistryError("invalid-manifest", `manifest of ${what} exceeds the ${formatLimit(MAX_MANIFEST_SIZE)} limit (its descriptor says ${expected.size} bytes)`);
    }
    const res = await this.#transport.request(endpoint, {
      method: "GET",
      path: `/v2/${ref.path}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [pullScope(ref.path)],
      what,
    });
    if (res.status === 404) {
      const detail = describeErrorBody(await errorBodyText(res.body));
      throw new RegistryError("not-found", `manifest unknown: ${what} not found on ${endpoint.host}${detail ? ` (${detail})` : ""}`, { status: 404 });
    }
    if (res.status !== 200) throw await unexpectedStatus(endpoint, res, what, "manifest lookup");
    const bytes = await readBody(res, MAX_MANIFEST_SIZE, what, "manifest");
    const digest = sha256Digest(bytes);
    const expectedDigest = typeof expected === "string" ? expected : expected?.digest;
    if (expectedDigest !== undefined && digest !== expectedDigest) {
      throw new RegistryError("digest-mismatch", `${what}: manifest from ${endpoint.host} does not match its digest: expected ${expectedDigest}, got ${digest}`);
    }
    const announced = res.headers["docker-content-digest"];
    if (typeof announced === "string" && announced.startsWith("sha256:") && announced !== digest) {
      throw new RegistryError("digest-mismatch", `${what}: manifest from ${endpoint.host} does not match the Docker-Content-Digest it was sent with: expected ${announced}, got ${digest}`);
    }
    if (typeof expected === "object" && expected.size !== bytes.length) {
      throw new RegistryError("digest-mismatch", `${what}: manifest from ${endpoint.host} has ${bytes.length} bytes, its descriptor says ${expected.size}`);
    }
    const contentType = res.headers["content-type"];
    const parsed = parseManifest(bytes, typeof contentType === "string" ? contentType : undefined, what);
    const mediaType = parsed.kind === "index" ? parsed.index.mediaType : parsed.manifest.mediaType;
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes, parsed };
  }

  async #resolveAt(endpoint: Endpoint, ref: ImageReference, platform: Platform): Promise<ResolvedImage> {
    const what = display(ref);
    const top = await this.#getManifest(endpoint, ref, manifestReference(ref), what, ref.digest);
    let current = top;
    let index: ImageIndex | undefined;
    for (let depth = 0; current.parsed.kind === "index"; depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw new RegistryError("invalid-manifest", `malformed manifest for ${what}: indexes nested deeper than ${MAX_INDEX_DEPTH}`);
      const idx = current.parsed.index;
      index ??= idx;
      const chosen = selectPlatform(idx.manifests, platform);
      if (!chosen) {
        const available = idx.manifests.flatMap((m) => (m.platform && m.platform.os !== "unknown" ? [formatPlatform(normalizePlatform(m.platform))] : []));
        throw new RegistryError(
          "platform",
          `no manifest for platform ${formatPlatform(platform)} in ${what}; it has ${available.length > 0 ? available.join(", ") : "no platform entries"}`,
        );
      }
      current = await this.#getManifest(endpoint, ref, chosen.digest, `${repositoryName(ref)}@${chosen.digest} (${formatPlatform(platform)} of ${what})`, chosen);
      if (!isIndexType(chosen.mediaType) && current.parsed.kind === "index") {
        throw new RegistryError("invalid-manifest", `malformed manifest for ${what}: index entry ${chosen.digest} says ${chosen.mediaType} but is an index`);
      }
    }
    return {
      reference: ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref,
      descriptor: top.descriptor,
      bytes: top.bytes,
      ...(index ? { index } : {}),
      manifest: { descriptor: current.descriptor, bytes: current.bytes, parsed: current.parsed.manifest },
      platform,
      source: this.#transport.baseUrl(endpoint),
    };
  }

  /** Resolves a reference to its top-level manifest or index and the image manifest for the platform. */
  async resolve(reference: ImageReference | string, opts: ResolveOptions = {}): Promise<ResolvedImage> {
    const ref = asReference(reference);
    const platform = typeof opts.platform === "string" ? parsePlatform(opts.platform) : normalizePlatform(opts.platform ?? this.#platform);
    return this.#withEndpoints(ref, (e) => this.#resolveAt(e, ref, platform), (err) => err instanceof RegistryError && err.code === "platform");
  }

  /** Fetches a manifest or index by descriptor (e.g. another platform's), verified against it. */
  async fetchManifest(reference: ImageReference | string, desc: Descriptor): Promise<FetchedManifest & { parsed: ParsedManifest }> {
    const ref = asReference(reference);
    return this.#withEndpoints(ref, (e) => this.#getManifest(e, ref, desc.digest, `${repositoryName(ref)}@${desc.digest}`, desc));
  }

  /**
   * Streams a blob into `writer` and commits it; returns what the store
   * committed. On failure the writer is aborted. A download interrupted on a
   * mirror continues on the next endpoint from where it stopped.
   */
  async fetchBlob(reference: ImageReference | string, desc: Descriptor, writer: BlobWriter): Promise<BlobInfo> {
    const ref = asReference(reference);
    const what = `${repositoryName(ref)}`;
    const state = { offset: writer.written };
    try {
      const host = await this.#withEndpoints(ref, async (e) => {
        await downloadBlob(this.#transport, e, ref.path, desc, writer, state, what);
        return e.host;
      });
      try {
        return await writer.commit();
      } catch (err) {
        if (err instanceof ContentError && (err.code === "digest-mismatch" || err.code === "size-mismatch")) {
          throw new RegistryError("digest-mismatch", `${what}: blob ${desc.digest} from ${host}: ${err.message}`, { cause: err });
        }
        throw err;
      }
    } catch (err) {
      await writer.abort().catch(() => {});
      throw err;
    }
  }

  /** The registry itself for pushes: never a mirror. */
  #pushEndpoint(ref: ImageReference): Endpoint {
    const endpoints = this.endpoints(ref).filter((e) => !e.mirror);
    const endpoint = endpoints[0];
    if (!endpoint) throw new Error(`no registry endpoint for ${display(ref)}`);
    return endpoint;
  }

  /** Uploads a blob to the reference's repository unless it is there already. */
  async pushBlob(reference: ImageReference | string, desc: Descriptor, content: BlobContent, opts: PushBlobOptions = {}): Promise<PushBlobResult> {
    const ref = asReference(reference);
    return pushBlob(this.#transport, this.#pushEndpoint(ref), ref.path, desc, content, opts, `${repositoryName(ref)}: blob ${desc.digest}`);
  }

  /** Uploads a manifest under the reference's tag (or digest); returns its descriptor. */
  async pushManifest(reference: ImageReference | string, bytes: Buffer, mediaType: string): Promise<Descriptor> {
    const ref = asReference(reference);
    return pushManifest(this.#transport, this.#pushEndpoint(ref), ref.path, manifestReference(ref), bytes, mediaType, display(ref));
  }
}
