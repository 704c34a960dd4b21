// Builds on the Docker engine: DockerEngine.buildImage against a private
// dockerd (test/fixtures/dockerd.ts, the test registry as docker.io's mirror,
// no way off loopback). What the image holds is read back with the docker
// CLI, an independent reader of dockerd's record.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine } from "../engine/index.js";
import type { BuildProgress, Engine } from "../engine/types.js";
import { startMirroringDockerd, type PrivateDockerd } from "./fixtures/dockerd.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry, type TestRegistry } from "./fixtures/registry.js";
import { isRoot } from "./support/requires.js";
import { poolOctet } from "./support/pools.js";


describe.skipIf(!isRoot)("builds on the Docker engine (a private dockerd)", () => {
  let registry: TestRegistry | undefined;
  let dockerd: PrivateDockerd | undefined;
  let engine: Engine;
  let dir = "";
  const prefix = `tscb${randomBytes(2).toString("hex")}`;
  const d = (): PrivateDockerd => dockerd as PrivateDockerd;

  async function context(name: string, files: Record<string, string>): Promise<string> {
    const ctx = join(dir, name);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(ctx, path)), { recursive: true });
      await writeFile(join(ctx, path), text);
    }
    return ctx;
  }
  const run = async (image: string, script: string): Promise<string> => (await d().docker(["run", "--rm", "--network", "none", image, "sh", "-c", script])).stdout;

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(registry, "busybox");
    dockerd = await startMirroringDockerd(registry.url, poolOctet("docker-build"));
    engine = await createEngine({ kind: "docker", host: dockerd.host });
    dir = await mkdtemp(join(tmpdir(), "tsc-dbuild-"));
  }, 180_000);

  afterAll(async () => {
    try {
      if (dockerd) expect((await d().docker(["ps", "-aq"])).stdout.trim()).toBe("");
    } finally {
      await engine?.close();
      await dockerd?.stop();
      await registry?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("sends the context as .dockerignore says (Dockerfile and ignore file always), with args, target, labels and tags; a rebuild is cached", async () => {
    const ctx = await context("app", {
      ".dockerignore": "secret.txt\nDockerfile\n.dockerignore\n",
      Dockerfile: [
        "FROM busybox AS base",
        "ARG GREETING",
        "ARG FROMENV",
        "COPY . /ctx/",
        "RUN echo \"built $GREETING\" && echo \"$GREETING/$FROMENV\" > /greeting",
        "FROM base AS final",
        "RUN false",
      ].join("\n"),
      "a.txt": "alpha\n",
      "secret.txt": "do not send\n",
      "sub/b.txt": "beta\n",
    });
    process.env.FROMENV = "from-env";
    const events: BuildProgress[] = [];
    const tag = `${prefix}-app:1`;
    const result = await engine.buildImage({
      contextDir: ctx,
      tags: [`docker.io/library/${tag}`, `docker.io/library/${prefix}-app:extra`],
      buildArgs: { GREETING: "hello", FROMENV: undefined },
      target: "base",
      labels: { "org.example.built-by": "test" },
      network: "none",
      onProgress: (p) => events.push(p),
    });
    delete process.env.FROMENV;
    expect(result.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const inspected = JSON.parse((await d().docker(["image", "inspect", tag])).stdout) as { Id: string; RepoTags: string[]; Config: { Labels: Record<string, string> } }[];
    expect(inspected[0]?.Id).toBe(result.imageId);
    expect(inspected[0]?.RepoTags.sort()).toEqual([`${prefix}-app:1`, `${prefix}-app:extra`]);
    expect(inspected[0]?.Config.Labels["org.example.built-by"]).toBe("test");
    // The target stage only: `RUN false` of the last stage never ran. The Dockerfile and .dockerignore
    // reach dockerd (it read them) but, ignored, are not copied: docker's rule.
    expect((await run(tag, "ls -A /ctx | sort")).split("\n").filter(Boolean)).toEqual(["a.txt", "sub"]);
    // FROMENV had no value: `--build-arg K` takes the environment (the daemon's, here this process's).
    expect(await run(tag, "cat /greeting")).toBe("hello/from-env\n");
    const steps = events.filter((e): e is Extract<BuildProgress, { type: "step" }> => e.type === "step");
    expect(steps.filter((s) => s.state === "started").map((s) => s.name)).toEqual([
      "[1/6] FROM busybox AS base",
      "[2/6] ARG GREETING",
      "[3/6] ARG FROMENV",
      "[4/6] COPY . /ctx/",
      expect.stringMatching(/^\[5\/6\] RUN echo/),
      // dockerd's legacy builder adds the request's labels as a last step.
      "[6/6] LABEL org.example.built-by=test",
    ]);
    expect(steps.filter((s) => s.state === "done")).toHaveLength(6);
    const runStep = steps.find((s) => s.name.startsWith("[5/6]"))?.id;
    expect(events.some((e) => e.type === "output" && e.id === runStep && e.text === "built hello\n")).toBe(true);

    const again: BuildProgress[] = [];
    const second = await engine.buildImage({ contextDir: ctx, tags: [`docker.io/library/${tag}`], buildArgs: { GREETING: "hello", FROMENV: "from-env" }, target: "base", labels: { "org.example.built-by": "test" }, network: "none", onProgress: (p) => again.push(p) });
    expect(second.imageId).toBe(result.imageId);
    expect(again.filter((e) => e.type === "step" && e.state === "cached").map((e) => (e as { name: string }).name)).toContain("[4/6] COPY . /ctx/");
    // Editing an ignored file changes nothing; editing a sent one re-runs from its COPY.
    await writeFile(join(ctx, "secret.txt"), "still not sent\n");
    expect((await engine.buildImage({ contextDir: ctx, tags: [`docker.io/library/${tag}`], buildArgs: { GREETING: "hello", FROMENV: "from-env" }, target: "base", labels: { "org.example.built-by": "test" }, network: "none" })).imageId).toBe(result.imageId);
    await writeFile(join(ctx, "a.txt"), "alpha 2\n");
    expect((await engine.buildImage({ contextDir: ctx, tags: [`docker.io/library/${tag}`], buildArgs: { GREETING: "hello", FROMENV: "from-env" }, target: "base", labels: { "org.example.built-by": "test" }, network: "none" })).imageId).not.toBe(result.imageId);
    await d().docker(["rmi", tag, `${prefix}-app:extra`]);
  }, 180_000);

  it("builds dockerfile_inline and a Dockerfile outside the context", async () => {
    const ctx = await context("inline", { "data.txt": "inline data\n", "../elsewhere/Other.Dockerfile": "FROM busybox\nCOPY data.txt /other.txt\n" });
    const tag = `${prefix}-inline`;
    await engine.buildImage({ contextDir: ctx, dockerfileInline: "FROM busybox\nCOPY data.txt /data.txt\nCMD [\"cat\", \"/data.txt\"]\n", tags: [`docker.io/library/${tag}:latest`], network: "none" });
    expect((await d().docker(["run", "--rm", "--network", "none", tag])).stdout).toBe("inline data\n");
    await engine.buildImage({ contextDir: ctx, dockerfile: join(dir, "elsewhere/Other.Dockerfile"), tags: [`docker.io/library/${tag}:other`], network: "none" });
    expect(await run(`${tag}:other`, "cat /other.txt")).toBe("inline data\n");
    await d().docker(["rmi", tag, `${tag}:other`]);
  }, 120_000);

  it("a failing RUN is an invalid error naming Dockerfile:LINE and the step, its output streamed; nothing is tagged", async () => {
    const ctx = await context("fails", { Dockerfile: "FROM busybox\n\nRUN echo before-failing && exit 3\n" });
    const events: BuildProgress[] = [];
    const tag = `${prefix}-fails`;
    const err = await engine.buildImage({ contextDir: ctx, tags: [`docker.io/library/${tag}:latest`], network: "none", onProgress: (p) => events.push(p) }).catch((e: unknown) => e as Error & { kind: string });
    expect(err).toMatchObject({ kind: "invalid", message: expect.stringMatching(/^Dockerfile:3: RUN echo before-failing && exit 3: .*exit code: 3/) as unknown });
    expect(events.some((e) => e.type === "output" && e.text === "before-failing\n")).toBe(true);
    expect(events.some((e) => e.type === "step" && e.state === "error" && e.id === 2)).toBe(true);
    await expect(engine.inspectImage(tag)).resolves.toBeUndefined();
  }, 120_000);

  it("refuses secrets and additional contexts by name (they need BuildKit), and a missing context", async () => {
    const ctx = await context("secrets", { Dockerfile: "FROM busybox\n" });
    await expect(engine.buildImage({ contextDir: ctx, tags: ["x"], secrets: { token: { value: "t" } } })).rejects.toMatchObject({ kind: "invalid", message: expect.stringContaining("build secrets") as unknown });
    await expect(engine.buildImage({ contextDir: ctx, tags: ["x"], additionalContexts: { other: { dir: ctx } } })).rejects.toMatchObject({ kind: "invalid", message: expect.stringContaining("additional_contexts") as unknown });
    await expect(engine.buildImage({ contextDir: join(dir, "absent"), tags: ["x"] })).rejects.toMatchObject({ kind: "not-found" });
  }, 60_000);
});
