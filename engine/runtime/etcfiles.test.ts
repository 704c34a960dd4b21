import { describe, expect, it } from "vitest";
import { resolveHostGateway } from "./etcfiles.js";

describe("extra_hosts host-gateway", () => {
  it("becomes the gateway; other entries stay as written", () => {
    expect(resolveHostGateway(["host.docker.internal:host-gateway", "db=10.0.0.5", "v6:[::1]"], "10.217.3.1")).toEqual(["host.docker.internal:10.217.3.1", "db=10.0.0.5", "v6:[::1]"]);
  });

  it("is an error without a gateway to name", () => {
    expect(() => resolveHostGateway(["h:host-gateway"], undefined)).toThrow(/host-gateway needs a network/);
    expect(resolveHostGateway(["db:10.0.0.5"], undefined)).toEqual(["db:10.0.0.5"]);
  });
});
