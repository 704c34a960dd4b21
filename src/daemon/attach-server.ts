// The daemon's side of `exec`, `run` and `attach`: requests that upgrade their
// connection to the attach protocol (src/daemon/attach.ts). The JSON body is
// read and checked first, so a bad request still gets a plain HTTP error
// (404 no such container, 409 not running, 400 bad stack); only then does the
// daemon answer 101 and the socket carry frames both ways.
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import { PassThrough, Writable } from "node:stream";
import type { Duplex } from "node:stream";
import { finished } from "node:stream/promises";
import type { Attachment, ExecSpec } from "../../engine/types.js";
import type { StackSpec } from "../../model/stack.js";
import { loadStack } from "../stack/load.js";
import { API_VERSION, API_VERSION_HEADER } from "./api.js";
import type { AttachRequest, EngineChoice, ExecRequest, RunRequest } from "./api.js";
import { FRAME, FrameDecoder, UPGRADE_PROTOCOL, encodeFrame, jsonFrame } from "./attach.js";
import type { AttachMessage, FrameType } from "./attach.js";
import type { StackController } from "./controller.js";
import type { Logger } from "./log.js";
import { checkRequest } from "./api-schema.js";
import { HttpError, announcedLength, decodeParam, drained, errorBody, parseJson, requestUrl, statusOf } from "./http.js";
import { engineChoiceOf } from "./engine-choice.js";
import { createRunContainer } from "./run.js";

export interface AttachContext {
  controller: StackController;
  log: Logger;
}

/** One attached client: frames out, frames in, and what to do when it goes away. */
class Session {
  private readonly decoder = new FrameDecoder();
  private ended = false;
  /** Set when the daemon shuts down, so a hang-up is not taken as the user leaving. */
  shuttingDown = false;
  onFrame: (type: number, payload: Buffer) => void = () => undefined;
  onHangup: () => void = () => undefined;

  constructor(readonly socket: Duplex) {
    socket.on("data", (chunk: Buffer) => {
      for (const f of this.decoder.push(chunk)) this.onFrame(f.type, f.payload);
    });
    socket.on("error", () => undefined); // a client killed mid-write: close follows
    // The HTTP server's sockets allow half-open connections: a client that
    // went away shows as 'end' only, and 'close' would wait for our side.
    const hangup = (): void => {
      if (this.ended) return;
      this.ended = true;
      this.onHangup();
      socket.destroy();
    };
    socket.on("end", hangup);
    socket.on("close", hangup);
  }

  get open(): boolean {
    return !this.ended && !this.socket.destroyed;
  }

  /** false when the client is not keeping up: a producer that can wait then awaits drained(). */
  send(type: FrameType, payload?: Buffer | string): boolean {
    return this.open && this.socket.write(encodeFrame(type, payload));
  }

  /** Resolves when the client has read what was buffered for it, or is gone. */
  drained(): Promise<void> {
    return this.open ? drained(this.socket) : Promise.resolve();
  }


  message(m: AttachMessage): void {
    if (this.open) this.socket.write(jsonFrame(FRAME.message, m));
  }

  /** The last frame: an exit code or an error, then the connection ends. */
  finish(frame: Buffer): void {
    if (!this.open) return;
    this.ended = true;
    this.socket.end(frame);
  }

  close(): void {
    this.ended = true;
    this.socket.destroy();
  }
}

/** Tracks live sessions, so that a stopping daemon can end them instead of waiting for them. */
export class AttachSessions {
  private readonly live = new Set<Session>();

  constructor(private readonly ctx: AttachContext) {}

  closeAll(): void {
    for (const s of this.live) {
      s.shuttingDown = true;
      s.onHangup();
      s.close();
    }
    this.live.clear();
  }

  /** The server's `upgrade` listener. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => undefined);
    void this.serve(req, socket, head).catch((err: unknown) => {
      this.ctx.log.warn("attach failed", { path: req.url, error: (err as Error).message });
      if (!socket.destroyed) socket.destroy();
    });
  }

  private async serve(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Until the 101 is sent, every failure is a plain HTTP answer; after it,
    // the session's frames carry them (exec and run catch their own).
    let session: Session | undefined;
    try {
      const url = requestUrl(req.url);
      const exec = new RegExp(`^/${API_VERSION}/containers/([^/]+)/exec$`).exec(url.pathname);
      const run = url.pathname === `/${API_VERSION}/stacks/run`;
      const attach = new RegExp(`^/${API_VERSION}/containers/([^/]+)/attach$`).exec(url.pathname);
      if (req.method !== "POST" || (!exec && !run && !attach)) throw new HttpError(404, `no such endpoint: ${req.method} ${url.pathname}`);
      if ((req.headers.upgrade ?? "").toLowerCase() !== UPGRADE_PROTOCOL) throw new HttpError(400, `expected Upgrade: ${UPGRADE_PROTOCOL}`);
      const { body, rest } = await readBody(req, socket, head);
      if (exec) {
        const request = checkRequest("ExecRequest", parseJson(body));
        const id = await this.checkExec(decodeParam(exec[1] as string), request);
        session = this.accept(socket, rest);
        await this.exec(session, id, request);
      } else if (attach) {
        const request = checkRequest("AttachRequest", parseJson(body));
        const id = await this.checkAttach(decodeParam(attach[1] as string));
        session = this.accept(socket, rest);
        await this.attach(session, id, request);
      } else {
        const request = checkRequest("RunRequest", parseJson(body));
        const stack = this.checkRun(request);
        const asked = engineChoiceOf(req);
        session = this.accept(socket, rest);
        await this.run(session, stack, request, asked);
      }
    } catch (err) {
      if (session) throw err;
      respond(socket, statusOf(err), errorBody(err));
    }
  }

  private accept(socket: Duplex, rest: Buffer): Session {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${UPGRADE_PROTOCOL}\r\n${API_VERSION_HEADER}: ${API_VERSION}\r\n\r\n`);
    // Frames the client sent right behind the body go first.
    if (rest.length > 0) socket.unshift(rest);
    const session = new Session(socket);
    this.live.add(session);
    socket.on("close", () => this.live.delete(session));
    socket.resume();
    return session;
  }

  private async checkExec(id: string, req: ExecRequest): Promise<string> {
    if (!Array.isArray(req.cmd) || req.cmd.length === 0) throw new HttpError(400, "exec: no command given");
    const c = await this.ctx.controller.engine.inspectContainer(id);
    if (!c) throw new HttpError(404, `no such container: ${id}`);
    if (c.state === "paused") throw new HttpError(409, `container ${c.name} is paused, unpause the container before exec`);
    if (c.state !== "running") throw new HttpError(409, `container ${c.name} is not running`);
    return c.id;
  }

  private async exec(s: Session, id: string, req: ExecRequest): Promise<void> {
    const engine = this.ctx.controller.engine;
    const spec: ExecSpec = { cmd: req.cmd, env: req.env, user: req.user || undefined, workingDir: req.workingDir || undefined, tty: req.tty === true, ...(req.privileged === true ? { privileged: true } : {}) };
    if (req.detach) {
      // exec -d: like docker, nobody hears how it ends.
      engine.exec(id, spec).catch((err: unknown) => this.ctx.log.warn("detached exec failed", { container: id, error: (err as Error).message }));
      s.finish(jsonFrame(FRAME.exit, { exitCode: 0 }));
      return;
    }
    const abort = new AbortController();
    const stdin = new PassThrough();
    s.onFrame = (type, payload) => {
      if (type === FRAME.stdin) {
        if (payload.length === 0) stdin.end();
        else if (stdin.writable) stdin.write(payload);
      } else if (type === FRAME.signal) {
        // The engine stops an exec as a whole (runc forwards the signal to the process).
        abort.abort();
      }
      // FRAME.resize: the engine's tty exec takes its size once, at start.
    };
    s.onHangup = () => abort.abort();
    try {
      const { exitCode } = await engine.exec(id, {
        ...spec,
        stdin,
        stdout: frameWriter(s, FRAME.stdout, req.rows, req.cols),
        stderr: frameWriter(s, FRAME.stderr),
        signal: abort.signal,
      });
      s.finish(jsonFrame(FRAME.exit, { exitCode }));
    } catch (err) {
      s.finish(jsonFrame(FRAME.error, errorBody(err)));
    } finally {
      stdin.destroy();
    }
  }

  private async checkAttach(id: string): Promise<string> {
    const c = await this.ctx.controller.engine.inspectContainer(id);
    if (!c) throw new HttpError(404, `no such container: ${id}`);
    // docker's words (its attach checks the same before hijacking the connection).
    if (c.state === "paused") throw new HttpError(409, "You cannot attach to a paused container, unpause it first");
    if (c.state !== "running") throw new HttpError(409, "You cannot attach to a stopped container, start it first");
    return c.id;
  }

  /**
   * docker attach: the main process's output from now on, stdin when it has
   * one. Ends with its exit code when it stops; a client that leaves (detach
   * keys, Ctrl-C without --sig-proxy) leaves it running.
   */
  private async attach(s: Session, id: string, req: AttachRequest): Promise<void> {
    const engine = this.ctx.controller.engine;
    const abort = new AbortController();
    const stdin = new PassThrough();
    let attachment: Attachment | undefined;
    s.onFrame = (type, payload) => {
      if (type === FRAME.stdin) {
        if (payload.length === 0) stdin.end();
        else if (stdin.writable) stdin.write(payload);
      } else if (type === FRAME.resize) {
        const { rows, cols } = JSON.parse(payload.toString("utf8")) as { rows: number; cols: number };
        void attachment?.resize(rows, cols).catch(() => undefined);
      } else if (type === FRAME.signal && req.sigProxy !== false) {
        void engine.killContainer(id, payload.toString("utf8") || "SIGTERM").catch(() => undefined);
      }
    };
    s.onHangup = () => abort.abort();
    const stdout = frameWriter(s, FRAME.stdout);
    const stderr = frameWriter(s, FRAME.stderr);
    try {
      attachment = await engine.attachContainer(id, { stdin: req.stdin === false ? undefined : stdin, stdout, stderr, signal: abort.signal });
      if (req.rows && req.cols) await attachment.resize(req.rows, req.cols).catch(() => undefined);
      await attachment.ended;
      if (abort.signal.aborted) return;
      // The output the writers still hold goes before the exit frame.
      stdout.end();
      stderr.end();
      await Promise.all([finished(stdout), finished(stderr)]);
      const { exitCode } = await engine.waitContainer(id);
      s.finish(jsonFrame(FRAME.exit, { exitCode }));
    } catch (err) {
      s.finish(jsonFrame(FRAME.error, errorBody(err)));
    } finally {
      stdin.destroy();
    }
  }

  private checkRun(req: RunRequest): StackSpec {
    if (!req.project || !req.service) throw new HttpError(400, "run: project and service are required");
    const { stack } = loadStack({ ...req.project, host: this.ctx.controller.host() });
    if (!(req.service in stack.services)) throw new HttpError(404, `no such service: ${req.service}`);
    return stack;
  }

  /** asked: the engine the client named (--engine/-H), for a stack the daemon has no record of; a recorded stack's one-offs go to its engine. */
  private async run(s: Session, stack: StackSpec, req: RunRequest, asked: EngineChoice | undefined): Promise<void> {
    const engine = this.ctx.controller.engine;
    const svc = stack.services[req.service] as StackSpec["services"][string];
    // run -i: stdin frames wait here until the container runs and is attached.
    // Taken from the first frame on: the client sends while the container is still being made.
    const stdin = new PassThrough();
    let attachment: Attachment | undefined;
    // Signals go to the container once there is one.
    const made: { id?: string } = {};
    s.onFrame = (type, payload) => {
      if (type === FRAME.signal) {
        if (made.id) void engine.killContainer(made.id, payload.toString("utf8") || "SIGTERM").catch(() => undefined);
      }
      else if (type === FRAME.stdin && req.interactive) {
        if (payload.length === 0) stdin.end();
        else if (stdin.writable) stdin.write(payload);
      } else if (type === FRAME.resize) {
        const { rows, cols } = JSON.parse(payload.toString("utf8")) as { rows: number; cols: number };
        void attachment?.resize(rows, cols).catch(() => undefined);
      }
    };
    let created: { id: string; name: string };
    try {
      created = await createRunContainer(this.ctx.controller, stack, req, (m) => s.message(m), undefined, asked);
    } catch (err) {
      s.finish(jsonFrame(FRAME.error, errorBody(err)));
      return;
    }
    const { id, name } = created;
    s.message({ type: "container", id, name });
    const remove = async (): Promise<void> => {
      if (req.rm) await engine.removeContainer(id, { force: true, volumes: true }).catch((err: unknown) => this.ctx.log.warn("run --rm failed", { container: name, error: (err as Error).message }));
    };
    // Whoever ends the session first: the container exiting, or the client
    // leaving (then the container is stopped, as its one user is gone).
    const abort = new AbortController();
    made.id = id;
    s.onHangup = () => {
      abort.abort();
      // A stopping daemon leaves containers running: they outlive it by design.
      if (!s.shuttingDown && !req.detach) void engine.stopContainer(id, { timeoutMs: svc.stopGracePeriodMs }).catch(() => undefined);
    };
    try {
      await engine.startContainer(id);
    } catch (err) {
      // A command that cannot start (not found, not executable) ends like docker's: 127/126 and the reason on stderr.
      const code = (await engine.inspectContainer(id))?.exitCode;
      await remove();
      if (code !== undefined && code > 0) {
        s.send(FRAME.stderr, `${(err as Error).message}\n`);
        s.finish(jsonFrame(FRAME.exit, { exitCode: code }));
      } else s.finish(jsonFrame(FRAME.error, errorBody(err)));
      return;
    }
    if (req.detach) {
      s.finish(jsonFrame(FRAME.exit, { exitCode: 0 }));
      return;
    }
    if (req.interactive) {
      // For stdin only: the output comes from the log below, from the start (the attachment sees only what follows it).
      const discard = (): Writable => new Writable({ write: (_chunk, _enc, cb) => cb() });
      try {
        attachment = await engine.attachContainer(id, { stdin, stdout: discard(), stderr: discard(), signal: abort.signal });
      } catch (err) {
        // It ended already: nothing left to read its stdin.
        this.ctx.log.info("run: stdin not attached", { container: name, error: (err as Error).message });
      }
    }
    try {
      for await (const e of engine.logs(id, { follow: true, signal: abort.signal })) {
        // A partial entry (a line split at 16 KiB) goes on in the next one: no newline between them.
        if (!s.send(e.stream === "stderr" ? FRAME.stderr : FRAME.stdout, e.partial ? e.line : `${e.line}\n`)) await s.drained();
        if (!s.open) break;
      }
    } catch (err) {
      if (!abort.signal.aborted) this.ctx.log.warn("run: reading logs failed", { container: name, error: (err as Error).message });
    }
    if (s.shuttingDown) return;
    let exitCode = 0;
    try {
      ({ exitCode } = await engine.waitContainer(id));
    } catch (err) {
      await remove();
      s.finish(jsonFrame(FRAME.error, errorBody(err)));
      return;
    }
    await remove();
    s.finish(jsonFrame(FRAME.exit, { exitCode }));
  }
}

/** A stream the engine writes the process's output to; a tty exec reads its size from it (as from a tty.WriteStream). */
function frameWriter(s: Session, type: FrameType, rows?: number, cols?: number): Writable {
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      // Back-pressure: the process's output pipe is read only as fast as the client reads.
      if (s.send(type, chunk)) cb();
      else void s.drained().then(() => cb());
    },
  });
  return Object.assign(w, { rows, columns: cols });
}

/** The request's JSON body: Content-Length bytes after the headers, arriving in `head` and then on the socket. */
function readBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    // The upgrade's body is read off the socket by hand: it must say how long it is (a throw here rejects).
    const length = announcedLength(req.headers["content-length"]) ?? 0;
    // Chunks joined once at the end: joining at every chunk is quadratic in the body's size.
    const chunks: Buffer[] = [head];
    let size = head.length;
    const check = (): boolean => {
      if (size < length) return false;
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.pause();
      const buffered = Buffer.concat(chunks);
      resolve({ body: buffered.subarray(0, length), rest: buffered.subarray(length) });
      return true;
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      check();
    };
    const onClose = (): void => reject(new HttpError(400, "connection closed before the request body"));
    if (check()) return;
    socket.on("data", onData);
    socket.on("close", onClose);
  });
}

function respond(socket: Duplex, status: number, body: unknown): void {
  if (socket.destroyed) return;
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${API_VERSION_HEADER}: ${API_VERSION}\r\nConnection: close\r\n\r\n${text}`,
  );
}
