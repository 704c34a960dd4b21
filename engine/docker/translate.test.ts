import { describe, expect, it } from "vitest";
import { containerInfo, containerStats, diskUsageFigures, engineEvent, imageInfo, networkInfo } from "./translate.js";
import type { DockerContainerInspect } from "./translate.js";

const inspect = (over: Partial<DockerContainerInspect> = {}): DockerContainerInspect => ({
  Id: "c".repeat(64),
  Name: "/p-web-1",
  Image: `sha256:${"1".repeat(64)}`,
  Created: "2026-01-01T00:00:00.1Z",
  Path: "sh",
  Args: ["-c", "exit 3"],
  State: { Status: "exited", Pid: 0, ExitCode: 3, OOMKilled: false, Error: "", StartedAt: "2026-01-01T00:00:01Z", FinishedAt: "2026-01-01T00:00:02Z" },
  Config: { Image: "busybox", Labels: { a: "b" } },
  NetworkSettings: {
    Ports: { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }], "81/tcp": null },
    Networks: { front: { IPAddress: "10.1.0.2", Aliases: ["web"], MacAddress: "" } },
  },
  Mounts: [
    { Type: "volume", Name: "data", Destination: "/data" },
    { Type: "volume", Name: "f".repeat(64), Destination: "/cache" },
    { Type: "bind", Destination: "/etc/x" },
  ],
  ...over,
});

describe("translations from dockerd's JSON", () => {
  it("container inspect: state, exit code, command, ports, networks, named and anonymous volumes", () => {
    const info = containerInfo(inspect());
    expect(info).toMatchObject({ name: "p-web-1", image: "busybox", state: "exited", exitCode: 3, command: ["sh", "-c", "exit 3"], restartCount: 0, labels: { a: "b" } });
    expect(info.ports).toEqual([{ containerPort: 80, protocol: "tcp", hostPort: "8080", hostIp: "0.0.0.0" }]);
    expect(info.networks).toEqual({ front: { ipAddress: "10.1.0.2", aliases: ["web"], macAddress: undefined } });
    expect(info.volumes).toEqual(["data"]);
    expect(info.anonymousVolumes).toEqual([{ name: "f".repeat(64), target: "/cache" }]);
    const created = containerInfo(inspect({ State: { Status: "created", Pid: 0, ExitCode: 0, OOMKilled: false, Error: "", StartedAt: "0001-01-01T00:00:00Z", FinishedAt: "0001-01-01T00:00:00Z" } }));
    expect(created).toMatchObject({ state: "created", exitCode: undefined, startedAt: undefined, finishedAt: undefined });
  });

  it("container inspect: Config.Tty and OpenStdin, false when dockerd leaves them out", () => {
    expect(containerInfo(inspect({ Config: { Image: "busybox", Labels: null, Tty: true, OpenStdin: true } }))).toMatchObject({ tty: true, openStdin: true });
    expect(containerInfo(inspect())).toMatchObject({ tty: false, openStdin: false });
  });

  it("the engine's own memory: restarting while the supervisor waits, stopped on request", () => {
    expect(containerInfo(inspect(), { restarting: true, restartCount: 2 })).toMatchObject({ state: "restarting", restartCount: 2 });
    expect(containerInfo(inspect(), { stopRequested: true }).stopRequested).toBe(true);
  });

  it("image inspect: references normalized, config kept", () => {
    const img = imageInfo({
      Id: `sha256:${"2".repeat(64)}`,
      RepoTags: ["busybox:latest", "<none>:<none>"],
      RepoDigests: [`busybox@sha256:${"3".repeat(64)}`],
      Created: "2026-01-01T00:00:00Z",
      Size: 1234,
      Architecture: "amd64",
      Os: "linux",
      Config: { Entrypoint: null, Cmd: ["sh"], Env: ["PATH=/bin"], WorkingDir: "", User: "", ExposedPorts: { "80/tcp": {} }, Volumes: null, Labels: null, Healthcheck: { Test: ["CMD", "true"], Interval: 2e9 } },
    });
    expect(img.repoTags).toEqual(["docker.io/library/busybox:latest"]);
    expect(img.repoDigests).toEqual([`docker.io/library/busybox@sha256:${"3".repeat(64)}`]);
    expect(img.config).toMatchObject({ entrypoint: undefined, cmd: ["sh"], workingDir: undefined, exposedPorts: ["80/tcp"], healthcheck: { test: ["CMD", "true"], intervalMs: 2000 } });
  });

  it("network: the IPv4 subnet, the bridge device", () => {
    const n = networkInfo({ Id: "9".repeat(64), Name: "p_default", Driver: "bridge", Internal: false, Labels: null, IPAM: { Config: [{ Subnet: "fd00::/64" }, { Subnet: "10.5.0.0/24", Gateway: "10.5.0.1" }] } });
    expect(n).toEqual({ id: "9".repeat(64), name: "p_default", driver: "bridge", labels: {}, subnet: "10.5.0.0/24", gateway: "10.5.0.1", internal: false, bridge: `br-${"9".repeat(12)}` });
  });

  it("stats: usage without the inactive page cache, block and network IO summed", () => {
    const s = containerStats({
      read: "2026-01-01T00:00:00Z",
      cpu_stats: { cpu_usage: { total_usage: 500 }, system_cpu_usage: 10_000, online_cpus: 2 },
      memory_stats: { usage: 1000, limit: 4000, stats: { inactive_file: 300 } },
      pids_stats: { current: 3 },
      blkio_stats: { io_service_bytes_recursive: [{ op: "Read", value: 10 }, { op: "write", value: 20 }, { op: "read", value: 5 }] },
      networks: { eth0: { rx_bytes: 1, tx_bytes: 2 }, eth1: { rx_bytes: 10, tx_bytes: 20 } },
    });
    expect(s).toMatchObject({ cpuUsageNs: 500, systemUsageNs: 10_000, onlineCpus: 2, memoryUsage: 700, memoryLimit: 4000, pids: 3, blockRead: 15, blockWrite: 20, netRx: 11, netTx: 22 });
  });

  it("events: container actions with exit code and labels, health status, and those we do not carry", () => {
    const die = engineEvent({ Type: "container", Action: "die", Actor: { ID: "c1", Attributes: { name: "web", image: "busybox", exitCode: "137", "com.x": "y" } }, time: 1, timeNano: 1_500_000_000 });
    expect(die).toEqual({ type: "container", action: "die", id: "c1", name: "web", labels: { "com.x": "y" }, exitCode: 137, time: 1500 });
    expect(engineEvent({ Type: "container", Action: "health_status: healthy", Actor: { ID: "c1", Attributes: { name: "web" } }, time: 2 })).toMatchObject({ action: "health_status", status: "healthy", time: 2000 });
    expect(engineEvent({ Type: "container", Action: "exec_start: sh", Actor: { ID: "c1" }, time: 2 })).toBeUndefined();
    expect(engineEvent({ Type: "image", Action: "pull", Actor: { ID: "busybox:latest", Attributes: { name: "busybox" } }, time: 2 })).toMatchObject({ type: "image", ref: "docker.io/library/busybox:latest" });
    expect(engineEvent({ Type: "volume", Action: "destroy", Actor: { ID: "v" }, time: 2 })).toEqual({ type: "volume", action: "destroy", name: "v", time: 2000 });
  });

  it("system df: shared layers counted once, an image in use keeps only its own layers, unmeasured volumes left out", () => {
    const u = diskUsageFigures({
      // Two images on one 100-byte base: 100 + 10 + 20 bytes of layers in all.
      LayersSize: 130,
      Images: [
        { Containers: 1, Size: 110, SharedSize: 100 },
        { Containers: 0, Size: 120, SharedSize: 100 },
      ],
      Containers: [
        { State: "running", SizeRw: 5 },
        { State: "exited", SizeRw: 7 },
        { State: "created" },
      ],
      Volumes: [{ UsageData: { Size: 40, RefCount: 1 } }, { UsageData: { Size: 2, RefCount: 0 } }, { UsageData: { Size: -1, RefCount: 0 } }],
      BuildCache: null,
    });
    // docker's count: 130 - (110 - 100) reclaimable, not the 230 a sum of image sizes gives.
    expect(u.images).toEqual({ total: 2, active: 1, size: 130, reclaimable: 120 });
    expect(u.containers).toEqual({ total: 3, active: 1, size: 12, reclaimable: 7 });
    expect(u.volumes).toEqual({ total: 3, active: 1, size: 42, reclaimable: 2 });
    expect(u.buildCache).toEqual({ total: 0, active: 0, size: 0, reclaimable: 0 });
  });
});
