// Keys to daemon requests: the binding (keys.ts) and what a lifecycle command
// asks of the daemon for the selected row's containers.
import { describe, expect, it } from "vitest";
import { lifecycleRequest } from "./actions.js";
import type { LifecycleCommand } from "./actions.js";
import { commandOf } from "./keys.js";
import { ViewModel } from "./model.js";
import type { ContainerRow, Row } from "./model.js";
import { container } from "./testing.js";
import type { ContainerView } from "../daemon/api.js";

function rowOf(c: ContainerView): ContainerRow {
  const m = new ViewModel();
  m.applySnapshot([c], []);
  return m.rows({ sort: "name", filter: "", collapsed: new Set() }).find((r): r is ContainerRow => r.kind === "container") as ContainerRow;
}

function onKey(key: string, row: Row | undefined, targets: ContainerView[]): ReturnType<typeof lifecycleRequest> {
  const cmd = commandOf(key, key);
  expect(cmd).toBeDefined();
  return lifecycleRequest(cmd as LifecycleCommand, row, targets);
}

describe("lifecycle keys", () => {
  it("'s' on a running container stops that container", () => {
    const c = container("web", "app", 1);
    expect(onKey("s", rowOf(c), [c])).toEqual({ label: "stop web-app-1", method: "POST", paths: ["/containers/web-app-1-id/stop"] });
  });

  it("'s' on an exited container starts it", () => {
    const c = container("web", "app", 1, { state: "exited", exitCode: 0 });
    expect(onKey("s", rowOf(c), [c])).toMatchObject({ method: "POST", paths: ["/containers/web-app-1-id/start"] });
  });

  it("'s' on a service stops only its running containers", () => {
    const up = container("web", "app", 1);
    const down = container("web", "app", 2, { state: "exited", exitCode: 1 });
    const service: Row = { kind: "service", key: "v:web/app", stack: "web", service: "app", running: 1, desired: 2, scheduled: false, image: undefined, collapsed: false };
    expect(onKey("s", service, [up, down])).toEqual({ label: "stop web/app (2)", method: "POST", paths: ["/containers/web-app-1-id/stop"] });
  });

  it("'p' pauses a running container and unpauses a paused one", () => {
    const running = container("web", "app", 1);
    expect(onKey("p", rowOf(running), [running])).toMatchObject({ paths: ["/containers/web-app-1-id/pause"] });
    const paused = container("web", "app", 1, { state: "paused" });
    expect(onKey("p", rowOf(paused), [paused])).toMatchObject({ paths: ["/containers/web-app-1-id/unpause"] });
    const exited = container("web", "app", 1, { state: "exited", exitCode: 0 });
    expect(onKey("p", rowOf(exited), [exited])).toEqual({ error: "web-app-1: nothing running to pause" });
  });

  it("'x' removes with force, after asking", () => {
    const c = container("web", "app", 1);
    const req = onKey("x", rowOf(c), [c]);
    expect(req).toMatchObject({ method: "DELETE", paths: ["/containers/web-app-1-id?force=1"] });
    expect(req).toHaveProperty("confirm", "remove web-app-1? running containers are stopped first");
  });

  it("'r' restarts; ids are escaped in the path", () => {
    const c = container("web", "app", 1, { id: "a/b" });
    expect(onKey("r", rowOf(c), [c])).toMatchObject({ paths: ["/containers/a%2Fb/restart"] });
  });

  it("does nothing without a selection", () => {
    expect(onKey("s", undefined, [])).toEqual({ error: "nothing selected to act on" });
  });
});
