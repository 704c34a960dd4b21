import { expect, test } from "vitest";
import { formatPlatform, normalizePlatform, parsePlatform, selectPlatform } from "./platform.js";
import type { Descriptor } from "./types.js";

test("parse and normalize", () => {
  expect(parsePlatform("linux/amd64")).toEqual({ os: "linux", architecture: "amd64" });
  expect(parsePlatform("linux/aarch64")).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
  expect(parsePlatform("Linux/ARM")).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
  expect(normalizePlatform({ os: "linux", architecture: "x86_64" })).toEqual({ os: "linux", architecture: "amd64" });
  expect(formatPlatform(parsePlatform("linux/arm/6"))).toBe("linux/arm/v6");
  expect(() => parsePlatform("linux")).toThrow('invalid platform "linux": expected os/arch or os/arch/variant, e.g. linux/amd64');
});

test("selection prefers the exact variant and skips attestations", () => {
  const d = (digest: string, platform: Descriptor["platform"]): Descriptor => ({ mediaType: "m", digest: `sha256:${digest.repeat(64)}`, size: 1, platform });
  const list = [
    d("0", { os: "unknown", architecture: "unknown" }),
    d("1", { os: "linux", architecture: "amd64" }),
    d("2", { os: "linux", architecture: "arm", variant: "v6" }),
    d("3", { os: "linux", architecture: "arm", variant: "v7" }),
    d("4", { os: "linux", architecture: "arm64" }),
  ];
  expect(selectPlatform(list, parsePlatform("linux/amd64"))?.digest).toBe(list[1]!.digest);
  expect(selectPlatform(list, parsePlatform("linux/arm/v7"))?.digest).toBe(list[3]!.digest);
  expect(selectPlatform(list, parsePlatform("linux/arm64/v8"))?.digest).toBe(list[4]!.digest);
  expect(selectPlatform(list, parsePlatform("windows/amd64"))).toBeUndefined();
});
