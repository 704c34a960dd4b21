// Container records: what the engine knows about each container, one JSON
// file per container at <stateDir>/containers/<id>/record.json, written
// atomically (engine/sys/atomic-file.ts) so a crash leaves the old or the new record,
// never half of one. The record is the engine's memory across restarts; the
// truth about processes is runc's state and conmon's exit files, and
// reconcile() merges the two when the engine starts.
import { readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { CORRUPT_SUFFIX, CorruptFileError, readJsonFile, setAside, writeFileAtomic } from "../sys/atomic-file.js";
import type { ContainerInfo, ContainerSpec, ContainerState, ImageConfig } from "../types.js";
import type { RuncState } from "./runc.js";
import type { RootfsMount } from "./oci.js";

export interface ContainerRecord {
  id: string;
  name: string;
  image: string;
  imageId: string;
  labels: Record<string, string>;
  spec: ContainerSpec;
  imageConfig: ImageConfig;
  /** Host path of the root filesystem (owned by the snapshotter, not by us). */
  rootfs: string;
  /** Set when runc mounts the rootfs itself at each start (see CreateOptions.rootfsMount); absent, it is mounted on the host. */
  rootfsMount?: RootfsMount;
  cgroupsPath: string;
  /** Resolved command (entrypoint + cmd), without the init wrapper. */
  command: string[];
  /** spec.stopSignal ?? image's ?? SIGTERM, normalized ("SIGTERM"). */
  stopSignal: string;
  state: ContainerState;
  pid: number | undefined;
  exitCode: number | undefined;
  oomKilled: boolean;
  error: string | undefined;
  createdAt: string;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  restartCount: number;
  /**
   * A stop was asked for (Docker's HasBeenManuallyStopped): persisted before
   * the signal, cleared by start. An exit 0 that a stop caused is not a
   * one-shot that completed, even when the daemon died before it could
   * remove or restart the container.
   */
  stopRequested?: boolean;
  /** conmon's pid while the container runs (to notice a monitor that died). */
  monitorPid: number | undefined;
  ports: ContainerInfo["ports"];
  networks: ContainerInfo["networks"];
}

export function toInfo(r: ContainerRecord): ContainerInfo {
  return {
    id: r.id,
    name: r.name,
    image: r.image,
    imageId: r.imageId,
    labels: { ...r.labels },
    state: r.state,
    pid: r.pid,
    exitCode: r.exitCode,
    oomKilled: r.oomKilled,
    error: r.error,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    restartCount: r.restartCount,
    stopRequested: r.stopRequested === true,
    command: [...r.command],
    tty: r.spec.tty,
    openStdin: r.spec.openStdin,
    ports: r.ports.map((p) => ({ ...p })),
    networks: structuredClone(r.networks),
    volumes: r.spec.mounts.flatMap((m) => (m.type === "volume" && m.source !== undefined ? [m.source] : [])),
    anonymousVolumes: r.spec.mounts.flatMap((m) => (m.type === "volume" && m.anonymous === true && m.source !== undefined ? [{ name: m.source, target: m.target }] : [])),
  };
}

/**
 * The annotation of a container's config.json that keeps its record as it
 * was created (written once, with the bundle). When record.json is corrupt or
 * lost, the container is rebuilt from it and from runc's and conmon's state
 * instead of being treated as a leftover (which deleted running containers).
 */
export const RECORD_ANNOTATION = "org.tscompose.record";

/** A container directory whose record.json exists but cannot be used. */
export interface UnreadableRecord {
  id: string;
  file: string;
  reason: string;
}

export class RecordStore {
  constructor(readonly dir: string) {}

  containerDir(id: string): string {
    return join(this.dir, id);
  }

  async save(r: ContainerRecord): Promise<void> {
    const file = join(this.containerDir(r.id), "record.json");
    await writeFileAtomic(file, JSON.stringify(r, null, 2));
  }

  recordFile(id: string): string {
    return join(this.containerDir(id), "record.json");
  }

  /** undefined when there is no record.json; throws CorruptFileError (or a read error) when it cannot be used. */
  async load(id: string): Promise<ContainerRecord | undefined> {
    const file = this.recordFile(id);
    const r = await readJsonFile<ContainerRecord>(file);
    if (r !== undefined && (typeof r !== "object" || r === null || r.id !== id || typeof r.state !== "string")) throw new CorruptFileError(file, "not a container record of this directory");
    return r;
  }

  /**
   * Every record on disk. Directories without record.json are `missing`
   * (a create that crashed before saving it, unless runc knows the id);
   * those whose record.json cannot be read or parsed, or whose record was set
   * aside by an earlier start, are `unreadable`: never to be deleted.
   */
  async loadAll(): Promise<{ records: ContainerRecord[]; missing: string[]; unreadable: UnreadableRecord[] }> {
    let ids: string[];
    try {
      ids = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { records: [], missing: [], unreadable: [] };
      throw e;
    }
    const records: ContainerRecord[] = [];
    const missing: string[] = [];
    const unreadable: UnreadableRecord[] = [];
    for (const id of ids) {
      try {
        const r = await this.load(id);
        if (r) records.push(r);
        else {
          const aside = (await readdir(this.containerDir(id)).catch(() => [] as string[])).filter((n) => n.startsWith(`record.json${CORRUPT_SUFFIX}`));
          if (aside.length > 0) unreadable.push({ id, file: join(this.containerDir(id), aside.sort().at(-1) ?? ""), reason: "its record was set aside as unreadable by an earlier start" });
          else missing.push(id);
        }
      } catch (e) {
        unreadable.push({ id, file: this.recordFile(id), reason: e instanceof CorruptFileError ? e.message : `cannot read it: ${(e as Error).message}` });
      }
    }
    return { records, missing, unreadable };
  }

  /** Moves an unusable record.json out of the way (record.json.corrupt-<time>), kept for a human to look at; the new name, or undefined when there was none. */
  setAside(id: string): Promise<string | undefined> {
    return setAside(this.recordFile(id));
  }

  /** The record as created, from the bundle's config.json annotation; undefined when the bundle lacks it (made by an older tscompose) or is unreadable. */
  async fromBundle(id: string): Promise<ContainerRecord | undefined> {
    try {
      const config = JSON.parse(await readFile(join(this.containerDir(id), "config.json"), "utf8")) as { annotations?: Record<string, string> };
      const text = config.annotations?.[RECORD_ANNOTATION];
      if (text === undefined) return undefined;
      const r = JSON.parse(text) as ContainerRecord;
      return r.id === id ? r : undefined;
    } catch {
      return undefined;
    }
  }

  async remove(id: string): Promise<void> {
    await rm(this.containerDir(id), { recursive: true, force: true });
  }
}

/** What the machine says about a container when the engine (re)starts. */
export interface Observed {
  runc: RuncState | undefined;
  /** conmon's exit file: the code and when it was written. */
  exit: { code: number; at: string } | undefined;
  oom: boolean;
}

/**
 * Merges a record with what runc and conmon report, for containers that
 * changed while the engine was not watching. Pure. `deleteRunc` says the runc
 * state is stale and must go (an ended container keeps its runc state and
 * cgroup until `runc delete`).
 *
 * A container the record says is running but that neither runc nor conmon
 * knows (no runc state and no exit file: the host rebooted with runc's state
 * on tmpfs, or conmon was killed before it could write the exit code)
 * becomes exited with code 255 and an error saying the status was lost. That
 * is what containerd reports when a task's shim dies (exit status 255, which
 * Docker then shows as exited), and CRI-O likewise marks such containers
 * stopped. Docker's "dead" is kept for what it means there: a removal that
 * failed part-way.
 */
export function reconcile(r: ContainerRecord, o: Observed, now: string): { record: ContainerRecord; deleteRunc: boolean } {
  const rec = { ...r };
  const runcStatus = o.runc?.status;
  switch (r.state) {
    case "running":
    case "paused": {
      if (o.exit) {
        Object.assign(rec, { state: "exited", exitCode: o.exit.code, finishedAt: o.exit.at, oomKilled: o.oom, pid: undefined, monitorPid: undefined });
        return { record: rec, deleteRunc: o.runc !== undefined };
      }
      if (runcStatus === "running" || runcStatus === "paused") {
        Object.assign(rec, { state: runcStatus, pid: o.runc?.pid || r.pid });
        return { record: rec, deleteRunc: false };
      }
      Object.assign(rec, {
        state: "exited",
        exitCode: 255,
        oomKilled: o.oom,
        pid: undefined,
        monitorPid: undefined,
        finishedAt: now,
        error:
          o.runc === undefined
            ? "container state lost while the engine was down (host reboot?); exit status unknown"
            : `container ${runcStatus ?? "gone"} without an exit status from its monitor`,
      });
      return { record: rec, deleteRunc: o.runc !== undefined };
    }
    case "removing":
      // Removal was interrupted: Docker's dead, removable again.
      Object.assign(rec, { state: "dead", error: r.error ?? "removal was interrupted" });
      return { record: rec, deleteRunc: o.runc !== undefined };
    default:
      // created / exited / restarting / dead have no processes of their own.
      // A running runc container means we crashed between `runc start` and
      // saving the record: adopt it. Any other runc state left over (a crash
      // between conmon and `runc start`) is stale.
      if (runcStatus === "running" || runcStatus === "paused") {
        Object.assign(rec, { state: runcStatus, pid: o.runc?.pid, startedAt: o.runc?.created, exitCode: undefined, error: undefined });
        return { record: rec, deleteRunc: false };
      }
      return { record: rec, deleteRunc: o.runc !== undefined };
  }
}
