import { describe, expect, it } from "vitest";
import { stackNameFilter } from "./ls-filter.js";

describe("ls --filter", () => {
  it("keeps every stack without a filter", () => {
    expect(stackNameFilter([])).toBeUndefined();
  });

  it("name= keeps a stack the value names or matches as a regular expression, as docker's filters", () => {
    const keep = stackNameFilter(["name=shop"]);
    expect(["shop", "myshop", "shop2", "blog"].filter((n) => keep?.(n))).toEqual(["shop", "myshop", "shop2"]);
    const anchored = stackNameFilter(["name=^shop$", "name=blog"]);
    expect(["shop", "myshop", "blog"].filter((n) => anchored?.(n))).toEqual(["shop", "blog"]);
    // Not a valid expression: only the name it equals.
    const literal = stackNameFilter([" NAME = a(b "]);
    expect(["a(b", "a(bc"].filter((n) => literal?.(n))).toEqual(["a(b"]);
  });

  it("refuses another key or a filter without =, as compose ls", () => {
    expect(() => stackNameFilter(["status=running"])).toThrow("invalid filter 'status'");
    expect(() => stackNameFilter(["shop"])).toThrow('invalid argument "shop" for "--filter" flag: bad format of filter (expected name=value)');
  });
});
