import { describe, expect, it } from "vitest";
import { canonicalJson } from "./hash.js";

describe("canonicalJson", () => {
  it("is independent of key order", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: "x" } })).toBe(canonicalJson({ a: { c: "x", d: [1, 2] }, b: 1 }));
  });

  it("leaves out fields that are unset, empty lists or empty mappings, so a field the model gains changes no existing hash", () => {
    const before = { image: "busybox", environment: { A: "1" } };
    expect(canonicalJson({ ...before, dnsOpt: [], links: [], annotations: {}, init: undefined })).toBe(canonicalJson(before));
  });

  it("keeps what has a value: false, 0, null, an empty string and order inside lists all count", () => {
    const base = canonicalJson({ a: 1 });
    for (const v of [false, 0, null, ""]) expect(canonicalJson({ a: 1, b: v })).not.toBe(base);
    expect(canonicalJson({ l: [1, 2] })).not.toBe(canonicalJson({ l: [2, 1] }));
    expect(canonicalJson({ l: [[]] })).not.toBe(canonicalJson({ l: [] }));
  });
});
