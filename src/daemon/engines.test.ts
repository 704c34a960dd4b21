// EngineSet and RoutingEngine over two in-memory engines standing for the
// embedded engine and a dockerd: which engine each call reaches.
import { describe, expect, it } from "vitest";
import type { EngineTarget } from "../../engine/index.js";
import { baseSpec } from "../../engine/runtime/testing.js";
import { FakeEngine } from "../../engine/testsuite/fake-engine.js";
import type { Engine, EngineEvent } from "../../engine/types.js";
import { LABEL } from "../../model/labels.js";
import { EngineSet } from "./engines.js";

const EMBEDDED: EngineTarget = { kind: "embedded" };
const DOCKER: EngineTarget = { kind: "docker", host: "unix:///d.sock" };
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function world(): { set: EngineSet; fakes: Map<string, FakeEngine>; opened: string[]; records: Map<string, EngineTarget>; closed: string[] } {
  const fakes = new Map([
    ["embedded", new FakeEngine()],
    ["docker", new FakeEngine()],
  ]);
  const opened: string[] = [];
  const closed: string[] = [];
  const records = new Map<string, EngineTarget>();
  const set = new EngineSet({
    open: (t) => {
      opened.push(t.kind);
      const fake = fakes.get(t.kind) as FakeEngine;
      const close = fake.close.bind(fake);
      fake.close = () => {
        closed.push(t.kind);
        return close();
      };
      return Promise.resolve(fake);
    },
    defaultTarget: EMBEDDED,
    targetOf: (p) => records.get(p),
    targetsInUse: () => [...records.values()],
    log: quiet,
  });
  return { set, fakes, opened, records, closed };
}

const specOf = (project: string, name: string) => ({ ...baseSpec({ name, image: "busybox", cmd: ["sleep", "3600"] }), labels: { [LABEL.project]: project } });

async function ready(e: Engine): Promise<Engine> {
  await e.pullImage("busybox");
  return e;
}

describe("engines per stack", () => {
  it("opens an engine once, when first needed, and the default's first", async () => {
    const { set, opened } = world();
    expect(opened).toEqual([]);
    const [a, b] = await Promise.all([set.get(EMBEDDED), set.get(EMBEDDED)]);
    expect(a).toBe(b);
    expect(opened).toEqual(["embedded"]);
    await set.get(DOCKER);
    expect(opened).toEqual(["embedded", "docker"]);
  });

  it("routes a project's creates and listings to its record's engine, ids to the engine that has them", async () => {
    const { set, fakes, records } = world();
    records.set("dk", DOCKER);
    const router = set.router;
    await ready(await set.get(EMBEDDED));
    await ready(await set.get(DOCKER));
    const onDocker = await router.createContainer(specOf("dk", "dk-web-1"));
    const onEmbedded = await router.createContainer(specOf("emb", "emb-web-1"));
    expect((await fakes.get("docker")?.listContainers({ all: true }))?.map((c) => c.name)).toEqual(["dk-web-1"]);
    expect((await fakes.get("embedded")?.listContainers({ all: true }))?.map((c) => c.name)).toEqual(["emb-web-1"]);

    // By id (and by name), on whichever engine has it.
    await router.startContainer(onDocker.id);
    expect((await fakes.get("docker")?.inspectContainer(onDocker.id))?.state).toBe("running");
    expect((await fakes.get("embedded")?.inspectContainer(onEmbedded.id))?.state).toBe("created");
    expect((await router.inspectContainer("emb-web-1"))?.id).toBe(onEmbedded.id);
    expect(await router.inspectContainer("nobody")).toBeUndefined();

    // A project's listing from its engine; every open engine's without one.
    expect((await router.listContainers({ all: true, labels: { [LABEL.project]: "dk" } })).map((c) => c.name)).toEqual(["dk-web-1"]);
    expect((await router.listContainers({ all: true })).map((c) => c.name).sort()).toEqual(["dk-web-1", "emb-web-1"]);
  });

  it("hands on every open engine's events, engines opened later included", async () => {
    const { set } = world();
    const seen: string[] = [];
    set.router.onEvent((e: EngineEvent) => {
      if (e.type === "container") seen.push(`${e.action} ${e.name}`);
    });
    await ready(await set.get(EMBEDDED));
    await set.router.createContainer(specOf("emb", "a"));
    await ready(await set.get(DOCKER));
    await (await set.get(DOCKER)).createContainer(specOf("dk", "b"));
    expect(seen).toEqual(["create a", "create b"]);
  });

  it("closes a dockerd's engine once no stack runs on it, never the default", async () => {
    const { set, records, closed, opened } = world();
    records.set("dk", DOCKER);
    await set.get(EMBEDDED);
    await set.get(DOCKER);
    await set.closeUnused();
    expect(closed).toEqual([]);
    records.delete("dk");
    await set.closeUnused();
    expect(closed).toEqual(["docker"]);
    expect(set.openEngines()).toHaveLength(1);
    // Needed again: opened again.
    await set.get(DOCKER);
    expect(opened).toEqual(["embedded", "docker", "docker"]);
  });

  it("an engine held by an up under way is not closed before its record names it", async () => {
    const { set, records, closed } = world();
    const held = await set.hold(DOCKER);
    await set.closeUnused();
    expect(closed).toEqual([]);
    records.set("dk", DOCKER);
    held.release();
    held.release(); // twice is once
    await set.closeUnused();
    expect(closed).toEqual([]);
    records.delete("dk");
    await set.closeUnused();
    expect(closed).toEqual(["docker"]);
  });

  it("a failed open is tried again on the next use", async () => {
    let tries = 0;
    const set = new EngineSet({
      open: () => (++tries === 1 ? Promise.reject(new Error("dockerd not there")) : Promise.resolve(new FakeEngine())),
      defaultTarget: DOCKER,
      targetOf: () => undefined,
      targetsInUse: () => [],
      log: quiet,
    });
    await expect(set.get(DOCKER)).rejects.toThrow("dockerd not there");
    await expect(set.get(DOCKER)).resolves.toBeInstanceOf(FakeEngine);
    expect(tries).toBe(2);
  });
  it("after closeAll (the daemon stopping) no engine opens again: an operation still under way gets an error, not a fresh engine", async () => {
    const { set, opened, closed } = world();
    await set.get(EMBEDDED);
    await set.closeAll();
    expect(closed).toEqual(["embedded"]);
    await expect(set.get(EMBEDDED)).rejects.toMatchObject({ kind: "unavailable", message: /stopping/ });
    await expect(set.forProject("p")).rejects.toThrow(/stopping/);
    expect(opened).toEqual(["embedded"]);
  });
});
