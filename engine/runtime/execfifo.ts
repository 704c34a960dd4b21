// Starting a created container without launching `runc start`.
//
// `runc create` leaves the container's init (runc init) blocked in an
// open(O_WRONLY) of <runc root>/<id>/exec.fifo; the user's process is exec'd
// once somebody opens that FIFO for reading and takes the byte init writes.
// That is all `runc start` does for a created container (libcontainer's
// exec(): open, read to EOF, remove the FIFO; runc's status turns from
// "created" to "running" because the FIFO is gone), so we do it here and
// save a Go binary's start-up per container. The FIFO is opened
// non-blocking and read through libuv (epoll), never parking a thread-pool
// thread on a blocking open; like runc, we give up when init died before it
// wrote its byte. Without the FIFO (another runc layout) the caller falls back
// to `runc start`.
import { constants, open, readSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { Socket } from "node:net";
import { join } from "node:path";

function openFd(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/**
 * Lets a created container's init go on to exec the user's process.
 * Resolves true once it did, false when there is no exec FIFO (use `runc
 * start`); rejects when init is gone (isAlive says so) before starting.
 */
export async function startViaExecFifo(runcRoot: string, id: string, isAlive: () => boolean, timeoutMs = 30_000): Promise<boolean> {
  const path = join(runcRoot, id, "exec.fifo");
  let fd: number;
  try {
    fd = await openFd(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
  const sock = new Socket({ fd, readable: true, writable: false });
  let bytes = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      // runc start's own check: every 100 ms, is init still there to write?
      const timer = setInterval(() => {
        if (bytes > 0) return;
        // A process that exits at once can be gone before its byte is read:
        // timers run before the poll phase that reads the FIFO. The pipe has
        // the answer: the byte (it started, and ended) or nothing (init died).
        if (!isAlive()) finish(unreadByte(fd) ? undefined : new Error("container process is already dead"));
        else if (Date.now() > deadline) finish(new Error(`the container's init did not report within ${timeoutMs} ms`));
      }, 100);
      const finish = (err?: Error) => {
        clearInterval(timer);
        sock.removeAllListeners();
        sock.on("error", () => undefined);
        if (err) reject(err);
        else resolve();
      };
      sock.on("data", (d: Buffer) => (bytes += d.length));
      // init's write end closes when it execs (O_CLOEXEC): EOF.
      sock.on("end", () => finish(bytes > 0 ? undefined : new Error("cannot start an already running container")));
      sock.on("error", (e) => finish(e));
    });
  } finally {
    sock.destroy();
  }
  await unlink(path).catch(() => undefined);
  return true;
}

/** Whether the FIFO holds init's byte that the socket has not read yet (a non-blocking read; EAGAIN or EOF: no). */
function unreadByte(fd: number): boolean {
  try {
    return readSync(fd, Buffer.alloc(1), 0, 1, null) > 0;
  } catch {
    return false;
  }
}
