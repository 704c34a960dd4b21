// A container's namespaces as Docker sets them from pid, ipc, uts, cgroupns
// and network modes (moby daemon/oci_linux.go WithNamespaces): "host" leaves
// that namespace out of the OCI config (the container stays in the host's),
// "container:X" joins X's through /proc/<X's pid>/ns/<type>, anything else is
// a new namespace. IPC also decides /dev/shm: the host's for "host", none at
// all for "none", a tmpfs on the host for "shareable" (shm.ts), which
// "container:X" binds too when X is shareable (or the host's when X is
// "host"). A joiner of a private X shares SysV IPC and POSIX message queues
// but keeps its own /dev/shm (dockerd refuses that join instead).
import { EngineError } from "../types.js";
import type { ContainerSpec } from "../types.js";
import type { OciMount, OciNamespace } from "./oci.js";

/** The namespaces a container can join in another container. */
export type JoinableNamespace = "pid" | "ipc";

export type NamespaceModes = Pick<ContainerSpec, "pidMode" | "ipcMode" | "utsMode" | "cgroupnsMode" | "networkMode">;

/** Host paths of the namespaces a container joins, and the /dev/shm it then shares. */
export interface JoinPaths {
  pid?: string;
  ipc?: string;
  /** The host path of the joined IPC donor's /dev/shm, when it has one there (shareable or host). */
  shm?: string;
}

/** The containers whose namespaces this one joins: type -> id or name. */
export function namespaceJoins(spec: Pick<ContainerSpec, "pidMode" | "ipcMode">): Partial<Record<JoinableNamespace, string>> {
  const out: Partial<Record<JoinableNamespace, string>> = {};
  if (spec.pidMode?.startsWith("container:")) out.pid = spec.pidMode.slice("container:".length);
  if (spec.ipcMode?.startsWith("container:")) out.ipc = spec.ipcMode.slice("container:".length);
  return out;
}

/**
 * Paths of the joined namespaces through the running containers' pids.
 * `pidOf` gives a container's pid when it is running, else undefined;
 * `shmOf` the host path of a container's /dev/shm when it keeps it there.
 */
export function joinPaths(
  spec: Pick<ContainerSpec, "pidMode" | "ipcMode">,
  pidOf: (idOrName: string) => number | undefined,
  shmOf: (idOrName: string) => string | undefined = () => undefined,
): JoinPaths {
  const out: JoinPaths = {};
  for (const [type, target] of Object.entries(namespaceJoins(spec)) as [JoinableNamespace, string][]) {
    const pid = pidOf(target);
    if (pid === undefined) throw new EngineError("invalid", `cannot join the ${type} namespace of container ${target}: it is not running`);
    out[type] = `/proc/${pid}/ns/${type}`;
    if (type === "ipc") {
      const shm = shmOf(target);
      if (shm !== undefined) out.shm = shm;
    }
  }
  return out;
}

/** Where a container's /dev/shm is on the host, for those that join its IPC namespace; undefined: in its own mount namespace. */
export function donorShm(ipcMode: string | undefined, hostShm: string): string | undefined {
  if (ipcMode === "host") return "/dev/shm";
  if (ipcMode === "shareable") return hostShm;
  return undefined;
}

/** The OCI namespace list; netnsPath joins a network namespace (a sandbox's, or another container's). */
export function ociNamespaces(spec: NamespaceModes, netnsPath: string | undefined, joined: JoinPaths): OciNamespace[] {
  const out: OciNamespace[] = [];
  const add = (type: OciNamespace["type"], mode: string | undefined, path: string | undefined): void => {
    if (mode === "host") return;
    if (mode?.startsWith("container:")) {
      if (!path) throw new EngineError("invalid", `${type} mode ${mode} needs the other container's ${type} namespace path`);
      out.push({ type, path });
      return;
    }
    out.push({ type });
  };
  add("pid", spec.pidMode, joined.pid);
  add("ipc", spec.ipcMode, joined.ipc);
  out.push({ type: "mount" });
  add("cgroup", spec.cgroupnsMode, undefined);
  // Host networking shares the host's UTS namespace too, as Docker does.
  const hostNetwork = spec.networkMode === "host";
  add("uts", hostNetwork ? "host" : spec.utsMode, undefined);
  if (!hostNetwork) out.push(netnsPath ? { type: "network", path: netnsPath } : { type: "network" });
  return out;
}

/** Whether the container keeps the host's hostname (no UTS namespace of its own). */
export function sharesHostUts(spec: Pick<ContainerSpec, "networkMode" | "utsMode">): boolean {
  return spec.networkMode === "host" || spec.utsMode === "host";
}

/**
 * The /dev/shm mount for the IPC mode, in place of the default tmpfs:
 * undefined keeps the default, null means none. `hostShm` is the host tmpfs
 * a shareable container's /dev/shm is; `joinedShm` the donor's a
 * "container:X" joins (JoinPaths.shm).
 */
export function shmMount(ipcMode: string | undefined, hostShm?: string, joinedShm?: string): OciMount | null | undefined {
  const bind = (source: string): OciMount => ({ destination: "/dev/shm", type: "bind", source, options: ["rbind", "rprivate"] });
  if (ipcMode === "none") return null;
  if (ipcMode === "host") return bind("/dev/shm");
  if (ipcMode === "shareable") {
    if (hostShm === undefined) throw new EngineError("invalid", "ipc mode shareable needs the host path of the container's /dev/shm");
    return bind(hostShm);
  }
  if (ipcMode?.startsWith("container:") && joinedShm !== undefined) return bind(joinedShm);
  return undefined;
}
