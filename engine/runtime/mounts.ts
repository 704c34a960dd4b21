// The filesystem a container sees besides its rootfs: Docker's default mounts
// (moby oci/defaults.go), the /etc files, the image's and the user's volumes,
// binds and tmpfs. User mounts replace a default at the same destination and
// are ordered parents first, so /data is mounted before /data/cache.
import { posix } from "node:path";
import { EngineError } from "../types.js";
import type { MountSpec } from "../types.js";
import type { OciMount } from "./oci.js";

/**
 * A mount whose source the caller already resolved to a host path (a named
 * volume's directory, a bind's absolute path), or a tmpfs.
 */
export interface ResolvedMount {
  /** overlay: an image's layers, read-only (compose's image volumes), mounted by runc in the container's namespace. */
  type: "bind" | "tmpfs" | "overlay";
  /** Host path for binds; ignored for tmpfs and overlay. */
  source: string;
  target: string;
  readOnly: boolean;
  /** Bind propagation (rprivate unless given). */
  propagation?: string;
  tmpfsSize?: number;
  tmpfsMode?: number;
  /** Extra tmpfs options from the short `tmpfs:` syntax ("size=64m,uid=1000"). */
  tmpfsOptions?: string[];
  /** overlay: its lowerdir option. */
  overlayOptions?: string[];
}

export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

export function defaultMounts(opts: { shmSize: number | undefined; privileged: boolean }): OciMount[] {
  const sysOpts = opts.privileged ? ["nosuid", "noexec", "nodev"] : ["nosuid", "noexec", "nodev", "ro"];
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: sysOpts },
    // Privileged containers get a writable cgroup tree, like Docker's.
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: opts.privileged ? ["nosuid", "noexec", "nodev"] : ["ro", "nosuid", "noexec", "nodev"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${opts.shmSize ?? DEFAULT_SHM_SIZE}`],
    },
  ];
}

/** compose's short `tmpfs: /run:size=64m,mode=1770` entries. */
export function parseTmpfs(entry: string): ResolvedMount {
  const colon = entry.indexOf(":");
  const target = colon < 0 ? entry : entry.slice(0, colon);
  const options = colon < 0 ? [] : entry.slice(colon + 1).split(",").filter(Boolean);
  return { type: "tmpfs", source: "tmpfs", target, readOnly: options.includes("ro"), tmpfsOptions: options.filter((o) => o !== "ro" && o !== "rw") };
}

/** The spec's mounts when the caller did not resolve them: binds are host paths already; volumes need resolving. */
export function mountsFromSpec(mounts: MountSpec[]): ResolvedMount[] {
  return mounts.map((m) => {
    if (m.type === "tmpfs") {
      return { type: "tmpfs", source: "tmpfs", target: m.target, readOnly: m.readOnly, tmpfsSize: m.tmpfsSize, tmpfsMode: m.tmpfsMode };
    }
    if (m.type === "volume" || m.source === undefined || !posix.isAbsolute(m.source)) {
      throw new EngineError("invalid", `mount ${m.target}: ${m.type} source "${m.source ?? "(anonymous)"}" must be resolved to a host path by the caller`);
    }
    return { type: "bind", source: m.source, target: m.target, readOnly: m.readOnly, propagation: m.propagation };
  });
}

function toOci(m: ResolvedMount): OciMount {
  if (!posix.isAbsolute(m.target)) throw new EngineError("invalid", `mount target "${m.target}" must be an absolute path`);
  const destination = posix.normalize(m.target);
  if (m.type === "tmpfs") {
    // Docker's tmpfs defaults (noexec,nosuid,nodev), then size/mode, then the
    // user's options: a later option replaces an earlier one of the same kind.
    const opts = ["nosuid", "nodev", "noexec"];
    if (m.tmpfsSize !== undefined) opts.push(`size=${m.tmpfsSize}`);
    if (m.tmpfsMode !== undefined) opts.push(`mode=${m.tmpfsMode.toString(8)}`);
    opts.push(...(m.tmpfsOptions ?? []));
    if (m.readOnly) opts.push("ro");
    return { destination, type: "tmpfs", source: "tmpfs", options: mergeTmpfsOptions(opts) };
  }
  if (m.type === "overlay") return { destination, type: "overlay", source: "overlay", options: [...(m.overlayOptions ?? []), "ro"] };
  if (!posix.isAbsolute(m.source)) throw new EngineError("invalid", `bind source "${m.source}" must be an absolute host path`);
  const opts = ["rbind", m.propagation ?? "rprivate"];
  if (m.readOnly) opts.push("ro");
  return { destination, type: "bind", source: m.source, options: opts };
}

/** As moby's MergeTmpfsOptions: the last of exec/noexec (suid, dev, ro/rw, size=, mode= ...) wins. */
export function mergeTmpfsOptions(options: string[]): string[] {
  const kind = (o: string) => {
    const key = o.split("=")[0] ?? o;
    if (o.includes("=")) return key;
    if (key === "ro" || key === "rw") return "rw";
    return key.startsWith("no") && ["noexec", "nosuid", "nodev", "noatime", "nodiratime"].includes(key) ? key.slice(2) : key;
  };
  const last = new Map<string, string>();
  for (const o of options) {
    last.delete(kind(o));
    last.set(kind(o), o);
  }
  return [...last.values()];
}

const depth = (p: string) => p.split("/").filter(Boolean).length;

/**
 * Defaults, then the /etc files, then the user's mounts (parents first). A
 * user mount at a default's or an /etc file's destination replaces it.
 */
export function assembleMounts(defaults: OciMount[], etcFiles: OciMount[], user: ResolvedMount[]): OciMount[] {
  const own = user.map(toOci).sort((a, b) => depth(a.destination) - depth(b.destination));
  const taken = new Set(own.map((m) => m.destination));
  const seen = new Set<string>();
  for (const m of own) {
    if (seen.has(m.destination)) throw new EngineError("invalid", `duplicate mount point: ${m.destination}`);
    seen.add(m.destination);
  }
  return [...defaults.filter((m) => !taken.has(m.destination)), ...etcFiles.filter((m) => !taken.has(m.destination)), ...own];
}
