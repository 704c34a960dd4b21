import { describe, expect, it } from "vitest";
import { matches, NETWORK_FILTERS, parseFilters, VOLUME_FILTERS } from "./object-filters.js";

const vol = (labels: Record<string, string>, used = false) => ({ name: "data", driver: "local", labels, used });

describe("object filters", () => {
  it("label=K needs the key, label=K=V the value; all labels must match", () => {
    expect(matches(parseFilters(["label=a"], VOLUME_FILTERS), vol({ a: "" }))).toBe(true);
    expect(matches(parseFilters(["label=a"], VOLUME_FILTERS), vol({ b: "1" }))).toBe(false);
    expect(matches(parseFilters(["label=a=1"], VOLUME_FILTERS), vol({ a: "2" }))).toBe(false);
    expect(matches(parseFilters(["label=a=x=y"], VOLUME_FILTERS), vol({ a: "x=y" }))).toBe(true);
    expect(matches(parseFilters(["label=a=1", "label=b"], VOLUME_FILTERS), vol({ a: "1" }))).toBe(false);
    expect(matches(parseFilters(["label=a=1", "label=b"], VOLUME_FILTERS), vol({ a: "1", b: "" }))).toBe(true);
  });

  it("dangling selects unused (true) or used (false) objects", () => {
    expect(matches(parseFilters(["dangling=true"], VOLUME_FILTERS), vol({}, false))).toBe(true);
    expect(matches(parseFilters(["dangling=true"], VOLUME_FILTERS), vol({}, true))).toBe(false);
    expect(matches(parseFilters(["dangling=false"], VOLUME_FILTERS), vol({}, true))).toBe(true);
  });

  it("several values of one key match any of them", () => {
    expect(matches(parseFilters(["name=zzz", "name=at"], VOLUME_FILTERS), vol({}))).toBe(true);
    expect(matches(parseFilters(["name=zzz"], VOLUME_FILTERS), vol({}))).toBe(false);
  });

  it("refuses unknown keys, values without a key and bad dangling values", () => {
    expect(() => parseFilters(["colour=red"], VOLUME_FILTERS)).toThrow(/invalid filter 'colour'/);
    expect(() => parseFilters(["id=abc"], VOLUME_FILTERS)).toThrow(/invalid filter 'id'/);
    expect(() => parseFilters(["label"], NETWORK_FILTERS)).toThrow(/bad format of filter/);
    expect(() => parseFilters(["dangling=maybe"], VOLUME_FILTERS)).toThrow(/expected true or false/);
  });
});
