import { describe, expect, it } from "vitest";
import { DetachKeyScanner, parseDetachKeys } from "./detach-keys.js";

describe("detach keys", () => {
  it("parses docker's forms: ctrl- keys and single characters", () => {
    expect([...parseDetachKeys("ctrl-p,ctrl-q")]).toEqual([16, 17]);
    expect([...parseDetachKeys("ctrl-@,ctrl-[,ctrl-_,a")]).toEqual([0, 27, 31, 97]);
  });

  it("refuses what docker refuses, naming the value", () => {
    expect(() => parseDetachKeys("ctrl-1")).toThrow("Invalid detach keys (ctrl-1) provided");
    expect(() => parseDetachKeys("ab")).toThrow("Invalid detach keys (ab) provided");
    expect(() => parseDetachKeys("")).toThrow("Invalid detach keys () provided");
  });

  it("detaches on the whole sequence, split across chunks, sending what came before it", () => {
    const s = new DetachKeyScanner(parseDetachKeys("ctrl-p,ctrl-q"));
    expect(s.push(Buffer.from("ab\x10"))).toEqual({ forward: Buffer.from("ab"), detach: false });
    expect(s.push(Buffer.from("\x11zz"))).toEqual({ forward: Buffer.alloc(0), detach: true });
  });

  it("a broken sequence sends the held bytes on, and a repeated first key starts again", () => {
    const s = new DetachKeyScanner(parseDetachKeys("ctrl-p,ctrl-q"));
    expect(s.push(Buffer.from("\x10x"))).toEqual({ forward: Buffer.from("\x10x"), detach: false });
    expect(s.push(Buffer.from("\x10\x10"))).toEqual({ forward: Buffer.from("\x10"), detach: false });
    expect(s.push(Buffer.from("\x11"))).toEqual({ forward: Buffer.alloc(0), detach: true });
  });
});
