// The embedded engine's image builder end to end (engine/build/executor.ts):
// real runc build containers, real overlay snapshots, busybox from the local
// test registry. The built images are run and read back through the Engine
// interface; the progress events count what came from the step cache; the
// engine must leave nothing behind (no container, mount, snapshot, cgroup).
import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildProgress, BuildRequest, Engine } from "../engine/types.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry, type TestRegistry } from "./fixtures/registry.js";
import { engineWorld, execText, type EngineWorld } from "./support/engine.js";
import { missing } from "./support/requires.js";

const skip = missing("root", process.getuid?.() === 0);

describe.skipIf(skip)("embedded builder", () => {
  let registry: TestRegistry;
  let w: EngineWorld;
  let engine: Engine;
  let n = 0;
  const images: string[] = [];

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(registry, "busybox");
    w = await engineWorld({ mirror: registry.url, poolOctet: 231 });
    engine = w.engine;
  }, 120_000);

  afterAll(async () => {
    try {
      if (w) {
        for (const id of images) await engine.removeImage(id, { force: true }).catch(() => undefined);
        expect(await w.cleanupAndFindLeaks()).toEqual([]);
      }
    } finally {
      await registry?.stop();
    }
  }, 120_000);

  /** A context directory with these files (content, or [content, mode]). */
  async function context(files: Record<string, string | [string, number]>): Promise<string> {
    const dir = await mkdtemp(join(w.dir, "ctx-"));
    for (const [name, v] of Object.entries(files)) {
      const [content, mode] = typeof v === "string" ? [v, 0o644] : v;
      await mkdir(join(dir, name, ".."), { recursive: true });
      await writeFile(join(dir, name), content);
      await chmod(join(dir, name), mode);
    }
    return dir;
  }

  async function build(req: Partial<BuildRequest> & { contextDir: string }): Promise<{ id: string; events: BuildProgress[] }> {
    const events: BuildProgress[] = [];
    const tag = `tscompose-test/build-${process.pid}-${++n}:latest`;
    const r = await engine.buildImage({ tags: [tag], ...req, onProgress: (p) => events.push(p) });
    images.push(r.imageId);
    return { id: r.imageId, events };
  }

  /** Runs cmd in a container of the image; returns its stdout. */
  async function runIn(image: string, cmd: string[]): Promise<string> {
    const c = await engine.createContainer(w.spec({ image, cmd: ["sleep", "600"], entrypoint: [], user: "0" }));
    try {
      await engine.startContainer(c.id);
      const r = await execText(engine, c.id, cmd);
      expect(r.stderr).toBe("");
      return r.stdout;
    } finally {
      await engine.removeContainer(c.id, { force: true });
    }
  }

  const stepNames = (events: BuildProgress[], state: string): string[] => events.flatMap((e) => (e.type === "step" && e.state === state ? [e.name] : []));

  it("a multi-stage Dockerfile: RUN, COPY (--from, --chown, --chmod, globs, .dockerignore), ADD of a tar, heredocs and the config steps", async () => {
    const dir = await context({
      "app/main.sh": ["#!/bin/sh\necho main\n", 0o755],
      "app/lib.txt": "lib\n",
      "app/secret.key": "ignored\n",
      "notes/a.md": "a\n",
      "notes/b.md": "b\n",
      "notes/c.txt": "c\n",
      ".dockerignore": "app/*.key\n",
      Dockerfile: `FROM busybox AS build
ARG GREETING=hello
RUN mkdir -p /out && echo "$GREETING from build" > /out/greeting && echo built
RUN <<EOF
echo heredoc-run > /out/heredoc
EOF

FROM busybox
ENV APP_HOME=/srv/app MODE=prod
WORKDIR $APP_HOME
COPY app/ ./
COPY --chown=1000:1000 --chmod=0640 notes/*.md /srv/docs/
COPY --from=build /out/greeting /out/heredoc /srv/from-build/
ADD files.tar /srv/unpacked/
COPY <<EOF /srv/inline.txt
inline $MODE
EOF
USER 1000
LABEL org.example.kind=test
EXPOSE 8080
HEALTHCHECK --interval=5s CMD true
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["./main.sh"]
`,
    });
    await mkdir(join(dir, "tarsrc/inner"), { recursive: true });
    await writeFile(join(dir, "tarsrc/inner/t.txt"), "from tar\n");
    execFileSync("tar", ["-cf", join(dir, "files.tar"), "-C", join(dir, "tarsrc"), "--owner=123", "--group=456", "inner"]);

    const { id, events } = await build({ contextDir: dir, buildArgs: { GREETING: "hi" } });
    const info = await engine.inspectImage(id);
    expect(info?.config.workingDir).toBe("/srv/app");
    expect(info?.config.env).toEqual(expect.arrayContaining(["APP_HOME=/srv/app", "MODE=prod"]));
    expect(info?.config.user).toBe("1000");
    expect(info?.config.entrypoint).toEqual(["/bin/sh", "-c"]);
    expect(info?.config.cmd).toEqual(["./main.sh"]);
    expect(info?.config.labels).toMatchObject({ "org.example.kind": "test" });
    expect(info?.config.exposedPorts).toEqual(["8080/tcp"]);
    expect(info?.config.healthcheck?.test).toEqual(["CMD-SHELL", "true"]);
    expect(events.some((e) => e.type === "output" && e.text === "built\n")).toBe(true);
    expect(stepNames(events, "done")).toContain('[build 2/3] RUN mkdir -p /out && echo "$GREETING from build" > /out/greeting && echo built');

    const listing = await runIn(id, ["sh", "-c", "cd /srv && ls -ln app/main.sh app/lib.txt docs/*.md unpacked/inner/t.txt | awk '{print $1, $3, $4, $NF}'; ls app; cat from-build/greeting from-build/heredoc inline.txt unpacked/inner/t.txt; ./app/main.sh"]);
    expect(listing).toContain("-rwxr-xr-x 0 0 app/main.sh");
    expect(listing).toContain("-rw-r----- 1000 1000 docs/a.md");
    expect(listing).toContain("-rw-r----- 1000 1000 docs/b.md");
    expect(listing).toContain("-rw-r--r-- 123 456 unpacked/inner/t.txt");
    expect(listing).not.toContain("secret.key");
    expect(listing).not.toContain("c.txt");
    expect(listing).toContain("hi from build\nheredoc-run\ninline prod\nfrom tar\nmain\n");
  }, 300_000);
});
