// What a process sees of its container, printed by one fixed busybox sh
// script in sections, so two implementations (tscompose and docker-compose on
// dockerd) can be compared on the container's view rather than on their own
// output. Pure functions: the script, its parser, and the normalization of
// what legitimately differs between two runs of the same stack.

/** What to report on besides the fixed sections: mount targets and files, namespaced sysctls. */
export interface ProbeTargets {
  paths: string[];
  sysctls?: string[];
  /** Names to resolve: other services, aliases (only the stack's own: an unknown name would be forwarded off the machine). */
  names?: string[];
}

// Each section starts with "### name". The exec'd probe and the container's
// main process (pid 1: its env, status and limits) are both reported: an exec
// is built from the container's process spec but is not the same process.
// Files are described by stat (type, mode, owner, size) rather than `ls -l`,
// whose dates differ between runs.
const SCRIPT = String.raw`
section() { printf '### %s\n' "$1"; }
section id; id
section hostname; hostname; cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname
section pwd; pwd
section status; grep -E '^(Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status
section pid1-status; grep -E '^(Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/1/status
section env; env | sort
section pid1-env; tr '\0' '\n' < /proc/1/environ | sort
section hosts; cat /etc/hosts
section resolv; cat /etc/resolv.conf
section addr; ip -o -4 addr show eth0 | awk '{print $4}'
section gateway; ip route | awk '$1 == "default" {print $3}'
section limits; cat /proc/self/limits
section pid1-limits; cat /proc/1/limits
section cgroup
for f in cpuset/cpuset.cpus memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpu/cpu.shares pids/pids.max memory.max memory.swap.max cpu.max cpu.weight cpuset.cpus pids.max; do
  [ -f "/sys/fs/cgroup/$f" ] && echo "$f $(cat "/sys/fs/cgroup/$f")"
done
section pid1; tr '\0' ' ' < /proc/1/cmdline; echo
section pid1-fds; for fd in 0 1 2; do echo "$fd $(readlink /proc/1/fd/$fd)"; done
section sysctls
for k in $PROBE_SYSCTLS; do echo "$k = $(cat "/proc/sys/$(echo "$k" | tr . /)")"; done
section resolve
for n in $PROBE_NAMES; do echo "$n: $(ping -c 1 -W 1 "$n" 2>&1 | head -n 1)"; done
section mounts
for t in "$@"; do
  awk -v t="$t" '$5 == t { sep = 0; for (i = 7; i <= NF; i++) if ($i == "-") { sep = i; break }
    line = $5 " " $6 " " $(sep + 1); if ($(sep + 1) == "tmpfs") line = line " " $(sep + 3); print line }' /proc/self/mountinfo
done
# Docker's default confinement as mounts: masked and read-only paths, /dev, /sys, the etc files.
section default-mounts
for t in / /proc /proc/sys /proc/kcore /proc/keys /proc/timer_list /proc/acpi /proc/scsi /sys /sys/firmware /sys/fs/cgroup /dev /dev/pts /dev/mqueue /dev/shm /etc/hosts /etc/hostname /etc/resolv.conf; do
  awk -v t="$t" '$5 == t { sep = 0; for (i = 7; i <= NF; i++) if ($i == "-") { sep = i; break }
    print $5 " " $6 " " $(sep + 1) }' /proc/self/mountinfo
done
section devices; for e in /dev/*; do stat -c '%A %u:%g %t,%T %n' "$e"; done
section files
for t in "$@"; do
  stat -c '%A %u:%g %s %n' "$t"
  [ -f "$t" ] && cat "$t"
  [ -d "$t" ] && [ "$t" != / ] && for e in "$t"/*; do [ -e "$e" ] && stat -c '%A %u:%g %s %n' "$e"; done
done
true
`;

/** The argv (after the executable) of `sh -c SCRIPT probe PATH...` for the exec of one probe. */
export function probeCommand(targets: ProbeTargets): string[] {
  const sysctls = (targets.sysctls ?? []).join(" ");
  const names = (targets.names ?? []).join(" ");
  return ["sh", "-c", `PROBE_SYSCTLS='${sysctls}'\nPROBE_NAMES='${names}'\n${SCRIPT}`, "probe", ...targets.paths];
}

export type Probe = Record<string, string[]>;

/** Splits the script's output into its sections' lines. */
export function parseProbe(output: string): Probe {
  const out: Probe = {};
  let current: string[] | undefined;
  for (const line of output.split("\n")) {
    const m = /^### (\S+)$/.exec(line);
    if (m) out[m[1]!] = current = [];
    else if (current && line !== "") current.push(line);
  }
  return out;
}

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** A predicate for "this IPv4 address is in CIDR". */
function inSubnet(cidr: string): (ip: string) => boolean {
  const [base, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipv4ToInt(base!) / size) * size;
  return (ip) => {
    const n = ipv4ToInt(ip);
    return n >= start && n < start + size;
  };
}

export interface NormalizeContext {
  /** The service sets no hostname: the default one (a container id prefix on both sides) is a per-run value. */
  defaultHostname: boolean;
  /** The nameserver each implementation puts in resolv.conf for its embedded DNS: an address, or the network's gateway. */
  embeddedDns: "gateway" | { address: string };
}

/**
 * Replaces what differs between any two runs of the same stack, each with the
 * reason it is not a difference in behaviour:
 * - addresses in the container's own subnet: each side allocates its own
 *   network (docker 172.x, the test daemon a 10.x pool), both in order;
 * - the embedded DNS server's address: docker's is 127.0.0.11 (a NAT rule in
 *   the container's netns), tscompose's is the network's gateway; both answer
 *   the service names and forward the rest;
 * - the default hostname: a prefix of the container id, which is random;
 * - the inode numbers of pid 1's pipes and sockets (its stdio): per run;
 * - the container's own address and gateway are not compared, only used
 *   for the replacements: the subnet's size is each daemon's pool setting;
 * - the env's order is already fixed by `sort`.
 */
/**
 * An exec's soft open-files limit is not runc's to keep: runc 1.1.5 (Debian
 * 12, Go 1.19) raises its own soft RLIMIT_NOFILE to the hard limit at start
 * and, in `runc exec`, sets the process's limits from outside while the child
 * is still starting, so the child sometimes ends with soft = hard (measured:
 * 2 of 30 plain `runc exec`s, no tscompose involved; dockerd uses the same
 * runc). The main process (pid1-limits) is set after runc's start and is
 * compared in full; here only the exec's soft value is left out.
 */
function execOpenFiles(line: string): string {
  return line.replace(/^(Max open files\s+)\d+(\s+)(\d+)/, (_m, head: string, gap: string, hard: string) => `${head}<soft>${gap}${hard}`);
}

export function normalizeProbe(probe: Probe, ctx: NormalizeContext): Probe {
  const cidr = probe.addr?.[0];
  const local = cidr ? inSubnet(cidr) : () => false;
  const hostname = probe.hostname?.[0];
  const dns = ctx.embeddedDns === "gateway" ? probe.gateway?.[0] : ctx.embeddedDns.address;
  const replace = (line: string): string => {
    let out = line.replace(/\b(\d{1,3}(?:\.\d{1,3}){3})\b/g, (ip) => (ip === dns ? "<embedded-dns>" : local(ip) ? "<subnet-ip>" : ip));
    if (ctx.defaultHostname && hostname) out = out.split(hostname).join("<container-id-prefix>");
    out = out.replace(/^(\d) (pipe|socket):\[\d+\]$/, "$1 $2:[<inode>]");
    return out;
  };
  const result: Probe = {};
  for (const [section, lines] of Object.entries(probe)) {
    // Only the references for the replacements above: the subnet's size is the daemon's pool setting (docker /16, the test daemon /24).
    if (section === "addr" || section === "gateway") continue;
    const mapped = lines.map(replace);
    result[section] = section === "limits" ? mapped.map(execOpenFiles) : mapped;
  }
  return result;
}

/** How one section differs: lines only one side has (as multisets), or the same lines in another order. */
export interface SectionDiff {
  onlyOurs: string[];
  onlyTheirs: string[];
  reordered: boolean;
}

export function diffSection(ours: string[], theirs: string[]): SectionDiff {
  const left = [...theirs];
  const onlyOurs: string[] = [];
  for (const line of ours) {
    const i = left.indexOf(line);
    if (i < 0) onlyOurs.push(line);
    else left.splice(i, 1);
  }
  const same = onlyOurs.length === 0 && left.length === 0;
  return { onlyOurs, onlyTheirs: left, reordered: same && ours.some((line, i) => line !== theirs[i]) };
}

/** Every differing section of two normalized probes, by name. */
export function diffProbes(ours: Probe, theirs: Probe): Record<string, SectionDiff> {
  const out: Record<string, SectionDiff> = {};
  for (const section of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    const d = diffSection(ours[section] ?? [], theirs[section] ?? []);
    if (d.onlyOurs.length > 0 || d.onlyTheirs.length > 0 || d.reordered) out[section] = d;
  }
  return out;
}
