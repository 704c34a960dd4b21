// The process and namespace keys of a service (pid, ipc, uts, userns_mode,
// cgroup, cgroup_parent, group_add, devices, device_cgroup_rules, runtime,
// storage_opt), checked as dockerd checks them when it creates the container
// (moby runconfig/opts parse.go, daemon/container_operations_unix.go). A mode
// the embedded engine cannot honour is an error at the key, never dropped.
import { parsePlatform } from "../../engine/content/platform.js";
import { parseDeviceRule } from "../../engine/runtime/devices.js";
import type { DeviceSpec, ServiceSpec } from "../../model/stack.js";
import { isDict } from "./dict.js";
import type { PathSegment } from "./parse.js";

type Fail = (path: readonly PathSegment[], message: string) => never;

export type ProcessKeys = Pick<
  ServiceSpec,
  "pid" | "ipc" | "uts" | "usernsMode" | "cgroup" | "cgroupParent" | "groupAdd" | "devices" | "deviceCgroupRules" | "runtime"
>;

/** The schema made these scalars (strings, or numbers in group_add). */
const str = (v: unknown): string | undefined => (v === undefined || v === null || v === "" ? undefined : typeof v === "string" ? v : JSON.stringify(v));
const JOIN = /^(service|container):(.+)$/;

export function normalizeProcessKeys(s: Record<string, unknown>, at: (...rest: PathSegment[]) => PathSegment[], fail: Fail): ProcessKeys {
  const pid = str(s.pid);
  if (pid !== undefined && pid !== "host" && !JOIN.test(pid)) fail(at("pid"), `invalid pid mode "${pid}": must be host, service:NAME or container:NAME`);
  const ipc = str(s.ipc);
  if (ipc !== undefined && !["none", "private", "shareable", "host"].includes(ipc) && !JOIN.test(ipc)) {
    fail(at("ipc"), `invalid ipc mode "${ipc}": must be none, private, shareable, host, service:NAME or container:NAME`);
  }
  const uts = str(s.uts);
  if (uts !== undefined && uts !== "host") fail(at("uts"), `invalid uts mode "${uts}": must be host`);
  // userns_mode other than host and storage_opt: src/stack/support.ts refuses them at up; a runtime daemon.json
  // does not name: src/stack/host-resources.ts.
  const usernsMode = str(s.userns_mode);

  if (typeof s.platform === "string") {
    try {
      parsePlatform(s.platform);
    } catch (e) {
      fail(at("platform"), (e as Error).message);
    }
  }
  const runtime = str(s.runtime);
  const cgroupParent = str(s.cgroup_parent);
  if (cgroupParent?.split("/").includes("..")) fail(at("cgroup_parent"), `invalid cgroup_parent "${cgroupParent}": ".." is not allowed`);
  const groupAdd = Array.isArray(s.group_add) ? s.group_add.map(String) : [];
  groupAdd.forEach((g, i) => {
    if (g === "" || g.includes(":")) fail(at("group_add", i), `invalid group "${g}": a group name or number`);
  });
  const devices = Array.isArray(s.devices) ? s.devices.map((d, i) => parseDevice(d, at("devices", i), fail)) : [];
  const deviceCgroupRules = Array.isArray(s.device_cgroup_rules) ? s.device_cgroup_rules.map(String) : [];
  deviceCgroupRules.forEach((r, i) => {
    try {
      parseDeviceRule(r);
    } catch (e) {
      fail(at("device_cgroup_rules", i), (e as Error).message);
    }
  });

  return {
    pid,
    ipc,
    uts,
    usernsMode,
    cgroup: str(s.cgroup) as ProcessKeys["cgroup"],
    cgroupParent,
    groupAdd,
    devices,
    deviceCgroupRules,
    runtime,
  };
}

const PERMISSIONS = /^[rwm]{1,3}$/;

/**
 * Docker's `--device` syntax: SOURCE[:TARGET][:PERMISSIONS], TARGET defaulting
 * to SOURCE and PERMISSIONS to rwm; or compose's long form.
 */
export function parseDevice(v: unknown, path: readonly PathSegment[], fail: Fail): DeviceSpec {
  let source: string;
  let target: string | undefined;
  let permissions: string | undefined;
  if (isDict(v)) {
    source = String(v.source);
    target = str(v.target);
    permissions = str(v.permissions);
  } else {
    const parts = String(v).split(":");
    if (parts.length > 3) fail(path, `invalid device "${String(v)}": SOURCE[:TARGET][:PERMISSIONS]`);
    source = parts[0] ?? "";
    if (parts.length === 2 && PERMISSIONS.test(parts[1] ?? "")) permissions = parts[1];
    else {
      target = parts[1] || undefined;
      permissions = parts[2];
    }
  }
  if (!source.startsWith("/")) fail(path, `invalid device "${source}": the host device must be an absolute path`);
  if (target !== undefined && !target.startsWith("/")) fail(path, `invalid device target "${target}": must be an absolute path`);
  if (permissions !== undefined && !PERMISSIONS.test(permissions)) fail(path, `invalid device permissions "${permissions}": some of r, w, m`);
  return { source, target: target ?? source, permissions: permissions ?? "rwm" };
}
