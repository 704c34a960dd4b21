// The image verbs of the docker CLI as daemon routes (wire types: api.ts
// "--- images"). The daemon is the one process with the image store open:
// every verb goes through the Engine the request chose (--engine, -H), so
// `tscompose --engine docker -H ... save` is dockerd's save; only `images`
// reads the embedded store's entries directly (its rows carry more than
// ImageInfo).
import type { IncomingMessage, ServerResponse } from "node:http";
import { Transform, Writable, type Readable, type TransformCallback } from "node:stream";
import type { ImageService } from "../../engine/image/service.js";
import { formatLimit } from "../../engine/content/limits.js";
import { EngineError } from "../../engine/errors.js";
import type { Engine } from "../../engine/types.js";
import type { ImageImportResult, ImageLoadResult, ImageProgressMessage, ImagePruneResult, ImageRemoveResult, ImageRow, StackImageRow } from "./api.js";
import { checkRequest } from "./api-schema.js";
import type { StackController } from "./controller.js";
import { HttpError, drained, errorBody, queryFlag, readJsonBody, sendJson, stream } from "./http.js";
import { engineChoiceOf } from "./engine-choice.js";
import { imageRows, imageRowsOfInfos, progressMessage, pulledName, pushedName, stackImageRows } from "./image-views.js";
import { clientCredentials, login, logout } from "./registry-login.js";
import type { Handler } from "./server.js";

type Route = [string, RegExp, Handler];
type RouteMaker = (method: string, path: string, h: Handler) => Route;

export interface ImageRoutesContext {
  /** The embedded engine's image service, once that engine is open; undefined before. */
  images: () => ImageService | undefined;
  controller: StackController;
  warn: (message: string, fields?: Record<string, unknown>) => void;
}

export function imageRoutes(ctx: ImageRoutesContext, r: RouteMaker): Route[] {
  const { controller } = ctx;
  const warn = (message: string): void => ctx.warn("registry credentials", { message });
  /** The engine the request's image verb goes to: the one the client asked for (--engine, -H), else the daemon's default. */
  const engineOf = (req: IncomingMessage): Promise<Engine> => controller.requestEngine(engineChoiceOf(req));
  /**
   * The most a load or import may upload: on the embedded engine, what one
   * layer may be (its store spools the upload to disk); a dockerd takes the
   * bytes as they come and keeps its own limits.
   */
  const uploadLimit = (engine: Engine): number => (engine.kind === "embedded" ? (ctx.images()?.config.layerLimits.maxSize ?? Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER);
  return [
    r("POST", "/images/pull", async (req, res) => {
      const body = checkRequest("ImagePullRequest", await readJsonBody(req));
      const engine = await engineOf(req);
      // The user's logins go with the pull, to our registry client or to dockerd (as the docker CLI sends them).
      const credentials = await clientCredentials(body.auth, warn);
      await progressStream(res, async (emit, signal) => {
        await engine.pullImage(body.ref, { ...(body.platform ? { platform: body.platform } : {}), onProgress: (p) => emit(progressMessage(p)), signal, ...(credentials ? { credentials } : {}) });
        return pulledName(body.ref);
      });
    }),
    r("POST", "/images/push", async (req, res) => {
      const engine = await engineOf(req);
      const body = checkRequest("ImagePushRequest", await readJsonBody(req));
      // The user's logins go with the push, to our registry client or to dockerd (as the docker CLI sends them).
      const credentials = await clientCredentials(body.auth, warn);
      await progressStream(res, async (emit) => {
        await engine.pushImage(body.ref, { onProgress: (p) => emit(progressMessage(p)), ...(credentials ? { credentials } : {}) });
        return pushedName(body.ref);
      });
    }),
    r("GET", "/images/rows", async (req, res, _p, q) => {
      const engine = await engineOf(req);
      const images = ctx.images();
      const filter = q.get("filter") ?? undefined;
      const all = queryFlag(q, "all");
      const rows = engine.kind === "embedded" && images ? imageRows(await images.entries(), filter, { all }) : imageRowsOfInfos(await engine.listImages({ all }), filter);
      sendJson(res, 200, rows satisfies ImageRow[]);
    }),
    r("GET", "/images/inspect", async (req, res, _p, q) => {
      const ref = requiredQuery(q, "ref");
      const found = await (await engineOf(req)).inspectImageDetails(ref);
      // Through the one kind -> status mapping (http.ts), as every other missing object.
      if (!found) throw new EngineError("not-found", `No such image: ${ref}`);
      sendJson(res, 200, found);
    }),
    r("POST", "/images/tag", async (req, res) => {
      const engine = await engineOf(req);
      const body = checkRequest("ImageTagRequest", await readJsonBody(req));
      await engine.tagImage(body.source, body.target);
      sendJson(res, 200, { ok: true });
    }),
    r("POST", "/images/remove", async (req, res) => {
      const body = checkRequest("ImageRemoveRequest", await readJsonBody(req));
      sendJson(res, 200, { report: await (await engineOf(req)).removeImage(body.ref, { force: body.force === true }) } satisfies ImageRemoveResult);
    }),
    r("POST", "/images/prune", async (req, res, _p, q) => {
      const engine = await engineOf(req);
      if (!engine.pruneImages) throw new HttpError(501, `the ${engine.kind} engine cannot prune images`);
      const { report, reclaimed } = await engine.pruneImages({ all: queryFlag(q, "all") });
      sendJson(res, 200, { report, reclaimedBytes: reclaimed } satisfies ImagePruneResult);
    }),
    r("GET", "/images/save", async (req, res, _p, q) => {
      const engine = await engineOf(req);
      const refs = q.getAll("ref");
      if (refs.length === 0) throw new HttpError(400, "save: at least one ?ref= is required");
      const out = new TarResponse(res);
      try {
        await engine.saveImages(refs, out);
      } catch (err) {
        // Past the first byte the answer cannot become an error any more: cut it, so the client's tar is not taken as whole.
        if (res.headersSent) res.destroy(err as Error);
        else throw err;
      }
    }),
    r("POST", "/images/load", async (req, res) => {
      const engine = await engineOf(req);
      const messages = await boundedUpload(req, uploadLimit(engine), (body) => engine.loadImages(body));
      sendJson(res, 200, { messages } satisfies ImageLoadResult);
    }),
    r("POST", "/images/import", async (req, res, _p, q) => {
      const engine = await engineOf(req);
      const ref = q.get("ref") ?? undefined;
      const message = q.get("message") ?? undefined;
      const platform = q.get("platform") ?? undefined;
      const id = await boundedUpload(req, uploadLimit(engine), (body) => engine.importImage(body, { ...(ref !== undefined ? { ref } : {}), ...(message !== undefined ? { message } : {}), ...(platform !== undefined ? { platform } : {}), changes: q.getAll("change") }));
      sendJson(res, 200, { id } satisfies ImageImportResult);
    }),
    r("POST", "/auth/login", async (req, res) => {
      const engine = await engineOf(req);
      // The registry is asked as the chosen engine reaches it (dockerd's /auth with -H); the login lands in the user's config.json either way.
      sendJson(res, 200, await login(checkRequest("LoginRequest", await readJsonBody(req)), (server, credentials) => engine.checkRegistryLogin(server, credentials)));
    }),
    r("POST", "/auth/logout", async (req, res) => sendJson(res, 200, await logout(checkRequest("LogoutRequest", (await readJsonBody(req)) ?? {})))),
    r("GET", "/stacks/:name/images", async (_req, res, [name], q) => {
      const services = q.getAll("service");
      const containers = (await controller.containers(name as string, true))
        .filter((c) => services.length === 0 || services.includes(c.service ?? ""))
        .sort((a, b) => a.name.localeCompare(b.name));
      sendJson(res, 200, stackImageRows(containers, await (await controller.engineOf(name as string)).listImages()) satisfies StackImageRow[]);
    }),
  ];
}

function requiredQuery(q: URLSearchParams, key: string): string {
  const v = q.get(key);
  if (v === null || v === "") throw new HttpError(400, `?${key}= is required`);
  return v;
}

/**
 * A pull's or push's NDJSON answer: progress as it comes, then the name to
 * print, or the error. A client that hangs up (Ctrl-C) cancels what honours
 * the signal (a pull), as docker does.
 */
async function progressStream(res: ServerResponse, fn: (emit: (m: ImageProgressMessage) => void, signal: AbortSignal) => Promise<string>): Promise<void> {
  const gone = new AbortController();
  res.on("close", () => gone.abort());
  const write = stream(res);
  const emit = (m: ImageProgressMessage): void => void write(m);
  try {
    emit({ type: "done", name: await fn(emit, gone.signal) });
  } catch (err) {
    // The 200 went out with the stream: the error and its kind travel in it, as up's do.
    emit({ type: "error", ...errorBody(err) });
  }
  res.end();
}

/**
 * The response as a tar, its 200 sent with the first byte: an error before
 * that (no such image) is still an ordinary JSON error answer. Writes wait for
 * a slow client, so a save never buffers an image in the daemon's memory.
 */
class TarResponse extends Writable {
  constructor(private readonly res: ServerResponse) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.res.headersSent) this.res.writeHead(200, { "content-type": "application/x-tar" });
    if (this.res.destroyed) return callback(new Error("the client hung up"));
    if (this.res.write(chunk)) callback();
    else drained(this.res).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.res.headersSent) this.res.writeHead(200, { "content-type": "application/x-tar" });
    this.res.end(() => callback());
  }
}

/**
 * A tar upload (load, import): not JSON, so not under the 8 MiB body limit,
 * but never larger than one layer may be (engine/snapshot/limits.ts), checked
 * on the announced length and again on the bytes as they come. It is read only
 * as fast as the image service consumes it (it spools to disk), so an upload
 * cannot fill the daemon's memory. consume() runs the service on it; an upload
 * cut off for its size is answered 413, whatever the service made of the cut.
 */
async function boundedUpload<T>(req: IncomingMessage, max: number, consume: (body: Readable) => Promise<T>): Promise<T> {
  const tooLarge = (): HttpError => new HttpError(413, `the archive is larger than ${formatLimit(max)}, the most a layer may be (x-tscompose-max-layer-size in daemon.json)`);
  const announced = req.headers["content-length"];
  if (announced !== undefined && /^\d+$/.test(announced) && Number(announced) > max) throw tooLarge();
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > max) callback(tooLarge());
      else callback(null, chunk);
    },
  });
  req.on("error", (err) => counter.destroy(err));
  try {
    return await consume(req.pipe(counter));
  } catch (err) {
    // The server's error path reads and drops the rest of the body before it answers (discardBody).
    req.unpipe(counter);
    throw seen > max ? tooLarge() : err;
  }
}
