// Attaching to a container's main process (`docker attach`). conmon owns the
// process's stdio and serves it on <bundle>/attach, a SOCK_SEQPACKET socket
// (one packet per read of the output, its first byte the pipe: 2 stdout, 3
// stderr), which Node cannot open; attach.pl bridges it to pipes (protocol in
// its header and docs/perl-helpers.md). conmon sends a client only what the
// process writes after it connected: the "new output only" of docker attach.
// A tty's size goes through conmon's control FIFO (<bundle>/ctl).
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { AttachSpec, Attachment } from "../types.js";
import { EngineError } from "../types.js";
import { perlProgram } from "../sys/perl.js";
import { writeConmonControl } from "./logrotate.js";

const BRIDGE = perlProgram("attach.pl", import.meta.url);
const PIPE_STDOUT = 2;
const PIPE_STDERR = 3;

/** Splits the bridge's output ([u32 length][packet]...) into packets, whatever its chunking. */
export class PacketDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: Buffer[] = [];
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (this.buffered.length < 4 + length) break;
      out.push(this.buffered.subarray(4, 4 + length));
      this.buffered = this.buffered.subarray(4 + length);
    }
    return out;
  }
}

export interface AttachTarget {
  /** The container's bundle directory (conmon's -b): attach socket and ctl FIFO. */
  bundle: string;
  name: string;
  /** Created with openStdin: conmon holds a stdin to write to. */
  openStdin: boolean;
}

export function attachMain(target: AttachTarget, spec: AttachSpec): Promise<Attachment> {
  // A clean environment: the bridge needs none of ours.
  const child = spawn("perl", [BRIDGE, target.bundle], { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => (stderr += d));
  // Our end of its stdin may see EPIPE once the bridge has gone: its exit says the rest.
  child.stdin.on("error", () => undefined);
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => resolve(code));
    child.on("error", () => resolve(null));
  });

  const decoder = new PacketDecoder();
  let attached: (() => void) | undefined;
  const connected = new Promise<void>((resolve) => (attached = resolve));
  // Back-pressure: the bridge (and conmon behind it) wait while a slow client reads.
  const deliver = (to: NodeJS.WritableStream, data: Buffer): void => {
    if (!to.write(data)) {
      child.stdout.pause();
      to.once("drain", () => child.stdout.resume());
    }
  };
  child.stdout.on("data", (chunk: Buffer) => {
    for (const packet of decoder.push(chunk)) {
      const pipe = packet[0];
      if (pipe === 0) attached?.();
      else if (pipe === PIPE_STDOUT) deliver(spec.stdout, packet.subarray(1));
      else if (pipe === PIPE_STDERR) deliver(spec.stderr, packet.subarray(1));
    }
  });
  const outputDone = new Promise<void>((resolve) => child.stdout.on("close", resolve));

  const detach = (): void => {
    child.kill("SIGTERM");
  };
  if (spec.signal?.aborted) detach();
  spec.signal?.addEventListener("abort", detach, { once: true });

  const stdin = target.openStdin ? spec.stdin : undefined;
  // Without a stdin to send, the bridge's stays open: its EOF would only shut our sending side.
  if (stdin) stdin.pipe(child.stdin);

  const ended = Promise.all([exited, outputDone]).then(() => {
    spec.signal?.removeEventListener("abort", detach);
    if (stdin) stdin.unpipe(child.stdin);
  });

  return Promise.race([connected.then(() => true), exited.then(() => false)]).then(async (ok) => {
    if (!ok) {
      await ended;
      const reason = stderr.replace(/^tscompose-attach: /gm, "").trim();
      // The socket goes with conmon: the container stopped (or never ran).
      if (/No such file|Connection refused/.test(reason)) throw new EngineError("conflict", "You cannot attach to a stopped container, start it first");
      throw new EngineError("internal", `attaching to container ${target.name}: ${reason || "the attach bridge ended"}`);
    }
    return {
      ended,
      resize: async (rows: number, cols: number): Promise<void> => {
        if (rows > 0 && cols > 0) await writeConmonControl(join(target.bundle, "ctl"), `1 ${Math.floor(rows)} ${Math.floor(cols)}\n`);
      },
    };
  });
}
