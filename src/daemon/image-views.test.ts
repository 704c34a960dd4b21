import { describe, expect, test } from "vitest";
import type { ImageEntry, ImageRecord } from "../../engine/image/types.js";
import { imageRows, pulledName, pushedName } from "./image-views.js";

const ID = `sha256:${"a".repeat(64)}`;
const DIGEST = `sha256:${"b".repeat(64)}`;

function entry(tags: string[], digests: string[]): ImageEntry {
  const record = {
    id: ID,
    created: "2020-01-01T00:00:00Z",
    layers: [{ unpackedSize: 1000 }, { unpackedSize: 234 }],
  } as unknown as ImageRecord;
  return { record, tags, digests };
}

describe("docker images rows", () => {
  test("one row per repository:tag, familiar names, the repository's digest beside its tag", () => {
    const rows = imageRows([entry(["docker.io/library/busybox:latest", "example.com/team/app:v1"], [`docker.io/library/busybox@${DIGEST}`])]);
    expect(rows).toEqual([
      { id: ID, repository: "busybox", tag: "latest", digest: DIGEST, created: "2020-01-01T00:00:00Z", size: 1234 },
      { id: ID, repository: "example.com/team/app", tag: "v1", digest: "<none>", created: "2020-01-01T00:00:00Z", size: 1234 },
    ]);
  });

  test("pulled by digest only: the repository with a <none> tag; no reference at all: <none> <none>", () => {
    expect(imageRows([entry([], [`docker.io/library/busybox@${DIGEST}`])]).map((r) => [r.repository, r.tag, r.digest])).toEqual([["busybox", "<none>", DIGEST]]);
    expect(imageRows([entry([], [])]).map((r) => [r.repository, r.tag, r.digest])).toEqual([["<none>", "<none>", "<none>"]]);
  });

  test("a filter names a repository, with or without its tag", () => {
    const e = entry(["docker.io/library/busybox:latest", "docker.io/library/busybox:1.36", "localhost:5000/busybox:latest"], []);
    expect(imageRows([e], "busybox").map((r) => `${r.repository}:${r.tag}`)).toEqual(["busybox:latest", "busybox:1.36"]);
    expect(imageRows([e], "busybox:1.36").map((r) => `${r.repository}:${r.tag}`)).toEqual(["busybox:1.36"]);
    expect(imageRows([e], "localhost:5000/busybox").map((r) => `${r.repository}:${r.tag}`)).toEqual(["localhost:5000/busybox:latest"]);
  });

  test("docker's intermediate images (untagged, the parent of another) only with all; an untagged image nobody builds on (dangling) always", () => {
    const id = (c: string) => `sha256:${c.repeat(64)}`;
    const image = (hex: string, tags: string[], parent?: string): ImageEntry => ({ record: { id: id(hex), created: undefined, layers: [], ...(parent ? { parent: id(parent) } : {}) } as unknown as ImageRecord, tags, digests: [] });
    // base (tagged) <- step 1 (untagged) <- step 2 (untagged) <- app:latest; an old build of app, untagged and no one's parent.
    const entries = [image("1", ["docker.io/library/base:latest"]), image("2", [], "1"), image("3", [], "2"), image("4", ["docker.io/library/app:latest"], "3"), image("5", [], "2")];
    expect(imageRows(entries).map((r) => r.id)).toEqual([id("1"), id("4"), id("5")]);
    expect(imageRows(entries, undefined, { all: true }).map((r) => r.id)).toEqual(entries.map((e) => e.record.id));
  });
});

describe("names printed after a pull or push", () => {
  test("docker's: fully qualified after a pull (by tag or by digest), familiar after a push", () => {
    expect(pulledName("busybox")).toBe("docker.io/library/busybox:latest");
    expect(pulledName(`busybox@${DIGEST}`)).toBe(`docker.io/library/busybox@${DIGEST}`);
    expect(pushedName("docker.io/library/busybox:1")).toBe("busybox:1");
    expect(pushedName("localhost:5000/a/b")).toBe("localhost:5000/a/b");
  });
});
