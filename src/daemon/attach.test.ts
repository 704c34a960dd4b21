import { describe, expect, it } from "vitest";
import { FRAME, FrameDecoder, encodeFrame, jsonFrame } from "./attach.js";

describe("attach frames", () => {
  it("have docker's 8-byte header: type, three zero bytes, big-endian length", () => {
    const f = encodeFrame(FRAME.stderr, "hi");
    expect([...f]).toEqual([2, 0, 0, 0, 0, 0, 0, 2, 0x68, 0x69]);
  });

  it("decode whatever the chunking, byte by byte included", () => {
    const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
    const stream = Buffer.concat([encodeFrame(FRAME.stdout, payload), encodeFrame(FRAME.stdin), jsonFrame(FRAME.exit, { exitCode: 7 })]);
    for (const size of [1, 3, 8, 9, 307, stream.length]) {
      const d = new FrameDecoder();
      const frames: { type: number; payload: Buffer }[] = [];
      for (let i = 0; i < stream.length; i += size) frames.push(...d.push(stream.subarray(i, i + size)).map((f) => ({ type: f.type, payload: Buffer.from(f.payload) })));
      expect(frames.map((f) => f.type)).toEqual([FRAME.stdout, FRAME.stdin, FRAME.exit]);
      expect(frames[0]?.payload.equals(payload)).toBe(true);
      expect(frames[1]?.payload.length).toBe(0);
      expect(JSON.parse(frames[2]?.payload.toString() ?? "")).toEqual({ exitCode: 7 });
      expect(d.pending).toBe(0);
    }
  });

  it("keeps an unfinished frame until the rest arrives", () => {
    const d = new FrameDecoder();
    const f = encodeFrame(FRAME.stdout, "abcdef");
    expect(d.push(f.subarray(0, 10))).toEqual([]);
    expect(d.pending).toBe(10);
    expect(d.push(f.subarray(10)).map((x) => x.payload.toString())).toEqual(["abcdef"]);
  });
});
