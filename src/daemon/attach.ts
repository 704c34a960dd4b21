// The attach protocol of `exec` and `run`: what travels on the unix socket
// after the daemon answered an HTTP/1.1 Upgrade with 101 (as Docker hijacks
// the connection for `docker exec`). Both directions carry frames shaped like
// Docker's stdcopy frames, so they are easy to read in a hex dump:
//
//   [type:1][0 0 0][length:4, big endian][payload:length]
//
// NDJSON would not do: stdin and stdout are bytes, not text, and must stay
// byte-exact (`exec -T svc cat < image.png`). Control messages are JSON
// payloads of their own frame types.
import type { StreamMessage } from "./api.js";

export const FRAME = {
  /** client -> daemon: bytes for the process's stdin; an empty payload closes it (EOF). */
  stdin: 0,
  /** daemon -> client: the process's stdout (a tty's merged output too). */
  stdout: 1,
  /** daemon -> client: the process's stderr. */
  stderr: 2,
  /** daemon -> client: JSON {exitCode}; the last frame of a session. */
  exit: 3,
  /** client -> daemon: JSON {rows, cols}, the client's terminal size changed. */
  resize: 4,
  /** daemon -> client: JSON {message, code?}: the session failed; the last frame. */
  error: 5,
  /** client -> daemon: a signal name (UTF-8) the user sent to the CLI, to forward. */
  signal: 6,
  /** daemon -> client: JSON AttachMessage: progress and facts about the session. */
  message: 7,
} as const;

export type FrameType = (typeof FRAME)[keyof typeof FRAME];

/** What the daemon tells the client besides output: `run`'s progress and its container. */
export type AttachMessage = StreamMessage | { type: "container"; id: string; name: string };

export const UPGRADE_PROTOCOL = "tscompose-attach";
const HEADER = 8;

export function encodeFrame(type: FrameType, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const frame = Buffer.alloc(HEADER + body.length);
  frame[0] = type;
  frame.writeUInt32BE(body.length, 4);
  body.copy(frame, HEADER);
  return frame;
}

export function jsonFrame(type: FrameType, value: unknown): Buffer {
  return encodeFrame(type, JSON.stringify(value));
}

/** Splits a byte stream into frames, whatever the chunking of the socket. */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { type: number; payload: Buffer }[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const out: { type: number; payload: Buffer }[] = [];
    while (this.buffered.length >= HEADER) {
      const length = this.buffered.readUInt32BE(4);
      if (this.buffered.length < HEADER + length) break;
      out.push({ type: this.buffered[0] as number, payload: this.buffered.subarray(HEADER, HEADER + length) });
      this.buffered = this.buffered.subarray(HEADER + length);
    }
    // Keep no reference to a large consumed chunk.
    if (this.buffered.length === 0) this.buffered = Buffer.alloc(0);
    return out;
  }

  /** Bytes of an unfinished frame: non-zero when a peer hung up mid-frame. */
  get pending(): number {
    return this.buffered.length;
  }
}
