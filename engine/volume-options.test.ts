import { describe, expect, it } from "vitest";
import { localVolumeKind } from "./volume-options.js";

const none = (): boolean => false;

describe("localVolumeKind", () => {
  it("reads the local driver's bind and tmpfs forms as dockerd does", () => {
    expect(localVolumeKind({})).toEqual({ kind: "plain" });
    expect(localVolumeKind({ type: "none", o: "bind", device: "/srv/data" })).toEqual({ kind: "bind", device: "/srv/data" });
    expect(localVolumeKind({ type: "tmpfs", device: "tmpfs", o: "size=100m,uid=1000,mode=1777" })).toEqual({ kind: "tmpfs", options: ["size=100m", "uid=1000", "mode=1777"] });
  });

  it("says why it cannot make the others", () => {
    expect(() => localVolumeKind({ type: "none", device: "/srv" })).toThrow(/needs o: bind/);
    expect(() => localVolumeKind({ type: "none", o: "bind", device: "relative" })).toThrow(/absolute host path/);
    expect(() => localVolumeKind({ type: "tmpfs", o: "size=1m,context=x" })).toThrow(/tmpfs option "context=x"/);
    expect(() => localVolumeKind({ type: "nfs", o: "addr=10.0.0.1", device: ":/export" }, none)).toThrow(/type "nfs" needs mount\.nfs, which this host does not have/);
    expect(() => localVolumeKind({ type: "cifs", device: "//srv/share" }, () => true)).toThrow(/not implemented/);
    expect(() => localVolumeKind({ type: "ext4", device: "/dev/sdb1" })).toThrow(/device mount/);
    expect(() => localVolumeKind({ size: "1g" })).toThrow(/unknown local driver option "size"/);
  });
});
