import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BuildProgress } from "../types.js";
import { FakeEngine } from "./fake-engine.js";

const dir = mkdtempSync(join(tmpdir(), "tscompose-test-fakebuild-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("FakeEngine.buildImage", () => {
  it("plans with the real frontend, pulls the base from the catalogue, applies config steps, tags, reports every step; RUN runs nothing", async () => {
    const engine = new FakeEngine();
    writeFileSync(join(dir, "Dockerfile"), 'FROM busybox\nARG PORT\nENV APP=demo\nWORKDIR /srv\nRUN false\nEXPOSE ${PORT}\nLABEL stage=one\nCMD ["serve"]\n');
    const events: BuildProgress[] = [];
    const result = await engine.buildImage({ contextDir: dir, tags: ["app-web"], buildArgs: { PORT: "8080" }, labels: { extra: "yes" }, onProgress: (p) => events.push(p) });
    const image = await engine.inspectImage("app-web");
    expect(image?.id).toBe(result.imageId);
    expect(image?.repoTags).toEqual(["docker.io/library/app-web:latest"]);
    expect(image?.config).toMatchObject({ workingDir: "/srv", cmd: ["serve"], exposedPorts: ["8080/tcp"], labels: { stage: "one", extra: "yes" } });
    expect(image?.config.env).toContain("APP=demo");
    expect(events.filter((e) => e.type === "step" && e.state === "done").map((e) => (e as { name: string }).name)).toEqual([
      "[1/8] FROM busybox",
      "[2/8] ARG PORT",
      "[3/8] ENV APP=demo",
      "[4/8] WORKDIR /srv",
      "[5/8] RUN false",
      "[6/8] EXPOSE ${PORT}",
      "[7/8] LABEL stage=one",
      '[8/8] CMD ["serve"]',
    ]);
  });

  it("a base image the catalogue lacks is not-found; a bad Dockerfile an invalid error at its line", async () => {
    const engine = new FakeEngine();
    await expect(engine.buildImage({ contextDir: dir, dockerfileInline: "FROM nothere\n", tags: ["x"] })).rejects.toMatchObject({ kind: "not-found" });
    await expect(engine.buildImage({ contextDir: dir, dockerfileInline: "FROM busybox\nFROBNICATE x\n", tags: ["x"] })).rejects.toMatchObject({ kind: "invalid", message: expect.stringMatching(/^Dockerfile:2: unknown instruction: FROBNICATE/) as unknown });
  });
});
