import { describe, expect, it } from "vitest";
import { statusesOf } from "./ps.js";

describe("ps --status and --filter", () => {
  it("--filter status=STATE adds to --status, as compose's ps takes either", () => {
    expect(statusesOf({})).toEqual([]);
    expect(statusesOf({ status: ["exited"], filter: ["status=running", "status=paused"] })).toEqual(["exited", "running", "paused"]);
  });

  it.each(["name=web", "status", "status=", "=running"])("refuses the filter %s, naming it", (f) => {
    expect(() => statusesOf({ filter: [f] })).toThrow(`invalid filter "${f}": ps filters by status=STATE only`);
  });
});
