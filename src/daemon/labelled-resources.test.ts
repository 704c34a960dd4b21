import { describe, expect, it } from "vitest";
import type { NetworkInfo, VolumeInfo } from "../../engine/types.js";
import type { StackSpec } from "../../model/stack.js";
import { withLabelledResources } from "./labelled-resources.js";

const empty = (name: string): StackSpec => ({ name, workingDir: "", configFiles: [], services: {}, networks: {}, volumes: {}, secrets: {}, configs: {}, extensions: {}, unsupported: [] });
const net = (name: string, labels: Record<string, string>): NetworkInfo => ({ id: name, name, driver: "bridge", labels, subnet: "10.0.0.0/24", gateway: "10.0.0.1", internal: false, bridge: undefined });
const vol = (name: string, labels: Record<string, string>): VolumeInfo => ({ name, driver: "local", labels, mountpoint: `/v/${name}`, createdAt: "" });
const P = "com.docker.compose.project";

describe("withLabelledResources", () => {
  it("adds the project's labelled networks and volumes under their compose keys, and nothing of other projects", () => {
    const s = withLabelledResources(
      empty("shop"),
      [net("shop_default", { [P]: "shop", "com.docker.compose.network": "default" }), net("other_default", { [P]: "other" }), net("plain", {})],
      [vol("shop_data", { [P]: "shop", "com.docker.compose.volume": "data" }), vol("other_data", { [P]: "other" })],
    );
    expect(Object.entries(s.networks).map(([k, n]) => [k, n.name, n.external])).toEqual([["default", "shop_default", false]]);
    expect(Object.entries(s.volumes).map(([k, v]) => [k, v.name])).toEqual([["data", "shop_data"]]);
  });

  it("keeps what the spec names, and never reuses a taken key", () => {
    const spec = empty("shop");
    const known = withLabelledResources(spec, [net("shop_default", { [P]: "shop", "com.docker.compose.network": "default" })], []);
    const again = withLabelledResources(known, [net("shop_default", { [P]: "shop" }), net("shop_run", { [P]: "shop", "com.docker.compose.network": "default" })], []);
    expect(Object.entries(again.networks).map(([k, n]) => [k, n.name])).toEqual([
      ["default", "shop_default"],
      ["shop_run", "shop_run"],
    ]);
  });
});
