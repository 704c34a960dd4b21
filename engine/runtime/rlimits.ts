// Resource limits (ulimits). Docker starts containers with RLIMIT_NOFILE
// 1048576; on hosts with a lower hard limit (20000 here) setrlimit in the
// container's init fails and the container does not start (podman's defaults
// fail that way here). So every limit is clamped to what this host allows.
import { readFileSync } from "node:fs";
import { EngineError } from "../types.js";
import type { OciRlimit } from "./oci.js";

/** Limits by OCI name (RLIMIT_NOFILE ...); Infinity = unlimited. */
export type HostRlimits = Record<string, { soft: number; hard: number }>;

const PROC_NAMES: Record<string, string> = {
  "Max cpu time": "RLIMIT_CPU",
  "Max file size": "RLIMIT_FSIZE",
  "Max data size": "RLIMIT_DATA",
  "Max stack size": "RLIMIT_STACK",
  "Max core file size": "RLIMIT_CORE",
  "Max resident set": "RLIMIT_RSS",
  "Max processes": "RLIMIT_NPROC",
  "Max open files": "RLIMIT_NOFILE",
  "Max locked memory": "RLIMIT_MEMLOCK",
  "Max address space": "RLIMIT_AS",
  "Max file locks": "RLIMIT_LOCKS",
  "Max pending signals": "RLIMIT_SIGPENDING",
  "Max msgqueue size": "RLIMIT_MSGQUEUE",
  "Max nice priority": "RLIMIT_NICE",
  "Max realtime priority": "RLIMIT_RTPRIO",
  "Max realtime timeout": "RLIMIT_RTTIME",
};

const value = (s: string) => (s === "unlimited" ? Infinity : Number(s));

/** Parses /proc/<pid>/limits. */
export function parseProcLimits(text: string): HostRlimits {
  const out: HostRlimits = {};
  for (const line of text.split("\n")) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const name = m?.[1] ? PROC_NAMES[m[1]] : undefined;
    if (!m?.[2] || !m[3] || !name) continue;
    out[name] = { soft: value(m[2]), hard: value(m[3]) };
  }
  return out;
}

let hostLimits: HostRlimits | undefined;

/** The engine process's hard limits (read once: they are the host's, and do not change under a running daemon). */
export function hostRlimits(): HostRlimits {
  hostLimits ??= parseProcLimits(readFileSync("/proc/self/limits", "utf8"));
  return hostLimits;
}

/** compose's ulimit names (nofile, nproc ...) to OCI names. */
export function rlimitName(name: string): string {
  const up = name.trim().toUpperCase();
  const oci = up.startsWith("RLIMIT_") ? up : `RLIMIT_${up}`;
  if (!Object.values(PROC_NAMES).includes(oci)) throw new EngineError("invalid", `unknown ulimit "${name}"`);
  return oci;
}

/** Docker's default: a high open-files limit (dockerd's own under systemd). */
const DEFAULT_RLIMITS: Record<string, { soft: number; hard: number }> = {
  RLIMIT_NOFILE: { soft: 1048576, hard: 1048576 },
};

/** CAP_SYS_RESOURCE in the effective set: the holder may raise hard limits (runc's init inherits it). */
export function hasSysResource(status = readFileSync("/proc/self/status", "utf8")): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m?.[1] !== undefined && ((BigInt(`0x${m[1]}`) >> 24n) & 1n) === 1n;
}

let raise: boolean | undefined;

/** Whether this engine may grant a ulimit above its own hard limit, read once. */
export function canRaiseRlimits(): boolean {
  raise ??= hasSysResource();
  return raise;
}

/**
 * Defaults, overridden by the container's ulimits (-1 = unlimited, as in
 * compose). The defaults are clamped to the host's hard limit; a ulimit the
 * stack asks for is granted as asked when the engine may raise limits (dockerd
 * as root does so) and is an error otherwise, as runc's setrlimit would fail:
 * `up` checks this first (src/stack/host-resources.ts), this is the backstop.
 */
export function containerRlimits(ulimits: Record<string, { soft: number; hard: number }>, host: HostRlimits, mayRaise = false): OciRlimit[] {
  const wanted = new Map<string, { soft: number; hard: number }>(Object.entries(DEFAULT_RLIMITS));
  const asked = new Set<string>();
  for (const [name, l] of Object.entries(ulimits)) {
    const unl = (n: number) => (n < 0 ? Infinity : n);
    const type = rlimitName(name);
    const max = host[type]?.hard ?? Infinity;
    if (unl(l.hard) > max && !mayRaise) {
      throw new EngineError("invalid", `ulimit ${name}: ${l.hard < 0 ? "unlimited" : l.hard} is above the engine's hard limit ${max === Infinity ? "unlimited" : max}, which it may not raise (no CAP_SYS_RESOURCE)`);
    }
    wanted.set(type, { soft: unl(l.soft), hard: unl(l.hard) });
    asked.add(type);
  }
  return [...wanted].map(([type, l]) => {
    if (asked.has(type)) return { type, hard: l.hard, soft: Math.min(l.soft, l.hard) };
    const max = host[type]?.hard ?? Infinity;
    const hard = Math.min(l.hard, max);
    const soft = Math.min(l.soft, hard);
    return { type, hard, soft };
  });
}
