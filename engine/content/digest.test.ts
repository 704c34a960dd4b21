import { describe, expect, it } from "vitest";
import { digestHex, isDigest, parseDigest, sha256Digest } from "./digest.js";
import { ContentError } from "./types.js";

const EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

describe("digests", () => {
  it("computes sha256 digests of buffers and strings", () => {
    expect(sha256Digest(Buffer.alloc(0))).toBe(EMPTY);
    expect(sha256Digest("abc")).toBe("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(digestHex(EMPTY)).toBe(EMPTY.slice(7));
  });

  it("accepts only well-formed sha256 digests", () => {
    expect(isDigest(EMPTY)).toBe(true);
    expect(parseDigest(EMPTY)).toBe(EMPTY);
    for (const bad of [EMPTY.toUpperCase(), `${EMPTY}0`, EMPTY.slice(0, -1), "sha256:", "", 42, undefined]) {
      expect(isDigest(bad)).toBe(false);
    }
  });

  it.each([
    ["", /expected "<algorithm>:<hex>"/],
    ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", /expected "<algorithm>:<hex>"/],
    [":abc", /expected "<algorithm>:<hex>"/],
    ["SHA256:abc", /malformed algorithm/],
    [`sha512:${"a".repeat(128)}`, /unsupported digest algorithm "sha512".*only sha256 is supported/],
    ["md5:d41d8cd98f00b204e9800998ecf8427e", /unsupported digest algorithm "md5"/],
    ["sha256:abc", /64 lowercase hex/],
    [`sha256:${"A".repeat(64)}`, /64 lowercase hex/],
    ["sha256:../../etc/passwd", /64 lowercase hex/],
  ])("rejects %j", (input, message) => {
    let error: unknown;
    try {
      parseDigest(input);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ContentError);
    expect((error as ContentError).code).toBe("invalid-digest");
    expect((error as Error).message).toMatch(message);
  });
});
