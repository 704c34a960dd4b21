// RUN: the step's command in a build container of the engine's own (runc
// under conmon, over an overlay of the stage's layers), whose upper dir then
// becomes the step's layer. This module makes the container's spec from the
// step and the stage's config, and tidies the upper dir of what the run's
// mounts left there (mount points runc made), which docker's builder keeps
// in an init layer below the container's and BuildKit never writes.
import { randomBytes } from "node:crypto";
import { readdir, rmdir, unlink } from "node:fs/promises";
import { join, posix } from "node:path";
import { lstatOrUndefined } from "../copy.js";
import { baseContainerSpec } from "../container-spec.js";
import { EngineError } from "../errors.js";
import { mergeEnv } from "../runtime/spec.js";
import { isOpaqueDir } from "../snapshot/xattr.js";
import type { ContainerFile, ContainerSpec, MountSpec } from "../types.js";
import { BUILD_LABEL } from "../../model/labels.js";
import { envOf, type DockerConfig } from "./config-steps.js";
import type { RunStep } from "./dockerfile/types.js";

/** Paths runc or the engine make in every container: docker's init layer (daemon/initlayer). */
const INIT_PATHS = ["/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab", "/.dockerenv", "/dev/pts", "/dev/shm", "/dev/console", "/dev", "/proc", "/sys"];

export interface RunInputs {
  /** The image the container starts from (the stage's last committed image). */
  image: string;
  config: DockerConfig;
  step: RunStep;
  /** `-c` script or argv to run (heredocs resolved). */
  argv: string[];
  network: "default" | "none" | "host";
  /** Resolved mounts: host dirs for caches and binds, images for binds from a stage. */
  mounts: MountSpec[];
  files: ContainerFile[];
  /** Secret values given as env= (not kept in the image: only this container's env). */
  secretEnv: string[];
  shmSize: number | undefined;
  extraHosts: string[];
}

export const buildContainerName = (): string => `tscompose-build-${randomBytes(6).toString("hex")}`;

export function runContainerSpec(inp: RunInputs): ContainerSpec {
  const args = Object.entries(inp.step.buildArgs).map(([k, v]) => `${k}=${v}`);
  const user = typeof inp.config.User === "string" && inp.config.User !== "" ? inp.config.User : "0";
  const workdir = typeof inp.config.WorkingDir === "string" && inp.config.WorkingDir !== "" ? inp.config.WorkingDir : "/";
  return baseContainerSpec({
    name: buildContainerName(),
    image: inp.image,
    labels: { [BUILD_LABEL]: "run" },
    entrypoint: [],
    cmd: inp.argv,
    // Build args first: an ENV of the same name wins (docker's rule); the image's env is replaced whole, the config is newer.
    env: [...mergeEnv(args, envOf(inp.config)), ...inp.secretEnv],
    workingDir: workdir,
    user,
    mounts: inp.mounts,
    files: inp.files,
    networkMode: inp.network === "default" ? "bridge" : inp.network,
    networks: inp.network === "default" ? { bridge: { aliases: [], ipv4Address: undefined } } : {},
    shmSize: inp.shmSize,
    extraHosts: inp.extraHosts,
    log: { maxSize: undefined, maxFiles: undefined },
  });
}

/** What the shell runs for a RUN: BuildKit runs a lone heredoc's body as the script, else gives the shell the heredocs to read. */
export function runArgv(step: RunStep): string[] {
  const c = step.command;
  if (c.form === "exec") return [...c.argv];
  if (step.heredocs.length === 0) return [...c.shell, c.script];
  const only = step.heredocs.length === 1 ? step.heredocs[0] : undefined;
  if (only !== undefined && /^<<-?\s*(["']?)[^\s"']+\1\s*$/.test(c.script.trim())) {
    return [...c.shell, only.content];
  }
  const bodies = step.heredocs.map((h) => `${h.content}${h.content.endsWith("\n") || h.content === "" ? "" : "\n"}${h.name}\n`).join("");
  return [...c.shell, `${c.script}\n${bodies}`];
}

/** docker's error for a RUN that failed, which scripts and CI logs match on (the executor adds `Dockerfile:LINE: RUN ...: `). */
export function runFailure(argv: readonly string[], exitCode: number): EngineError {
  return new EngineError("invalid", `process "${argv.join(" ")}" did not complete successfully: exit code: ${exitCode}`);
}

/**
 * Removes from `upper` the mount points the run's mounts left (empty files or
 * directories at their targets), then their parents that are left empty and
 * were only copied up for them. A directory the run made opaque (rm -rf, then
 * mkdir) is a change and stays.
 */
export async function pruneMountPoints(upper: string, targets: readonly string[]): Promise<void> {
  const paths = [...new Set([...INIT_PATHS, ...targets].map((t) => posix.normalize(`/${t}`)))].sort((a, b) => b.length - a.length);
  const parents = new Set<string>();
  for (const p of paths) {
    if (p === "/") continue;
    if (await removeIfStub(join(upper, p))) {
      for (let d = posix.dirname(p); d !== "/"; d = posix.dirname(d)) parents.add(d);
    }
  }
  for (const d of [...parents].sort((a, b) => b.length - a.length)) await removeIfStub(join(upper, d));
}

async function removeIfStub(host: string): Promise<boolean> {
  const st = await lstatOrUndefined(host);
  if (!st) return false;
  if (st.isFile() && st.size === 0) {
    await unlink(host);
    return true;
  }
  if (st.isDirectory() && (await readdir(host)).length === 0 && !(await isOpaqueDir(host))) {
    await rmdir(host);
    return true;
  }
  return false;
}
