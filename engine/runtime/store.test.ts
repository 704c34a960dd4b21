import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerState } from "../types.js";
import type { RuncState } from "./runc.js";
import { RECORD_ANNOTATION, RecordStore, reconcile } from "./store.js";
import type { ContainerRecord, Observed } from "./store.js";
import { baseImage, baseSpec } from "./testing.js";

function record(state: ContainerState, over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: "a".repeat(64),
    name: "web-1",
    image: "busybox",
    imageId: "",
    labels: {},
    spec: baseSpec(),
    imageConfig: baseImage(),
    rootfs: "/r",
    cgroupsPath: "/tscompose/a",
    command: ["sh"],
    stopSignal: "SIGTERM",
    state,
    pid: state === "running" || state === "paused" ? 100 : undefined,
    exitCode: undefined,
    oomKilled: false,
    error: undefined,
    createdAt: "2026-01-01T00:00:00.000Z",
    startedAt: undefined,
    finishedAt: undefined,
    restartCount: 0,
    monitorPid: undefined,
    ports: [],
    networks: {},
    ...over,
  };
}

const runc = (status: RuncState["status"], pid = 100): RuncState => ({
  ociVersion: "1.0.2",
  id: "a".repeat(64),
  pid,
  status,
  bundle: "/b",
  rootfs: "/r",
  created: "2026-01-01T00:00:01.000Z",
  owner: "",
});

const NOW = "2026-01-02T00:00:00.000Z";
const EXIT = { code: 3, at: "2026-01-01T12:00:00.000Z" };

describe("reconcile", () => {
  const cases: { name: string; state: ContainerState; o: Observed; want: Partial<ContainerRecord>; deleteRunc: boolean }[] = [
    { name: "running and still running", state: "running", o: { runc: runc("running", 123), exit: undefined, oom: false }, want: { state: "running", pid: 123 }, deleteRunc: false },
    { name: "paused and still paused", state: "paused", o: { runc: runc("paused"), exit: undefined, oom: false }, want: { state: "paused" }, deleteRunc: false },
    { name: "runc says paused though we thought running", state: "running", o: { runc: runc("paused"), exit: undefined, oom: false }, want: { state: "paused" }, deleteRunc: false },
    { name: "died while we were down: exit file wins", state: "running", o: { runc: runc("stopped"), exit: EXIT, oom: true }, want: { state: "exited", exitCode: 3, oomKilled: true, finishedAt: EXIT.at, pid: undefined }, deleteRunc: true },
    { name: "exit file without runc state", state: "running", o: { runc: undefined, exit: EXIT, oom: false }, want: { state: "exited", exitCode: 3 }, deleteRunc: false },
    { name: "state lost (reboot): exited 255", state: "running", o: { runc: undefined, exit: undefined, oom: false }, want: { state: "exited", exitCode: 255, finishedAt: NOW }, deleteRunc: false },
    { name: "stopped without exit file (monitor killed): exited 255", state: "paused", o: { runc: runc("stopped"), exit: undefined, oom: false }, want: { state: "exited", exitCode: 255 }, deleteRunc: true },
    { name: "removal interrupted: dead", state: "removing", o: { runc: undefined, exit: undefined, oom: false }, want: { state: "dead" }, deleteRunc: false },
    { name: "created with a stale runc container", state: "created", o: { runc: runc("created"), exit: undefined, oom: false }, want: { state: "created" }, deleteRunc: true },
    { name: "crash between runc start and saving: adopted", state: "created", o: { runc: runc("running", 77), exit: undefined, oom: false }, want: { state: "running", pid: 77 }, deleteRunc: false },
    { name: "exited stays exited (its old exit file is not looked at)", state: "exited", o: { runc: undefined, exit: undefined, oom: false }, want: { state: "exited" }, deleteRunc: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { record: r, deleteRunc } = reconcile(record(c.state), c.o, NOW);
      expect(r).toMatchObject(c.want);
      expect(deleteRunc).toBe(c.deleteRunc);
    });
  }
  it("a lost container says why", () => {
    expect(reconcile(record("running"), { runc: undefined, exit: undefined, oom: false }, NOW).record.error).toMatch(/state lost/);
  });
  it("does not modify its input", () => {
    const r = record("running");
    reconcile(r, { runc: undefined, exit: EXIT, oom: false }, NOW);
    expect(r.state).toBe("running");
  });
});

describe("RecordStore", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tsc-store-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("saves atomically (no temp files left), loads all, reports half-made dirs", async () => {
    const store = new RecordStore(dir);
    const r = record("created");
    await mkdir(store.containerDir(r.id), { recursive: true });
    await store.save(r);
    await store.save({ ...r, state: "running" });
    expect(await readdir(store.containerDir(r.id))).toEqual(["record.json"]);
    await mkdir(join(dir, "b".repeat(64)));
    const all = await store.loadAll();
    expect(all.records.map((x) => x.state)).toEqual(["running"]);
    expect(all.missing).toEqual(["b".repeat(64)]);
    expect(all.unreadable).toEqual([]);
    await store.remove(r.id);
    expect(await store.load(r.id)).toBeUndefined();
    await rm(join(dir, "b".repeat(64)), { recursive: true });
  });

  it("a truncated record is unreadable (named by path), set aside on request, and the record as created comes back from the bundle", async () => {
    const store = new RecordStore(dir);
    const r = { ...record("running"), id: "c".repeat(64) };
    await mkdir(store.containerDir(r.id), { recursive: true });
    await writeFile(join(store.containerDir(r.id), "config.json"), JSON.stringify({ ociVersion: "1.0.2", annotations: { [RECORD_ANNOTATION]: JSON.stringify({ ...r, state: "created" }) } }));
    await store.save(r);
    const text = await readFile(store.recordFile(r.id), "utf8");
    await writeFile(store.recordFile(r.id), text.slice(0, text.length >> 1));
    const all = await store.loadAll();
    expect(all.records).toEqual([]);
    expect(all.unreadable).toEqual([{ id: r.id, file: store.recordFile(r.id), reason: expect.stringContaining("invalid JSON") as string }]);
    const aside = await store.setAside(r.id);
    expect(aside).toMatch(/record\.json\.corrupt-/);
    expect(await readFile(aside ?? "", "utf8")).toBe(text.slice(0, text.length >> 1));
    expect(await store.fromBundle(r.id)).toEqual({ ...r, state: "created" });
    // Set aside and not rebuilt (yet): still unreadable at the next load, never "missing" (which would be removed).
    const again = await store.loadAll();
    expect(again.missing).toEqual([]);
    expect(again.unreadable.map((u) => [u.id, u.file])).toEqual([[r.id, aside]]);
    await rm(store.containerDir(r.id), { recursive: true });
  });

  it("a record of another container, or not a record at all, is unreadable too", async () => {
    const store = new RecordStore(dir);
    const id = "d".repeat(64);
    await mkdir(store.containerDir(id), { recursive: true });
    await writeFile(store.recordFile(id), JSON.stringify({ ...record("running"), id: "e".repeat(64) }));
    await expect(store.load(id)).rejects.toThrow(/not a container record of this directory/);
    await writeFile(store.recordFile(id), "null");
    await expect(store.load(id)).rejects.toThrow(/not a container record/);
    expect(await store.fromBundle(id)).toBeUndefined();
    await rm(store.containerDir(id), { recursive: true });
  });
});
