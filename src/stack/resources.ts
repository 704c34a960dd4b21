// Normalizer stage for the resource keys (memory, CPU, block IO, OOM): reads
// them into the model and applies dockerd's own checks on the values
// (moby daemon/daemon_unix.go verifyPlatformContainerResources), so that a
// value dockerd would refuse at create is refused here, located at its key,
// before anything is touched. What depends on the host (which cgroup files
// exist, which CPUs are online) is checked by host-resources.ts at `up`.
import type { BlkioRate, BlkioSpec, ResourceSpec, ServiceSpec } from "../../model/stack.js";
import { isDict, type Dict } from "./dict.js";
import { parseDuration } from "./duration.js";
import type { Fail } from "./normalize.js";
import type { PathSegment } from "./parse.js";
import { parseSize } from "./units.js";

/** dockerd's linuxMinMemory: the kernel cannot run a container in less. */
export const MIN_MEMORY = 6 * 1024 * 1024;

export type ResourceFields = Pick<
  ServiceSpec,
  | "memLimit"
  | "cpus"
  | "cpuShares"
  | "cpuset"
  | "pidsLimit"
  | "memReservation"
  | "memswapLimit"
  | "memSwappiness"
  | "oomKillDisable"
  | "oomScoreAdj"
  | "cpuPeriod"
  | "cpuQuota"
  | "cpuRtPeriod"
  | "cpuRtRuntime"
  | "blkioConfig"
>;

export interface ResourceInput {
  /** The service as written. */
  service: Dict;
  /** services.NAME */
  at: (...rest: PathSegment[]) => PathSegment[];
  limits: ResourceSpec | undefined;
  reservations: ResourceSpec | undefined;
  fail: Fail;
}

const num = (v: unknown): number | undefined => (v === undefined || v === null ? undefined : Number(v));

export function normalizeResources({ service: s, at, limits, reservations, fail }: ResourceInput): ResourceFields {
  const size = (v: unknown, path: PathSegment[]): number | undefined => {
    if (v === undefined || v === null) return undefined;
    // -1 means "unlimited" for memswap_limit; parseSize rejects signs.
    if (v === -1 || v === "-1") return -1;
    try {
      return parseSize(v as string | number);
    } catch (e) {
      return fail(path, (e as Error).message);
    }
  };
  const microseconds = (key: string): number | undefined => {
    const v = s[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === "number") return v;
    try {
      return Math.round(parseDuration(typeof v === "string" ? v : JSON.stringify(v)) * 1000);
    } catch (e) {
      return fail(at(key), (e as Error).message);
    }
  };

  // cpu_count, cpu_percent and reserved devices: printed by `config`, refused at `up` (src/stack/support.ts).

  const out: ResourceFields = {
    memLimit: size(s.mem_limit, at("mem_limit")) ?? limits?.memory,
    cpus: num(s.cpus) ?? limits?.cpus,
    cpuShares: num(s.cpu_shares),
    cpuset: typeof s.cpuset === "string" ? s.cpuset : undefined,
    pidsLimit: num(s.pids_limit) ?? limits?.pids,
    memReservation: size(s.mem_reservation, at("mem_reservation")) ?? reservations?.memory,
    memswapLimit: size(s.memswap_limit, at("memswap_limit")),
    memSwappiness: num(s.mem_swappiness),
    oomKillDisable: s.oom_kill_disable === true || s.oom_kill_disable === "true",
    oomScoreAdj: num(s.oom_score_adj),
    cpuPeriod: num(s.cpu_period),
    cpuQuota: num(s.cpu_quota),
    cpuRtPeriod: microseconds("cpu_rt_period"),
    cpuRtRuntime: microseconds("cpu_rt_runtime"),
    blkioConfig: normalizeBlkio(s.blkio_config, at("blkio_config"), fail),
  };
  checkResources(out, at, fail);
  return out;
}

const MB = 1024 * 1024;

/** dockerd's checks on the values alone, in its words. */
export function checkResources(r: ResourceFields, at: (...rest: PathSegment[]) => PathSegment[], fail: Fail): void {
  const memory = r.memLimit ?? 0;
  if (r.memReservation !== undefined && r.memReservation > 0 && r.memReservation < MIN_MEMORY) {
    fail(at("mem_reservation"), `Minimum memory reservation allowed is ${MIN_MEMORY / MB}MB`);
  }
  if (r.memReservation !== undefined && memory > 0 && memory < r.memReservation) {
    fail(at("mem_reservation"), "Minimum memory limit can not be less than memory reservation limit, see usage");
  }
  if (r.memswapLimit !== undefined && r.memswapLimit !== 0) {
    if (memory === 0) fail(at("memswap_limit"), "You should always set the Memory limit when using Memoryswap limit, see usage");
    if (r.memswapLimit > 0 && r.memswapLimit < memory) fail(at("memswap_limit"), "Minimum memoryswap limit should be larger than memory limit, see usage");
  }
  if (r.memSwappiness !== undefined && r.memSwappiness !== -1 && (r.memSwappiness < 0 || r.memSwappiness > 100)) {
    fail(at("mem_swappiness"), `Invalid value: ${r.memSwappiness}, valid memory swappiness range is 0-100`);
  }
  if (r.cpus !== undefined && r.cpus > 0) {
    if (r.cpuPeriod !== undefined && r.cpuPeriod > 0) fail(at("cpu_period"), "Conflicting options: Nano CPUs and CPU Period cannot both be set");
    if (r.cpuQuota !== undefined && r.cpuQuota > 0) fail(at("cpu_quota"), "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  }
  if (r.cpuPeriod !== undefined && r.cpuPeriod !== 0 && (r.cpuPeriod < 1000 || r.cpuPeriod > 1_000_000)) {
    fail(at("cpu_period"), "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  }
  if (r.cpuQuota !== undefined && r.cpuQuota > 0 && r.cpuQuota < 1000) fail(at("cpu_quota"), "CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (r.cpuRtPeriod !== undefined && (r.cpuRtPeriod < 1 || r.cpuRtPeriod > 1_000_000)) {
    fail(at("cpu_rt_period"), "cpu_rt_period must be between 1us and 1s (1000000)");
  }
  if (r.cpuRtRuntime !== undefined && r.cpuRtRuntime < -1) fail(at("cpu_rt_runtime"), "cpu_rt_runtime must be -1 (unlimited), 0 or more");
  if (r.cpuRtRuntime !== undefined && r.cpuRtRuntime > (r.cpuRtPeriod ?? 1_000_000)) {
    fail(at("cpu_rt_runtime"), "cpu-rt-runtime cannot be higher than cpu-rt-period");
  }
  if (r.cpuset !== undefined) {
    try {
      parseCpuList(r.cpuset);
    } catch {
      fail(at("cpuset"), `Invalid value ${r.cpuset} for cpuset cpus`);
    }
  }
}

/** A cpuset list ("0-3,5"), as the kernel writes it, into CPU numbers. Throws on anything else. */
export function parseCpuList(list: string): number[] {
  const out = new Set<number>();
  const text = list.trim();
  if (text === "") return [];
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`invalid cpu list "${list}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`invalid cpu list "${list}"`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

function normalizeBlkio(v: unknown, path: PathSegment[], fail: Fail): BlkioSpec | undefined {
  if (!isDict(v)) return undefined;
  const weight = (w: unknown, p: PathSegment[]): number => {
    const n = Number(w);
    // 0 leaves the kernel's default, as in docker.
    if (n !== 0 && (n < 10 || n > 1000)) fail(p, "Range of blkio weight is from 10 to 1000");
    return n;
  };
  const devicePath = (d: Dict, p: PathSegment[]): string => {
    if (typeof d.path !== "string" || d.path === "") return fail([...p, "path"], "a device path is required");
    return d.path;
  };
  const rates = (key: string, bytes: boolean): BlkioRate[] =>
    (Array.isArray(v[key]) ? v[key] : []).map((item: unknown, i: number) => {
      const d = isDict(item) ? item : {};
      const p = [...path, key, i];
      const raw = d.rate;
      let rate: number;
      try {
        rate = bytes ? parseSize(raw as string | number) : Number(raw);
      } catch (e) {
        return fail([...p, "rate"], (e as Error).message);
      }
      if (!Number.isInteger(rate) || rate < 0) fail([...p, "rate"], `invalid rate "${String(raw)}"`);
      return { path: devicePath(d, p), rate };
    });
  return {
    weight: v.weight === undefined || v.weight === null ? undefined : weight(v.weight, [...path, "weight"]),
    weightDevice: (Array.isArray(v.weight_device) ? v.weight_device : []).map((item: unknown, i: number) => {
      const d = isDict(item) ? item : {};
      const p = [...path, "weight_device", i];
      return { path: devicePath(d, p), weight: weight(d.weight, [...p, "weight"]) };
    }),
    deviceReadBps: rates("device_read_bps", true),
    deviceWriteBps: rates("device_write_bps", true),
    deviceReadIops: rates("device_read_iops", false),
    deviceWriteIops: rates("device_write_iops", false),
  };
}
