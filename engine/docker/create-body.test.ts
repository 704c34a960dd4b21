import { describe, expect, it } from "vitest";
import { kindOf } from "../errors.js";
import { baseSpec } from "../runtime/testing.js";
import { createRequest, exposedPortKeys } from "./create-body.js";

const host = (body: Record<string, unknown>): Record<string, unknown> => body.HostConfig as Record<string, unknown>;

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(kindOf(e)).toBe("invalid");
    return (e as Error).message;
  }
  throw new Error("expected an invalid error");
}

describe("createRequest", () => {
  it("process fields, labels and the restart policy that stays the daemon's", () => {
    const r = createRequest(
      baseSpec({ name: "p-web-1", entrypoint: ["/init"], cmd: ["run", "x"], env: ["A=1"], user: "1000:1000", workingDir: "/app", labels: { "com.docker.compose.project": "p" }, stopSignal: "SIGINT", stopTimeoutMs: 1500, tty: true, init: true }),
      "1.41",
    );
    expect(r.name).toBe("p-web-1");
    expect(r.body).toMatchObject({ Image: "busybox", Entrypoint: ["/init"], Cmd: ["run", "x"], Env: ["A=1"], User: "1000:1000", WorkingDir: "/app", Labels: { "com.docker.compose.project": "p" }, StopSignal: "SIGINT", StopTimeout: 2, Tty: true });
    expect(host(r.body)).toMatchObject({ RestartPolicy: { Name: "no" }, Init: true, NetworkMode: "none", LogConfig: { Type: "json-file", Config: {} } });
  });

  it("an empty entrypoint clears the image's; an undefined one keeps it", () => {
    expect(createRequest(baseSpec({ entrypoint: [] }), "1.41").body.Entrypoint).toEqual([""]);
    expect(createRequest(baseSpec(), "1.41").body).not.toHaveProperty("Entrypoint");
  });

  it("mounts: a bind that may create its host path goes through Binds, the rest through Mounts; an inherited volume takes an anonymous one's place", () => {
    const r = createRequest(
      baseSpec({
        mounts: [
          { type: "bind", source: "/srv/www", target: "/www", readOnly: true, createHostPath: true },
          { type: "bind", source: "/etc/x", target: "/x", readOnly: false, propagation: "rshared" },
          { type: "volume", source: "data", target: "/data", readOnly: false, noCopy: true },
          { type: "volume", source: undefined, target: "/cache", readOnly: false, anonymous: true },
          { type: "tmpfs", source: undefined, target: "/run", readOnly: false, tmpfsSize: 1024, tmpfsMode: 0o1777 },
        ],
        inheritVolumes: [
          { name: "a".repeat(64), target: "/cache" },
          { name: "b".repeat(64), target: "/image-volume" },
        ],
        tmpfs: ["/tmp:size=64m", "/scratch"],
      }),
      "1.41",
    );
    const hc = host(r.body);
    expect(hc.Binds).toEqual(["/srv/www:/www:ro"]);
    expect(hc.Mounts).toEqual([
      { Type: "bind", Source: "/etc/x", Target: "/x", ReadOnly: false, BindOptions: { Propagation: "rshared" } },
      { Type: "volume", Source: "data", Target: "/data", ReadOnly: false, VolumeOptions: { NoCopy: true } },
      { Type: "volume", Source: "a".repeat(64), Target: "/cache", ReadOnly: false },
      { Type: "tmpfs", Target: "/run", ReadOnly: false, TmpfsOptions: { SizeBytes: 1024, Mode: 0o1777 } },
      { Type: "volume", Source: "b".repeat(64), Target: "/image-volume", ReadOnly: false },
    ]);
    expect(hc.Tmpfs).toEqual({ "/tmp": "size=64m", "/scratch": "" });
  });

  it("networks: the first in the create, the others connected after it below API 1.44, all in the create from 1.44", () => {
    const spec = baseSpec({
      networkMode: "bridge",
      networks: { front: { aliases: ["web"], ipv4Address: "10.1.0.5" }, back: { aliases: [], ipv4Address: undefined } },
      links: [{ target: "db", alias: "database" }],
    });
    const old = createRequest(spec, "1.41");
    expect(host(old.body).NetworkMode).toBe("front");
    expect(old.body.NetworkingConfig).toEqual({ EndpointsConfig: { front: { Aliases: ["web"], IPAMConfig: { IPv4Address: "10.1.0.5" }, Links: ["db:database"] } } });
    expect(old.connectAfter.map((c) => c.network)).toEqual(["back"]);
    const recent = createRequest(spec, "1.44");
    expect(Object.keys((recent.body.NetworkingConfig as { EndpointsConfig: object }).EndpointsConfig)).toEqual(["front", "back"]);
    expect(recent.connectAfter).toEqual([]);
    expect(host(createRequest(baseSpec({ networkMode: "bridge" }), "1.41").body).NetworkMode).toBe("bridge");
    expect(host(createRequest(baseSpec({ networkMode: "container:abc" }), "1.41").body).NetworkMode).toBe("container:abc");
  });

  it("ports and exposed ports, ranges expanded", () => {
    const r = createRequest(baseSpec({ exposedPorts: ["9000-9001/udp", "7000"], ports: [{ containerPort: 80, protocol: "tcp", hostPort: "8080", hostIp: "127.0.0.1" }, { containerPort: 80, protocol: "tcp", hostPort: undefined, hostIp: undefined }] }), "1.41");
    expect(Object.keys(r.body.ExposedPorts as object).sort()).toEqual(["7000/tcp", "80/tcp", "9000/udp", "9001/udp"]);
    expect(host(r.body).PortBindings).toEqual({ "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8080" }, { HostIp: "", HostPort: "" }] });
    expect(exposedPortKeys("53/sctp")).toEqual(["53/sctp"]);
    expect(refusal(() => exposedPortKeys("http"))).toMatch(/exposed port "http"/);
  });

  it("security, namespaces, resources, devices, limits, dns and logging", () => {
    const r = createRequest(
      baseSpec({
        capAdd: ["NET_ADMIN"],
        capDrop: ["ALL"],
        privileged: true,
        seccompProfile: "unconfined",
        noNewPrivileges: true,
        readOnly: true,
        pidMode: "host",
        ipcMode: "shareable",
        utsMode: "host",
        cgroupnsMode: "private",
        groupAdd: ["audio"],
        devices: [{ source: "/dev/fuse", target: "/dev/fuse", permissions: "rwm" }],
        sysctls: { "net.core.somaxconn": "1024" },
        ulimits: { nofile: { soft: 1024, hard: 2048 } },
        resources: { memory: 1 << 28, cpus: 1.5, cpuShares: 512, cpuset: "0", pids: 100, blkio: { weight: 300, weightDevice: [], readBps: [{ path: "/dev/sda", rate: 1000 }], writeBps: [], readIops: [], writeIops: [] } },
        oomScoreAdj: 500,
        dns: ["1.1.1.1"],
        dnsSearch: ["example.com"],
        dnsOptions: ["ndots:2"],
        extraHosts: ["gw:10.0.0.1"],
        shmSize: 1 << 26,
        log: { maxSize: 1 << 20, maxFiles: 3 },
        healthcheck: { test: ["CMD", "true"], intervalMs: 1000, timeoutMs: 500, retries: 3, startPeriodMs: 0, startIntervalMs: 5000 },
      }),
      "1.41",
    );
    expect(host(r.body)).toMatchObject({
      CapAdd: ["NET_ADMIN"],
      CapDrop: ["ALL"],
      Privileged: true,
      SecurityOpt: ["seccomp=unconfined", "no-new-privileges:true"],
      ReadonlyRootfs: true,
      PidMode: "host",
      IpcMode: "shareable",
      UTSMode: "host",
      CgroupnsMode: "private",
      GroupAdd: ["audio"],
      Devices: [{ PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm" }],
      Sysctls: { "net.core.somaxconn": "1024" },
      Ulimits: [{ Name: "nofile", Soft: 1024, Hard: 2048 }],
      Memory: 1 << 28,
      NanoCpus: 1_500_000_000,
      CpuShares: 512,
      CpusetCpus: "0",
      PidsLimit: 100,
      BlkioWeight: 300,
      BlkioDeviceReadBps: [{ Path: "/dev/sda", Rate: 1000 }],
      OomScoreAdj: 500,
      Dns: ["1.1.1.1"],
      DnsSearch: ["example.com"],
      DnsOptions: ["ndots:2"],
      ExtraHosts: ["gw:10.0.0.1"],
      ShmSize: 1 << 26,
      LogConfig: { Type: "json-file", Config: { "max-size": String(1 << 20), "max-file": "3" } },
    });
    expect(host(r.body)).not.toHaveProperty("BlkioWeightDevice");
    expect(r.body.Healthcheck).toEqual({ Test: ["CMD", "true"], Interval: 1e9, Timeout: 5e8, Retries: 3, StartPeriod: 0 });
    expect((createRequest(baseSpec({ healthcheck: { test: ["NONE"], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0, startIntervalMs: 2000 } }), "1.44").body.Healthcheck as { StartInterval: number }).StartInterval).toBe(2e9);
  });

  it("what docker cannot express at its API version is refused, naming the field", () => {
    expect(refusal(() => createRequest(baseSpec({ mounts: [{ type: "volume", source: "v", target: "/v", readOnly: false, subpath: "sub" }] }), "1.44"))).toMatch(/subpath of \/v.*1\.45/);
    expect(refusal(() => createRequest(baseSpec({ annotations: { a: "b" } }), "1.41"))).toMatch(/annotations.*1\.43/);
    expect(refusal(() => createRequest(baseSpec({ networkMode: "bridge", networks: { n: { aliases: [], ipv4Address: undefined, gwPriority: 5 } } }), "1.44"))).toMatch(/networks\.n\.gw_priority/);
    expect(refusal(() => createRequest(baseSpec({ healthcheck: { test: ["CMD", "true"], intervalMs: 1000, timeoutMs: 1000, retries: 1, startPeriodMs: 10_000, startIntervalMs: 1000 } }), "1.41"))).toMatch(/healthcheck\.start_interval/);
    expect(refusal(() => createRequest(baseSpec({ networkMode: "host", networks: { n: { aliases: [], ipv4Address: undefined } } }), "1.41"))).toMatch(/networks/);
    expect(refusal(() => createRequest(baseSpec({ log: { driver: "none", maxSize: 10, maxFiles: undefined } }), "1.41"))).toMatch(/logging\.options/);
  });
});
