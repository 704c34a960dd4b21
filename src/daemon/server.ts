// The daemon's HTTP API on a unix socket (mode 0660: root, or the group the
// operator chose, may use it). JSON requests; NDJSON for anything that
// streams (up/down progress, logs, events) so clients render as it happens.
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { cleanContainerPath } from "../../engine/copy.js";
import { LABEL } from "../../model/labels.js";
import type { ServiceSpec } from "../../model/stack.js";
import { startWithHooks, stopWithHooks } from "../../reconciler/hooks.js";
import { checkName } from "../../engine/names.js";
import { EngineError } from "../../engine/errors.js";
import { kindOf } from "../../model/errors.js";
import type { Engine } from "../../engine/types.js";
import { API_VERSION, API_VERSION_HEADER } from "./api.js";
import { engineChoiceOf } from "./engine-choice.js";
import { AttachSessions } from "./attach-server.js";
import { checkRequest } from "./api-schema.js";
import { copyFiles, copyTarInto } from "./cp.js";
import { parseInteger, parseSeconds } from "../stack/numbers.js";
import { listenPrivately } from "./socket.js";
import { ObjectService } from "./objects.js";
import { systemDiskUsage } from "./disk-usage.js";
import { systemPrune } from "./system-prune.js";
import { HttpError, decodeParam, discardBody, drained, errorBody, queryFlag, queryValue, readJsonBody, requestUrl, sendJson, statusOf, stream } from "./http.js";
import { imageRoutes } from "./images-routes.js";
import type { ImageService } from "../../engine/image/service.js";
import { pendingChange, stackDetail, statsOf } from "./stack-inspect.js";
import type { CommitResult, ContainerWaitResponse, DaemonEvent, PingResponse, StreamMessage } from "./api.js";
import { buildProgress, containerInspect, containerStats, containerTop, logEntry } from "./to-wire.js";
import { normalizedName, parseReference } from "../../engine/content/reference.js";
import type { StackController } from "./controller.js";
import type { Logger } from "./log.js";

export interface ServerContext {
  controller: StackController;
  log: Logger;
  version: string;
  subscribe(listener: (e: DaemonEvent) => void): () => void;
  /** The embedded engine's image service once it is open, for the image verbs the Engine has no word for (images-routes.ts). */
  images: () => ImageService | undefined;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, params: string[], query: URLSearchParams) => Promise<void>;

export function startServer(socket: string, ctx: ServerContext, group?: number): Promise<Server> {
  // Streams that end only when the client hangs up (events, logs -f): a
  // closing server ends them, or close() would wait for them forever.
  const endless = new Set<ServerResponse>();
  const routes: [string, RegExp, Handler][] = buildRoutes(ctx, endless);
  const server = createServer((req, res) => {
    // On every answer, errors included: a client of another version must be able to tell.
    res.setHeader(API_VERSION_HEADER, API_VERSION);
    // Every failure of a request, thrown while routing or decoding it or by its
    // handler, ends in an answer here: nothing a client sends may escape to the
    // process (a URIError from one bad escape used to kill the daemon).
    const fail = (err: unknown): void => {
      ctx.log.warn("request failed", { method: req.method, path: req.url, error: (err as Error).message });
      if (res.headersSent) {
        res.end();
        return;
      }
      // A body the handler did not read to its end (an upload refused midway) is read and dropped first, so the client gets the answer.
      void discardBody(req).then(() => {
        if (!res.headersSent) sendJson(res, statusOf(err), errorBody(err));
      });
    };
    try {
      const url = requestUrl(req.url);
      const route = routes.find(([method, re]) => method === req.method && re.test(url.pathname));
      if (!route) {
        sendJson(res, 404, { message: `no such endpoint: ${req.method} ${url.pathname}` });
        return;
      }
      const params = (route[1].exec(url.pathname) ?? []).slice(1).map(decodeParam);
      route[2](req, res, params, url.searchParams).catch(fail);
    } catch (err) {
      fail(err);
    }
  });
  // exec and run upgrade their connection to the attach protocol. Those
  // sockets are no longer the HTTP server's to close, and server.close() would
  // wait for them forever: end them first.
  const attach = new AttachSessions({ controller: ctx.controller, log: ctx.log });
  server.on("upgrade", (req: IncomingMessage, sock: Duplex, head: Buffer) => attach.handle(req, sock, head));
  const close = server.close.bind(server);
  server.close = (callback?: (err?: Error) => void) => {
    attach.closeAll();
    for (const res of endless) res.destroy();
    return close(callback);
  };
  return listenPrivately(server, socket, group).then(() => server);
}

/** Names that become paths are refused with a 400 before any work starts (the controller and stores check again). */
function checkProjectNames(...names: (string | undefined)[]): void {
  for (const n of names) if (n !== undefined) checkName("project", n);
}

/** ?t=: seconds, as `stop -t` and `restart -t` send them. */
const stopTimeoutMs = (q: URLSearchParams): number | undefined => {
  const seconds = queryValue(q, "t", parseSeconds);
  return seconds === undefined ? undefined : seconds * 1000;
};

/** ?since=: milliseconds since the epoch, as `logs --since` sends them. */
function parseMillis(text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new Error(`"${text}" is not a number of milliseconds since the epoch`);
  return Number(text);
}

/**
 * Events cannot wait for a slow reader: they happen anyway. A subscriber that
 * has this much unread is cut off (its client reconnects, as the TUI does)
 * rather than grow the daemon's memory without bound.
 */
const EVENTS_BACKLOG = 8 << 20;

function buildRoutes(ctx: ServerContext, endless: Set<ServerResponse>): [string, RegExp, Handler][] {
  const untilClientLeaves = (res: ServerResponse): void => {
    endless.add(res);
    res.on("close", () => endless.delete(res));
  };
  const { controller } = ctx;
  const engine = controller.engine;
  /**
   * The engine a volume, network or system verb goes to: the one the request
   * chose (--engine, -H), else every open engine as the RoutingEngine lists
   * them (a stack's dockerd included) with creates on the default.
   */
  const objectsOf = async (req: IncomingMessage): Promise<Objects> => {
    const asked = engineChoiceOf(req);
    const on = asked ? await controller.requestEngine(asked) : engine;
    return { engine: on, objects: new ObjectService(on) };
  };
  const r = (method: string, path: string, h: Handler): [string, RegExp, Handler] => [
    method,
    new RegExp(`^/${API_VERSION}${path.replace(/:[a-z]+/g, "([^/]+)")}$`),
    // A stack's :name is a project name (it names files): checked before the handler runs.
    path.startsWith("/stacks/:name/")
      ? async (req, res, params, q) => {
          // async: a throw here must become the route's rejection (a 400), not escape the server.
          checkProjectNames(params[0]);
          await h(req, res, params, q);
        }
      : h,
  ];
  const streamed = (fn: (emit: (m: StreamMessage) => void, req: IncomingMessage) => Promise<boolean>): Handler => {
    return async (req, res) => {
      const emit = stream(res);
      try {
        await fn(emit, req);
      } catch (err) {
        emit({ type: "error", ...errorBody(err) });
      }
      res.end();
    };
  };
  const containerAction = (action: (id: string, q: URLSearchParams) => Promise<void>): Handler => {
    return async (_req, res, [id], q) => {
      await action(id as string, q);
      sendJson(res, 200, { ok: true });
    };
  };
  const projectOf = async (id: string): Promise<string | undefined> => (await engine.inspectContainer(id))?.labels[LABEL.project];
  /** The service a stack's container belongs to, for its lifecycle hooks; undefined for one-offs and other containers. */
  const serviceOf = async (id: string): Promise<ServiceSpec | undefined> => {
    const labels = (await engine.inspectContainer(id))?.labels ?? {};
    const project = labels[LABEL.project];
    if (!project || labels[LABEL.oneoff] === "True") return undefined;
    return controller.stacks.get(project)?.spec.services[labels[LABEL.service] ?? ""];
  };
  /** A user (re)started a container: it is no longer "stopped by the user", and its health checks run again. */
  const userStarted = async (id: string): Promise<void> => {
    const project = await projectOf(id);
    if (!project) return;
    controller.markStopped(project, id, false);
    const spec = controller.stacks.get(project)?.spec;
    if (spec) await controller.trackHealth(spec);
  };

  return [
    ...imageRoutes({ images: ctx.images, controller, warn: (message, fields) => ctx.log.warn(message, fields) }, r),
    ...objectRoutes(engine, objectsOf, r),
    r("POST", "/system/prune", async (req, res, _p, q) => sendJson(res, 200, await systemPrune(controller, await objectsOf(req), { all: queryFlag(q, "all"), volumes: queryFlag(q, "volumes") }))),
    r("GET", "/ping", (_req, res) => Promise.resolve(sendJson(res, 200, { version: ctx.version, pid: process.pid, engine: engine.kind } satisfies PingResponse))),
    r("POST", "/stacks/up", async (req, res) => {
      const body = checkRequest("UpRequest", await readJsonBody(req));
      checkProjectNames(body.project.projectName);
      const asked = engineChoiceOf(req);
      await streamed((emit) => controller.up(body, emit, asked))(req, res, [], new URLSearchParams());
    }),
    r("POST", "/stacks/build", async (req, res) => {
      const body = checkRequest("StackBuildRequest", await readJsonBody(req));
      checkProjectNames(body.project.projectName);
      await streamed((emit) => controller.build(body, emit))(req, res, [], new URLSearchParams());
    }),
    r("POST", "/images/build", async (req, res) => {
      const body = checkRequest("ImageBuildRequest", await readJsonBody(req));
      await streamed(async (emit) => {
        const tags = body.tags.map((t) => {
          try {
            return normalizedName(parseReference(t));
          } catch (err) {
            throw new EngineError("invalid", `invalid tag "${t}": ${(err as Error).message}`);
          }
        });
        const { imageId } = await engine.buildImage({
          contextDir: body.contextDir,
          ...(body.dockerfile !== undefined ? { dockerfile: body.dockerfile } : {}),
          tags,
          ...(body.buildArgs ? { buildArgs: body.buildArgs } : {}),
          ...(body.target !== undefined ? { target: body.target } : {}),
          ...(body.noCache ? { noCache: true } : {}),
          ...(body.pull ? { pull: true } : {}),
          ...(body.labels ? { labels: body.labels } : {}),
          onProgress: (p) => emit({ type: "build", service: "", progress: buildProgress(p) }),
        });
        emit({ type: "info", message: imageId });
        emit({ type: "result", ok: true, failed: [], project: "" });
        return true;
      })(req, res, [], new URLSearchParams());
    }),
    r("POST", "/stacks/down", async (req, res) => {
      const body = checkRequest("DownRequest", await readJsonBody(req));
      checkProjectNames(body.projectName, body.project?.projectName);
      const asked = engineChoiceOf(req);
      await streamed((emit) => controller.down(body, emit, asked))(req, res, [], new URLSearchParams());
    }),
    r("GET", "/stacks", async (_req, res) => sendJson(res, 200, await controller.summaries())),
    // A swarm stack's tasks (docker stack ps) and a service's logs (docker service logs); a stack elsewhere is a 404.
    r("GET", "/stacks/:name/tasks", async (req, res, [name]) => {
      const target = controller.requireSwarmTarget(name as string, engineChoiceOf(req));
      sendJson(res, 200, await controller.swarm.tasks(name as string, target));
    }),
    // The TUI's view of a swarm stack (services with their tasks, the nodes) and its actions on a service.
    r("GET", "/stacks/:name/swarm", async (req, res, [name]) => {
      const target = controller.requireSwarmTarget(name as string, engineChoiceOf(req));
      sendJson(res, 200, await controller.swarm.view(name as string, target));
    }),
    r("POST", "/stacks/:name/services/:service/scale", async (req, res, [name, service]) => {
      const body = checkRequest("SwarmScaleRequest", await readJsonBody(req));
      sendJson(res, 200, await controller.scaleSwarmService(name as string, service as string, body.replicas, engineChoiceOf(req)));
    }),
    ...(["update", "rollback"] as const).map((verb) =>
      r("POST", `/stacks/:name/services/:service/${verb}`, async (req, res, [name, service]) => {
        const target = controller.requireSwarmTarget(name as string, engineChoiceOf(req));
        const swarm = controller.swarm;
        sendJson(res, 200, await controller.serialize(name as string, () => (verb === "update" ? swarm.forceUpdate(name as string, target, service as string) : swarm.rollback(name as string, target, service as string))));
      }),
    ),
    r("GET", "/stacks/:name/services/:service/logs", async (req, res, [name, service], q) => {
      const target = controller.requireSwarmTarget(name as string, engineChoiceOf(req));
      const follow = queryFlag(q, "follow");
      const tail = queryValue(q, "tail", (v) => parseInteger(v, { min: 0 }));
      const sinceMs = queryValue(q, "since", parseMillis);
      const abort = new AbortController();
      req.on("close", () => abort.abort());
      const entries = controller.swarm.logs(name as string, target, service as string, { follow, tail, since: sinceMs === undefined ? undefined : Math.floor(sinceMs / 1000), signal: abort.signal });
      // The first entry (or the service's not-found) before the 200 goes out.
      const first = await entries.next();
      const emit = stream(res);
      if (follow) untilClientLeaves(res);
      try {
        for (let e = first; !e.done && !abort.signal.aborted; e = await entries.next()) {
          if (!emit(e.value)) await drained(res);
        }
      } catch (err) {
        if (!abort.signal.aborted) emit({ type: "error", message: (err as Error).message });
      }
      if (abort.signal.aborted) await entries.return(undefined);
      res.end();
    }),
    r("GET", "/stacks/:name/jobs", (_req, res, [name]) => Promise.resolve(sendJson(res, 200, controller.jobs?.view(name as string) ?? []))),
    r("GET", "/stacks/:name/detail", (_req, res, [name]) => {
      const detail = stackDetail(controller, name as string);
      sendJson(res, detail ? 200 : 404, detail ?? { message: `no such stack: ${name}` });
      return Promise.resolve();
    }),
    r("GET", "/stacks/:name/pending", async (_req, res, [name]) => {
      const pending = await pendingChange(controller, name as string);
      sendJson(res, pending ? 200 : 404, pending ?? { message: `no such stack: ${name}` });
    }),
    r("GET", "/stats", async (_req, res, _p, q) => sendJson(res, 200, await statsOf(controller, q.get("project") ?? undefined))),
    r("POST", "/stacks/:name/unwatch", (_req, res, [name]) => {
      controller.watcher.unwatch(name as string);
      const record = controller.stacks.get(name as string);
      if (record) controller.stacks.put({ ...record, options: { ...record.options, watch: false } });
      sendJson(res, 200, { ok: true });
      return Promise.resolve();
    }),
    r("GET", "/containers", async (req, res, _p, q) => sendJson(res, 200, await controller.containers(q.get("project") ?? undefined, queryFlag(q, "all"), engineChoiceOf(req)))),
    r("GET", "/containers/:id", async (_req, res, [id]) => {
      const c = await engine.inspectContainer(id as string);
      if (!c) throw new EngineError("not-found", `no such container: ${id}`);
      else sendJson(res, 200, containerInspect(c, controller.health.health(c.id), controller.health.logOf(c.id)));
    }),
    r(
      "POST",
      "/containers/:id/start",
      containerAction(async (id) => {
        await startWithHooks(engine, id, await serviceOf(id));
        await userStarted(id);
      }),
    ),
    r(
      "POST",
      "/containers/:id/stop",
      containerAction(async (id, q) => {
        const project = await projectOf(id);
        if (project) controller.markStopped(project, id, true);
        controller.health.untrack(id);
        await stopWithHooks(engine, id, await serviceOf(id), { timeoutMs: stopTimeoutMs(q) });
      }),
    ),
    r(
      "POST",
      "/containers/:id/restart",
      containerAction(async (id, q) => {
        controller.health.untrack(id);
        controller.intendStop(id);
        const svc = await serviceOf(id);
        await stopWithHooks(engine, id, svc, { timeoutMs: stopTimeoutMs(q) });
        controller.supervisor.clearExpected(id);
        await startWithHooks(engine, id, svc);
        await userStarted(id);
      }),
    ),
    r(
      "POST",
      "/containers/:id/kill",
      containerAction(async (id, q) => {
        const project = await projectOf(id);
        if (project) controller.markStopped(project, id, true);
        await engine.killContainer(id, q.get("signal") ?? "SIGKILL");
      }),
    ),
    // Docker's POST /containers/{id}/wait: answers once the container is not running, with its exit code.
    r("POST", "/containers/:id/wait", async (req, res, [id]) => {
      const gone = new AbortController();
      // A client that hangs up (Ctrl-C on `wait`) must not leave a waiter behind in the engine.
      res.on("close", () => gone.abort());
      const { exitCode } = await engine.waitContainer(id as string, { signal: gone.signal });
      sendJson(res, 200, { StatusCode: exitCode } satisfies ContainerWaitResponse);
    }),
    r("POST", "/containers/:id/pause", containerAction((id) => engine.pauseContainer(id))),
    r("POST", "/containers/:id/unpause", containerAction((id) => engine.unpauseContainer(id))),
    r(
      "DELETE",
      "/containers/:id",
      containerAction(async (id, q) => {
        controller.health.untrack(id);
        controller.intendStop(id);
        await engine.removeContainer(id, { force: queryFlag(q, "force"), volumes: queryFlag(q, "v") });
      }),
    ),
    r("GET", "/containers/:id/logs", async (req, res, [id], q) => {
      // Parsed before the stream's 200 goes out, so a bad value is still a 400.
      const follow = queryFlag(q, "follow");
      const tail = queryValue(q, "tail", (v) => parseInteger(v, { min: 0 }));
      const sinceMs = queryValue(q, "since", parseMillis);
      const abort = new AbortController();
      req.on("close", () => abort.abort());
      const emit = stream(res);
      if (follow) untilClientLeaves(res);
      const opts = { follow, tail, sinceMs, signal: abort.signal };
      try {
        // Back-pressure: the engine's reader is pulled only as fast as the client reads.
        for await (const entry of engine.logs(id as string, opts)) {
          if (!emit(logEntry(entry))) await drained(res);
          if (abort.signal.aborted) break; // the client left: read no further
        }
      } catch (err) {
        if (!abort.signal.aborted) emit({ type: "error", message: (err as Error).message });
      }
      res.end();
    }),
    r("POST", "/containers/:id/copy", async (req, res, [id]) => {
      const body = checkRequest("CopyRequest", await readJsonBody(req));
      sendJson(res, 200, await copyFiles(engine, id as string, body));
    }),
    r("POST", "/containers/:id/export", async (req, res, [id]) => {
      const body = checkRequest("ExportRequest", await readJsonBody(req));
      if (!body.hostPath.startsWith("/")) throw new HttpError(400, `the output path must be absolute: ${body.hostPath}`);
      await engine.exportContainer(id as string, body.hostPath);
      sendJson(res, 200, { ok: true });
    }),
    r("POST", "/containers/:id/commit", async (req, res, [id]) => {
      const body = checkRequest("CommitRequest", await readJsonBody(req));
      // The wire request and the engine's options are the same shape.
      const result: CommitResult = { id: await engine.commitContainer(id as string, body) };
      sendJson(res, 200, result);
    }),
    // `cp SERVICE:SRC -`: SRC as a tar, streamed (made in a private temporary directory first).
    r("GET", "/containers/:id/archive", async (_req, res, [id], q) => {
      const path = q.get("path");
      if (path === null || path === "") throw new HttpError(400, "archive: ?path= is required");
      const tmp = await mkdtemp(join(tmpdir(), "tscompose-archive-"));
      try {
        const file = join(tmp, "archive.tar");
        await engine.exportContainer(id as string, file, { path: cleanContainerPath(path.startsWith("/") ? path : `/${path}`), followLink: queryFlag(q, "follow") });
        res.writeHead(200, { "content-type": "application/x-tar" });
        await pipeline(createReadStream(file), res);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }),
    // `cp - SERVICE:DST`: the body is a tar, unpacked into DST.
    r("PUT", "/containers/:id/archive", async (req, res, [id], q) => {
      const path = q.get("path");
      if (path === null || path === "") throw new HttpError(400, "archive: ?path= is required");
      sendJson(res, 200, await copyTarInto(engine, id as string, path, req, queryFlag(q, "archive")));
    }),
    r("GET", "/containers/:id/stats", async (_req, res, [id]) => sendJson(res, 200, containerStats(await engine.stats(id as string)))),
    r("GET", "/containers/:id/top", async (_req, res, [id]) => {
      sendJson(res, 200, containerTop(await engine.top(id as string)));
    }),
    r("GET", "/events", async (req, res) => {
      const emit = stream(res);
      untilClientLeaves(res);
      const unsubscribe = ctx.subscribe((e) => {
        emit(e);
        if (res.writableLength > EVENTS_BACKLOG && !res.destroyed) {
          ctx.log.warn("events: a client does not read its stream; cut off", { unread: res.writableLength });
          res.destroy();
        }
      });
      await new Promise<void>((resolve) => req.on("close", resolve));
      unsubscribe();
      res.end();
    }),
  ];
}

interface Objects {
  engine: Engine;
  objects: ObjectService;
}

/** Volumes and networks, as the docker CLI's `volume` and `network` commands use them (src/daemon/objects.ts), on the request's engine; and the images the stack's `images` shows. */
function objectRoutes(engine: Engine, objectsOf: (req: IncomingMessage) => Promise<Objects>, r: (method: string, path: string, h: Handler) => [string, RegExp, Handler]): [string, RegExp, Handler][] {
  const filters = (q: URLSearchParams): string[] => q.getAll("filter");
  const on = async (req: IncomingMessage): Promise<ObjectService> => (await objectsOf(req)).objects;
  return [
    r("GET", "/volumes", async (req, res, _p, q) => sendJson(res, 200, await (await on(req)).volumes(filters(q)))),
    r("POST", "/volumes", async (req, res) => sendJson(res, 201, await (await on(req)).createVolume(checkRequest("VolumeCreateRequest", (await readJsonBody(req)) ?? {})))),
    r("POST", "/volumes/prune", async (req, res, _p, q) => sendJson(res, 200, await (await on(req)).pruneVolumes(queryFlag(q, "all"), filters(q)))),
    r("GET", "/volumes/:name", async (req, res, [name]) => sendJson(res, 200, await (await on(req)).volume(name as string))),
    r("DELETE", "/volumes/:name", async (req, res, [name], q) => {
      await (await on(req)).removeVolume(name as string, queryFlag(q, "force"));
      sendJson(res, 200, { ok: true });
    }),
    r("GET", "/images", async (_req, res) => sendJson(res, 200, await engine.listImages())),
    r("GET", "/system/df", async (req, res) => {
      const { engine: chosen, objects } = await objectsOf(req);
      sendJson(res, 200, await systemDiskUsage(chosen, objects));
    }),
    r("GET", "/networks", async (req, res, _p, q) => sendJson(res, 200, await (await on(req)).networks(filters(q)))),
    r("POST", "/networks", async (req, res) => sendJson(res, 201, await (await on(req)).createNetwork(checkRequest("NetworkCreateRequest", await readJsonBody(req))))),
    r("POST", "/networks/prune", async (req, res, _p, q) => sendJson(res, 200, await (await on(req)).pruneNetworks(filters(q)))),
    r("POST", "/networks/:name/connect", async (req, res, [name]) => {
      const body = checkRequest("NetworkConnectRequest", await readJsonBody(req));
      const { engine: chosen } = await objectsOf(req);
      await chosen.connectNetwork(name as string, body.container, { ...(body.aliases ? { aliases: body.aliases } : {}), ...(body.ipv4Address !== undefined ? { ipv4Address: body.ipv4Address } : {}) });
      sendJson(res, 200, { ok: true });
    }),
    r("POST", "/networks/:name/disconnect", async (req, res, [name]) => {
      const body = checkRequest("NetworkDisconnectRequest", await readJsonBody(req));
      const { engine: chosen } = await objectsOf(req);
      await chosen.disconnectNetwork(name as string, body.container).catch((err: unknown) => {
        if (!(body.force && kindOf(err) === "not-found")) throw err;
      });
      sendJson(res, 200, { ok: true });
    }),
    r("GET", "/networks/:name", async (req, res, [name]) => sendJson(res, 200, await (await on(req)).network(name as string))),
    r("DELETE", "/networks/:name", async (req, res, [name]) => {
      await (await on(req)).removeNetwork(name as string);
      sendJson(res, 200, { ok: true });
    }),
  ];
}
