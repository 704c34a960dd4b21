import { describe, expect, it } from "vitest";
import { parseDeviceRule } from "./devices.js";
import { donorShm, joinPaths, ociNamespaces, shmMount } from "./namespaces.js";
import { deviceRules } from "./spec.js";

const modes = (over: Parameters<typeof ociNamespaces>[0] extends infer T ? Partial<T> : never) => ({ networkMode: "bridge", ...over });

describe("namespaces", () => {
  it("a new namespace of each kind by default; host leaves one out; container:X joins X's", () => {
    expect(ociNamespaces(modes({}), "/run/netns/x", {})).toEqual([
      { type: "pid" },
      { type: "ipc" },
      { type: "mount" },
      { type: "cgroup" },
      { type: "uts" },
      { type: "network", path: "/run/netns/x" },
    ]);
    const types = (m: Parameters<typeof modes>[0]) => ociNamespaces(modes(m), undefined, { pid: "/proc/7/ns/pid", ipc: "/proc/7/ns/ipc" }).map((n) => n.type);
    expect(types({ pidMode: "host", ipcMode: "host", utsMode: "host", cgroupnsMode: "host" })).toEqual(["mount", "network"]);
    expect(types({ networkMode: "host" })).toEqual(["pid", "ipc", "mount", "cgroup"]);
    const joined = ociNamespaces(modes({ pidMode: "container:a", ipcMode: "container:a" }), undefined, { pid: "/proc/7/ns/pid", ipc: "/proc/7/ns/ipc" });
    expect(joined.slice(0, 2)).toEqual([
      { type: "pid", path: "/proc/7/ns/pid" },
      { type: "ipc", path: "/proc/7/ns/ipc" },
    ]);
    expect(() => ociNamespaces(modes({ pidMode: "container:a" }), undefined, {})).toThrow(/needs the other container's pid namespace path/);
  });

  it("joins through the running container's pid; a stopped one is an error", () => {
    const pids: Record<string, number> = { db: 42 };
    expect(joinPaths({ pidMode: "container:db", ipcMode: "container:db" }, (x) => pids[x])).toEqual({ pid: "/proc/42/ns/pid", ipc: "/proc/42/ns/ipc" });
    expect(joinPaths({ pidMode: "host" }, () => undefined)).toEqual({});
    // The IPC donor's /dev/shm, when it keeps one on the host; a pid join alone needs none.
    const shms: Record<string, string> = { db: "/state/db/shm" };
    expect(joinPaths({ ipcMode: "container:db" }, (x) => pids[x], (x) => shms[x])).toEqual({ ipc: "/proc/42/ns/ipc", shm: "/state/db/shm" });
    expect(joinPaths({ pidMode: "container:db" }, (x) => pids[x], (x) => shms[x])).toEqual({ pid: "/proc/42/ns/pid" });
    expect(() => joinPaths({ ipcMode: "container:gone" }, () => undefined)).toThrow(/cannot join the ipc namespace of container gone: it is not running/);
  });

  it("ipc none has no /dev/shm, host has the host's, shareable and its joiners the donor's host tmpfs", () => {
    expect(shmMount("none")).toBeNull();
    expect(shmMount("host")).toMatchObject({ destination: "/dev/shm", type: "bind", source: "/dev/shm" });
    expect(shmMount("shareable", "/state/db/shm")).toMatchObject({ destination: "/dev/shm", type: "bind", source: "/state/db/shm" });
    expect(() => shmMount("shareable")).toThrow(/needs the host path/);
    expect(shmMount("container:db", undefined, "/state/db/shm")).toMatchObject({ type: "bind", source: "/state/db/shm" });
    // A private donor's /dev/shm is in its own mount namespace: the joiner keeps the default tmpfs.
    expect(shmMount("container:db")).toBeUndefined();
    expect(shmMount("private", "/state/x/shm", "/state/db/shm")).toBeUndefined();
    expect(shmMount(undefined, "/state/x/shm")).toBeUndefined();
  });

  it("a donor's /dev/shm is on the host when shareable or host, else in its own mount namespace", () => {
    expect(donorShm("shareable", "/state/db/shm")).toBe("/state/db/shm");
    expect(donorShm("host", "/state/db/shm")).toBe("/dev/shm");
    expect(donorShm("private", "/state/db/shm")).toBeUndefined();
    expect(donorShm(undefined, "/state/db/shm")).toBeUndefined();
  });
});

describe("device rules", () => {
  it("parses moby's rule syntax with * for any", () => {
    expect(parseDeviceRule("c 1:3 rwm")).toEqual({ allow: true, type: "c", major: 1, minor: 3, access: "rwm" });
    expect(parseDeviceRule("b *:* r")).toEqual({ allow: true, type: "b", access: "r" });
    expect(() => parseDeviceRule("c 1:3")).toThrow(/invalid device cgroup rule/);
  });

  it("adds the devices' and the rules' allows after Docker's defaults; privileged allows all", () => {
    const tun = { path: "/dev/mytun", type: "c" as const, major: 10, minor: 200 };
    const rules = deviceRules({ privileged: false, devices: [{ source: "/dev/net/tun", target: "/dev/mytun", permissions: "r" }], deviceCgroupRules: ["c 13:* rw"] }, [tun]);
    expect(rules[0]).toEqual({ allow: false, access: "rwm" });
    expect(rules.slice(-2)).toEqual([
      { allow: true, type: "c", major: 10, minor: 200, access: "r" },
      { allow: true, type: "c", major: 13, access: "rw" },
    ]);
    expect(deviceRules({ privileged: true, devices: [], deviceCgroupRules: [] }, [tun])).toEqual([{ allow: true, access: "rwm" }]);
  });
});
