// The Engine conformance suite: behaviour every Engine implementation shares
// (engine/types.ts), checked through the interface alone, as containerd runs
// one suite against every snapshotter. It runs against the FakeEngine (a fast
// unit test, engine/testsuite/fake-engine.test.ts) and the embedded engine
// (root, runc, a real local registry: test/engine-conformance.test.ts), so the
// fake that the reconciler's tests use is held to the real engine's contract.
//
// Containers run busybox commands that fake-shell.ts also understands. Each
// test labels what it creates and removes it afterwards, so one engine serves
// the whole suite and the tests do not depend on each other's order.
import { createReadStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import tar from "tar-stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { kindOf } from "../errors.js";
import type { ErrorKind } from "../errors.js";
import type { ContainerSpec, Engine, EngineCapabilities, EngineEvent } from "../types.js";
import { collector } from "./collector.js";
import { eventually } from "../../test/support/wait.js";
import { VOLUME_LABEL } from "../../model/labels.js";

export interface EngineHarness {
  engine: Engine;
  /** A complete ContainerSpec of the image `busybox` (which the engine can pull), with a unique name. */
  spec(over?: Partial<ContainerSpec>): ContainerSpec;
  /** A unique network or volume name. */
  name(base: string): string;
  /** A host directory the suite may write to. */
  hostDir: string;
  /** Removes whatever the engine still holds and closes it (after the suite). */
  cleanup(): Promise<void>;
}

/** Label on every object a test creates; afterEach removes them by it. */
const SUITE_LABEL = "org.tscompose.conformance";
// busybox sh as PID 1 ignores SIGTERM unless it traps it; "ready" says the trap is set
// (a signal sent before that is ignored: see waitReady).
const SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; echo ready; sleep 3600 & wait"];
const STUBBORN = ["sleep", "3600"];

/** p rejects with an error of that kind (engine/errors.ts: the one vocabulary every engine speaks). */
export async function expectErrorKind(p: Promise<unknown>, kind: ErrorKind): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a "${kind}" error`).toBeInstanceOf(Error);
  expect(kindOf(err)).toBe(kind);
}

/** The regular files of a tar, by name, with their content. */
async function tarFiles(path: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const extract = tar.extract();
  createReadStream(path).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    if (entry.header.type === "file") out[entry.header.name] = Buffer.concat(chunks).toString("utf8");
  }
  return out;
}


export function engineConformance(name: string, makeEngine: () => Promise<EngineHarness>, opts: { skip?: boolean } = {}): void {
  describe.skipIf(opts.skip === true)(`Engine conformance: ${name}`, () => {
    let h: EngineHarness;
    let engine: Engine;
    const events: EngineEvent[] = [];
    let unsubscribe = (): void => undefined;
    let testLabel = "";
    let n = 0;

    const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec => h.spec({ ...over, labels: { [SUITE_LABEL]: testLabel, ...over.labels } });
    const run = async (over: Partial<ContainerSpec>): Promise<string> => {
      const c = await engine.createContainer(spec(over));
      await engine.startContainer(c.id);
      return c.id;
    };
    /** Waits for the "ready" line of a container whose trap must be in place before it is signalled. */
    const waitReady = async (id: string): Promise<string> => {
      for await (const e of engine.logs(id, { follow: true })) if (e.line === "ready") return id;
      throw new Error(`container ${id} ended before it said ready`);
    };
    const lines = async (id: string, stream?: "stdout" | "stderr"): Promise<string[]> => {
      const out: string[] = [];
      for await (const e of engine.logs(id)) if (stream === undefined || e.stream === stream) out.push(e.line);
      return out;
    };
    /** What this engine declares it can do where engines differ (all, when it declares nothing). */
    const caps = (): EngineCapabilities => engine.capabilities ?? { addressesAtCreate: true, labelledAnonymousVolumes: true };
    const actions = (id: string): string[] => events.filter((e) => e.type === "container" && e.id === id).map((e) => (e as { action: string }).action);

    beforeAll(async () => {
      h = await makeEngine();
      engine = h.engine;
      unsubscribe = engine.onEvent((e) => events.push(e));
      await engine.pullImage("busybox");
    }, 180_000);

    afterAll(async () => {
      unsubscribe();
      await h?.cleanup();
    }, 120_000);

    afterEach(async () => {
      const mine = { [SUITE_LABEL]: testLabel };
      for (const c of await engine.listContainers({ all: true, labels: mine })) await engine.removeContainer(c.id, { force: true, volumes: true });
      for (const net of await engine.listNetworks({ labels: mine })) await engine.removeNetwork(net.name);
      for (const v of await engine.listVolumes({ labels: mine })) await engine.removeVolume(v.name);
      testLabel = `t${++n}`;
    });
    testLabel = `t${n}`;

    describe("containers", () => {
      it("a created container is listed with -a and by its labels, found by name and by id prefix", async () => {
        const s = spec({ cmd: ["true"], labels: { "com.example.role": "db" } });
        const c = await engine.createContainer(s);
        expect(c).toMatchObject({ name: s.name, image: "busybox", state: "created", exitCode: undefined, command: ["true"] });
        expect(c.labels).toMatchObject({ "com.example.role": "db" });
        expect(c.id).toMatch(/^[0-9a-f]{64}$/);
        expect(actions(c.id)).toEqual(["create"]);
        expect((await engine.inspectContainer(s.name))?.id).toBe(c.id);
        expect((await engine.inspectContainer(c.id.slice(0, 12)))?.name).toBe(s.name);
        expect((await engine.listContainers()).map((x) => x.id)).not.toContain(c.id);
        expect((await engine.listContainers({ all: true, labels: { "com.example.role": "db", [SUITE_LABEL]: testLabel } })).map((x) => x.id)).toEqual([c.id]);
        expect((await engine.listContainers({ all: true, labels: { "com.example.role": undefined, [SUITE_LABEL]: testLabel } })).map((x) => x.id)).toEqual([c.id]);
        expect(await engine.listContainers({ all: true, labels: { "com.example.role": "web", [SUITE_LABEL]: testLabel } })).toEqual([]);
        expect((await engine.listContainers({ all: true, name: s.name })).map((x) => x.id)).toEqual([c.id]);
      });

      it("tty and openStdin are the container's own in inspect and list, as docker's Config.Tty and OpenStdin (attach needs no stack file)", async () => {
        const term = await engine.createContainer(spec({ cmd: ["sh"], tty: true, openStdin: true }));
        const plain = await engine.createContainer(spec({ cmd: ["true"] }));
        expect(term).toMatchObject({ tty: true, openStdin: true });
        expect(await engine.inspectContainer(term.id)).toMatchObject({ tty: true, openStdin: true });
        expect(await engine.inspectContainer(plain.id)).toMatchObject({ tty: false, openStdin: false });
        const listed = await engine.listContainers({ all: true, labels: { [SUITE_LABEL]: testLabel } });
        expect(Object.fromEntries(listed.map((c) => [c.id, [c.tty, c.openStdin]]))).toEqual({ [term.id]: [true, true], [plain.id]: [false, false] });
      });

      it("an exit code comes back from wait, inspect and the die event; stdout and stderr stay apart", async () => {
        const id = await run({ cmd: ["sh", "-c", "echo out; echo err >&2; exit 3"] });
        expect(await engine.waitContainer(id)).toEqual({ exitCode: 3, oomKilled: false });
        const info = await engine.inspectContainer(id);
        expect(info).toMatchObject({ state: "exited", exitCode: 3, oomKilled: false });
        expect(info?.startedAt).toBeTypeOf("string");
        expect(info?.finishedAt).toBeTypeOf("string");
        expect(actions(id)).toEqual(["create", "start", "die"]);
        expect(events.find((e) => e.type === "container" && e.id === id && e.action === "die")).toMatchObject({ exitCode: 3 });
        expect(await lines(id, "stdout")).toEqual(["out"]);
        expect(await lines(id, "stderr")).toEqual(["err"]);
      });

      it("a running container is listed without -a; stop ends it with its stop signal, and stopping it again is fine", async () => {
        const id = await waitReady(await run({ cmd: SLEEPER }));
        expect((await engine.inspectContainer(id))?.state).toBe("running");
        expect((await engine.listContainers({ labels: { [SUITE_LABEL]: testLabel } })).map((c) => c.id)).toEqual([id]);
        await engine.stopContainer(id, { timeoutMs: 10_000 });
        expect(await engine.inspectContainer(id)).toMatchObject({ state: "exited", exitCode: 0, stopRequested: true });
        expect(actions(id)).toEqual(["create", "start", "kill", "die", "stop"]);
        await engine.stopContainer(id);
        expect((await engine.inspectContainer(id))?.state).toBe("exited");
      });

      it("stop kills a container that ignores its signal once the grace period is over (exit 137)", async () => {
        const id = await run({ cmd: STUBBORN });
        await engine.stopContainer(id, { timeoutMs: 300 });
        expect(await engine.inspectContainer(id)).toMatchObject({ state: "exited", exitCode: 137 });
      });

      it("kill sends SIGKILL by default and returns once the container is gone; a stopped one is not running", async () => {
        const id = await run({ cmd: STUBBORN });
        await engine.killContainer(id);
        expect(await engine.inspectContainer(id)).toMatchObject({ state: "exited", exitCode: 137 });
        await expectErrorKind(engine.killContainer(id), "conflict");
      });

      it("kill with a trapped signal lets the container end by itself", async () => {
        const id = await waitReady(await run({ cmd: ["sh", "-c", "trap 'exit 5' USR1; echo ready; sleep 3600 & wait"] }));
        await engine.killContainer(id, "SIGUSR1");
        expect(await engine.waitContainer(id)).toEqual({ exitCode: 5, oomKilled: false });
      });

      it("pause and unpause move between running and paused, and refuse the wrong state", async () => {
        const id = await run({ cmd: SLEEPER });
        await engine.pauseContainer(id);
        expect((await engine.inspectContainer(id))?.state).toBe("paused");
        await expectErrorKind(engine.pauseContainer(id), "conflict");
        await expectErrorKind(engine.exec(id, { cmd: ["true"] }), "conflict");
        await expectErrorKind(engine.startContainer(id), "conflict");
        await engine.unpauseContainer(id);
        expect((await engine.inspectContainer(id))?.state).toBe("running");
        await expectErrorKind(engine.unpauseContainer(id), "conflict");
        expect(actions(id)).toEqual(["create", "start", "pause", "unpause"]);
        await engine.stopContainer(id);
        await expectErrorKind(engine.pauseContainer(id), "conflict");
      });

      it("a paused container can be stopped", async () => {
        const id = await waitReady(await run({ cmd: SLEEPER }));
        await engine.pauseContainer(id);
        await engine.stopContainer(id, { timeoutMs: 10_000 });
        expect(await engine.inspectContainer(id)).toMatchObject({ state: "exited", exitCode: 0 });
      });

      it("exec runs a command in a running container: its exit code and its output; not in a stopped one", async () => {
        const id = await run({ cmd: SLEEPER });
        const out = collector();
        const err = collector();
        const res = await engine.exec(id, { cmd: ["sh", "-c", "echo hi; echo oops >&2; exit 4"], stdout: out.stream, stderr: err.stream });
        expect(res.exitCode).toBe(4);
        expect(out.text()).toBe("hi\n");
        expect(err.text()).toBe("oops\n");
        await engine.stopContainer(id);
        await expectErrorKind(engine.exec(id, { cmd: ["true"] }), "conflict");
      });

      it("exec reports its exit code only after a slow reader has taken all of its output", async () => {
        const id = await run({ cmd: SLEEPER });
        // About 100 KB in 100 lines: more than a pipe holds, in one argument under the kernel's 128 KiB limit.
        const line = "x".repeat(999);
        const script = Array.from({ length: 100 }, () => `echo ${line}`).join("; ");
        const out = collector({ delayMs: 20 });
        const res = await engine.exec(id, { cmd: ["sh", "-c", script], stdout: out.stream });
        expect(res.exitCode).toBe(0);
        // Read at once: whatever was still queued in front of the reader would be missing here.
        expect(out.text().length).toBe(100 * 1000);
        await engine.removeContainer(id, { force: true });
      });

      it("attach: stdin reaches the main process, output from then on comes back; detaching leaves it running", async () => {
        // `cat` as the main process echoes what arrives on its stdin; "early" is older than any attachment.
        const id = await run({ cmd: ["sh", "-c", "echo early; cat"], openStdin: true });
        await eventually(() => lines(id), (l) => l.includes("early"), 30_000, "the container's first line");
        const first = { out: collector(), err: collector(), stdin: new PassThrough(), abort: new AbortController() };
        const a = await engine.attachContainer(id, { stdin: first.stdin, stdout: first.out.stream, stderr: first.err.stream, signal: first.abort.signal });
        first.stdin.write("one\n");
        await eventually(() => first.out.text(), (t) => t.includes("one\n"), 30_000, "the echo of the first line");
        first.abort.abort();
        await a.ended;
        expect((await engine.inspectContainer(id))?.state).toBe("running");

        // A second client: its line comes back, nothing from before it attached does.
        const out = collector();
        const stdin = new PassThrough();
        const abort = new AbortController();
        const b = await engine.attachContainer(id, { stdin, stdout: out.stream, stderr: collector().stream, signal: abort.signal });
        stdin.write("two\n");
        await eventually(() => out.text(), (t) => t.includes("two\n"), 30_000, "the echo of the second line");
        expect(out.text()).toBe("two\n");
        expect(first.out.text()).toBe("one\n");
        // The container ending ends the attachment.
        await engine.killContainer(id);
        await b.ended;
        await expectErrorKind(engine.attachContainer(id, { stdout: collector().stream, stderr: collector().stream }), "conflict");
      });

      it("attach: every client gets the output; one without stdin only listens; without openStdin it ends with the container", async () => {
        const id = await run({ cmd: ["cat"], openStdin: true });
        const listener = collector();
        const listening = await engine.attachContainer(id, { stdout: listener.stream, stderr: listener.stream });
        const out = collector();
        const stdin = new PassThrough();
        const abort = new AbortController();
        await engine.attachContainer(id, { stdin, stdout: out.stream, stderr: collector().stream, signal: abort.signal });
        stdin.write("hi\n");
        await eventually(() => listener.text(), (t) => t.includes("hi\n"), 30_000, "the echo at the listening client");
        await eventually(() => out.text(), (t) => t.includes("hi\n"), 30_000, "the echo at the writing client");
        abort.abort();
        await engine.stopContainer(id, { timeoutMs: 0 });
        await listening.ended;

        // Without openStdin a client may still attach (its stdin is not read); the container ending ends it.
        const closed = await run({ cmd: ["sh", "-c", "trap 'exit 0' TERM; echo ready; sleep 3600 & wait"] });
        await waitReady(closed);
        const c = await engine.attachContainer(closed, { stdin: new PassThrough(), stdout: collector().stream, stderr: collector().stream });
        await engine.stopContainer(closed);
        await c.ended;
        expect((await engine.waitContainer(closed)).exitCode).toBe(0);
      });

      it("attach with stdinOnce: the end of the client's stdin is the process's (docker run -i)", async () => {
        const id = await run({ cmd: ["cat"], openStdin: true, stdinOnce: true });
        const out = collector();
        const stdin = new PassThrough();
        const a = await engine.attachContainer(id, { stdin, stdout: out.stream, stderr: collector().stream });
        stdin.end("last line\n");
        await a.ended;
        expect(out.text()).toBe("last line\n");
        expect((await engine.waitContainer(id)).exitCode).toBe(0);
      });

      it("an exited container starts again, its log goes on, and starting a running one is fine", async () => {
        const id = await run({ cmd: ["sh", "-c", "echo run; exit 0"] });
        await engine.waitContainer(id);
        await engine.startContainer(id);
        await engine.waitContainer(id);
        expect(await lines(id)).toEqual(["run", "run"]);
        const sleeper = await run({ cmd: SLEEPER });
        await engine.startContainer(sleeper);
        expect((await engine.inspectContainer(sleeper))?.state).toBe("running");
      });

      it("wait resolves when a running container ends, and rejects when its signal aborts", async () => {
        const id = await waitReady(await run({ cmd: SLEEPER }));
        const aborted = new AbortController();
        const gaveUp = engine.waitContainer(id, { signal: aborted.signal });
        aborted.abort();
        await expect(gaveUp).rejects.toThrow();
        const waited = engine.waitContainer(id);
        await engine.stopContainer(id);
        expect(await waited).toEqual({ exitCode: 0, oomKilled: false });
      });

      it("logs: tail, one stream only, and follow until the container ends", async () => {
        const id = await run({ cmd: ["sh", "-c", "echo a; echo b; echo c; echo e >&2; sleep 1; echo d"] });
        const followed: string[] = [];
        for await (const e of engine.logs(id, { follow: true, stdout: true, stderr: false })) followed.push(e.line);
        expect(followed).toEqual(["a", "b", "c", "d"]);
        const tail: string[] = [];
        for await (const e of engine.logs(id, { tail: 2 })) tail.push(e.line);
        expect(tail.length).toBe(2);
        expect(tail).toContain("d");
        for await (const e of engine.logs(id)) {
          expect(e.time).toBeGreaterThan(0);
          expect(Date.parse(e.timestamp)).not.toBeNaN();
        }
      });

      it("remove refuses a running container unless forced; a removed one is gone", async () => {
        const id = await run({ cmd: SLEEPER });
        await expectErrorKind(engine.removeContainer(id), "conflict");
        await engine.removeContainer(id, { force: true });
        expect(await engine.inspectContainer(id)).toBeUndefined();
        expect(actions(id).at(-1)).toBe("destroy");
        const created = await engine.createContainer(spec({ cmd: ["true"] }));
        await engine.removeContainer(created.id);
        expect(await engine.inspectContainer(created.id)).toBeUndefined();
      });

      it("a missing container is not-found for every verb, and undefined for inspect", async () => {
        const missing = "0".repeat(64);
        expect(await engine.inspectContainer(missing)).toBeUndefined();
        await expectErrorKind(engine.startContainer(missing), "not-found");
        await expectErrorKind(engine.stopContainer(missing), "not-found");
        await expectErrorKind(engine.killContainer(missing), "not-found");
        await expectErrorKind(engine.removeContainer(missing, { force: true }), "not-found");
        await expectErrorKind(engine.waitContainer(missing), "not-found");
        await expectErrorKind(engine.exec(missing, { cmd: ["true"] }), "not-found");
      });

      it("names are unique and checked; the image must be there", async () => {
        const s = spec({ cmd: ["true"] });
        await engine.createContainer(s);
        await expectErrorKind(engine.createContainer({ ...s }), "conflict");
        await expectErrorKind(engine.createContainer(spec({ name: "bad/name" })), "invalid");
        await expectErrorKind(engine.createContainer(spec({ image: "tscompose-conformance/absent:1" })), "not-found");
      });

      it("stats and top see a running container's processes", async () => {
        const id = await run({ cmd: SLEEPER });
        const stats = await engine.stats(id);
        expect(stats.time).toBeGreaterThan(0);
        expect(stats.pids).toBeGreaterThanOrEqual(1);
        const top = await engine.top(id);
        expect(top.titles).toContain("PID");
        expect(top.titles.at(-1)).toBe("CMD");
        expect(top.processes.length).toBeGreaterThanOrEqual(1);
      });

      it("a listener gets no events once it unsubscribed", async () => {
        const got: EngineEvent[] = [];
        const off = engine.onEvent((e) => got.push(e));
        const first = await engine.createContainer(spec({ cmd: ["true"] }));
        off();
        await engine.createContainer(spec({ cmd: ["true"] }));
        expect(got.map((e) => (e.type === "container" ? e.id : ""))).toEqual([first.id]);
      });

      it("markRestarting shows an exited container as restarting and counts it; stop ends the wait", async () => {
        // Optional in the interface, but both the fake and the embedded engine have it.
        expect(typeof engine.markRestarting).toBe("function");
        const id = await run({ cmd: ["sh", "-c", "exit 1"] });
        await engine.waitContainer(id);
        await engine.markRestarting!(id);
        expect(await engine.inspectContainer(id)).toMatchObject({ state: "restarting", restartCount: 1 });
        await engine.stopContainer(id);
        expect((await engine.inspectContainer(id))?.state).toBe("exited");
        expect(actions(id)).toEqual(["create", "start", "die", "restart", "stop"]);
      });
    });

    describe("images", () => {
      it("a pulled image is inspected and listed by its normalized reference", async () => {
        const img = await engine.pullImage("busybox");
        expect(img.repoTags).toContain("docker.io/library/busybox:latest");
        expect(img.id).toMatch(/^sha256:[0-9a-f]{64}$/);
        expect((await engine.inspectImage("docker.io/library/busybox:latest"))?.id).toBe(img.id);
        expect((await engine.inspectImage("busybox"))?.id).toBe(img.id);
        expect((await engine.listImages()).map((i) => i.id)).toContain(img.id);
        expect(events.some((e) => e.type === "image" && e.action === "pull" && e.id === img.id)).toBe(true);
      });

      it("a missing image: inspect says undefined, remove not-found, pull fails", async () => {
        expect(await engine.inspectImage("tscompose-conformance/absent:1")).toBeUndefined();
        await expectErrorKind(engine.removeImage("tscompose-conformance/absent:1"), "not-found");
        // Not asserted on a kind yet: the embedded engine fails with a RegistryError (errors owns the translation).
        await expect(engine.pullImage("tscompose-conformance/absent:1")).rejects.toThrow();
      });

      it("buildImage runs a Dockerfile: RUN writes a file, COPY brings one from the context, CMD is the config; a container of the result sees both", async (ctx) => {
        if (caps().imageBuilds !== true) return ctx.skip("this engine does not build images yet");
        const dir = join(h.hostDir, `${testLabel}-build`);
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, "copied.txt"), "from the context\n");
        await writeFile(join(dir, "Dockerfile"), "FROM busybox\nRUN echo from-run > /built.txt\nCOPY copied.txt /srv/copied.txt\nCMD [\"cat\", \"/built.txt\", \"/srv/copied.txt\"]\n");
        const ref = `tscompose-conformance/${h.name("build").toLowerCase()}:v1`;
        const { imageId } = await engine.buildImage({ contextDir: dir, tags: [ref] });
        try {
          const img = await engine.inspectImage(ref);
          expect(img?.id).toBe(imageId);
          expect(img?.config.cmd).toEqual(["cat", "/built.txt", "/srv/copied.txt"]);
          const c = await engine.createContainer(spec({ image: ref, cmd: undefined }));
          await engine.startContainer(c.id);
          expect((await engine.waitContainer(c.id)).exitCode).toBe(0);
          expect(await lines(c.id, "stdout")).toEqual(["from-run", "from the context"]);
          // A failing RUN: "invalid", naming the Dockerfile's line.
          await writeFile(join(dir, "Dockerfile"), "FROM busybox\nRUN exit 3\n");
          const err = await engine.buildImage({ contextDir: dir, tags: [] }).then(() => undefined, (e: unknown) => e);
          expect(kindOf(err)).toBe("invalid");
          expect((err as Error).message).toMatch(/exit code: 3/);
          expect((err as Error).message).toContain("Dockerfile:2");
        } finally {
          for (const c of await engine.listContainers({ all: true, labels: { [SUITE_LABEL]: testLabel } })) await engine.removeContainer(c.id, { force: true });
          await engine.removeImage(imageId, { force: true });
        }
      });

      it("the docker CLI's image verbs: tag, inspect details, save and load back, import", async () => {
        const base = await engine.inspectImage("busybox");
        const ref = `tscompose-conformance/${h.name("tag").toLowerCase()}:v1`;
        const imported = `tscompose-conformance/${h.name("imported").toLowerCase()}:v1`;
        let importedId: string | undefined;
        try {
          await engine.tagImage("busybox", ref);
          expect((await engine.inspectImage(ref))?.id).toBe(base?.id);
          expect((await engine.inspectImageDetails(ref))?.Id).toBe(base?.id);
          expect(await engine.inspectImageDetails("tscompose-conformance/absent:1")).toBeUndefined();
          await expectErrorKind(engine.tagImage("tscompose-conformance/absent:1", ref), "not-found");

          // save, untag, load: the tag is back on the same image.
          const saved: Buffer[] = [];
          const out = new PassThrough();
          out.on("data", (c: Buffer) => saved.push(c));
          await engine.saveImages([ref], out);
          expect(Buffer.concat(saved).length).toBeGreaterThan(0);
          await engine.removeImage(ref);
          expect(await engine.inspectImage(ref)).toBeUndefined();
          const loaded = await engine.loadImages(Readable.from([Buffer.concat(saved)]));
          expect(loaded.join("\n")).toContain(ref.replace(/^docker\.io\//, ""));
          expect((await engine.inspectImage(ref))?.id).toBe(base?.id);
          await expectErrorKind(engine.saveImages(["tscompose-conformance/absent:1"], new PassThrough()), "not-found");

          // import: a root file system tar as an image, with a -c change in its config.
          const pack = tar.pack();
          pack.entry({ name: "hello.txt" }, "imported\n");
          pack.finalize();
          importedId = await engine.importImage(pack.pipe(new PassThrough()), { ref: imported, changes: ['CMD ["cat", "/hello.txt"]'] });
          expect(importedId).toMatch(/^sha256:[0-9a-f]{64}$/);
          const info = await engine.inspectImage(imported);
          expect(info?.id).toBe(importedId);
          expect(info?.config.cmd).toEqual(["cat", "/hello.txt"]);
        } finally {
          await engine.removeImage(ref).catch(() => undefined);
          if (importedId !== undefined) await engine.removeImage(importedId, { force: true }).catch(() => undefined);
        }
      });

      it("an image a container uses is not removed without force", async () => {
        await engine.createContainer(spec({ cmd: ["true"] }));
        await expectErrorKind(engine.removeImage("busybox"), "conflict");
        expect(await engine.inspectImage("busybox")).toBeDefined();
      });
    });

    describe("networks", () => {
      it("create, inspect, list by label, remove; a second one of the same name is a conflict", async () => {
        const name = h.name("net");
        const labels = { [SUITE_LABEL]: testLabel, "com.example.tier": "back" };
        const net = await engine.createNetwork({ name, labels, driver: "bridge", internal: false, subnet: undefined, gateway: undefined });
        expect(net).toMatchObject({ name, driver: "bridge", labels, internal: false });
        expect(net.subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
        expect((await engine.inspectNetwork(name))?.id).toBe(net.id);
        expect((await engine.listNetworks({ labels: { "com.example.tier": "back", [SUITE_LABEL]: testLabel } })).map((x) => x.name)).toEqual([name]);
        expect(await engine.listNetworks({ labels: { "com.example.tier": "front", [SUITE_LABEL]: testLabel } })).toEqual([]);
        await expectErrorKind(engine.createNetwork({ name, labels, driver: "bridge", internal: false, subnet: undefined, gateway: undefined }), "conflict");
        await engine.removeNetwork(name);
        expect(await engine.inspectNetwork(name)).toBeUndefined();
        await expectErrorKind(engine.removeNetwork(name), "not-found");
        const seen = events.filter((e) => e.type === "network" && e.name === name).map((e) => (e as { action: string }).action);
        expect(seen).toEqual(["create", "destroy"]);
      });

      it("a container joins a network with its aliases; the network is in use until the container goes", async () => {
        const name = h.name("net");
        await engine.createNetwork({ name, labels: { [SUITE_LABEL]: testLabel }, driver: "bridge", internal: false, subnet: undefined, gateway: undefined });
        const c = await engine.createContainer(spec({ cmd: SLEEPER, networkMode: "bridge", networks: { [name]: { aliases: ["db"], ipv4Address: undefined } } }));
        expect(c.networks[name]?.aliases).toContain("db");
        // dockerd hands out the address at start; the embedded engine and the fake at create.
        if (!caps().addressesAtCreate) await engine.startContainer(c.id);
        const info = caps().addressesAtCreate ? c : await engine.inspectContainer(c.id);
        expect(info?.networks[name]?.ipAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        await expectErrorKind(engine.removeNetwork(name), "conflict");
        await engine.removeContainer(c.id, { force: true });
        await engine.removeNetwork(name);
      });

      it("connect and disconnect show in the container's networks at once (inspect and list)", async () => {
        const one = h.name("net");
        const two = h.name("net");
        for (const name of [one, two]) await engine.createNetwork({ name, labels: { [SUITE_LABEL]: testLabel }, driver: "bridge", internal: false, subnet: undefined, gateway: undefined });
        const c = await engine.createContainer(spec({ cmd: ["true"], networkMode: "bridge", networks: { [one]: { aliases: [], ipv4Address: undefined } } }));
        const networksOf = async (): Promise<string[]> => Object.keys((await engine.inspectContainer(c.id))?.networks ?? {}).sort();
        expect(await networksOf()).toEqual([one]);
        await engine.connectNetwork(two, c.id, { aliases: ["extra"] });
        expect(await networksOf()).toEqual([one, two].sort());
        expect((await engine.inspectContainer(c.id))?.networks[two]?.aliases).toContain("extra");
        const listed = (await engine.listContainers({ all: true, labels: { [SUITE_LABEL]: testLabel } })).find((x) => x.id === c.id);
        expect(Object.keys(listed?.networks ?? {}).sort()).toEqual([one, two].sort());
        await engine.disconnectNetwork(two, c.id);
        expect(await networksOf()).toEqual([one]);
        await engine.removeContainer(c.id);
        for (const name of [one, two]) await engine.removeNetwork(name);
      });

      it("a container on a missing network is not created", async () => {
        const missing = h.name("absent");
        await expectErrorKind(engine.createContainer(spec({ cmd: ["true"], networkMode: "bridge", networks: { [missing]: { aliases: [], ipv4Address: undefined } } })), "not-found");
        expect(await engine.listContainers({ all: true, labels: { [SUITE_LABEL]: testLabel } })).toEqual([]);
      });
    });

    describe("volumes", () => {
      it("create (again: the same volume), inspect, list by label, remove; a missing one is not-found", async () => {
        const name = h.name("vol");
        const labels = { [SUITE_LABEL]: testLabel, "com.example.keep": "yes" };
        const v = await engine.createVolume({ name, labels });
        expect(v).toMatchObject({ name, driver: "local", labels });
        expect((await engine.createVolume({ name, labels })).createdAt).toBe(v.createdAt);
        expect((await engine.inspectVolume(name))?.mountpoint).toBe(v.mountpoint);
        expect((await engine.listVolumes({ labels: { "com.example.keep": undefined, [SUITE_LABEL]: testLabel } })).map((x) => x.name)).toEqual([name]);
        await engine.removeVolume(name);
        expect(await engine.inspectVolume(name)).toBeUndefined();
        await expectErrorKind(engine.removeVolume(name), "not-found");
        const seen = events.filter((e) => e.type === "volume" && e.name === name).map((e) => (e as { action: string }).action);
        expect(seen).toEqual(["create", "create", "destroy"]);
      });

      it("a volume a container mounts is in use until the container is removed", async () => {
        const name = h.name("vol");
        await engine.createVolume({ name, labels: { [SUITE_LABEL]: testLabel } });
        const c = await engine.createContainer(spec({ cmd: ["true"], mounts: [{ type: "volume", source: name, target: "/data", readOnly: false }] }));
        expect(c.volumes).toEqual([name]);
        await expectErrorKind(engine.removeVolume(name), "conflict");
        await engine.removeContainer(c.id);
        await engine.removeVolume(name);
      });

      it("an anonymous volume belongs to its container and goes with it on remove -v", async () => {
        const c = await engine.createContainer(spec({ cmd: ["true"], mounts: [{ type: "volume", source: undefined, target: "/data", readOnly: false }] }));
        const volume = c.anonymousVolumes?.[0]?.name as string;
        expect(c.anonymousVolumes).toEqual([{ name: volume, target: "/data" }]);
        const mine = { "com.docker.volume.anonymous": c.id };
        // dockerd 20.10 does not label its anonymous volumes (24 does): they are known by the container's record there.
        if (caps().labelledAnonymousVolumes) expect((await engine.listVolumes({ labels: mine })).map((v) => v.name)).toEqual([volume]);
        expect(await engine.inspectVolume(volume)).toBeDefined();
        await engine.removeContainer(c.id, { volumes: true });
        expect(await engine.listVolumes({ labels: mine })).toEqual([]);
        expect(await engine.inspectVolume(volume)).toBeUndefined();
      });

      it("remove with handOver keeps the anonymous volumes, labelled for the replacement, which takes them and the labels go", async () => {
        const key = `${testLabel}/db/1`;
        const old = await engine.createContainer(spec({ cmd: ["true"], mounts: [{ type: "volume", source: undefined, target: "/data", readOnly: false }] }));
        const volume = old.anonymousVolumes?.[0]?.name;
        expect(old.anonymousVolumes).toEqual([{ name: volume, target: "/data" }]);
        // volumes: true as well: a hand-over wins over rm -v, the data is what it keeps.
        await engine.removeContainer(old.id, { volumes: true, handOver: key });
        // Where volume labels are fixed at create (dockerd), the hand-over keeps the volume and the replacement takes it by name alone.
        if (caps().labelledAnonymousVolumes) {
          const handed = await engine.listVolumes({ labels: { [VOLUME_LABEL.handover]: key } });
          expect(handed.map((v) => [v.name, v.labels[VOLUME_LABEL.handoverTarget]])).toEqual([[volume, "/data"]]);
        } else expect(await engine.inspectVolume(volume as string)).toBeDefined();
        const next = await engine.createContainer(spec({ cmd: ["true"], mounts: [{ type: "volume", source: undefined, target: "/data", readOnly: false }], inheritVolumes: [{ name: volume as string, target: "/data" }] }));
        expect(next.anonymousVolumes).toEqual([{ name: volume, target: "/data" }]);
        if (caps().labelledAnonymousVolumes) {
          const after = await engine.inspectVolume(volume as string);
          expect(after?.labels[VOLUME_LABEL.anonymous]).toBe(next.id);
          expect(Object.keys(after?.labels ?? {}).filter((k) => k === VOLUME_LABEL.handover || k === VOLUME_LABEL.handoverTarget)).toEqual([]);
        }
        await engine.removeContainer(next.id, { volumes: true });
        expect(await engine.inspectVolume(volume as string)).toBeUndefined();
      });
    });

    describe("copy", () => {
      it("files copied in are there with their content (stat, exec, copy out), removals take them away", async () => {
        const src = join(h.hostDir, `${testLabel}-in`);
        await mkdir(join(src, "conf"), { recursive: true });
        await writeFile(join(src, "conf", "app.ini"), "port=80\n");
        await writeFile(join(src, "hello.txt"), "hello\n");
        const id = await run({ cmd: SLEEPER });
        const res = await engine.copyToContainer(id, { copies: [{ hostPath: src, containerPath: "/srv" }], removals: [] });
        expect(res.copied).toBe(2);
        expect(await engine.statContainerPath(id, "/srv")).toBe("directory");
        expect(await engine.statContainerPath(id, "/srv/conf/app.ini")).toBe("file");
        expect(await engine.statContainerPath(id, "/srv/nothing")).toBeUndefined();
        const out = collector();
        expect((await engine.exec(id, { cmd: ["cat", "/srv/hello.txt"], stdout: out.stream })).exitCode).toBe(0);
        expect(out.text()).toBe("hello\n");
        const back = join(h.hostDir, `${testLabel}-out`);
        await engine.copyFromContainer(id, { containerPath: "/srv/conf", hostPath: back });
        expect(await readFile(join(back, "app.ini"), "utf8")).toBe("port=80\n");
        const removed = await engine.copyToContainer(id, { copies: [], removals: ["/srv/hello.txt"] });
        expect(removed.removed).toBe(1);
        expect(await engine.statContainerPath(id, "/srv/hello.txt")).toBeUndefined();
      });

      it("export of a container path is a tar whose top entry is named as the path's last component", async () => {
        const file = join(h.hostDir, `${testLabel}.txt`);
        await writeFile(file, "exported\n");
        const id = await run({ cmd: SLEEPER });
        await engine.copyToContainer(id, { copies: [{ hostPath: file, containerPath: "/srv/data/x.txt" }], removals: [] });
        const out = join(h.hostDir, `${testLabel}.tar`);
        await engine.exportContainer(id, out, { path: "/srv/data" });
        expect(await tarFiles(out)).toEqual({ "data/x.txt": "exported\n" });
      });

      it("a container that never ran takes copies too", async () => {
        const file = join(h.hostDir, `${testLabel}.txt`);
        await writeFile(file, "x");
        const c = await engine.createContainer(spec({ cmd: ["true"] }));
        await engine.copyToContainer(c.id, { copies: [{ hostPath: file, containerPath: "/tmp/x.txt" }], removals: [] });
        expect(await engine.statContainerPath(c.id, "/tmp/x.txt")).toBe("file");
      });

      it("container paths must be absolute", async () => {
        const c = await engine.createContainer(spec({ cmd: ["true"] }));
        await expectErrorKind(engine.statContainerPath(c.id, "tmp"), "invalid");
      });
    });

    describe("commit", () => {
      it("a running container's changes become an image with its settings and the -c changes; it runs on after", async () => {
        const file = join(h.hostDir, `${testLabel}-commit.txt`);
        await writeFile(file, "committed\n");
        const id = await waitReady(await run({ cmd: SLEEPER, env: ["FROM_RUN=1"] }));
        await engine.copyToContainer(id, { copies: [{ hostPath: file, containerPath: "/srv/committed.txt" }], removals: [] });
        const ref = `tscompose-conformance/${h.name("commit").toLowerCase()}:v1`;
        const imageId = await engine.commitContainer(id, { ref, changes: ["ENV ADDED=yes", "LABEL org.example.k=v"], author: "tester", message: "first" });
        try {
          expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
          const img = await engine.inspectImage(ref);
          expect(img?.id).toBe(imageId);
          expect(img?.repoTags).toEqual([`docker.io/${ref}`]);
          expect(img?.config.env).toEqual(expect.arrayContaining(["FROM_RUN=1", "ADDED=yes"]));
          expect(img?.config.labels).toMatchObject({ "org.example.k": "v" });
          expect(img?.config.cmd).toEqual(SLEEPER);
          // Paused for the commit, thawed after.
          expect((await engine.inspectContainer(id))?.state).toBe("running");
          const other = await engine.createContainer(spec({ image: ref, cmd: ["true"] }));
          expect(await engine.statContainerPath(other.id, "/srv/committed.txt")).toBe("file");
          expect(await engine.statContainerPath(other.id, "/srv/elsewhere.txt")).toBeUndefined();
        } finally {
          for (const c of await engine.listContainers({ all: true, labels: { [SUITE_LABEL]: testLabel } })) await engine.removeContainer(c.id, { force: true });
          await engine.removeImage(imageId, { force: true });
        }
      });

      it("a missing container is not-found; an instruction -c does not take is invalid", async () => {
        await expectErrorKind(engine.commitContainer("tscompose-conformance-absent"), "not-found");
        const c = await engine.createContainer(spec({ cmd: ["true"] }));
        await expectErrorKind(engine.commitContainer(c.id, { changes: ["RUN rm -rf /"] }), "invalid");
      });
    });
  });
}
