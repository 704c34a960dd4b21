import { describe, expect, it } from "vitest";
import type { PathSegment } from "./parse.js";
import { normalizeProcessKeys, parseDevice } from "./process-keys.js";

const at = (...rest: PathSegment[]): PathSegment[] => ["services", "web", ...rest];
const fail = (path: readonly PathSegment[], message: string): never => {
  throw new Error(`${path.join(".")}: ${message}`);
};
const keys = (s: Record<string, unknown>) => normalizeProcessKeys(s, at, fail);

describe("process keys", () => {
  it("parses docker's --device forms and compose's long form", () => {
    expect(parseDevice("/dev/zero", [], fail)).toEqual({ source: "/dev/zero", target: "/dev/zero", permissions: "rwm" });
    expect(parseDevice("/dev/zero:r", [], fail)).toEqual({ source: "/dev/zero", target: "/dev/zero", permissions: "r" });
    expect(parseDevice("/dev/zero:/dev/z", [], fail)).toEqual({ source: "/dev/zero", target: "/dev/z", permissions: "rwm" });
    expect(parseDevice("/dev/zero:/dev/z:rw", [], fail)).toEqual({ source: "/dev/zero", target: "/dev/z", permissions: "rw" });
    expect(parseDevice({ source: "/dev/zero", target: "/dev/z", permissions: "r" }, [], fail)).toEqual({ source: "/dev/zero", target: "/dev/z", permissions: "r" });
    expect(() => parseDevice("zero", ["d"], fail)).toThrow(/must be an absolute path/);
    expect(() => parseDevice("/dev/zero:/dev/z:rx", ["d"], fail)).toThrow(/invalid device permissions "rx"/);
  });

  it("accepts docker's modes and locates what it refuses", () => {
    expect(keys({ pid: "host", ipc: "shareable", uts: "host", userns_mode: "host", cgroup: "private" })).toMatchObject({ pid: "host", ipc: "shareable", uts: "host", usernsMode: "host", cgroup: "private" });
    expect(keys({ pid: "service:db", ipc: "container:x" })).toMatchObject({ pid: "service:db", ipc: "container:x" });
    expect(() => keys({ pid: "private" })).toThrow(/^services\.web\.pid: invalid pid mode "private"/);
    expect(() => keys({ ipc: "shared" })).toThrow(/^services\.web\.ipc: invalid ipc mode/);
    expect(() => keys({ uts: "private" })).toThrow(/^services\.web\.uts: invalid uts mode/);
    // Loaded (config prints them); src/stack/support.ts refuses them at up.
    expect(keys({ userns_mode: "auto" }).usernsMode).toBe("auto");
    expect(() => keys({ storage_opt: { size: "1G" } })).not.toThrow();
    expect(keys({ storage_opt: {} }).runtime).toBeUndefined();
    expect(() => keys({ cgroup_parent: "/a/../b" })).toThrow(/cgroup_parent/);
    expect(keys({ runtime: "runc" }).runtime).toBe("runc");
    expect(keys({ runtime: "nvidia" }).runtime).toBe("nvidia");
    expect(() => keys({ platform: "amd64" })).toThrow(/^services\.web\.platform: invalid platform/);
  });

  it("keeps groups and device cgroup rules, checking their syntax", () => {
    expect(keys({ group_add: ["audio", 4242], device_cgroup_rules: ["c 1:3 rmw", "b *:* r", "a 7:* rwm"] })).toMatchObject({
      groupAdd: ["audio", "4242"],
      deviceCgroupRules: ["c 1:3 rmw", "b *:* r", "a 7:* rwm"],
    });
    expect(() => keys({ device_cgroup_rules: ["c 1:3"] })).toThrow(/^services\.web\.device_cgroup_rules\.0: invalid device cgroup rule/);
    expect(() => keys({ device_cgroup_rules: ["x 1:3 r"] })).toThrow(/invalid device cgroup rule/);
  });
});
