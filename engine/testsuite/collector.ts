// A Writable that keeps what is written to it (an exec's stdout and stderr),
// for the conformance suite and the engine e2e helpers alike.
import { Writable } from "node:stream";

export interface CollectorOptions {
  /** Take each chunk only after this many ms, like a client on a slow link: output queues up in front of it. */
  delayMs?: number;
}

export function collector(opts: CollectorOptions = {}): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: opts.delayMs ? 1024 : undefined,
    write(chunk: Buffer, _enc, cb) {
      const take = (): void => {
        chunks.push(Buffer.from(chunk));
        cb();
      };
      if (opts.delayMs) setTimeout(take, opts.delayMs);
      else take();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}
