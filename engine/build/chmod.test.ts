import { describe, expect, it } from "vitest";
import { parseChmod } from "./chmod.js";

describe("COPY --chmod", () => {
  it("an octal mode replaces every entry's", () => {
    expect(parseChmod("640")(0o755, false)).toBe(0o640);
    expect(parseChmod("0755")(0o600, true)).toBe(0o755);
  });

  it("symbolic modes change each entry's own mode as chmod(1) does", () => {
    expect(parseChmod("u+x")(0o644, false)).toBe(0o744);
    expect(parseChmod("go-w")(0o666, false)).toBe(0o644);
    expect(parseChmod("a=r")(0o755, false)).toBe(0o444);
    expect(parseChmod("u=rw,go=r")(0o700, false)).toBe(0o644);
    expect(parseChmod("+x")(0o600, false)).toBe(0o711);
  });

  it("X gives execute to directories and to files that have an execute bit, not to plain files", () => {
    const f = parseChmod("a+X");
    expect(f(0o644, true)).toBe(0o755);
    expect(f(0o744, false)).toBe(0o755);
    expect(f(0o644, false)).toBe(0o644);
  });

  it("a malformed mode is docker's error", () => {
    expect(() => parseChmod("u+q")).toThrow("invalid chmod parameter: u+q");
  });
});
