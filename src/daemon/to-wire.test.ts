import { describe, expect, it } from "vitest";
import type { ContainerInfo, EngineEvent } from "../../engine/types.js";
import { LABEL } from "../../model/labels.js";
import { containerView, engineEvent, logEntry, progressMessage } from "./to-wire.js";

const info: ContainerInfo = {
  id: "c1",
  name: "p-web-2",
  image: "busybox",
  imageId: "sha256:abc",
  labels: { [LABEL.project]: "p", [LABEL.service]: "web", [LABEL.number]: "2" },
  state: "running",
  pid: 42,
  exitCode: undefined,
  oomKilled: false,
  error: undefined,
  createdAt: "2026-01-01T00:00:00Z",
  startedAt: "2026-01-01T00:00:01Z",
  finishedAt: undefined,
  restartCount: 0,
  stopRequested: false,
  command: ["sh"],
  tty: true,
  openStdin: false,
  ports: [{ containerPort: 80, protocol: "tcp", hostPort: "8080", hostIp: "127.0.0.1" }],
  networks: { p_default: { ipAddress: "10.0.0.2", aliases: ["web"], macAddress: undefined } },
  volumes: ["p_data"],
};

describe("to-wire", () => {
  it("decodes a container's compose labels, and leaves a field the engine adds off the wire", () => {
    const withInternal = { ...info, bundleDir: "/var/lib/secret" } as ContainerInfo;
    const view = containerView(withInternal, "healthy");
    expect(view).toMatchObject({ id: "c1", project: "p", service: "web", number: 2, health: "healthy", tty: true, openStdin: false });
    expect(view).not.toHaveProperty("bundleDir");
    expect(Object.keys(view).sort()).toEqual([...Object.keys(info), "project", "service", "number", "health"].sort());
    // A copy: the engine's record is not shared with what is sent.
    view.labels.x = "y";
    expect(info.labels.x).toBeUndefined();
  });

  it("keeps what is not there out of the JSON, as before the mapping", () => {
    const died: EngineEvent = { type: "container", action: "start", id: "c1", name: "n", labels: {}, time: 1 };
    expect(JSON.parse(JSON.stringify(engineEvent(died)))).toEqual(died);
    expect(JSON.stringify(logEntry({ stream: "stdout", time: 1, timestamp: "t", line: "l" }))).toBe('{"stream":"stdout","time":1,"timestamp":"t","line":"l"}');
    const started = { type: "action" as const, id: "start:web:1", kind: "start" as const, target: "web-1", name: "p-web-1", status: "started" as const };
    expect(JSON.parse(JSON.stringify(progressMessage(started)))).toEqual(started);
  });
});
