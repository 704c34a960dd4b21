import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES } from "./caps.js";
import { containerSeccomp, defaultSeccompProfile, parseSeccompProfile, toOciSeccomp } from "./seccomp.js";
import type { OciSeccomp, SeccompHost } from "./seccomp.js";

const AMD64: SeccompHost = { arch: "amd64", kernel: [6, 1] };
const withCap = (...caps: string[]) => [...DEFAULT_CAPABILITIES, ...caps];

/** Syscalls allowed whatever their arguments. */
function allowed(oci: OciSeccomp | undefined): Set<string> {
  return new Set((oci?.syscalls ?? []).filter((r) => r.action === "SCMP_ACT_ALLOW" && !r.args).flatMap((r) => r.names));
}
const rulesFor = (oci: OciSeccomp | undefined, name: string) => (oci?.syscalls ?? []).filter((r) => r.names.includes(name));

describe("Docker's default profile for a default container", () => {
  const oci = toOciSeccomp(defaultSeccompProfile(), DEFAULT_CAPABILITIES, AMD64);

  it("denies by default with EPERM, for x86_64 and its 32-bit ABIs", () => {
    expect(oci?.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(oci?.defaultErrnoRet).toBe(1);
    expect(oci?.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
  });

  it("allows what ordinary programs need, and ptrace on kernels >= 4.8", () => {
    const names = allowed(oci);
    for (const n of ["read", "write", "openat", "execve", "clone3", "futex", "epoll_wait", "arch_prctl", "modify_ldt", "chroot", "ptrace"]) {
      if (n === "clone3") continue; // clone3 answers ENOSYS (below), so that libcs fall back to clone
      expect(names, n).toContain(n);
    }
  });

  it("denies namespaces, mounts, keyrings, modules, reboot, clock setting, bpf and friends", () => {
    const names = allowed(oci);
    for (const n of ["mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "init_module", "reboot", "settimeofday", "bpf", "perf_event_open", "kexec_load", "open_by_handle_at", "syslog", "acct", "kcmp"]) {
      expect(names, n).not.toContain(n);
    }
  });

  it("filters clone's flags (no new namespaces), socket's family (no AF_VSOCK), personality's persona", () => {
    expect(rulesFor(oci, "clone")).toEqual([{ names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 2114060288, op: "SCMP_CMP_MASKED_EQ" }] }]);
    expect(rulesFor(oci, "socket").map((r) => r.args)).toEqual([
      [{ index: 0, value: 38, op: "SCMP_CMP_LT" }],
      [{ index: 0, value: 39, op: "SCMP_CMP_EQ" }],
      [{ index: 0, value: 40, op: "SCMP_CMP_GT" }],
    ]);
    expect(rulesFor(oci, "personality").map((r) => r.args?.[0]?.value)).toEqual([0, 8, 131072, 131080, 4294967295]);
    expect(rulesFor(oci, "clone3")).toEqual([{ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 }]);
  });

  it("leaves out other architectures' syscalls", () => {
    const names = allowed(oci);
    for (const n of ["set_tls", "cacheflush", "s390_runtime_instr", "riscv_flush_icache", "swapcontext"]) expect(names).not.toContain(n);
  });

  it("is the file in the repo, which docker itself can read (moby's format)", () => {
    const text = readFileSync(new URL("./seccomp/default.json", import.meta.url), "utf8");
    expect(parseSeccompProfile(text)).toEqual(defaultSeccompProfile());
  });
});

describe("capabilities grant syscalls as in Docker", () => {
  it("CAP_SYS_ADMIN: mount, unshare, setns, any clone and clone3", () => {
    const oci = toOciSeccomp(defaultSeccompProfile(), withCap("CAP_SYS_ADMIN"), AMD64);
    const names = allowed(oci);
    for (const n of ["mount", "umount2", "unshare", "setns", "clone", "clone3", "sethostname", "fsopen", "bpf"]) expect(names, n).toContain(n);
    // the flag-filtered clone and the ENOSYS clone3 are excluded for CAP_SYS_ADMIN
    expect(rulesFor(oci, "clone").every((r) => !r.args)).toBe(true);
    expect(rulesFor(oci, "clone3").every((r) => r.action === "SCMP_ACT_ALLOW")).toBe(true);
  });

  const grants: [string, string[]][] = [
    ["CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise"]],
    ["CAP_SYS_TIME", ["settimeofday", "clock_settime"]],
    ["CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]],
    ["CAP_SYS_BOOT", ["reboot"]],
    ["CAP_SYS_RAWIO", ["iopl", "ioperm"]],
    ["CAP_SYS_NICE", ["mbind", "set_mempolicy"]],
    ["CAP_SYSLOG", ["syslog"]],
    ["CAP_DAC_READ_SEARCH", ["open_by_handle_at"]],
    ["CAP_BPF", ["bpf"]],
    ["CAP_PERFMON", ["perf_event_open"]],
    ["CAP_SYS_PACCT", ["acct"]],
    ["CAP_SYS_TTY_CONFIG", ["vhangup"]],
  ];
  for (const [cap, calls] of grants) {
    it(`${cap}: ${calls.join(", ")}`, () => {
      const without = allowed(toOciSeccomp(defaultSeccompProfile(), DEFAULT_CAPABILITIES, AMD64));
      const withIt = allowed(toOciSeccomp(defaultSeccompProfile(), withCap(cap), AMD64));
      for (const c of calls) {
        expect(without, c).not.toContain(c);
        expect(withIt, c).toContain(c);
      }
    });
  }

  it("dropping CAP_SYS_CHROOT takes chroot away", () => {
    const caps = DEFAULT_CAPABILITIES.filter((c) => c !== "CAP_SYS_CHROOT");
    expect(allowed(toOciSeccomp(defaultSeccompProfile(), caps, AMD64))).not.toContain("chroot");
  });

  it("every capability at once still leaves keyctl denied (nothing grants it)", () => {
    expect(allowed(toOciSeccomp(defaultSeccompProfile(), ALL_CAPABILITIES, AMD64))).not.toContain("keyctl");
  });
});

describe("host architecture and kernel", () => {
  it("arm64: AArch64 + ARM, the ARM-only calls, no arch_prctl", () => {
    const oci = toOciSeccomp(defaultSeccompProfile(), DEFAULT_CAPABILITIES, { arch: "arm64", kernel: [6, 1] });
    expect(oci?.architectures).toEqual(["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
    expect(allowed(oci)).toContain("set_tls");
    expect(allowed(oci)).not.toContain("arch_prctl");
  });
  it("s390x: clone's flags are its second argument", () => {
    const oci = toOciSeccomp(defaultSeccompProfile(), DEFAULT_CAPABILITIES, { arch: "s390x", kernel: [6, 1] });
    expect(rulesFor(oci, "clone").map((r) => r.args?.[0]?.index)).toEqual([1]);
  });
  it("kernel < 4.8: no ptrace without CAP_SYS_PTRACE", () => {
    expect(allowed(toOciSeccomp(defaultSeccompProfile(), DEFAULT_CAPABILITIES, { arch: "amd64", kernel: [4, 4] }))).not.toContain("ptrace");
    expect(allowed(toOciSeccomp(defaultSeccompProfile(), DEFAULT_CAPABILITIES, { arch: "amd64", kernel: [4, 8] }))).toContain("ptrace");
  });
  it("an arch the archMap lacks gets no architectures (runc's native one)", () => {
    expect(toOciSeccomp(defaultSeccompProfile(), DEFAULT_CAPABILITIES, { arch: "ppc64le", kernel: [6, 1] })?.architectures).toBeUndefined();
  });
});

describe("containerSeccomp (cached)", () => {
  it("converts once per capability set, whatever the order", () => {
    const a = containerSeccomp(undefined, DEFAULT_CAPABILITIES, AMD64);
    expect(containerSeccomp(undefined, [...DEFAULT_CAPABILITIES].reverse(), AMD64)).toBe(a);
    expect(containerSeccomp(undefined, withCap("CAP_SYS_ADMIN"), AMD64)).not.toBe(a);
    expect(Object.isFrozen(a?.syscalls?.[0]?.names)).toBe(true);
  });
  it("a profile's text", () => {
    const text = JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["keyctl"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }] });
    expect(containerSeccomp(text, DEFAULT_CAPABILITIES, AMD64)).toEqual({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["keyctl"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }] });
  });
  it("a profile with neither a default action nor rules means no filter", () => {
    expect(containerSeccomp(JSON.stringify({ defaultAction: "" }), DEFAULT_CAPABILITIES, AMD64)).toBeUndefined();
  });
  it("old style 'name' and explicit architectures", () => {
    const text = JSON.stringify({ defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ name: "read", action: "SCMP_ACT_ALLOW" }] });
    expect(containerSeccomp(text, DEFAULT_CAPABILITIES, AMD64)).toEqual({ defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] });
  });
});

describe("profiles that are not in Docker's format are errors naming the key", () => {
  const cases: [string, unknown, RegExp][] = [
    ["not JSON", "{", /^not valid JSON/],
    ["not an object", "[]", /must be an object/],
    ["unknown top key", { defaultAction: "SCMP_ACT_ALLOW", defaultaction: "x" }, /^defaultaction: unknown key/],
    ["unknown action", { defaultAction: "SCMP_ACT_ALOW" }, /^defaultAction: unknown action "SCMP_ACT_ALOW"/],
    ["both architectures and archMap", { defaultAction: "SCMP_ACT_ALLOW", architectures: [], archMap: [] }, /^archMap: 'architectures' and 'archMap'/],
    ["unknown arch", { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_Z80"] }, /^architectures\[0\]: unknown architecture "SCMP_ARCH_Z80"/],
    ["name and names", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ name: "a", names: ["b"], action: "SCMP_ACT_ERRNO" }] }, /^syscalls\[0\]: 'name' and 'names'/],
    ["no names", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ action: "SCMP_ACT_ERRNO" }] }, /^syscalls\[0\]: names no syscall/],
    ["bad op", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "EQ" }] }] }, /^syscalls\[0\]\.args\[0\]\.op: unknown operator "EQ"/],
    ["arg index", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }] }] }, /index 0 to 5/],
    ["unknown cap", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMN"] } }] }, /^syscalls\[0\]\.includes\.caps\[0\]: unknown capability "CAP_SYS_ADMN"/],
    ["bad minKernel", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_ALLOW", excludes: { minKernel: "4" } }] }, /^syscalls\[0\]\.excludes\.minKernel: must be "<kernel>\.<major>"/],
    ["errnoRet on allow", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_ALLOW", errnoRet: 1 }] }, /^syscalls\[0\]\.errnoRet: only SCMP_ACT_ERRNO/],
    ["unknown rule key", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["a"], action: "SCMP_ACT_ALLOW", arg: [] }] }, /^syscalls\[0\]\.arg: unknown key/],
  ];
  for (const [name, value, want] of cases) {
    it(name, () => {
      expect(() => parseSeccompProfile(typeof value === "string" ? value : JSON.stringify(value))).toThrow(want);
    });
  }
});
