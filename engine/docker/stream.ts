// dockerd's multiplexed stream (logs and exec without a tty): frames of an
// 8-byte header (stream 1 stdout, 2 stderr; a big-endian payload length) and
// the payload, arriving cut anywhere. Log lines carry an RFC 3339 timestamp
// (timestamps=1) in front; a line of more than 16 KiB comes in pieces, each
// with its own timestamp, the last one ending in "\n".
import type { LogEntry } from "../types.js";

export interface Frame {
  stream: "stdout" | "stderr";
  payload: Buffer;
}

/** Cuts a multiplexed byte stream into frames, whatever the chunking. */
export class FrameParser {
  // Chunks are kept apart until a frame is complete: a frame that arrives a byte at a time costs one copy, not one per byte.
  private chunks: Buffer[] = [];
  private total = 0;

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.total += chunk.length;
    const out: Frame[] = [];
    while (this.total >= 8) {
      if ((this.chunks[0] as Buffer).length < 8) this.chunks = [Buffer.concat(this.chunks)];
      const head = this.chunks[0] as Buffer;
      const size = head.readUInt32BE(4);
      if (this.total < 8 + size) break;
      const all = this.chunks.length === 1 ? head : Buffer.concat(this.chunks);
      const kind = all[0];
      // 0 is stdin echoed back (tty off, never here); 3 is dockerd's own error text, shown as stderr.
      out.push({ stream: kind === 1 ? "stdout" : "stderr", payload: all.subarray(8, 8 + size) });
      const rest = all.subarray(8 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.total = rest.length;
    }
    return out;
  }

  /** Bytes of an incomplete frame still held. */
  get buffered(): number {
    return this.total;
  }
}

/** One log message ("<timestamp> <text>[\n]") -> a LogEntry; undefined when it has no timestamp. */
export function logEntry(stream: "stdout" | "stderr", message: string): LogEntry | undefined {
  const space = message.indexOf(" ");
  const timestamp = space < 0 ? message.replace(/\n$/, "") : message.slice(0, space);
  const time = Date.parse(timestamp);
  if (Number.isNaN(time)) return undefined;
  const rest = space < 0 ? "" : message.slice(space + 1);
  const ended = rest.endsWith("\n");
  const line = ended ? rest.slice(0, -1).replace(/\r$/, "") : rest;
  return ended ? { stream, time, timestamp, line } : { stream, time, timestamp, line, partial: true };
}

/**
 * The log entries of a byte stream: multiplexed frames, or (a tty container)
 * one raw stream of timestamped lines, all on stdout.
 */
export class LogDecoder {
  private readonly frames = new FrameParser();
  private raw = "";

  constructor(private readonly tty: boolean) {}

  push(chunk: Buffer): LogEntry[] {
    const out: LogEntry[] = [];
    if (this.tty) {
      this.raw += chunk.toString("utf8");
      let nl: number;
      while ((nl = this.raw.indexOf("\n")) >= 0) {
        const e = logEntry("stdout", this.raw.slice(0, nl + 1));
        this.raw = this.raw.slice(nl + 1);
        if (e) out.push(e);
      }
      return out;
    }
    for (const f of this.frames.push(chunk)) {
      const e = logEntry(f.stream, f.payload.toString("utf8"));
      if (e) out.push(e);
    }
    return out;
  }

  /** What is left when the stream ended: a tty's last line without a newline. */
  end(): LogEntry[] {
    if (!this.tty || this.raw === "") return [];
    const e = logEntry("stdout", this.raw);
    this.raw = "";
    return e ? [e] : [];
  }
}
