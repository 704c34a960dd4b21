// Test data for the TUI's unit tests: container views as the daemon sends them.
import type { ContainerView } from "../daemon/api.js";

export const T0 = Date.parse("2025-01-01T00:00:00Z");

export function container(project: string, service: string, n: number, over: Partial<ContainerView> = {}): ContainerView {
  const labels = { "com.docker.compose.project": project, "com.docker.compose.service": service, "com.docker.compose.container-number": String(n), "com.docker.compose.oneoff": "False" };
  return {
    id: `${project}-${service}-${n}-id`,
    name: `${project}-${service}-${n}`,
    image: "docker.io/library/busybox:latest",
    imageId: "sha256:x",
    labels,
    state: "running",
    pid: 1,
    exitCode: undefined,
    oomKilled: false,
    error: undefined,
    createdAt: new Date(T0).toISOString(),
    startedAt: new Date(T0).toISOString(),
    finishedAt: undefined,
    restartCount: 0,
    command: [],
    tty: false,
    openStdin: false,
    ports: [],
    networks: {},
    project,
    service,
    number: n,
    health: undefined,
    ...over,
  };
}
