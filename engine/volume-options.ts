// The local driver's driver_opts, as dockerd's local driver reads them (its
// `type`, `o` and `device` are mount(8)'s -t, -o and source): what the
// embedded engine can do with them, or why it cannot. Pure, so the loader
// refuses a volume at its key before `up` touches anything.
import { existsSync } from "node:fs";
import { posix } from "node:path";

export type LocalVolumeKind =
  | { kind: "plain" }
  /** type none, o bind: the volume is the host directory `device`. */
  | { kind: "bind"; device: string }
  /** type tmpfs: a tmpfs mounted on the volume's directory, its `o` options as given (size=, mode=, uid=, gid=). */
  | { kind: "tmpfs"; options: string[] };

const TMPFS_OPTION = /^(size=\d+[kmgKMG%]?|nr_inodes=\d+[kmgKMG]?|mode=[0-7]{3,4}|uid=\d+|gid=\d+|noexec|exec|nosuid|suid|nodev|dev|ro|rw|noatime|atime)$/;

/** Throws an Error saying why the embedded engine cannot make such a volume. */
export function localVolumeKind(opts: Record<string, string>, hostHas: (helper: string) => boolean = hasMountHelper): LocalVolumeKind {
  const unknown = Object.keys(opts).filter((k) => k !== "type" && k !== "o" && k !== "device");
  if (unknown.length > 0) throw new Error(`unknown local driver option "${unknown[0]}" (the local driver takes type, o and device)`);
  const type = opts.type ?? "";
  const o = (opts.o ?? "").split(",").filter((x) => x !== "");
  const device = opts.device;
  if (type === "" && o.length === 0 && device === undefined) return { kind: "plain" };
  if (type === "tmpfs") {
    const bad = o.find((x) => !TMPFS_OPTION.test(x));
    if (bad !== undefined) throw new Error(`tmpfs option "${bad}" is not one the embedded engine passes on (size, nr_inodes, mode, uid, gid, and the exec/suid/dev/atime/ro flags)`);
    return { kind: "tmpfs", options: o };
  }
  if (type === "none" || type === "") {
    if (!o.includes("bind") && !o.includes("rbind")) throw new Error(`type "${type || "none"}" needs o: bind (a bind of the device directory)`);
    if (device === undefined || !posix.isAbsolute(device)) throw new Error(`o: bind needs device: an absolute host path`);
    return { kind: "bind", device };
  }
  if (["nfs", "nfs4", "cifs", "smb3"].includes(type)) {
    const helper = type.startsWith("nfs") ? "mount.nfs" : "mount.cifs";
    throw new Error(hostHas(helper) ? `type "${type}" mounts are not implemented yet` : `type "${type}" needs ${helper}, which this host does not have`);
  }
  throw new Error(`type "${type}" (a device mount) is not supported; the local driver here makes plain, bind (type none, o bind) and tmpfs volumes`);
}

function hasMountHelper(helper: string): boolean {
  return ["/sbin", "/usr/sbin", "/bin", "/usr/bin"].some((d) => existsSync(posix.join(d, helper)));
}
