import { describe, expect, it } from "vitest";
import type { NetworkSpec, ServiceNetworkSpec } from "../model/stack.js";
import { containerSpecFor } from "./container-spec.js";
import { service, stackOf } from "./testing.js";

const attachment = (over: Partial<ServiceNetworkSpec> = {}): ServiceNetworkSpec => ({ aliases: [], ipv4Address: undefined, ipv6Address: undefined, priority: 0, macAddress: undefined, gwPriority: 0, ...over });

describe("containerSpecFor", () => {
  it("networks: attached by priority, the highest first (eth0), which also takes the service's mac_address", () => {
    const svc = service("web", {
      macAddress: "02:42:ac:11:00:99",
      networks: { low: attachment({ priority: 1 }), high: attachment({ priority: 100 }), mid: attachment({ priority: 10 }) },
    });
    const base = stackOf([svc]);
    const net = (name: string): NetworkSpec => ({
      name,
      driver: "bridge",
      driverOpts: {},
      external: false,
      internal: false,
      attachable: false,
      enableIpv6: false,
      ipam: { driver: undefined, config: [], options: {} },
      labels: {},
    });
    const stack = { ...base, networks: { low: net("app_low"), high: net("app_high"), mid: net("app_mid") } };
    const spec = containerSpecFor(stack, svc, 1);
    expect(Object.keys(spec.networks)).toEqual(["app_high", "app_mid", "app_low"]);
    expect(spec.networks.app_high?.macAddress).toBe("02:42:ac:11:00:99");
    expect(spec.networks.app_low?.macAddress).toBeUndefined();
  });
});
