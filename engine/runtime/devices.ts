// Devices a container is given (`devices`, docker's --device) and device
// cgroup rules (`device_cgroup_rules`), in moby's syntax.
import { lstat } from "node:fs/promises";
import { EngineError } from "../types.js";
import type { ContainerSpec } from "../types.js";
import type { OciDevice, OciDeviceRule } from "./oci.js";

const DEVICE_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** "c 1:3 rwm" (moby's ValidateDeviceCgroupRule syntax) as an OCI rule; * is any. */
export function parseDeviceRule(rule: string): OciDeviceRule {
  const m = DEVICE_RULE.exec(rule);
  if (!m) throw new EngineError("invalid", `invalid device cgroup rule "${rule}": must be "TYPE MAJOR:MINOR ACCESS" (a|b|c, a number or *, some of rwm)`);
  const out: OciDeviceRule = { allow: true, type: m[1] as "a" | "b" | "c", access: m[4] as string };
  if (m[2] !== "*") out.major = Number(m[2]);
  if (m[3] !== "*") out.minor = Number(m[3]);
  return out;
}

/** The device node at a host path (its type, numbers, mode and owner), as runc's DeviceFromPath. */
export async function deviceAt(path: string): Promise<OciDevice | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st || (!st.isCharacterDevice() && !st.isBlockDevice())) return undefined;
  const rdev = BigInt(st.rdev);
  // The kernel's new_decode_dev: 12 bits of major, 20 of minor, split around the low byte.
  const major = Number((rdev >> 8n) & 0xfffn) | Number((rdev >> 32n) & ~0xfffn);
  const minor = Number(rdev & 0xffn) | Number((rdev >> 12n) & 0xfff00n);
  return { path, type: st.isCharacterDevice() ? "c" : "b", major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/**
 * spec.devices as OCI devices at their container paths. A host path that is
 * not a device is an error, as dockerd's "error gathering device information".
 */
export async function containerDevices(spec: Pick<ContainerSpec, "devices">): Promise<OciDevice[]> {
  return Promise.all(
    (spec.devices ?? []).map(async (d) => {
      const dev = await deviceAt(d.source);
      if (!dev) throw new EngineError("invalid", `error gathering device information while adding custom device "${d.source}": not a device node or no such file`);
      return { ...dev, path: d.target };
    }),
  );
}
