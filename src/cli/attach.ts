// The CLI's half of an attach session (exec, run, attach): the local terminal wired to
// the daemon's frames (src/daemon/attach.ts). stdin goes up as it is read,
// stdout and stderr come down byte for byte to the matching streams, and the
// session ends with the process's exit code, which becomes the CLI's.
//
// With a tty the local terminal is put in raw mode, as docker does: keys,
// Ctrl-C included, go to the process in the container as bytes, and the
// container's pty does the echoing. It is restored however the session ends.
import type { DaemonClient } from "../daemon/client.js";
import { FRAME, FrameDecoder, encodeFrame, jsonFrame } from "../daemon/attach.js";
import type { AttachMessage } from "../daemon/attach.js";
import { isErrorKind } from "../../model/errors.js";
import { DetachKeyScanner } from "./detach-keys.js";
import { CliError } from "./errors.js";

export interface AttachOptions {
  /** Put the local terminal in raw mode (when stdin is one) and send its size changes. */
  tty: boolean;
  /** Send the CLI's stdin; its end closes the process's stdin. */
  stdin: boolean;
  /** Forward SIGINT/SIGTERM/SIGHUP to the daemon instead of dying (without a tty, Ctrl-C is a signal). */
  forwardSignals: boolean;
  onMessage?: (m: AttachMessage) => void;
  /** attach --detach-keys: this sequence on stdin leaves (docker's "read escape sequence", exit 1); the process goes on. */
  detachKeys?: Buffer;
}

const FORWARDED: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

export async function attach(client: DaemonClient, path: string, body: unknown, opts: AttachOptions): Promise<number> {
  const { socket, head } = await client.upgrade(path, body);
  const cleanups: (() => void)[] = [];
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, code = 0): void => {
      if (settled) return;
      settled = true;
      for (const c of cleanups.reverse()) c();
      socket.destroy();
      if (err) reject(err);
      else resolve(code);
    };

    const decoder = new FrameDecoder();
    const onData = (chunk: Buffer): void => {
      for (const { type, payload } of decoder.push(chunk)) {
        if (settled) return;
        switch (type) {
          case FRAME.stdout:
            process.stdout.write(payload);
            break;
          case FRAME.stderr:
            process.stderr.write(payload);
            break;
          case FRAME.message:
            opts.onMessage?.(JSON.parse(payload.toString("utf8")) as AttachMessage);
            break;
          case FRAME.exit:
            finish(undefined, (JSON.parse(payload.toString("utf8")) as { exitCode: number }).exitCode);
            break;
          case FRAME.error: {
            const { message, kind } = JSON.parse(payload.toString("utf8")) as { message: string; kind?: unknown };
            finish(new CliError(message, undefined, isErrorKind(kind) ? { kind } : undefined));
            break;
          }
        }
      }
    };
    socket.on("data", onData);
    socket.on("error", (err) => finish(new CliError(`the connection to the daemon failed: ${err.message}`)));
    socket.on("close", () => finish(new CliError("the connection to the daemon was lost")));
    if (head.length > 0) onData(head);

    const input = process.stdin;
    if (opts.stdin) {
      if (opts.tty && input.isTTY) {
        input.setRawMode(true);
        // Also on a crash: a terminal left raw is unusable.
        const restore = (): void => {
          if (input.isTTY) input.setRawMode(false);
        };
        process.once("exit", restore);
        cleanups.push(() => {
          restore();
          process.off("exit", restore);
        });
      }
      const scanner = opts.detachKeys ? new DetachKeyScanner(opts.detachKeys) : undefined;
      const onInput = (d: Buffer): void => {
        const { forward, detach } = scanner ? scanner.push(d) : { forward: d, detach: false };
        const detached = (): void => {
          if (detach) finish(new CliError("read escape sequence"));
        };
        // What came before the sequence is sent before leaving.
        if (forward.length > 0 && !socket.destroyed) socket.write(encodeFrame(FRAME.stdin, forward), detached);
        else detached();
      };
      const onEnd = (): void => {
        if (!socket.destroyed) socket.write(encodeFrame(FRAME.stdin));
      };
      input.on("data", onInput);
      input.once("end", onEnd);
      input.on("error", onEnd);
      cleanups.push(() => {
        input.off("data", onInput);
        input.off("end", onEnd);
        input.off("error", onEnd);
        // A stdin still being read would keep the CLI alive after the process ended.
        input.destroy();
      });
    }

    if (opts.tty && process.stdout.isTTY) {
      const onResize = (): void => {
        if (!socket.destroyed) socket.write(jsonFrame(FRAME.resize, { rows: process.stdout.rows, cols: process.stdout.columns }));
      };
      process.stdout.on("resize", onResize);
      cleanups.push(() => process.stdout.off("resize", onResize));
    }

    if (opts.forwardSignals) {
      let interrupts = 0;
      for (const sig of FORWARDED) {
        const onSignal = (): void => {
          // A second Ctrl-C leaves at once, as a user hammering it expects.
          if (sig === "SIGINT" && ++interrupts > 1) {
            finish(undefined, 130);
            return;
          }
          if (!socket.destroyed) socket.write(encodeFrame(FRAME.signal, sig));
        };
        process.on(sig, onSignal);
        cleanups.push(() => process.off(sig, onSignal));
      }
    }
  });
}
