import { describe, expect, it } from "vitest";
import type { ContainerSpec, ImageConfig } from "../types.js";
import { baseImage, baseSpec } from "./testing.js";
import { DEFAULT_CAPABILITIES, capabilitiesFromMask, capabilitySet } from "./caps.js";
import { hostsFile, parseExtraHost, resolvConf } from "./etcfiles.js";
import { mergeTmpfsOptions } from "./mounts.js";
import { containerRlimits, hasSysResource, parseProcLimits } from "./rlimits.js";
import { DEFAULT_PATH, MASKED_PATHS, READONLY_PATHS, blkioDevicePaths, buildSpec, mergeEnv, resolveCommand, serializeSpec } from "./spec.js";
import type { SpecInput } from "./spec.js";
import { resolveUserFrom } from "./user.js";
import { cpuList } from "./bundle.js";

const ID = "0123456789abcdef".repeat(4);

function input(spec: Partial<ContainerSpec> = {}, image: Partial<ImageConfig> = {}, over: Partial<SpecInput> = {}): SpecInput {
  return {
    id: ID,
    spec: baseSpec(spec),
    image: baseImage(image),
    rootfs: "/var/lib/x/rootfs",
    user: { uid: 0, gid: 0, additionalGids: [], home: "/root", name: "root" },
    mounts: [],
    etcFiles: { hosts: "/c/hosts", hostname: "/c/hostname", resolvConf: "/c/resolv.conf" },
    netnsPath: undefined,
    hostRlimits: { RLIMIT_NOFILE: { soft: 20000, hard: 20000 }, RLIMIT_NPROC: { soft: 96365, hard: 96365 }, RLIMIT_CORE: { soft: 0, hard: Infinity } },
    cgroupsPath: `/tscompose/${ID}`,
    initBinary: undefined,
    ...over,
  };
}

describe("entrypoint and cmd (Docker's rules)", () => {
  const cases: { name: string; spec: Partial<ContainerSpec>; image: Partial<ImageConfig>; want: string[] | "error" }[] = [
    { name: "image cmd only", spec: {}, image: { cmd: ["sh"] }, want: ["sh"] },
    { name: "image entrypoint + cmd", spec: {}, image: { entrypoint: ["/ep"], cmd: ["a"] }, want: ["/ep", "a"] },
    { name: "spec cmd replaces image cmd, keeps image entrypoint", spec: { cmd: ["b"] }, image: { entrypoint: ["/ep"], cmd: ["a"] }, want: ["/ep", "b"] },
    { name: "spec entrypoint resets image cmd", spec: { entrypoint: ["/x"] }, image: { entrypoint: ["/ep"], cmd: ["a"] }, want: ["/x"] },
    { name: "spec entrypoint + spec cmd", spec: { entrypoint: ["/x"], cmd: ["y"] }, image: { entrypoint: ["/ep"], cmd: ["a"] }, want: ["/x", "y"] },
    { name: "[] entrypoint = none, spec cmd runs", spec: { entrypoint: [], cmd: ["echo", "hi"] }, image: { entrypoint: ["/ep"], cmd: ["a"] }, want: ["echo", "hi"] },
    { name: '[""] entrypoint = none', spec: { entrypoint: [""], cmd: ["echo"] }, image: { entrypoint: ["/ep"] }, want: ["echo"] },
    { name: "[] entrypoint and no cmd: nothing to run", spec: { entrypoint: [] }, image: { entrypoint: ["/ep"], cmd: ["a"] }, want: "error" },
    { name: "empty spec cmd falls back to the image's", spec: { cmd: [] }, image: { cmd: ["sh"] }, want: ["sh"] },
    { name: "nothing at all", spec: {}, image: { cmd: undefined }, want: "error" },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = baseSpec(c.spec);
      const img = baseImage(c.image);
      if (c.want === "error") expect(() => resolveCommand(s, img)).toThrow(/no command/);
      else expect(resolveCommand(s, img)).toEqual(c.want);
    });
  }
});

describe("environment", () => {
  it("image env then spec env, PATH default replaced by the image's, HOSTNAME set", () => {
    const oci = buildSpec(input({ env: ["A=spec", "C=3"] }, { env: ["PATH=/img", "A=img", "B=2"] }));
    expect(oci.process.env).toEqual(["PATH=/img", `HOSTNAME=${ID.slice(0, 12)}`, "A=spec", "B=2", "C=3"]);
  });
  it("default PATH when the image has none; TERM with a tty", () => {
    const oci = buildSpec(input({ tty: true }, { env: [] }));
    expect(oci.process.env).toEqual([DEFAULT_PATH, `HOSTNAME=${ID.slice(0, 12)}`, "TERM=xterm"]);
    expect(oci.process.terminal).toBe(true);
  });
  it("a bare KEY unsets", () => {
    expect(mergeEnv(["A=1", "B=2"], ["A"])).toEqual(["B=2"]);
  });
});

describe("user resolution", () => {
  const passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n";
  const group = "root:x:0:\nnogroup:x:65534:\napp:x:1000:\nwheel:x:10:app,other\naudio:x:29:app\n";
  it("by name, with supplementary groups", () => {
    expect(resolveUserFrom("app", passwd, group)).toEqual({ uid: 1000, gid: 1000, additionalGids: [10, 29], home: "/home/app", name: "app" });
  });
  it("by uid found in passwd", () => {
    expect(resolveUserFrom("65534", passwd, group)).toMatchObject({ uid: 65534, gid: 65534, name: "nobody" });
  });
  it("by unknown uid: gid 0", () => {
    expect(resolveUserFrom("4242", passwd, group)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: "/", name: undefined });
  });
  it("uid:gid and name:group set the primary group and drop supplementary ones", () => {
    expect(resolveUserFrom("1000:29", passwd, group)).toMatchObject({ uid: 1000, gid: 29, additionalGids: [] });
    expect(resolveUserFrom("app:wheel", passwd, group)).toMatchObject({ uid: 1000, gid: 10, additionalGids: [] });
    expect(resolveUserFrom("5:7", undefined, undefined)).toMatchObject({ uid: 5, gid: 7 });
  });
  it("unknown names fail clearly", () => {
    expect(() => resolveUserFrom("ghost", passwd, group)).toThrow(/unable to find user ghost/);
    expect(() => resolveUserFrom("app:ghosts", passwd, group)).toThrow(/unable to find group ghosts/);
  });
  it("root by default", () => {
    expect(resolveUserFrom(undefined, passwd, group)).toMatchObject({ uid: 0, gid: 0, home: "/root" });
  });
});

describe("capabilities", () => {
  it("Docker's defaults for root: bounding, effective, permitted; no inheritable/ambient", () => {
    const caps = buildSpec(input()).process.capabilities;
    expect(caps.bounding).toEqual([...DEFAULT_CAPABILITIES]);
    expect(caps.effective).toEqual([...DEFAULT_CAPABILITIES]);
    expect(caps.permitted).toEqual([...DEFAULT_CAPABILITIES]);
    expect(Object.keys(caps).sort()).toEqual(["bounding", "effective", "permitted"]);
  });
  it("a non-root user gets only the bounding set", () => {
    const caps = buildSpec(input({}, {}, { user: { uid: 1000, gid: 1000, additionalGids: [], home: "/", name: "app" } })).process.capabilities;
    expect(caps).toEqual({ bounding: [...DEFAULT_CAPABILITIES] });
  });
  it("cap_add / cap_drop, any spelling", () => {
    const set = capabilitySet(["net_admin", "CAP_SYS_TIME"], ["chown", "CAP_KILL"], false);
    expect(set).toContain("CAP_NET_ADMIN");
    expect(set).toContain("CAP_SYS_TIME");
    expect(set).not.toContain("CAP_CHOWN");
    expect(set).not.toContain("CAP_KILL");
  });
  it("cap_drop ALL keeps only cap_add; cap_add ALL minus cap_drop", () => {
    expect(capabilitySet(["NET_BIND_SERVICE"], ["ALL"], false)).toEqual(["CAP_NET_BIND_SERVICE"]);
    const all = capabilitySet(["all"], ["SYS_ADMIN"], false);
    expect(all).toHaveLength(40);
    expect(all).not.toContain("CAP_SYS_ADMIN");
  });
  it("host-dependent masked paths (thermal_throttle) join Docker's list; privileged has none", () => {
    const thermal = ["/sys/devices/system/cpu/cpu0/thermal_throttle"];
    expect(buildSpec(input({}, {}, { hostMaskedPaths: thermal })).linux.maskedPaths).toEqual([...MASKED_PATHS, ...thermal]);
    expect(MASKED_PATHS).toContain("/proc/interrupts");
    expect(buildSpec(input({ privileged: true }, {}, { hostMaskedPaths: thermal })).linux.maskedPaths).toBeUndefined();
  });
  it("the kernel's cpu list format", () => {
    expect(cpuList("0-3,8\n")).toEqual([0, 1, 2, 3, 8]);
    expect(cpuList("0\n")).toEqual([0]);
  });
  it("privileged: every capability the host's bounding set holds (runc cannot raise others)", () => {
    const host = capabilitiesFromMask("000001fffeffffff");
    expect(host).not.toContain("CAP_SYS_RESOURCE");
    expect(host).toHaveLength(40);
    expect(buildSpec(input({ privileged: true }, {}, { hostCapabilities: host })).process.capabilities.bounding).toEqual(host);
  });
  it("unknown capability fails", () => {
    expect(() => capabilitySet(["FLY"], [], false)).toThrow(/unknown capability/);
  });
});

describe("seccomp and no_new_privs (security_opt)", () => {
  const allowedNames = (oci: ReturnType<typeof buildSpec>) =>
    new Set((oci.linux.seccomp?.syscalls ?? []).filter((r) => r.action === "SCMP_ACT_ALLOW" && !r.args).flatMap((r) => r.names));
  it("Docker's default profile by default, shaped by the capabilities", () => {
    const oci = buildSpec(input());
    expect(oci.linux.seccomp?.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(allowedNames(oci)).not.toContain("mount");
    expect(allowedNames(buildSpec(input({ capAdd: ["SYS_ADMIN"] })))).toContain("mount");
  });
  it("privileged: no filter, unless a profile is named", () => {
    expect(buildSpec(input({ privileged: true })).linux.seccomp).toBeUndefined();
    const profile = JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["keyctl"], action: "SCMP_ACT_ERRNO" }] });
    expect(buildSpec(input({ privileged: true, seccompProfile: profile })).linux.seccomp?.syscalls).toEqual([{ names: ["keyctl"], action: "SCMP_ACT_ERRNO" }]);
  });
  it("seccomp=unconfined: no filter", () => {
    expect(buildSpec(input({ seccompProfile: "unconfined" })).linux.seccomp).toBeUndefined();
  });
  it("a bad profile fails the container's creation", () => {
    expect(() => buildSpec(input({ seccompProfile: "{}x" }))).toThrow(/not valid JSON/);
  });
  it("no-new-privileges", () => {
    expect(buildSpec(input({ noNewPrivileges: true })).process.noNewPrivileges).toBe(true);
    expect(buildSpec(input()).process.noNewPrivileges).toBe(false);
  });
});

describe("security defaults and privileged", () => {
  it("masks and read-only paths, device rules, sysfs ro", () => {
    const oci = buildSpec(input());
    expect(oci.linux.maskedPaths).toEqual(MASKED_PATHS);
    expect(oci.linux.readonlyPaths).toEqual(READONLY_PATHS);
    expect(oci.linux.resources.devices[0]).toEqual({ allow: false, access: "rwm" });
    expect(oci.mounts.find((m) => m.destination === "/sys")?.options).toContain("ro");
    expect(oci.process.noNewPrivileges).toBe(false);
  });
  it("privileged: all caps, nothing masked, all devices", () => {
    const oci = buildSpec(input({ privileged: true }, {}, { hostDevices: [{ path: "/dev/loop0", type: "b", major: 7, minor: 0 }] }));
    expect(oci.process.capabilities.bounding).toHaveLength(41);
    expect(oci.linux.maskedPaths).toBeUndefined();
    expect(oci.linux.readonlyPaths).toBeUndefined();
    expect(oci.linux.resources.devices).toEqual([{ allow: true, access: "rwm" }]);
    expect(oci.linux.devices).toEqual([{ path: "/dev/loop0", type: "b", major: 7, minor: 0 }]);
    expect(oci.mounts.find((m) => m.destination === "/sys")?.options).not.toContain("ro");
  });
});

describe("mounts", () => {
  it("default mounts with shm size, /etc files, user mounts parents first", () => {
    const oci = buildSpec(
      input({ shmSize: 1 << 20, tmpfs: ["/run:size=1m,exec"], readOnly: true }, {}, {
        mounts: [
          { type: "bind", source: "/host/cache", target: "/data/cache", readOnly: true },
          { type: "bind", source: "/host/data", target: "/data", readOnly: false },
        ],
      }),
    );
    const dests = oci.mounts.map((m) => m.destination);
    expect(dests).toEqual([
      "/proc",
      "/dev",
      "/dev/pts",
      "/sys",
      "/sys/fs/cgroup",
      "/dev/mqueue",
      "/dev/shm",
      "/etc/resolv.conf",
      "/etc/hostname",
      "/etc/hosts",
      "/data",
      "/run",
      "/data/cache",
    ]);
    expect(oci.mounts.find((m) => m.destination === "/dev/shm")?.options).toContain(`size=${1 << 20}`);
    expect(oci.mounts.find((m) => m.destination === "/data/cache")).toEqual({ destination: "/data/cache", type: "bind", source: "/host/cache", options: ["rbind", "rprivate", "ro"] });
    expect(oci.mounts.find((m) => m.destination === "/run")?.options).toEqual(["nosuid", "nodev", "size=1m", "exec"]);
    expect(oci.mounts.find((m) => m.destination === "/etc/hosts")).toEqual({ destination: "/etc/hosts", type: "bind", source: "/c/hosts", options: ["rbind", "rprivate", "ro"] });
    expect(oci.root).toEqual({ path: "/var/lib/x/rootfs", readonly: true });
  });
  it("default shm is 64MB; a user mount replaces a default", () => {
    const oci = buildSpec(input({}, {}, { mounts: [{ type: "tmpfs", source: "tmpfs", target: "/dev/shm", readOnly: false, tmpfsSize: 1000 }] }));
    const shm = oci.mounts.filter((m) => m.destination === "/dev/shm");
    expect(shm).toHaveLength(1);
    expect(shm[0]?.options).toContain("size=1000");
    expect(buildSpec(input()).mounts.find((m) => m.destination === "/dev/shm")?.options).toContain("size=67108864");
  });
  it("tmpfs option merging: later wins", () => {
    expect(mergeTmpfsOptions(["nosuid", "noexec", "size=1", "exec", "size=2"])).toEqual(["nosuid", "exec", "size=2"]);
  });
});

describe("init, namespaces, hostname, sysctls", () => {
  it("init wraps the command in docker-init and binds it", () => {
    const oci = buildSpec(input({ init: true, cmd: ["sleep", "1"] }, {}, { initBinary: "/usr/bin/tini-static" }));
    expect(oci.process.args).toEqual(["/sbin/docker-init", "--", "sleep", "1"]);
    expect(oci.mounts.find((m) => m.destination === "/sbin/docker-init")?.source).toBe("/usr/bin/tini-static");
  });
  it("init without a binary fails clearly", () => {
    expect(() => buildSpec(input({ init: true }))).toThrow(/docker-init or tini/);
  });
  it("new netns without a path; joins a given path; host shares net and uts", () => {
    expect(buildSpec(input()).linux.namespaces).toEqual([{ type: "pid" }, { type: "ipc" }, { type: "mount" }, { type: "cgroup" }, { type: "uts" }, { type: "network" }]);
    expect(buildSpec(input({}, {}, { netnsPath: "/run/netns/x" })).linux.namespaces).toContainEqual({ type: "network", path: "/run/netns/x" });
    const host = buildSpec(input({ networkMode: "host" }));
    expect(host.linux.namespaces.map((n) => n.type)).toEqual(["pid", "ipc", "mount", "cgroup"]);
    expect(host.hostname).toBeUndefined();
    expect(() => buildSpec(input({ networkMode: "container:abc" }))).toThrow(/namespace path/);
  });
  it("hostname, domainname as sysctl, sysctls", () => {
    const oci = buildSpec(input({ hostname: "web", domainname: "example.org", sysctls: { "net.core.somaxconn": "1024" } }));
    expect(oci.hostname).toBe("web");
    expect(oci.linux.sysctl).toEqual({ "net.core.somaxconn": "1024", "kernel.domainname": "example.org" });
    expect(buildSpec(input()).hostname).toBe(ID.slice(0, 12));
  });
  it("cwd from spec, image, or /", () => {
    expect(buildSpec(input({ workingDir: "/srv" }, { workingDir: "/img" })).process.cwd).toBe("/srv");
    expect(buildSpec(input({}, { workingDir: "/img" })).process.cwd).toBe("/img");
    expect(buildSpec(input()).process.cwd).toBe("/");
  });
  it("user with supplementary groups", () => {
    const oci = buildSpec(input({}, {}, { user: { uid: 1000, gid: 1000, additionalGids: [10], home: "/", name: "app" } }));
    // The primary group comes first among the supplementary ones, as dockerd sets them.
    expect(oci.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 10] });
  });
  it("user without supplementary groups still has its primary group among them", () => {
    const oci = buildSpec(input({}, {}, { user: { uid: 33, gid: 33, additionalGids: [], home: "/", name: undefined } }));
    expect(oci.process.user).toEqual({ uid: 33, gid: 33, additionalGids: [33] });
  });
});

describe("resources and rlimits", () => {
  it("memory (as much swap again, as Docker), cpus, shares, cpuset, pids", () => {
    const r = buildSpec(input({ resources: { memory: 16 << 20, cpus: 1.5, cpuShares: 512, cpuset: "0", pids: 100 } })).linux.resources;
    expect(r.memory).toEqual({ limit: 16 << 20, swap: 32 << 20 });
    expect(r.cpu).toEqual({ period: 100000, quota: 150000, shares: 512, cpus: "0" });
    expect(r.pids).toEqual({ limit: 100 });
    expect(r.blockIO).toBeUndefined();
    expect(buildSpec(input()).linux.resources.memory).toBeUndefined();
  });
  it("memswap, reservation, swappiness, OOM killer, CFS and RT periods, oom_score_adj", () => {
    const base = { memory: 64 << 20, cpus: undefined, cpuShares: undefined, cpuset: undefined, pids: undefined };
    const oci = buildSpec(
      input({
        oomScoreAdj: -500,
        resources: { ...base, memorySwap: -1, memoryReservation: 32 << 20, memorySwappiness: 0, oomKillDisable: true, cpuPeriod: 50_000, cpuQuota: 25_000, cpuRtPeriod: 1_000_000, cpuRtRuntime: 1000 },
      }),
    );
    expect(oci.process.oomScoreAdj).toBe(-500);
    expect(oci.linux.resources.memory).toEqual({ limit: 64 << 20, swap: -1, reservation: 32 << 20, swappiness: 0, disableOOMKiller: true });
    expect(oci.linux.resources.cpu).toEqual({ period: 50_000, quota: 25_000, realtimePeriod: 1_000_000, realtimeRuntime: 1000 });
    const v2 = buildSpec({ ...input({ resources: { ...base, memorySwappiness: 0, oomKillDisable: true } }), cgroupVersion: 2 }).linux.resources.memory;
    expect(v2).toEqual({ limit: 64 << 20, swap: 128 << 20 });
    const reservationOnly = buildSpec(input({ resources: { ...base, memory: undefined, memoryReservation: 32 << 20 } })).linux.resources.memory;
    expect(reservationOnly).toEqual({ reservation: 32 << 20 });
    expect(buildSpec(input()).process.oomScoreAdj).toBe(0);
  });
  it("blkio: weight and per-device limits by major:minor; a device the caller did not resolve is an error", () => {
    const blkio = {
      weight: 300,
      weightDevice: [{ path: "/dev/vda", weight: 200 }],
      readBps: [{ path: "/dev/vda", rate: 1 << 20 }],
      writeBps: [{ path: "/dev/vdb", rate: 2 << 20 }],
      readIops: [{ path: "/dev/vda", rate: 100 }],
      writeIops: [],
    };
    expect(blkioDevicePaths(blkio)).toEqual(["/dev/vda", "/dev/vdb"]);
    const base = { memory: undefined, cpus: undefined, cpuShares: undefined, cpuset: undefined, pids: undefined, blkio };
    const io = buildSpec({ ...input({ resources: base }), blockDevices: { "/dev/vda": { major: 254, minor: 0 }, "/dev/vdb": { major: 254, minor: 16 } } }).linux.resources.blockIO;
    expect(io).toEqual({
      weight: 300,
      weightDevice: [{ major: 254, minor: 0, weight: 200 }],
      throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1 << 20 }],
      throttleWriteBpsDevice: [{ major: 254, minor: 16, rate: 2 << 20 }],
      throttleReadIOPSDevice: [{ major: 254, minor: 0, rate: 100 }],
    });
    expect(() => buildSpec(input({ resources: base }))).toThrow(/\/dev\/vda is not a block device/);
  });
  it("cgroupsPath", () => {
    expect(buildSpec(input()).linux.cgroupsPath).toBe(`/tscompose/${ID}`);
  });
  it("NOFILE default clamped to the host's hard limit; a ulimit above it is refused, or granted as asked by an engine that may raise limits", () => {
    const host = parseProcLimits(
      "Limit                     Soft Limit           Hard Limit           Units     \n" +
        "Max core file size        0                    unlimited            bytes     \n" +
        "Max processes             96365                96365                processes \n" +
        "Max open files            20000                20000                files     \n",
    );
    expect(host.RLIMIT_NOFILE).toEqual({ soft: 20000, hard: 20000 });
    expect(host.RLIMIT_CORE).toEqual({ soft: 0, hard: Infinity });
    const asked = { nproc: { soft: 1000000, hard: 2000000 }, core: { soft: -1, hard: -1 } };
    expect(() => containerRlimits(asked, host)).toThrow("ulimit nproc: 2000000 is above the engine's hard limit 96365, which it may not raise (no CAP_SYS_RESOURCE)");
    expect(containerRlimits(asked, host, true)).toEqual([
      { type: "RLIMIT_NOFILE", soft: 20000, hard: 20000 },
      { type: "RLIMIT_NPROC", soft: 1000000, hard: 2000000 },
      { type: "RLIMIT_CORE", soft: Infinity, hard: Infinity },
    ]);
    expect(containerRlimits({ nproc: { soft: 100, hard: 1000 }, core: { soft: -1, hard: -1 } }, host)).toEqual([
      { type: "RLIMIT_NOFILE", soft: 20000, hard: 20000 },
      { type: "RLIMIT_NPROC", soft: 100, hard: 1000 },
      { type: "RLIMIT_CORE", soft: Infinity, hard: Infinity },
    ]);
    expect(hasSysResource("CapEff:\t000001fffeffffff\n")).toBe(false);
    expect(hasSysResource("CapEff:\t000001ffffffffff\n")).toBe(true);
    const json = serializeSpec(buildSpec(input({ ulimits: { core: { soft: -1, hard: -1 } } })));
    expect(json).toContain('"hard": 18446744073709551615');
    expect(() => containerRlimits({ wings: { soft: 1, hard: 1 } }, host)).toThrow(/unknown ulimit/);
  });
});

describe("/etc files", () => {
  it("hosts: defaults, extra hosts, own name", () => {
    const text = hostsFile({ extraHosts: ["db:10.0.0.5", "v6:fe80::1"], ownIp: "172.18.0.2", hostname: "web", domainname: "corp" });
    const lines = text.trim().split("\n");
    expect(lines[0]).toBe("127.0.0.1\tlocalhost");
    expect(lines[1]).toBe("::1\tlocalhost ip6-localhost ip6-loopback");
    expect(lines).toContain("10.0.0.5\tdb");
    expect(lines).toContain("fe80::1\tv6");
    expect(lines.at(-1)).toBe("172.18.0.2\tweb.corp web");
    expect(parseExtraHost("h=1.2.3.4")).toEqual({ ip: "1.2.3.4", names: ["h"] });
    expect(() => parseExtraHost("nohost")).toThrow(/invalid extra host/);
  });
  it("resolv.conf: localhost servers dropped, dns/search replace", () => {
    const base = "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp\noptions ndots:2\n";
    expect(resolvConf(base, { dns: [], dnsSearch: [], hostNetwork: false })).toBe("# generated\nnameserver 10.0.0.2\nsearch corp\noptions ndots:2\n");
    expect(resolvConf(base, { dns: [], dnsSearch: [], hostNetwork: true })).toBe(base);
    expect(resolvConf(base, { dns: ["1.1.1.1"], dnsSearch: ["a.b"], hostNetwork: false })).toBe("# generated\noptions ndots:2\nsearch a.b\nnameserver 1.1.1.1\n");
    expect(resolvConf(base, { dns: [], dnsSearch: [], dnsOptions: ["timeout:1", "rotate"], hostNetwork: false })).toBe("# generated\nnameserver 10.0.0.2\nsearch corp\noptions timeout:1 rotate\n");
  });
  it("resolv.conf naming the network's DNS server: dns is forwarded there, not written; the server's ndots:0 stays unless dns_opt sets ndots", () => {
    const base = "nameserver 10.213.0.1\nsearch corp\noptions ndots:0\n";
    expect(resolvConf(base, { dns: ["192.0.2.53"], dnsSearch: [], hostNetwork: false, embeddedDns: true })).toBe(base);
    expect(resolvConf(base, { dns: [], dnsSearch: ["a.b"], dnsOptions: ["timeout:1", "attempts:2"], hostNetwork: false, embeddedDns: true })).toBe(
      "search a.b\nnameserver 10.213.0.1\noptions timeout:1 attempts:2 ndots:0\n",
    );
    expect(resolvConf(base, { dns: [], dnsSearch: [], dnsOptions: ["ndots:3", "use-vc"], hostNetwork: false, embeddedDns: true })).toBe(
      "nameserver 10.213.0.1\nsearch corp\noptions ndots:3 use-vc\n",
    );
  });
});
