// Pull and push progress for people, the way the docker CLI prints it
// (docker/pkg/jsonmessage):
// - on a terminal, one line per layer, redrawn in place with ANSI cursor
//   moves: "1a96b8157467: Downloading [=====>     ]  1.049MB/2.1MB";
// - otherwise plain lines, each status once, without the byte counts;
// - quiet: nothing but the final reference.
// Messages without a layer ID ("Digest: ...") are ordinary lines, and end the
// block of layer lines above them, as in docker.
// The daemon sends the engine's progress events as they are (api.ts
// ImageProgressMessage); drawing them is the client's business.
import type { ImageProgressMessage } from "../daemon/api.js";
import { humanSize } from "./format.js";

/** One progress line of a pull or push, as the daemon streams it. */
export type LayerProgress = Omit<Extract<ImageProgressMessage, { type: "progress" }>, "type">;

/** "[=========>        ]  1.049MB/2.1MB", the bar only on wide terminals, as docker does. */
export function progressBar(current: number, total: number | undefined, columns: number): string {
  if (current <= 0 && (total ?? 0) <= 0) return "";
  if (total === undefined || total <= 0) return humanSize(current).padStart(8);
  const half = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = columns > 110 ? `[${"=".repeat(half)}>${" ".repeat(Math.max(0, 50 - half))}] ` : "";
  return `${bar}${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

export interface ProgressRendererOptions {
  /** Redraw per-layer lines in place (default: whether `out` is a TTY). */
  tty?: boolean;
  quiet?: boolean;
  /** Terminal width (default: out.columns, else 80). */
  columns?: number;
}

export class ProgressRenderer {
  readonly #out: NodeJS.WritableStream;
  readonly #tty: boolean;
  readonly #quiet: boolean;
  readonly #columns: number;
  // Layer ID -> its line, counted from the top of the current block.
  #lines = new Map<string, number>();
  // Non-TTY: the last status printed per layer, so repeats are not printed twice.
  readonly #lastStatus = new Map<string, string>();

  constructor(out: NodeJS.WritableStream, opts: ProgressRendererOptions = {}) {
    this.#out = out;
    const stream = out as NodeJS.WriteStream;
    this.#tty = opts.tty ?? stream.isTTY === true;
    this.#quiet = opts.quiet ?? false;
    this.#columns = opts.columns ?? stream.columns ?? 80;
  }

  update(p: LayerProgress): void {
    if (this.#quiet) return;
    if (p.id === "" || !this.#isLayerId(p)) {
      this.#lines = new Map();
      this.#out.write(`${p.id ? `${p.id}: ` : ""}${p.status}\n`);
      return;
    }
    if (!this.#tty) {
      // Byte counts are for terminals; a log gets each status once.
      if (p.current !== undefined && (p.status === "Downloading" || p.status === "Extracting" || p.status === "Pushing")) return;
      if (this.#lastStatus.get(p.id) === p.status) return;
      this.#lastStatus.set(p.id, p.status);
      this.#out.write(`${p.id}: ${p.status}\n`);
      return;
    }
    let line = this.#lines.get(p.id);
    if (line === undefined) {
      line = this.#lines.size;
      this.#lines.set(p.id, line);
      this.#out.write("\n");
    }
    const up = this.#lines.size - line;
    const bar = p.current !== undefined ? progressBar(p.current, p.total, this.#columns) : "";
    // Up to the layer's line, clear it, write, and back down to below the block.
    this.#out.write(`\x1b[${up}A\x1b[2K\r${p.id}: ${p.status}${bar ? ` ${bar}` : ""}\r\x1b[${up}B`);
  }

  /** The last line of a pull: the reference, even when quiet. */
  done(ref: string): void {
    this.#out.write(`${ref}\n`);
  }

  // "latest: Pulling from library/busybox" has an ID but is a heading, not a layer line.
  #isLayerId(p: LayerProgress): boolean {
    return !p.status.startsWith("Pulling from ") && !p.status.startsWith("The push refers to");
  }
}
