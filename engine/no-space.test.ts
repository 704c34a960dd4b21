import { describe, expect, it } from "vitest";
import { isNoSpace, noSpaceError } from "./no-space.js";
import { EngineError } from "./types.js";

function enospc(path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, write${path ? ` '${path}'` : ""}`), { code: "ENOSPC", path });
}

describe("no space errors", () => {
  it("recognizes ENOSPC and EDQUOT, in the error or its causes, and runc's or ip's stderr text", () => {
    expect(isNoSpace(enospc())).toBe(true);
    expect(isNoSpace(Object.assign(new Error("quota"), { code: "EDQUOT" }))).toBe(true);
    expect(isNoSpace(new Error("unpacking layer", { cause: new Error("wrapped", { cause: enospc() }) }))).toBe(true);
    expect(isNoSpace(new Error("runc create failed: write /x/config.json: no space left on device"))).toBe(true);
    expect(isNoSpace(Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" }))).toBe(false);
    expect(isNoSpace("ENOSPC")).toBe(false);
  });

  it("says which state dir is full and what was written, and leaves other errors alone", () => {
    const mapped = noSpaceError(enospc("/var/lib/tscompose/content/ingest/abc"), "/var/lib/tscompose");
    expect(mapped).toBeInstanceOf(EngineError);
    expect((mapped as EngineError).kind).toBe("no-space");
    expect((mapped as Error).message).toBe(
      "no space left on device for the state dir /var/lib/tscompose: free space on that filesystem and retry (ENOSPC: no space left on device, write '/var/lib/tscompose/content/ingest/abc')",
    );
    const unnamed = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", path: "/s/x" });
    expect((noSpaceError(unnamed, "/s") as Error).message).toMatch(/\(ENOSPC: no space left on device, write, \/s\/x\)$/);
    // Mapped once only, however many layers pass it on.
    expect(noSpaceError(mapped, "/var/lib/tscompose")).toBe(mapped);
    const other = new EngineError("not-found", "no such image: x");
    expect(noSpaceError(other, "/s")).toBe(other);
  });
});
