import { describe, expect, test } from "vitest";
import type { Digest } from "../content/types.js";
import { commitConfig } from "./commit.js";
import type { OciImageConfig } from "./config.js";

const d = (c: string): Digest => `sha256:${c.repeat(64)}`;

const parent: OciImageConfig = {
  architecture: "amd64",
  os: "linux",
  created: "2020-01-01T00:00:00Z",
  author: "parent's author",
  container: "abc",
  container_config: { Cmd: ["x"] },
  config: { Env: ["PATH=/bin"], Cmd: ["sh"], Labels: { base: "1" } },
  rootfs: { type: "layers", diff_ids: [d("a")] },
  history: [{ created: "2020-01-01T00:00:00Z", created_by: "/bin/sh -c #(nop) ADD file" }],
};
const layer = { blob: { digest: d("b"), size: 10 }, diffId: d("c"), warnings: [], entries: 1 };

describe("commitConfig", () => {
  test("the parent's config, the container's settings, then -c; the new layer and a history entry appended", () => {
    const c = commitConfig(parent, {
      parent: d("0"),
      layers: [layer],
      overrides: { Cmd: ["sleep", "1"], Env: ["PATH=/bin", "A=1"] },
      changes: ["ENV B=2", "LABEL k=v"],
      author: "me",
      comment: "msg",
      createdBy: "sleep 1",
      tags: [],
      created: "2024-05-06T07:08:09Z",
    });
    expect(c).toEqual({
      architecture: "amd64",
      os: "linux",
      created: "2024-05-06T07:08:09Z",
      author: "me",
      config: { Env: ["PATH=/bin", "A=1", "B=2"], Cmd: ["sleep", "1"], Labels: { base: "1", k: "v" } },
      rootfs: { type: "layers", diff_ids: [d("a"), d("c")] },
      history: [parent.history![0], { created: "2024-05-06T07:08:09Z", author: "me", created_by: "sleep 1", comment: "msg" }],
    });
    // The parent is left as it was.
    expect(parent.config?.Labels).toEqual({ base: "1" });
  });

  test("without an author the parent's is not inherited; a config-only step is an empty_layer entry", () => {
    const c = commitConfig(parent, { parent: d("0"), layers: [], changes: ["CMD [\"x\"]"], tags: [], created: "2024-01-01T00:00:00Z" });
    expect(c.author).toBeUndefined();
    expect(c.rootfs.diff_ids).toEqual([d("a")]);
    expect(c.history?.at(-1)).toEqual({ created: "2024-01-01T00:00:00Z", empty_layer: true });
  });

  test("a first layer (no parent)", () => {
    const c = commitConfig(undefined, { parent: undefined, layers: [layer], tags: [], created: "2024-01-01T00:00:00Z" });
    expect(c.rootfs).toEqual({ type: "layers", diff_ids: [d("c")] });
    expect(c.os).toBe("linux");
    expect(c.architecture).not.toBe("");
    expect(c.history).toHaveLength(1);
  });
});
