// Helpers for the runtime's tests: a complete ContainerSpec / ImageConfig with
// defaults, and a minimal busybox root filesystem (a plain directory; the
// overlay snapshotter is not needed to run a container).
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTree } from "../cgroups/v1.js";
import type { ContainerSpec, ImageConfig } from "../types.js";
import { ContainerRuntime } from "./runtime.js";
import { baseContainerSpec } from "../container-spec.js";

const APPLETS = [
  "sh", "sleep", "true", "false", "echo", "cat", "id", "env", "ls", "ps", "kill", "yes", "head", "tail",
  "dd", "hostname", "touch", "mkdir", "wc", "seq", "printf", "tr", "od", "stty", "tty", "ulimit", "grep",
];

/** A busybox rootfs at `dir` with root, nobody (65534) and app (1000, also in group wheel) users. */
export async function makeBusyboxRootfs(dir: string): Promise<string> {
  for (const d of ["bin", "etc", "tmp", "proc", "dev", "sys", "root", "home/app"]) await mkdir(join(dir, d), { recursive: true });
  await copyFile("/bin/busybox", join(dir, "bin/busybox"));
  for (const a of APPLETS) await symlink("busybox", join(dir, "bin", a));
  await writeFile(
    join(dir, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n",
  );
  await writeFile(join(dir, "etc/group"), "root:x:0:\nwheel:x:10:app\nnogroup:x:65534:\napp:x:1000:\n");
  return dir;
}

export function baseSpec(over: Partial<ContainerSpec> = {}): ContainerSpec {
  return baseContainerSpec({ name: "web-1", image: "busybox", ...over });
}

export function baseImage(over: Partial<ImageConfig> = {}): ImageConfig {
  return {
    entrypoint: undefined,
    cmd: ["sh"],
    env: ["PATH=/usr/local/bin:/bin"],
    workingDir: undefined,
    user: undefined,
    exposedPorts: [],
    volumes: [],
    labels: {},
    stopSignal: undefined,
    healthcheck: undefined,
    ...over,
  };
}


/**
 * A private world for one test file: a `tsc-test-<random>` directory in the
 * temp dir with a busybox rootfs and a runtime state dir, and a cgroup parent
 * named after it, so leaks() can find anything left behind by name.
 */
export interface TestEnv {
  prefix: string;
  dir: string;
  rootfs: string;
  stateDir: string;
  cgroupParent: string;
  runtime: ContainerRuntime;
  /** A spec with a unique name. */
  spec(over?: Partial<ContainerSpec>): ContainerSpec;
  /** A second runtime on the same state dir (the first should be closed). */
  reopen(): Promise<ContainerRuntime>;
  /** Removes every container (force), the cgroup parent and the directory. */
  cleanup(): Promise<void>;
  /** Processes whose command line names the prefix, mounts and cgroup dirs named after it; empty when clean. */
  leaks(): Promise<string[]>;
}

export async function testEnv(): Promise<TestEnv> {
  const prefix = `tsc-test-${randomBytes(4).toString("hex")}`;
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  const rootfs = await makeBusyboxRootfs(join(dir, "rootfs"));
  const stateDir = join(dir, "state");
  const cgroupParent = `/tscompose/${prefix}`;
  const runtimes: ContainerRuntime[] = [];
  const open = async () => {
    const rt = await ContainerRuntime.open({ stateDir, cgroupParent, pollMs: 200 });
    runtimes.push(rt);
    return rt;
  };
  const runtime = await open();
  let n = 0;
  return {
    prefix,
    dir,
    rootfs,
    stateDir,
    cgroupParent,
    runtime,
    spec: (over = {}) => baseSpec({ name: `${prefix}-${++n}`, ...over }),
    reopen: open,
    async cleanup() {
      for (const rt of runtimes) await rt.close();
      const rt = await ContainerRuntime.open({ stateDir, cgroupParent });
      for (const c of await rt.list({ all: true })) await rt.remove(c.id, { force: true }).catch(() => undefined);
      await rt.close();
      for (const root of await cgroupRoots()) await removeTree(join(root, cgroupParent)).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
    async leaks() {
      const found: string[] = [];
      for (const pid of await readdir("/proc").catch((): string[] => [])) {
        if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
        const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
        if (cmd.includes(prefix)) found.push(`process ${pid}: ${cmd.replace(/\0/g, " ")}`);
      }
      const mountinfo = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
      for (const line of mountinfo.split("\n")) if (line.includes(prefix)) found.push(`mount ${line}`);
      for (const root of await cgroupRoots()) {
        const parent = join(root, "tscompose");
        for (const name of await readdir(parent).catch((): string[] => [])) if (name.startsWith(prefix)) found.push(`cgroup ${join(parent, name)}`);
      }
      return found;
    },
  };
}

/** /sys/fs/cgroup/* (v1 hierarchies) or /sys/fs/cgroup itself (v2). */
async function cgroupRoots(): Promise<string[]> {
  const names = await readdir("/sys/fs/cgroup").catch((): string[] => []);
  if (names.includes("cgroup.controllers")) return ["/sys/fs/cgroup"];
  return names.map((n) => join("/sys/fs/cgroup", n));
}
