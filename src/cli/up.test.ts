import { describe, expect, it } from "vitest";
import { attachedServices, checkUpFlags } from "./up.js";

const pick = (shows: (s: string) => boolean): string[] => ["web", "db", "cache", "quiet"].filter(shows);

describe("up's attached services", () => {
  it("all but the attach: false ones by default; the services named when some are", () => {
    expect(pick(attachedServices([], {}, ["quiet"]))).toEqual(["web", "db", "cache"]);
    expect(pick(attachedServices(["web"], {}, ["quiet"]))).toEqual(["web"]);
  });

  it("--attach-dependencies: the services named and what they depend on", () => {
    expect(pick(attachedServices(["web"], {}, ["quiet"], ["web", "db", "quiet"]))).toEqual(["web", "db"]);
  });

  it("--attach: exactly those (attach: false overridden), less --no-attach", () => {
    expect(pick(attachedServices(["web"], { attach: ["db", "quiet"] }, ["quiet"]))).toEqual(["db", "quiet"]);
    expect(pick(attachedServices([], { attach: ["db", "web"], noAttach: ["web"] }, []))).toEqual(["db"]);
    expect(pick(attachedServices([], { noAttach: ["web", "cache"] }, ["quiet"]))).toEqual(["db"]);
  });
});

describe("up's flag combinations", () => {
  it("refuses what compose refuses", () => {
    expect(() => checkUpFlags([], { abortOnContainerExit: true, abortOnContainerFailure: true })).toThrow("--abort-on-container-failure cannot be combined with --abort-on-container-exit");
    expect(() => checkUpFlags([], { attach: ["web"], attachDependencies: true })).toThrow("cannot combine --attach and --attach-dependencies");
    expect(() => checkUpFlags([], { detach: true, abortOnContainerFailure: true })).toThrow(/^--detach cannot be combined with/);
    expect(() => checkUpFlags([], { wait: true, attach: ["web"] })).toThrow(/^--wait cannot be combined with/);
    expect(() => checkUpFlags(["web"], { deps: false, attach: ["db"] })).toThrow("cannot attach to services not included in up: db");
    expect(() => checkUpFlags(["web"], { attach: ["db"], noAttach: ["web"] })).not.toThrow();
  });
});
