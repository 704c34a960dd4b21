// The embedded engine's image builder end to end (engine/build/executor.ts):
// real runc build containers, real overlay snapshots, busybox from the local
// test registry. The built images are run and read back through the Engine
// interface; the progress events count what came from the step cache; the
// engine must leave nothing behind (no container, mount, snapshot, cgroup).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildProgress, BuildRequest, Engine } from "../engine/types.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry, type TestRegistry } from "./fixtures/registry.js";
import { engineWorld, execText, type EngineWorld } from "./support/engine.js";
import { poolOctet } from "./support/pools.js";
import { isRoot, missing } from "./support/requires.js";
import { BUILD_LABEL } from "../model/labels.js";

const skip = missing("root", isRoot);

describe.skipIf(skip)("embedded builder", () => {
  let registry: TestRegistry;
  let w: EngineWorld;
  let engine: Engine;
  let n = 0;
  const images: string[] = [];

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(registry, "busybox");
    w = await engineWorld({ mirror: registry.url, poolOctet: poolOctet("build-exec") });
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

  it("the step cache: a rebuild re-runs only the steps from the COPY of the edited file on; --no-cache runs them all", async () => {
    const dir = await context({
      "a.txt": "a1\n",
      "b.txt": "b1\n",
      Dockerfile: "FROM busybox\nRUN echo one > /one\nCOPY a.txt /a.txt\nRUN cat /a.txt > /copy-of-a\nCOPY b.txt /b.txt\nRUN cat /b.txt > /copy-of-b\nCMD [\"cat\", \"/copy-of-b\"]\n",
    });
    const first = await build({ contextDir: dir });
    expect(stepNames(first.events, "cached")).toEqual([]);
    expect(stepNames(first.events, "done").slice(0, 4)).toEqual(["[internal] load build definition from Dockerfile", "[internal] load .dockerignore", "[internal] load metadata for docker.io/library/busybox:latest", "[1/6] FROM docker.io/library/busybox:latest"]);
    const again = await build({ contextDir: dir });
    expect(again.id).toBe(first.id);
    expect(stepNames(again.events, "cached")).toEqual(["[2/6] RUN echo one > /one", "[3/6] COPY a.txt /a.txt", "[4/6] RUN cat /a.txt > /copy-of-a", "[5/6] COPY b.txt /b.txt", "[6/6] RUN cat /b.txt > /copy-of-b"]);

    await writeFile(join(dir, "b.txt"), "b2\n");
    const edited = await build({ contextDir: dir });
    expect(stepNames(edited.events, "cached")).toEqual(["[2/6] RUN echo one > /one", "[3/6] COPY a.txt /a.txt", "[4/6] RUN cat /a.txt > /copy-of-a"]);
    expect(stepNames(edited.events, "done")).toEqual(expect.arrayContaining(["[5/6] COPY b.txt /b.txt", "[6/6] RUN cat /b.txt > /copy-of-b"]));
    expect(await runIn(edited.id, ["cat", "/copy-of-a", "/copy-of-b"])).toBe("a1\nb2\n");

    const fresh = await build({ contextDir: dir, noCache: true });
    expect(stepNames(fresh.events, "cached")).toEqual([]);
    expect(stepNames(fresh.events, "done").filter((name) => /^\[\d\/6\]/.test(name))).toHaveLength(6);
  }, 300_000);

  it("a RUN that fails: BuildKit's message with Dockerfile:LINE, its output shown, no image, nothing left", async () => {
    const dir = await context({ Dockerfile: "FROM busybox\nRUN echo about to fail\nRUN echo failing output && exit 3\nRUN echo never\n" });
    const events: BuildProgress[] = [];
    const err = await engine.buildImage({ contextDir: dir, tags: [`tscompose-test/fail-${process.pid}:latest`], onProgress: (p) => events.push(p) }).then(
      () => undefined,
      (e: unknown) => e as Error & { kind?: string },
    );
    expect(err?.message).toContain('process "/bin/sh -c echo failing output && exit 3" did not complete successfully: exit code: 3');
    expect(err?.message).toContain("Dockerfile:3");
    expect(err?.kind).toBe("invalid");
    expect(events.some((e) => e.type === "output" && e.text === "failing output\n")).toBe(true);
    expect(events.some((e) => e.type === "step" && e.state === "error" && e.name === "[3/4] RUN echo failing output && exit 3")).toBe(true);
    expect(await engine.inspectImage(`tscompose-test/fail-${process.pid}:latest`)).toBeUndefined();
    expect(await engine.listContainers({ all: true })).toEqual([]);
  }, 300_000);

  it("a RUN's output arrives while it runs; an aborted build stops the RUN and leaves no container", async () => {
    const dir = await context({ Dockerfile: "FROM busybox\nRUN echo started && sleep 600\n" });
    const ac = new AbortController();
    // The abort follows the step's first line: the build would otherwise run for 10 minutes.
    const p = engine.buildImage({ contextDir: dir, tags: [], signal: ac.signal, onProgress: (e) => {
      if (e.type === "output" && e.text === "started\n") ac.abort();
    } });
    await expect(p).rejects.toThrow(/cancelled/);
    expect(await engine.listContainers({ all: true })).toEqual([]);
  }, 300_000);

  it("RUN --mount: a cache dir persists between builds; a secret is readable in the step and not left in the image", async () => {
    const secretFile = join(await mkdtemp(join(w.dir, "secret-")), "token");
    await writeFile(secretFile, "s3cret\n");
    const dockerfile = (marker: string) => `FROM busybox
RUN --mount=type=cache,target=/var/cache/app,id=app-${process.pid} echo ${marker} >> /var/cache/app/log && cat /var/cache/app/log > /seen
RUN --mount=type=secret,id=token cat /run/secrets/token > /copied-secret-len-check && wc -c < /run/secrets/token > /secret-size && rm /copied-secret-len-check
RUN --mount=type=secret,id=word,env=WORD test "$WORD" = v4lue && echo env-ok > /env-ok
RUN --mount=type=tmpfs,target=/scratch echo x > /scratch/x && ls /scratch > /tmpfs-ls
`;
    const dir = await context({ Dockerfile: dockerfile("first") });
    const one = await build({ contextDir: dir, secrets: { token: { file: secretFile }, word: { value: "v4lue" } } });
    expect(await runIn(one.id, ["cat", "/seen"])).toBe("first\n");
    await writeFile(join(dir, "Dockerfile"), dockerfile("second"));
    const two = await build({ contextDir: dir, secrets: { token: { file: secretFile }, word: { value: "v4lue" } } });
    expect(await runIn(two.id, ["cat", "/seen", "/secret-size", "/env-ok", "/tmpfs-ls"])).toBe("first\nsecond\n7\nenv-ok\nx\n");
    // Neither the secret, its mount point, nor the cache or tmpfs mount points are in the image.
    expect(await runIn(two.id, ["sh", "-c", "ls -d /run/secrets /run/secrets/token /var/cache/app /scratch 2>&1; true"])).not.toMatch(/^\/(run|var|scratch)\S*$/m);
  }, 300_000);

  it("hostile contexts: a symlink out of the context is copied as a link, never followed; COPY ../ is docker's error", async () => {
    const outside = await mkdtemp(join(w.dir, "outside-"));
    await writeFile(join(outside, "host-secret"), "host data\n");
    const dir = await context({ "ok.txt": "ok\n", Dockerfile: "FROM busybox\nCOPY . /ctx/\n" });
    await symlink(join(outside, "host-secret"), join(dir, "link-out"));
    const { id } = await build({ contextDir: dir });
    // Positive control: the regular file is there; the link is a link to a path that does not exist in the image.
    expect(await runIn(id, ["sh", "-c", `cat /ctx/ok.txt; readlink /ctx/link-out; cat /ctx/link-out 2>/dev/null || echo unreadable`])).toBe(`ok\n${join(outside, "host-secret")}\nunreadable\n`);

    const escape = await context({ Dockerfile: "FROM busybox\nCOPY ../outside.txt /x\n" });
    await expect(engine.buildImage({ contextDir: escape, tags: [] })).rejects.toThrow(/forbidden path outside the build context|not found/);
  }, 300_000);

  it("hostile ADD: a tar with ../ entries or an absolute link out is refused; nothing outside the root is written", async () => {
    const dir = await context({ Dockerfile: "FROM busybox\nADD evil.tar /dest/\n" });
    const marker = join(w.dir, `escaped-${process.pid}`);
    // ../ entries: built with Python's tarfile (GNU tar refuses to write them).
    execFileSync("python3", ["-c", `
import tarfile, io
t = tarfile.open(${JSON.stringify(join(dir, "evil.tar"))}, "w")
data = b"escaped\\n"
info = tarfile.TarInfo("../../../../../../../../..${marker}")
info.size = len(data)
t.addfile(info, io.BytesIO(data))
t.close()
`]);
    await expect(engine.buildImage({ contextDir: dir, tags: [] })).rejects.toThrow(/Dockerfile:2/);
    expect(existsSync(marker)).toBe(false);

    const links = await context({ Dockerfile: "FROM busybox\nADD links.tar /dest/\n" });
    execFileSync("python3", ["-c", `
import tarfile, io
t = tarfile.open(${JSON.stringify(join(links, "links.tar"))}, "w")
l = tarfile.TarInfo("out")
l.type = tarfile.SYMTYPE
l.linkname = ${JSON.stringify(w.dir)}
t.addfile(l)
data = b"through the link\\n"
f = tarfile.TarInfo("out/written")
f.size = len(data)
t.addfile(f, io.BytesIO(data))
t.close()
`]);
    await expect(engine.buildImage({ contextDir: links, tags: [] })).rejects.toThrow(/Dockerfile:2/);
    expect(existsSync(join(w.dir, "written"))).toBe(false);
  }, 300_000);

  it("a build container cannot write to the host: its writes land in the image only", async () => {
    const name = `tscompose-build-probe-${process.pid}`;
    const dir = await context({ Dockerfile: `FROM busybox\nRUN echo inside > /tmp/${name} && (echo x > /proc/sysrq-trigger; true) && (mount -t tmpfs none /mnt 2>/dev/null && echo mounted > /tmp/mount-result || echo refused > /tmp/mount-result)\n` });
    const { id } = await build({ contextDir: dir });
    expect(await runIn(id, ["cat", `/tmp/${name}`, "/tmp/mount-result"])).toBe("inside\nrefused\n");
    expect(existsSync(`/tmp/${name}`)).toBe(false);
  }, 300_000);

  it("a RUN that changes no file adds no layer, as BuildKit (an empty_layer history entry)", async () => {
    const dir = await context({ Dockerfile: "FROM busybox\nRUN true\nRUN --mount=type=tmpfs,target=/scratch echo x > /scratch/x\n" });
    const { id } = await build({ contextDir: dir });
    const base = await engine.inspectImage("busybox");
    expect((await engine.inspectImage(id))?.layers?.map((l) => l.chainId)).toEqual(base?.layers?.map((l) => l.chainId));
    // Positive control: a RUN that writes adds one.
    await writeFile(join(dir, "Dockerfile"), "FROM busybox\nRUN echo x > /x\n");
    const { id: written } = await build({ contextDir: dir });
    expect((await engine.inspectImage(written))?.layers).toHaveLength((base?.layers?.length ?? 0) + 1);
  }, 300_000);

  it("what a build killed with the daemon left (a RUN container, labelled; a staging dir) is removed when the engine opens again", async () => {
    await build({ contextDir: await context({ Dockerfile: "FROM busybox\nRUN echo cached > /f\n" }) });
    // Stands in for the RUN container of a build whose daemon was killed: the same label, running.
    const c = await engine.createContainer(w.spec({ cmd: ["sleep", "600"], labels: { [BUILD_LABEL]: "run" } }));
    await engine.startContainer(c.id);
    const other = await engine.createContainer(w.spec({ cmd: ["true"] }));
    // And a COPY step's staging dir; the step cache beside it is kept.
    const staging = join(w.stateDir, "build", "tmp-left");
    await mkdir(join(staging, "src"), { recursive: true });
    engine = await w.reopen();
    expect((await engine.listContainers({ all: true })).map((x) => x.id)).toEqual([other.id]);
    expect(existsSync(staging)).toBe(false);
    expect(existsSync(join(w.stateDir, "build", "cache"))).toBe(true);
    await engine.removeContainer(other.id, { force: true });
  }, 300_000);

  it("a step's upper dir becomes its layer as it is: a later RUN's deletions (whiteouts) and replaced directories (opaque) hold in containers of the image", async () => {
    const dir = await context({ Dockerfile: "FROM busybox\nRUN mkdir -p /d/sub && echo a > /d/sub/a && echo keep > /keep && echo gone > /gone\nRUN rm /gone && rm -rf /d && mkdir /d && echo new > /d/new && rm /bin/vi\n" });
    const { id } = await build({ contextDir: dir });
    expect(await runIn(id, ["sh", "-c", "ls /d; cat /keep; ls /gone /d/sub /bin/vi 2>&1 | wc -l"])).toBe("new\nkeep\n3\n");
    // The same files after the engine reopens (the adopted layers are the snapshotter's, recorded).
    engine = await w.reopen();
    expect(await runIn(id, ["sh", "-c", "ls /d; cat /keep"])).toBe("new\nkeep\n");
  }, 300_000);
});
