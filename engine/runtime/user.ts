// Resolving `user:` (name, uid, name:group, uid:gid) against the container's
// own /etc/passwd and /etc/group, with the rules of runc's
// libcontainer/user.GetExecUser that Docker relies on:
// - a name must exist in passwd; a number need not (then gid 0, home /);
// - an explicit group (name or number) sets the primary gid and no
//   supplementary groups; without one, the user's passwd gid is primary and
//   every group listing the user by name is supplementary.
// The files are read inside the rootfs without following symlinks out of it:
// an image's /etc/passwd -> /etc/shadow-like symlink must not read the host's.
import { constants } from "node:fs";
import { lstat, open, readlink } from "node:fs/promises";
import { posix } from "node:path";
import { EngineError } from "../types.js";
import type { OciUser } from "./oci.js";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** Home directory from passwd ("/" when unknown), for HOME. */
  home: string;
  /** The user's name when passwd knows it. */
  name: string | undefined;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (f[0] === undefined || !Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0], uid, gid, home: f[5] || "/" });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    const gid = Number(f[2]);
    if (f[0] === undefined || !Number.isInteger(gid)) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? "").split(",").filter(Boolean) });
  }
  return out;
}

const isNumeric = (s: string) => /^\d+$/.test(s);

/** Pure resolution from file contents (undefined content = file absent). */
export function resolveUserFrom(spec: string | undefined, passwd: string | undefined, group: string | undefined, groupAdd: readonly string[] = []): ResolvedUser {
  const text = (spec ?? "").trim();
  const colon = text.indexOf(":");
  const userArg = colon < 0 ? text : text.slice(0, colon);
  const groupArg = colon < 0 ? "" : text.slice(colon + 1);
  const users = parsePasswd(passwd ?? "");

  // Defaults when nothing is given: root.
  let uid = 0;
  let gid = 0;
  let home = "/";
  let name: string | undefined;
  const byName = userArg === "" ? undefined : users.find((u) => (isNumeric(userArg) ? u.uid === Number(userArg) : u.name === userArg));
  if (userArg === "") {
    const root = users.find((u) => u.uid === 0);
    if (root) ({ uid, gid, home, name } = root);
  } else if (byName) {
    ({ uid, gid, home, name } = byName);
  } else if (isNumeric(userArg)) {
    uid = Number(userArg);
  } else {
    throw new EngineError("invalid", `unable to find user ${userArg}: no matching entries in passwd file`);
  }

  const groups = parseGroup(group ?? "");
  let additionalGids: number[] = [];
  if (groupArg !== "") {
    const g = groups.find((e) => (isNumeric(groupArg) ? e.gid === Number(groupArg) : e.name === groupArg));
    if (g) gid = g.gid;
    else if (isNumeric(groupArg)) gid = Number(groupArg);
    else throw new EngineError("invalid", `unable to find group ${groupArg}: no matching entries in group file`);
  } else if (name !== undefined) {
    const who = name;
    additionalGids = groups.filter((g) => g.members.includes(who)).map((g) => g.gid);
  }
  // group_add (docker's --group-add, runc's GetAdditionalGroups): a name must be in the image's group file, a number need not.
  for (const extra of groupAdd) {
    const g = groups.find((e) => e.name === extra) ?? (isNumeric(extra) ? { gid: Number(extra) } : undefined);
    if (!g) throw new EngineError("invalid", `unable to find group ${extra}: no matching entries in group file`);
    if (!additionalGids.includes(g.gid)) additionalGids.push(g.gid);
  }
  return { uid, gid, additionalGids, home, name };
}

/**
 * The process's user as dockerd 20.10.18+ hands it to runc: the primary gid
 * is also the first supplementary group (moby's fix for CVE-2022-36109), so
 * `id` shows groups=GID and a group-denied file stays denied.
 */
export function ociUser(user: ResolvedUser): OciUser {
  return { uid: user.uid, gid: user.gid, additionalGids: [...new Set([user.gid, ...user.additionalGids])] };
}

/** Reads and resolves the user inside a rootfs. */
export async function resolveUser(rootfs: string, spec: string | undefined, groupAdd: readonly string[] = []): Promise<ResolvedUser> {
  const [passwd, group] = await Promise.all([readInRoot(rootfs, "/etc/passwd"), readInRoot(rootfs, "/etc/group")]);
  return resolveUserFrom(spec, passwd, group, groupAdd);
}

/**
 * Resolves `path` inside `root` as the container would see it: symlinks are
 * followed relative to the root (an absolute link target starts at the root,
 * `..` stops at it). Returns the host path.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  const done: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const part = parts.shift() as string;
    if (part === "..") {
      done.pop();
      continue;
    }
    const host = posix.join(root, ...done, part);
    let st;
    try {
      st = await lstat(host);
    } catch {
      // Missing: the rest cannot be links; keep the remaining path as it is.
      done.push(part, ...parts.filter((p) => p !== ".."));
      break;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) throw new EngineError("invalid", `too many symlinks resolving ${path} in the container`);
      const target = await readlink(host);
      if (target.startsWith("/")) done.length = 0;
      parts.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
    } else {
      done.push(part);
    }
  }
  return posix.join(root, ...done);
}

/** passwd and group files of real images are a few KiB; the whole file is read into memory. */
const MAX_ROOT_FILE = 4 << 20;

/**
 * A small regular file's content inside a rootfs, or undefined when it does
 * not exist. The file comes from an image or a container, so it may be
 * anything: a FIFO (reading would block a thread-pool thread forever), a
 * device, a huge file, or a link swapped in after resolving. It is opened
 * without following a last symlink and without blocking, and read only if it
 * is a regular file of at most MAX_ROOT_FILE bytes.
 */
export async function readInRoot(root: string, path: string): Promise<string | undefined> {
  let file;
  try {
    file = await open(await resolveInRoot(root, path), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    if (code === "ELOOP") throw new EngineError("invalid", `${path} in the container's filesystem changed into a symlink while it was read`);
    throw e;
  }
  try {
    const st = await file.stat();
    if (st.isDirectory()) return undefined;
    if (!st.isFile()) throw new EngineError("invalid", `${path} in the container's filesystem is not a regular file`);
    // Read into a bounded buffer, not to EOF: a running container can keep the file growing.
    const buf = Buffer.alloc(Math.min(st.size, MAX_ROOT_FILE) + 1);
    let n = 0;
    for (let r; n < buf.length && (r = await file.read(buf, n, buf.length - n, n)).bytesRead > 0; ) n += r.bytesRead;
    if (n > MAX_ROOT_FILE) throw new EngineError("invalid", `${path} in the container's filesystem is larger than ${MAX_ROOT_FILE >> 20} MiB`);
    return buf.toString("utf8", 0, n);
  } finally {
    await file.close();
  }
}
