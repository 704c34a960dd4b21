// Seccomp profiles in Docker's JSON format (moby/profiles/seccomp: a default
// action, an archMap, and syscall rules that apply only for some
// capabilities, architectures or kernel versions) turned into the OCI runtime
// spec's linux.seccomp for one container, as dockerd does it (moby's
// setupSeccomp): keep the host architecture and its sub-architectures, keep
// each rule whose includes all hold and whose excludes all fail for the
// container's bounding capability set, the host arch and the host kernel.
//
// Docker's default profile is data in ./seccomp/default.json (moby's, the same
// allow-list, argument filters and capability-granted syscalls). Converting it
// walks ~400 names, so results are cached per (profile, capability set): a
// container start costs a Map lookup.
import { release } from "node:os";
import { EngineError } from "../types.js";
import { isDict, type Dict } from "../../model/dict.js";
import { ALL_CAPABILITIES } from "./caps.js";
import dockerDefault from "./seccomp/default.json" with { type: "json" };

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

/** A condition of a rule: every listed capability held, the host arch among these, the kernel at least this. */
export interface SeccompCondition {
  caps?: string[];
  arches?: string[];
  /** "<kernel>.<major>", e.g. "4.8". */
  minKernel?: string;
}

export interface SeccompRule {
  names?: string[];
  /** Older profiles name one syscall per rule. */
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  comment?: string;
  includes?: SeccompCondition;
  excludes?: SeccompCondition;
}

/** A profile as `docker run --security-opt seccomp=FILE` reads it. */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompRule[];
}

/** linux.seccomp of the OCI runtime spec (what runc reads). */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: { names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }[];
}

/** The host as a profile's conditions see it: libseccomp's arch name and the kernel's "<kernel>.<major>". */
export interface SeccompHost {
  arch: string;
  kernel: [number, number];
}

const ACTIONS = new Set([
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
]);
const OPERATORS = new Set(["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]);
const FLAGS = new Set(["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]);

/** libseccomp's arch names (rule conditions) -> the spec's SCMP_ARCH_* (archMap), as moby maps them. */
const NATIVE_TO_SCMP: Record<string, string> = {
  x86: "SCMP_ARCH_X86",
  amd64: "SCMP_ARCH_X86_64",
  x32: "SCMP_ARCH_X32",
  arm: "SCMP_ARCH_ARM",
  arm64: "SCMP_ARCH_AARCH64",
  loong64: "SCMP_ARCH_LOONGARCH64",
  mips: "SCMP_ARCH_MIPS",
  mipsel: "SCMP_ARCH_MIPSEL",
  mips64: "SCMP_ARCH_MIPS64",
  mips64n32: "SCMP_ARCH_MIPS64N32",
  mipsel64: "SCMP_ARCH_MIPSEL64",
  mipsel64n32: "SCMP_ARCH_MIPSEL64N32",
  ppc: "SCMP_ARCH_PPC",
  ppc64: "SCMP_ARCH_PPC64",
  ppc64le: "SCMP_ARCH_PPC64LE",
  riscv64: "SCMP_ARCH_RISCV64",
  s390: "SCMP_ARCH_S390",
  s390x: "SCMP_ARCH_S390X",
};
const SCMP_ARCHES = new Set([...Object.values(NATIVE_TO_SCMP), "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64"]);
// Condition arches in moby's own spelling; loongarch64 and mips3l64n32 are how its Go table names two of them.
const NATIVE_ARCHES = new Set([...Object.keys(NATIVE_TO_SCMP), "loongarch64", "mips3l64n32"]);

/** Node's process.arch -> libseccomp's name (ppc64 is little-endian on every Node build for Linux but AIX). */
const NODE_TO_NATIVE: Record<string, string> = {
  ia32: "x86",
  x64: "amd64",
  arm: "arm",
  arm64: "arm64",
  loong64: "loong64",
  mips: "mips",
  mipsel: "mipsel",
  ppc: "ppc",
  ppc64: "ppc64le",
  riscv64: "riscv64",
  s390: "s390",
  s390x: "s390x",
};

/** "4.8" -> [4, 8]; undefined when malformed. */
function parseKernelVersion(v: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

let host: SeccompHost | undefined;
/** This machine, read once. */
export function seccompHost(): SeccompHost {
  host ??= { arch: NODE_TO_NATIVE[process.arch] ?? process.arch, kernel: parseKernelVersion(release()) ?? [0, 0] };
  return host;
}

/** A profile that does not follow Docker's format; `where` is the JSON path of the offending value. */
export class SeccompProfileError extends EngineError {
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {
    super("invalid", `${where ? `${where}: ` : ""}${reason}`);
  }
}

/**
 * Parses and checks a profile's JSON text: every key known, every action,
 * operator, architecture and capability one that exists, so that a typo is an
 * error rather than a rule that silently never applies.
 */
export function parseSeccompProfile(text: string): SeccompProfile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SeccompProfileError("", `not valid JSON: ${(e as Error).message}`);
  }
  return checkSeccompProfile(value);
}

export function checkSeccompProfile(value: unknown): SeccompProfile {
  const fail = (where: string, reason: string): never => {
    throw new SeccompProfileError(where, reason);
  };
  const keysOf = (v: unknown, where: string, allowed: readonly string[]): Dict => {
    if (!isDict(v)) return fail(where, "must be an object");
    for (const k of Object.keys(v)) if (!allowed.includes(k)) fail(where ? `${where}.${k}` : k, `unknown key (known: ${allowed.join(", ")})`);
    return v;
  };
  const uint = (v: unknown, where: string): number => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) return fail(where, "must be a non-negative integer (at most 2^53-1)");
    return v;
  };
  const strings = (v: unknown, where: string, known?: Set<string>, what = "value"): string[] => {
    if (!Array.isArray(v)) return fail(where, "must be a list of strings");
    return v.map((s, i) => {
      if (typeof s !== "string") return fail(`${where}[${i}]`, "must be a string");
      if (known && !known.has(s)) fail(`${where}[${i}]`, `unknown ${what} "${s}"`);
      return s;
    });
  };
  const action = (v: unknown, where: string): string => {
    if (typeof v !== "string" || !ACTIONS.has(v)) return fail(where, `unknown action ${JSON.stringify(v)} (known: ${[...ACTIONS].join(", ")})`);
    return v;
  };
  const condition = (v: unknown, where: string): SeccompCondition => {
    const d = keysOf(v, where, ["caps", "arches", "minKernel"]);
    const out: SeccompCondition = {};
    if (d.caps !== undefined) out.caps = strings(d.caps, `${where}.caps`, new Set(ALL_CAPABILITIES), "capability");
    if (d.arches !== undefined) out.arches = strings(d.arches, `${where}.arches`, NATIVE_ARCHES, "architecture");
    if (d.minKernel !== undefined) {
      if (typeof d.minKernel !== "string" || !/^\d+\.\d+$/.test(d.minKernel) || /^0+\.0+$/.test(d.minKernel)) {
        fail(`${where}.minKernel`, `must be "<kernel>.<major>" such as "4.8", not ${JSON.stringify(d.minKernel)}`);
      }
      out.minKernel = d.minKernel as string;
    }
    return out;
  };

  const p = keysOf(value, "", ["defaultAction", "defaultErrnoRet", "architectures", "archMap", "flags", "listenerPath", "listenerMetadata", "syscalls"]);
  // As in Docker, a profile with no default action and no rules filters nothing.
  const empty = (p.defaultAction === undefined || p.defaultAction === "") && (p.syscalls === undefined || p.syscalls === null || (Array.isArray(p.syscalls) && p.syscalls.length === 0));
  const profile: SeccompProfile = { defaultAction: empty ? "" : action(p.defaultAction, "defaultAction") };
  if (p.defaultErrnoRet !== undefined) profile.defaultErrnoRet = uint(p.defaultErrnoRet, "defaultErrnoRet");
  if (p.architectures !== undefined && p.archMap !== undefined) fail("archMap", "'architectures' and 'archMap' are both given: use one of them");
  if (p.architectures !== undefined) profile.architectures = strings(p.architectures, "architectures", SCMP_ARCHES, "architecture");
  if (p.archMap !== undefined) {
    if (!Array.isArray(p.archMap)) fail("archMap", "must be a list");
    profile.archMap = (p.archMap as unknown[]).map((a, i) => {
      const d = keysOf(a, `archMap[${i}]`, ["architecture", "subArchitectures"]);
      if (typeof d.architecture !== "string" || !SCMP_ARCHES.has(d.architecture)) fail(`archMap[${i}].architecture`, `unknown architecture ${JSON.stringify(d.architecture)}`);
      const subs = d.subArchitectures === null || d.subArchitectures === undefined ? null : strings(d.subArchitectures, `archMap[${i}].subArchitectures`, SCMP_ARCHES, "architecture");
      return { architecture: d.architecture as string, subArchitectures: subs };
    });
  }
  if (p.flags !== undefined) profile.flags = strings(p.flags, "flags", FLAGS, "flag");
  for (const k of ["listenerPath", "listenerMetadata"] as const) {
    if (p[k] === undefined) continue;
    if (typeof p[k] !== "string") fail(k, "must be a string");
    profile[k] = p[k] as string;
  }
  if (p.syscalls !== undefined && p.syscalls !== null) {
    if (!Array.isArray(p.syscalls)) fail("syscalls", "must be a list");
    profile.syscalls = (p.syscalls as unknown[]).map((r, i): SeccompRule => {
      const at = `syscalls[${i}]`;
      const d = keysOf(r, at, ["names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes"]);
      if (d.name !== undefined && d.names !== undefined) fail(at, "'name' and 'names' are both given: use 'names'");
      const names = d.name !== undefined ? strings([d.name], `${at}.name`) : strings(d.names ?? [], `${at}.names`);
      if (names.length === 0) fail(at, "names no syscall");
      for (const [j, n] of names.entries()) if (!/^[a-z_][a-z0-9_]*$/.test(n)) fail(`${at}.names[${j}]`, `not a syscall name: ${JSON.stringify(n)}`);
      const rule: SeccompRule = { names, action: action(d.action, `${at}.action`) };
      if (d.errnoRet !== undefined) {
        if (rule.action !== "SCMP_ACT_ERRNO" && rule.action !== "SCMP_ACT_TRACE") fail(`${at}.errnoRet`, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errnoRet");
        rule.errnoRet = uint(d.errnoRet, `${at}.errnoRet`);
      }
      if (d.args !== undefined && d.args !== null) {
        if (!Array.isArray(d.args)) fail(`${at}.args`, "must be a list");
        rule.args = (d.args as unknown[]).map((x, k) => {
          const aw = `${at}.args[${k}]`;
          const a = keysOf(x, aw, ["index", "value", "valueTwo", "op"]);
          const index = uint(a.index, `${aw}.index`);
          if (index > 5) fail(`${aw}.index`, "a syscall has 6 arguments (index 0 to 5)");
          if (typeof a.op !== "string" || !OPERATORS.has(a.op)) fail(`${aw}.op`, `unknown operator ${JSON.stringify(a.op)} (known: ${[...OPERATORS].join(", ")})`);
          const arg: SeccompArg = { index, value: uint(a.value, `${aw}.value`), op: a.op as string };
          if (a.valueTwo !== undefined) arg.valueTwo = uint(a.valueTwo, `${aw}.valueTwo`);
          return arg;
        });
      }
      if (d.comment !== undefined) {
        if (typeof d.comment !== "string") fail(`${at}.comment`, "must be a string");
        rule.comment = d.comment as string;
      }
      if (d.includes !== undefined) rule.includes = condition(d.includes, `${at}.includes`);
      if (d.excludes !== undefined) rule.excludes = condition(d.excludes, `${at}.excludes`);
      return rule;
    });
  }
  return profile;
}

const kernelAtLeast = (have: [number, number], want: string): boolean => {
  const [k, m] = parseKernelVersion(want) ?? [0, 0];
  return have[0] > k || (have[0] === k && have[1] >= m);
};

/**
 * The linux.seccomp of a container with these bounding capabilities on this
 * host; undefined when the profile filters nothing (no default action and no
 * rules: Docker runs such a container unconfined).
 */
export function toOciSeccomp(profile: SeccompProfile, caps: readonly string[], on: SeccompHost): OciSeccomp | undefined {
  if (!profile.defaultAction && !profile.syscalls?.length) return undefined;
  const held = new Set(caps);
  const out: OciSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.architectures) {
    out.architectures = [...profile.architectures];
  } else {
    const native = NATIVE_TO_SCMP[on.arch];
    const entry = profile.archMap?.find((a) => a.architecture === native);
    if (entry) out.architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
  }
  if (profile.flags) out.flags = [...profile.flags];
  if (profile.listenerPath !== undefined) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata !== undefined) out.listenerMetadata = profile.listenerMetadata;

  const syscalls: NonNullable<OciSeccomp["syscalls"]> = [];
  for (const rule of profile.syscalls ?? []) {
    const ex = rule.excludes;
    // Excluded as soon as one exclude condition holds (any listed cap held, the arch listed, the kernel new enough).
    if (ex?.arches?.includes(on.arch)) continue;
    if (ex?.caps?.some((c) => held.has(c))) continue;
    if (ex?.minKernel !== undefined && kernelAtLeast(on.kernel, ex.minKernel)) continue;
    // Included only if every include condition holds (all listed caps held).
    const inc = rule.includes;
    if (inc?.arches?.length && !inc.arches.includes(on.arch)) continue;
    if (inc?.caps?.some((c) => !held.has(c))) continue;
    if (inc?.minKernel !== undefined && !kernelAtLeast(on.kernel, inc.minKernel)) continue;
    syscalls.push({
      names: rule.names ?? (rule.name !== undefined ? [rule.name] : []),
      action: rule.action,
      ...(rule.errnoRet !== undefined ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args?.length ? { args: rule.args.map((a) => ({ ...a })) } : {}),
    });
  }
  if (syscalls.length) out.syscalls = syscalls;
  return out;
}

let defaultProfile: SeccompProfile | undefined;
/** Docker's default profile (./seccomp/default.json), checked once. */
export function defaultSeccompProfile(): SeccompProfile {
  defaultProfile ??= checkSeccompProfile(dockerDefault);
  return defaultProfile;
}

// Few distinct (profile, capability set) pairs exist at a time; the bound only
// keeps a daemon whose users keep editing profiles from growing without end.
const MAX_CACHED = 64;
const cache = new Map<string, OciSeccomp | undefined>();

/**
 * linux.seccomp for a container: `profileText` undefined means Docker's
 * default profile, else a profile's JSON text (a bad one throws
 * SeccompProfileError). Cached per (host, capability set, profile); the
 * result is frozen and shared, never to be modified.
 */
export function containerSeccomp(profileText: string | undefined, caps: readonly string[], on: SeccompHost = seccompHost()): OciSeccomp | undefined {
  const key = `${on.arch}|${on.kernel.join(".")}|${[...caps].sort().join(",")}|${profileText ?? ""}`;
  if (cache.has(key)) {
    const hit = cache.get(key);
    // Most recently used last, so the oldest entry is the first to go.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const profile = profileText === undefined ? defaultSeccompProfile() : parseSeccompProfile(profileText);
  const result = toOciSeccomp(profile, caps, on);
  if (result) deepFreeze(result);
  cache.set(key, result);
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
  return result;
}

function deepFreeze(v: object): void {
  for (const x of Object.values(v)) if (typeof x === "object" && x !== null) deepFreeze(x as object);
  Object.freeze(v);
}
