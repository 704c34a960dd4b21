import { describe, expect, it } from "vitest";
import { normalizeFileRefs } from "./file-objects.js";
import type { PathSegment } from "./parse.js";

const fail = (path: readonly PathSegment[], message: string): never => {
  throw new Error(`${path.join(".")}: ${message}`);
};

describe("normalizeFileRefs", () => {
  it("puts relative targets under /run/secrets for secrets and under / for configs, as compose", () => {
    const refs = [{ source: "a", target: "b" }, "c", { source: "d", target: "/abs" }];
    expect(normalizeFileRefs(refs, "secrets", ["services", "x", "secrets"], fail).map((r) => r.target)).toEqual(["/run/secrets/b", "/run/secrets/c", "/abs"]);
    expect(normalizeFileRefs(refs, "configs", ["services", "x", "configs"], fail).map((r) => r.target)).toEqual(["/b", "/c", "/abs"]);
  });

  it("reads a mode string as octal and keeps a YAML number as it parsed", () => {
    const modes = normalizeFileRefs([{ source: "a", mode: "0440" }, { source: "a", mode: "0o600" }, { source: "a", mode: 288 }], "secrets", [], fail).map((r) => r.mode);
    expect(modes).toEqual([0o440, 0o600, 0o440]);
  });

  it("refuses non-numeric ids and bad modes at their key", () => {
    expect(() => normalizeFileRefs([{ source: "a", uid: "root" }], "secrets", ["services", "x", "secrets"], fail)).toThrow(/^services\.x\.secrets\.0\.uid: "root" is not a numeric id/);
    expect(() => normalizeFileRefs([{ source: "a", mode: "0999" }], "configs", ["services", "x", "configs"], fail)).toThrow(/^services\.x\.configs\.0\.mode: invalid file mode "0999"/);
  });
});
