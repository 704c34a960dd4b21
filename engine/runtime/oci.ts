// The part of the OCI runtime spec (1.0.2, what runc 1.1.5 reads) that we
// write. Field names are the spec's JSON names.
import type { OciSeccomp } from "./seccomp.js";

export interface OciUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface OciRlimit {
  type: string;
  /** Infinity stands for RLIM_INFINITY; serializeSpec() writes it as 2^64-1. */
  hard: number;
  soft: number;
}

export interface OciProcess {
  terminal: boolean;
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective?: string[]; permitted?: string[] };
  rlimits: OciRlimit[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** A filesystem for runc to mount on the container's root (in the container's mount namespace). */
export type RootfsMount = Pick<OciMount, "type" | "source" | "options">;

export interface OciDevice {
  path: string;
  type: "c" | "b" | "p" | "u";
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: "a" | "c" | "b";
  major?: number;
  minor?: number;
  access: string;
}

export interface OciResources {
  devices: OciDeviceRule[];
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; realtimeRuntime?: number; realtimePeriod?: number; cpus?: string };
  pids?: { limit: number };
  blockIO?: OciBlockIO;
}

export interface OciDeviceWeight {
  major: number;
  minor: number;
  weight: number;
}

export interface OciDeviceRate {
  major: number;
  minor: number;
  rate: number;
}

export interface OciBlockIO {
  weight?: number;
  weightDevice?: OciDeviceWeight[];
  throttleReadBpsDevice?: OciDeviceRate[];
  throttleWriteBpsDevice?: OciDeviceRate[];
  throttleReadIOPSDevice?: OciDeviceRate[];
  throttleWriteIOPSDevice?: OciDeviceRate[];
}

export interface OciNamespace {
  type: "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup";
  path?: string;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: OciMount[];
  linux: {
    namespaces: OciNamespace[];
    resources: OciResources;
    cgroupsPath: string;
    sysctl?: Record<string, string>;
    devices?: OciDevice[];
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: OciSeccomp;
  };
  annotations?: Record<string, string>;
}

/** The process of `runc exec --process`: the same shape as the container's. */
export type OciExecProcess = OciProcess;
