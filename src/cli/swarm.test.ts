import { describe, expect, it } from "vitest";
import type { TaskView } from "../daemon/api.js";
import { currentState, taskJson } from "./swarm.js";

const t: TaskView = { id: "abc", name: "s_web.1", service: "web", image: "busybox", node: "n2", desiredState: "running", state: "running", error: "", since: "2026-01-01T00:00:00Z" };

describe("swarm ps", () => {
  it("CURRENT STATE as docker stack ps: the state and how long ago it began", () => {
    expect(currentState(t, Date.parse("2026-01-01T00:05:00Z"))).toBe("Running 5 minutes ago");
    expect(currentState({ ...t, since: "" })).toBe("Running");
  });

  it("--format json: docker's field names, State as compose's ps, and the node", () => {
    const j = taskJson(t, Date.parse("2026-01-01T00:00:10Z"));
    expect(j).toMatchObject({ ID: "abc", Name: "s_web.1", Node: "n2", DesiredState: "Running", State: "running", Error: "" });
  });
});
