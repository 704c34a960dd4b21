import { describe, expect, it } from "vitest";
import { containerSpecFor } from "./container-spec.js";
import { attachment, network, service, stackOf } from "./testing.js";

describe("containerSpecFor", () => {
  it("networks: attached by priority, the highest first (eth0), which also takes the service's mac_address", () => {
    const svc = service("web", {
      macAddress: "02:42:ac:11:00:99",
      networks: { low: attachment({ priority: 1 }), high: attachment({ priority: 100 }), mid: attachment({ priority: 10 }) },
    });
    const base = stackOf([svc]);
    const stack = { ...base, networks: { low: network("app_low"), high: network("app_high"), mid: network("app_mid") } };
    const spec = containerSpecFor(stack, svc, 1);
    expect(Object.keys(spec.networks)).toEqual(["app_high", "app_mid", "app_low"]);
    expect(spec.networks.app_high?.macAddress).toBe("02:42:ac:11:00:99");
    expect(spec.networks.app_low?.macAddress).toBeUndefined();
  });
});
