import { describe, expect, it } from "vitest";
import { checkName, isValidName } from "./names.js";

describe("names that reach paths", () => {
  it.each(["web", "my_app-2", "0a"])("project %s is valid", (n) => expect(isValidName("project", n)).toBe(true));
  it.each(["", "..", "../../etc/foo", "a/../b", "A", "-x", "_x", "a b", "a\u0000", "a.b", 42])("project %j is refused", (n) => {
    expect(isValidName("project", n)).toBe(false);
    expect(() => checkName("project", n)).toThrow(/invalid project name/);
  });
  it.each(["data", "My.Vol_1-x", "a"])("volume/network %s is valid", (n) => {
    expect(isValidName("volume", n)).toBe(true);
    expect(isValidName("network", n)).toBe(true);
  });
  it.each(["", ".", "..", "../x", "a/b", ".hidden", "-x", "a\\b"])("volume/network %j is refused", (n) => {
    expect(isValidName("volume", n)).toBe(false);
    expect(() => checkName("network", n)).toThrow(/invalid network name/);
  });
  it("container names: docker's rule, with its optional leading slash", () => {
    expect(isValidName("container", "/web-1")).toBe(true);
    expect(isValidName("container", "web/1")).toBe(false);
    expect(isValidName("container", "../x")).toBe(false);
  });
  it("the error is the engine's 'invalid' (a 400 at the API)", () => {
    expect(() => checkName("volume", "../x")).toThrow(expect.objectContaining({ code: "invalid" }) as Error);
  });
});
