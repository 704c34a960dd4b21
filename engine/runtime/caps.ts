// Capabilities as Docker grants them (moby oci/caps): a default set, tweaked
// by cap_add / cap_drop (names with or without CAP_, any case, "ALL"), all of
// them for privileged containers.
import { EngineError } from "../types.js";

/** Every capability runc 1.1 knows, in kernel order (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40). */
export const ALL_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** Docker's default set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

function normalize(names: readonly string[]): string[] {
  return names.map((raw) => {
    const up = raw.trim().toUpperCase();
    if (up === "ALL") return "ALL";
    const name = up.startsWith("CAP_") ? up : `CAP_${up}`;
    if (!ALL_CAPABILITIES.includes(name)) throw new EngineError("invalid", `unknown capability: "${raw}"`);
    return name;
  });
}

/**
 * moby's TweakCapabilities. A privileged container gets every capability the
 * host's bounding set holds (when given): runc cannot raise one the engine
 * itself lacks (a host that is itself a container without CAP_SYS_RESOURCE
 * would fail every privileged start with "unable to apply caps").
 */
export function capabilitySet(capAdd: readonly string[], capDrop: readonly string[], privileged: boolean, hostBounding?: readonly string[]): string[] {
  if (privileged) return hostBounding ? ALL_CAPABILITIES.filter((c) => hostBounding.includes(c)) : [...ALL_CAPABILITIES];
  if (capAdd.length === 0 && capDrop.length === 0) return [...DEFAULT_CAPABILITIES];
  const add = normalize(capAdd);
  const drop = normalize(capDrop);
  let caps: string[];
  if (add.includes("ALL")) {
    caps = ALL_CAPABILITIES.filter((c) => !drop.includes(c));
  } else if (drop.includes("ALL")) {
    caps = [...add];
  } else {
    caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  }
  return [...new Set(caps)];
}

export interface ProcessCapabilities {
  bounding: string[];
  effective?: string[];
  permitted?: string[];
}

/**
 * As moby's oci.SetCapabilities: root gets the set as bounding, effective and
 * permitted; another user only the bounding set, matching what execve of a
 * non-root program would give it (no inheritable, no ambient: CVE-2022-24769).
 */
export function processCapabilities(caps: readonly string[], uid: number): ProcessCapabilities {
  if (uid === 0) return { bounding: [...caps], effective: [...caps], permitted: [...caps] };
  return { bounding: [...caps] };
}

/** The capability names in a /proc/<pid>/status CapBnd hex mask. */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return ALL_CAPABILITIES.filter((_c, bit) => (mask >> BigInt(bit)) & 1n);
}
