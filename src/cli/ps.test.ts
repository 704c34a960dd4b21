import { describe, expect, it } from "vitest";
import { quoteCommand, statusesOf } from "./ps.js";

describe("ps --status and --filter", () => {
  it("--filter status=STATE adds to --status, as compose's ps takes either", () => {
    expect(statusesOf({})).toEqual([]);
    expect(statusesOf({ status: ["exited"], filter: ["status=running", "status=paused"] })).toEqual(["exited", "running", "paused"]);
  });

  it.each(["name=web", "status", "status=", "=running"])("refuses the filter %s, naming it", (f) => {
    expect(() => statusesOf({ filter: [f] })).toThrow(`invalid filter "${f}": ps filters by status=STATE only`);
  });
});

describe("ps COMMAND cell", () => {
  it("is quoted and cut to docker's 20 characters, whole with --no-trunc", () => {
    expect(quoteCommand(["sleep", "3600"])).toBe('"sleep 3600"');
    expect(quoteCommand(["sh", "-c", "sleep 3600; echo done"])).toBe('"sh -c sleep 3600; e…"');
    expect(quoteCommand(["sh", "-c", "sleep 3600; echo done"], false)).toBe('"sh -c sleep 3600; echo done"');
  });
});
