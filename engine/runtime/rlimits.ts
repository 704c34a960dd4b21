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

/**
 * Defaults, overridden by the container's ulimits (-1 = unlimited, as in
 * compose), each clamped to the host's hard limit with soft <= hard.
 */
export function containerRlimits(ulimits: Record<string, { soft: number; hard: number }>, host: HostRlimits): OciRlimit[] {
  const wanted = new Map<string, { soft: number; hard: number }>(Object.entries(DEFAULT_RLIMITS));
  for (const [name, l] of Object.entries(ulimits)) {
    const unl = (n: number) => (n < 0 ? Infinity : n);
    wanted.set(rlimitName(name), { soft: unl(l.soft), hard: unl(l.hard) });
  }
  return [...wanted].map(([type, l]) => {
    const max = host[type]?.hard ?? Infinity;
    const hard = Math.min(l.hard, max);
    const soft = Math.min(l.soft, hard);
    return { type, hard, soft };
  });
}
