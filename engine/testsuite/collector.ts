// A Writable that keeps what is written to it (an exec's stdout and stderr),
// for the conformance suite and the engine e2e helpers alike.
import { Writable } from "node:stream";

export function collector(): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}
