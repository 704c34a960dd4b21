// compose's lifecycle hooks (post_start, pre_stop, develop.watch exec): execs
// in a service's running container, one after the other, as compose runs them.
// A hook that exits non-zero fails what it belongs to: the start (the
// container keeps running, as compose leaves it) or the stop (the container
// is not stopped, as compose aborts it). A container that is already gone or
// no longer running needs no pre_stop: that is not a failure.
import { Writable } from "node:stream";
import { kindOf } from "../model/errors.js";
import type { Engine } from "../engine/types.js";
import type { ServiceHook, ServiceSpec } from "../model/stack.js";

/** What a failing hook printed last, for its error message. */
const TAIL_BYTES = 2048;

class TailSink extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > TAIL_BYTES && this.chunks.length > 1) this.size -= (this.chunks.shift() as Buffer).length;
    done();
  }

  text(): string {
    return Buffer.concat(this.chunks).subarray(-TAIL_BYTES).toString("utf8").trim();
  }
}

export function hookEnv(h: ServiceHook): string[] {
  return Object.entries(h.environment)
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k}=${v}`);
}

/** Runs `hooks` in order in container `id`; throws on the first that exits non-zero. */
export async function runHooks(engine: Engine, id: string, hooks: readonly ServiceHook[], what: string, signal?: AbortSignal): Promise<void> {
  for (const h of hooks) {
    const out = new TailSink();
    const { exitCode } = await engine.exec(id, {
      cmd: h.command,
      env: hookEnv(h),
      ...(h.user !== undefined ? { user: h.user } : {}),
      ...(h.workingDir !== undefined ? { workingDir: h.workingDir } : {}),
      privileged: h.privileged,
      stdout: out,
      stderr: out,
      ...(signal ? { signal } : {}),
    });
    if (exitCode !== 0) {
      const printed = out.text();
      throw new Error(`${what} hook ${JSON.stringify(h.command)} exited with status ${exitCode}${printed ? `: ${printed}` : ""}`);
    }
  }
}

/** Starts a container, then runs the service's post_start hooks in it. */
export async function startWithHooks(engine: Engine, id: string, svc: Pick<ServiceSpec, "postStart"> | undefined): Promise<void> {
  await engine.startContainer(id);
  if (svc && svc.postStart.length > 0) await runHooks(engine, id, svc.postStart, "post_start");
}

/** Runs the service's pre_stop hooks in a running container, then stops it. */
export async function stopWithHooks(
  engine: Engine,
  id: string,
  svc: Pick<ServiceSpec, "preStop"> | undefined,
  opts: { timeoutMs?: number | undefined; signal?: string | undefined },
): Promise<void> {
  if (svc && svc.preStop.length > 0) {
    try {
      await runHooks(engine, id, svc.preStop, "pre_stop");
    } catch (err) {
      // Not running (exited, paused) or gone: nothing to run the hook in; the stop goes on.
      const kind = kindOf(err);
      if (kind !== "conflict" && kind !== "not-found") throw err;
    }
  }
  await engine.stopContainer(id, { ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), ...(opts.signal !== undefined ? { signal: opts.signal } : {}) });
}
