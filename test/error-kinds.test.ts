// The error vocabulary end to end (engine/errors.ts): a real daemon answers a
// missing object with 404 and the kind "not-found", and a pull refused by a
// real registry for want of credentials crosses the engine, the daemon's wire
// and the CLI as "unauthorized", never as an internal error.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StreamMessage } from "../src/daemon/api.js";
import { DaemonClient, DaemonError } from "../src/daemon/client.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry, type TestRegistry } from "./fixtures/registry.js";
import { buildOnce, cleanupDir, leaks, testDaemon, type TestDaemon } from "./support/daemon.js";

let registry: TestRegistry | undefined;
let d: TestDaemon | undefined;
let work: string | undefined;
const project = `errkinds${process.pid}`;

beforeAll(async () => {
  buildOnce();
  registry = await startRegistry({ auth: "basic" });
  await pushTestImage(registry, "busybox", { credentials: registry.credentials, repository: "private/busybox:latest" });
  d = testDaemon({});
  await d.start();
  work = mkdtempSync(join(tmpdir(), "tscompose-test-errkinds-"));
  writeFileSync(join(work, "compose.yaml"), `services:\n  app:\n    image: ${registry.host}/private/busybox:latest\n    command: ["sleep", "60"]\n`);
}, 180_000);

afterAll(async () => {
  if (d && work) d.cli(["-p", project, "down", "-t", "0"], { cwd: work });
  await d?.stop();
  const left = d ? leaks(d) : [];
  if (d) cleanupDir(d);
  if (work) rmSync(work, { recursive: true, force: true });
  await registry?.stop();
  expect(left).toEqual([]);
}, 120_000);

const client = (): DaemonClient => new DaemonClient((d as TestDaemon).socket);

describe("error kinds through the daemon", () => {
  it("a missing container is a 404 of kind not-found", async () => {
    const err = await client()
      .json("GET", "/containers/nosuchcontainer")
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonError);
    expect(err).toMatchObject({ status: 404, kind: "not-found", message: "no such container: nosuchcontainer" });
  });

  it("a missing volume is exit code 1 with the daemon's message", () => {
    const r = (d as TestDaemon).cli(["volume", "inspect", "nosuchvolume"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Error response from daemon: get nosuchvolume: no such volume\n");
  });

  it("a pull the registry refuses without credentials fails as unauthorized, on the wire and in the CLI", async () => {
    const cwd = work as string;
    const messages: StreamMessage[] = [];
    const request = { project: { files: [], envFiles: [], profiles: [], env: {}, cwd, projectName: project }, options: {} };
    for await (const m of client().stream<StreamMessage>("POST", "/stacks/up", request)) messages.push(m);
    const result = messages.find((m) => m.type === "result");
    expect(result).toMatchObject({ ok: false });
    const pull = result?.type === "result" ? result.failed.find((f) => f.id.startsWith("pull")) : undefined;
    expect(pull).toMatchObject({ kind: "unauthorized", error: expect.stringMatching(/401|unauthorized/i) as unknown });

    const r = (d as TestDaemon).cli(["-p", project, "up", "-d"], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unauthorized/i);
  });

  it("tscompose pull of that image, through the daemon's image route, is unauthorized too: a clear message, exit 1", async () => {
    const ref = `${(registry as TestRegistry).host}/private/busybox:latest`;
    const messages: unknown[] = [];
    const err = await (async () => {
      for await (const m of client().stream<unknown>("POST", "/images/pull", { ref })) messages.push(m);
    })().then(() => undefined, (e: unknown) => e);
    // Refused before any progress: an HTTP error of the kind, or an error message in the stream.
    const kind = err instanceof DaemonError ? err.kind : (messages.find((m) => (m as { type?: string }).type === "error") as { kind?: string } | undefined)?.kind;
    expect(kind).toBe("unauthorized");

    const r = (d as TestDaemon).cli(["pull", ref]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unauthorized/i);
    expect((d as TestDaemon).cli(["images", "-q"]).stdout).toBe("");
  });
});
