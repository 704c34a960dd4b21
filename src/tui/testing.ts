// Test data for the TUI's unit tests: container views and swarm stacks as the daemon sends them.
import type { ContainerView, SwarmServiceView, SwarmStackView, TaskView } from "../daemon/api.js";

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

/** A task of a swarm service, as GET /stacks/:name/swarm has it: `web.2` on node n2, running since T0. */
export function task(stack: string, slotName: string, node: string, over: Partial<TaskView> = {}): TaskView {
  const [service = "", slot = "1"] = slotName.split(".");
  return { id: `${stack}-${slotName}-${node}-${over.state ?? "running"}`, name: `${stack}_${slotName}`, service, image: "busybox", node, desiredState: "running", state: "running", error: "", since: new Date(T0).toISOString(), slot: Number(slot), ...over };
}

/** A swarm stack's view: services (with their tasks) and the three nodes of the test lab, n1 the leader. */
export function swarmView(stack: string, services: Record<string, { desired: number; tasks: TaskView[]; updateState?: string }>): SwarmStackView {
  const views: SwarmServiceView[] = Object.entries(services).map(([service, s]) => ({
    id: `id-${service}`,
    name: `${stack}_${service}`,
    service,
    mode: "replicated",
    running: s.tasks.filter((t) => t.state === "running" && t.desiredState === "running").length,
    desired: s.desired,
    image: "busybox@sha256:0123",
    version: 12,
    updateState: s.updateState ?? "",
    tasks: s.tasks,
  }));
  const all = views.flatMap((v) => v.tasks).filter((t) => t.desiredState === "running");
  return {
    manager: "unix:///lab/n1/docker.sock",
    services: views,
    nodes: ["n1", "n2", "n3"].map((n, i) => ({
      id: `node-${n}`,
      hostname: n,
      role: i === 0 ? "manager" : "worker",
      availability: n === "n3" ? "drain" : "active",
      status: "ready",
      managerStatus: i === 0 ? "Leader" : "",
      tasks: all.filter((t) => t.node === n).map((t) => t.name),
    })),
  };
}
