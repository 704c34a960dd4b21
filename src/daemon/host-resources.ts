// The embedded engine's host, as `up` checks a stack's resource keys against
// it (src/stack/host-resources.ts): cgroup support, the daemon's rlimits,
// block devices, the runtimes daemon.json names. Probed lazily; only the host
// parts a stack names are read.
import { statSync, readFileSync } from "node:fs";
import { hostCgroupSupport } from "../../engine/cgroups/support.js";
import { canRaiseRlimits, hostRlimits, rlimitName } from "../../engine/runtime/rlimits.js";
import type { HostResources } from "../stack/host-resources.js";

/** `runtimes`: the names of daemon.json's `runtimes` (runc is always there). */
export function embeddedHostResources(runtimes: readonly string[]): HostResources {
  return {
    runtimes,
    get cgroups() {
      return hostCgroupSupport();
    },
    rlimitHard: (name) => {
      try {
        return hostRlimits()[rlimitName(name)]?.hard;
      } catch {
        // An unknown name is the engine's error to report, with its own words.
        return undefined;
      }
    },
    get canRaiseRlimits() {
      return canRaiseRlimits();
    },
    get nrOpen() {
      return Number(readFileSync("/proc/sys/fs/nr_open", "utf8").trim()) || 1024 * 1024;
    },
    deviceKind: (path) => {
      const st = statSync(path, { throwIfNoEntry: false });
      return st === undefined ? "missing" : st.isBlockDevice() ? "block" : "other";
    },
  };
}
