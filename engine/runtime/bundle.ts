// Preparing a container's OCI bundle in its directory: everything config.json
// needs that involves I/O (the user from the rootfs's passwd, the working
// directory, the /etc files, the init binary, host devices and limits) is
// gathered here, then spec.ts builds the config from it.
import { realpathSync } from "node:fs";
import { chmod, lstat, mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import { detectCgroupVersion } from "../cgroups/detect.js";
import { writeFileAtomic } from "../sys/atomic-file.js";
import type { ContainerSpec, ImageConfig } from "../types.js";
import { EngineError } from "../types.js";
import { capabilitiesFromMask } from "./caps.js";
import { writeContainerFiles } from "./container-files.js";
import { containerDevices, deviceAt } from "./devices.js";
import { hostsFile, parseExtraHost, resolvConf } from "./etcfiles.js";
import type { HostsEntry } from "./etcfiles.js";
import { mountsFromSpec } from "./mounts.js";
import type { ResolvedMount } from "./mounts.js";
import { which } from "./monitor.js";
import { sharesHostUts } from "./namespaces.js";
import { hostShmPath } from "./shm.js";
import type { JoinPaths } from "./namespaces.js";
import type { OciDevice, OciSpec, RootfsMount } from "./oci.js";
import { canRaiseRlimits, hostRlimits } from "./rlimits.js";
import type { HostRlimits } from "./rlimits.js";
import { blkioDevicePaths, buildSpec, containerHostname, serializeSpec } from "./spec.js";
import type { BlockDevices } from "./spec.js";
import { resolveInRoot, resolveUser } from "./user.js";
import type { ResolvedUser } from "./user.js";

export interface BundleInput {
  id: string;
  /** The container's directory: config.json and the /etc files go here. */
  dir: string;
  spec: ContainerSpec;
  image: ImageConfig;
  rootfs: string;
  /** runc mounts this on the (empty) rootfs; then the rootfs cannot be read here, and `user` must be given. */
  rootfsMount?: RootfsMount | undefined;
  /** The user, resolved by the caller; default: looked up in the rootfs. */
  user?: ResolvedUser | undefined;
  cgroupsPath: string;
  netnsPath?: string | undefined;
  /**
   * The network layer's resolv.conf: content naming the network's DNS server
   * (which forwards to spec.dns itself, so dns does not replace it; dns_search
   * and dns_opt still apply), or a file to bind as it is. Default: the host's.
   */
  resolvConf?: { content: string } | { path: string } | undefined;
  /** The container's own address, written to /etc/hosts under its hostname. */
  ipAddress?: string | undefined;
  hostsEntries?: HostsEntry[] | undefined;
  /** The whole /etc/hosts from the network layer (extra_hosts are appended); replaces the generated one. */
  hostsContent?: string | undefined;
  /** Mounts with host paths resolved; default: spec.mounts (binds only). */
  mounts?: ResolvedMount[] | undefined;
  hostLimits?: HostRlimits;
  /** The namespaces of other containers spec.pidMode/ipcMode join (namespaces.ts). */
  joinPaths?: JoinPaths | undefined;
  /** Added to config.json's annotations (the container's record as created: see store.ts RECORD_ANNOTATION). */
  annotations?: Record<string, string>;
}

/** The first of docker-init, tini-static, tini on PATH (all are tini; docker-init is Docker's name for it). */
export function findInitBinary(): string | undefined {
  for (const name of ["docker-init", "tini-static", "tini"]) {
    const p = which(name);
    if (p) return realpathSync(p);
  }
  return undefined;
}

export async function prepareBundle(b: BundleInput): Promise<OciSpec> {
  const { spec, image } = b;
  const st = await stat(b.rootfs).catch(() => undefined);
  if (!st?.isDirectory()) throw new EngineError("invalid", `rootfs ${b.rootfs} is not a directory`);

  const hostNetwork = spec.networkMode === "host";
  const hostname = sharesHostUts(spec) ? osHostname() : containerHostname(spec, b.id);
  const files = { hosts: join(b.dir, "hosts"), hostname: join(b.dir, "hostname"), resolvConf: join(b.dir, "resolv.conf") };
  if (b.resolvConf && "path" in b.resolvConf) files.resolvConf = b.resolvConf.path;
  // Readable by any container user (writeFile honours our umask only).
  const writeEtc = async (file: string, content: string | Promise<string>) => {
    await writeFile(file, await content);
    await chmod(file, 0o644);
  };
  const cwd = spec.workingDir || image.workingDir;
  // Independent steps, at once: starting containers is CPU- and latency-bound.
  if (b.rootfsMount && !b.user) throw new EngineError("internal", "a rootfs runc mounts needs the user resolved beforehand");
  const [user] = await Promise.all([
    b.user ?? resolveUser(b.rootfs, spec.user ?? image.user, spec.groupAdd),
    // Docker creates a missing working directory in the container's filesystem (runc does it, in a rootfs it mounts).
    cwd && cwd !== "/" && !b.rootfsMount ? resolveInRoot(b.rootfs, cwd).then((d) => mkdir(d, { recursive: true })) : undefined,
    writeEtc(
      files.hosts,
      hostNetwork
        ? readFile("/etc/hosts", "utf8")
            .catch(() => "")
            .then((hosts) => withExtraHosts(hosts, spec.extraHosts))
        : b.hostsContent !== undefined
          ? withExtraHosts(b.hostsContent, spec.extraHosts)
          : hostsFile({ extraHosts: spec.extraHosts, entries: b.hostsEntries, ownIp: b.ipAddress, hostname, domainname: spec.domainname }),
    ),
    writeEtc(files.hostname, `${hostname}\n`),
    b.resolvConf && "path" in b.resolvConf
      ? undefined
      : writeEtc(
          files.resolvConf,
          (b.resolvConf?.content !== undefined ? Promise.resolve(b.resolvConf.content) : readFile("/etc/resolv.conf", "utf8").catch(() => "")).then((base) =>
            resolvConf(base, { dns: spec.dns, dnsSearch: spec.dnsSearch, dnsOptions: spec.dnsOptions, hostNetwork, embeddedDns: b.resolvConf !== undefined }),
          ),
        ),
  ]);

  const mounts = [...(b.mounts ?? mountsFromSpec(spec.mounts)), ...(await writeContainerFiles(b.dir, spec.files ?? []))];
  for (const m of spec.mounts) {
    // Only a missing source becomes a directory: an existing file (a bound config file) is left as it is.
    if (m.type === "bind" && m.createHostPath && m.source) {
      await mkdir(m.source, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "EEXIST") throw err;
      });
    }
  }

  const config = buildSpec({
    id: b.id,
    spec,
    image,
    rootfs: b.rootfs,
    rootfsMount: b.rootfsMount,
    user,
    mounts,
    etcFiles: files,
    netnsPath: b.netnsPath,
    hostRlimits: b.hostLimits ?? hostRlimits(),
    mayRaiseRlimits: canRaiseRlimits(),
    cgroupsPath: b.cgroupsPath,
    initBinary: spec.init ? findInitBinary() : undefined,
    hostDevices: spec.privileged ? await hostDevices() : undefined,
    devices: await containerDevices(spec),
    joinPaths: b.joinPaths,
    hostShm: hostShmPath(b.dir),
    hostCapabilities: spec.privileged ? await hostBoundingCapabilities() : undefined,
    hostMaskedPaths: spec.privileged ? undefined : await hostMaskedPaths(),
    blockDevices: await resolveBlockDevices(blkioDevicePaths(spec.resources.blkio)),
    cgroupVersion: detectCgroupVersion(),
  });
  if (b.annotations) config.annotations = { ...config.annotations, ...b.annotations };
  // 0600: the spec holds the container's environment (secrets).
  await writeFileAtomic(join(b.dir, "config.json"), serializeSpec(config));
  return config;
}

/** Rewrites a bundle's joined namespace paths for the joined containers' current pids. */
export async function updateJoinPaths(dir: string, joined: JoinPaths): Promise<void> {
  const file = join(dir, "config.json");
  const config = JSON.parse(await readFile(file, "utf8")) as OciSpec;
  // RLIM_INFINITY does not survive a JS number: back to the mark serializeSpec writes exactly.
  for (const r of config.process.rlimits ?? []) {
    if (r.hard > Number.MAX_SAFE_INTEGER) r.hard = Infinity;
    if (r.soft > Number.MAX_SAFE_INTEGER) r.soft = Infinity;
  }
  for (const ns of config.linux.namespaces) {
    if ((ns.type === "pid" || ns.type === "ipc") && ns.path !== undefined && joined[ns.type]) ns.path = joined[ns.type];
  }
  // The IPC donor named by name may be another container now: its /dev/shm then.
  const shm = config.mounts.find((m) => m.destination === "/dev/shm");
  if (shm?.type === "bind" && joined.shm !== undefined) shm.source = joined.shm;
  await writeFileAtomic(file, serializeSpec(config));
}

let maskedOfHost: Promise<string[]> | undefined;
/** /sys/devices/system/cpu/cpuN/thermal_throttle of every possible CPU that has one, as Docker masks them (read once). */
export function hostMaskedPaths(): Promise<string[]> {
  maskedOfHost ??= readFile("/sys/devices/system/cpu/possible", "utf8")
    .then(async (list) => {
      const dirs = cpuList(list).map((n) => `/sys/devices/system/cpu/cpu${n}/thermal_throttle`);
      const present = await Promise.all(dirs.map((d) => stat(d).then(() => true, () => false)));
      return dirs.filter((_d, i) => present[i]);
    })
    .catch(() => []);
  return maskedOfHost;
}

/** "0-3,8" -> [0, 1, 2, 3, 8] (the kernel's cpu list format). */
export function cpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let n = from; n <= to && n - from < 8192; n++) out.push(n);
  }
  return out;
}

let boundingCaps: Promise<string[] | undefined> | undefined;
/** This process's bounding set (read once: it never grows); undefined where /proc says nothing. */
export function hostBoundingCapabilities(): Promise<string[] | undefined> {
  boundingCaps ??= readFile("/proc/self/status", "utf8").then(
    (text) => {
      const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(text);
      return m ? capabilitiesFromMask(m[1] as string) : undefined;
    },
    () => undefined,
  );
  return boundingCaps;
}

function withExtraHosts(content: string, extraHosts: string[]): string {
  const base = content === "" || content.endsWith("\n") ? content : `${content}\n`;
  return base + extraHosts.map((h) => parseExtraHost(h)).map((e) => `${e.ip}\t${e.names.join(" ")}\n`).join("");
}

/** glibc's major()/minor() of a dev_t. */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const d = BigInt(rdev);
  return { major: Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn)), minor: Number((d & 0xffn) | ((d >> 12n) & 0xfff00n)) };
}

/**
 * The block devices blkio limits name, by path (symlinks followed, as dockerd's
 * os.Stat): a missing path or one that is not a block device is the user's error.
 */
export async function resolveBlockDevices(paths: readonly string[]): Promise<BlockDevices> {
  const out: BlockDevices = {};
  for (const path of paths) {
    const st = await stat(path).catch(() => undefined);
    if (!st) throw new EngineError("invalid", `blkio_config: no such device ${path}`);
    if (!st.isBlockDevice()) throw new EngineError("invalid", `blkio_config: ${path} is not a block device`);
    out[path] = deviceNumbers(st.rdev);
  }
  return out;
}

// runc's devices.HostDevices skips these: they are per-container or virtual.
const SKIP_DIRS = new Set(["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]);

/** Every char and block device under /dev, for privileged containers (as Docker passes them). */
export async function hostDevices(dir = "/dev", depth = 0): Promise<OciDevice[]> {
  const out: OciDevice[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) {
      if (!SKIP_DIRS.has(name) && depth < 4) out.push(...(await hostDevices(path, depth + 1)));
      continue;
    }
    if (path === "/dev/console") continue;
    const dev = await deviceAt(path);
    if (dev) out.push(dev);
  }
  return out;
}
