import { describe, expect, it } from "vitest";
import { FrameParser, LogDecoder, logEntry } from "./stream.js";

function frame(kind: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("dockerd's multiplexed stream", () => {
  it("frames come out whole whatever the chunking", () => {
    const bytes = Buffer.concat([frame(1, "out\n"), frame(2, "err\n"), frame(1, "x".repeat(70_000))]);
    for (const size of [1, 3, 8, 9, 1000, bytes.length]) {
      const p = new FrameParser();
      const got: string[] = [];
      for (let i = 0; i < bytes.length; i += size) for (const f of p.push(bytes.subarray(i, i + size))) got.push(`${f.stream}:${f.payload.length}`);
      expect(got).toEqual(["stdout:4", "stderr:4", "stdout:70000"]);
      expect(p.buffered).toBe(0);
    }
  });

  it("log messages: timestamp, line, and a piece of a long line marked partial", () => {
    expect(logEntry("stdout", "2026-01-01T00:00:00.123456789Z hello\n")).toEqual({ stream: "stdout", time: Date.parse("2026-01-01T00:00:00.123Z"), timestamp: "2026-01-01T00:00:00.123456789Z", line: "hello" });
    expect(logEntry("stderr", "2026-01-01T00:00:00Z piece")).toMatchObject({ line: "piece", partial: true });
    expect(logEntry("stdout", "2026-01-01T00:00:00Z \n")).toMatchObject({ line: "" });
    expect(logEntry("stdout", "not a timestamp\n")).toBeUndefined();
  });

  it("a tty container's log is one raw stream of lines", () => {
    const d = new LogDecoder(true);
    expect(d.push(Buffer.from("2026-01-01T00:00:00Z a\r\n2026-01-01T00:00:01Z b")).map((e) => e.line)).toEqual(["a"]);
    expect(d.end().map((e) => [e.line, e.partial])).toEqual([["b", true]]);
  });
});
