import { describe, expect, it } from "vitest";
import type { ContainerInfo, VolumeInfo } from "../engine/types.js";
import { VOLUME_LABEL } from "../model/labels.js";
import { observeStack } from "./observed.js";

const volume = (name: string, labels: Record<string, string>): VolumeInfo => ({ name, driver: "local", labels, mountpoint: `/v/${name}`, createdAt: "" });

describe("observeStack: handed-over volumes", () => {
  const handed = (key: string, owner: string, target = "/data"): Record<string, string> => ({
    [VOLUME_LABEL.anonymous]: owner,
    [VOLUME_LABEL.handover]: key,
    [VOLUME_LABEL.handoverTarget]: target,
  });

  it("lists this project's volumes whose owner is gone, by service and number; not another project's, not one a living container took", () => {
    const alive = { id: "new", labels: {} } as unknown as ContainerInfo;
    const volumes = [
      volume("v1", handed("shop/db/1", "gone")),
      volume("v2", handed("shop/db/2", "new")),
      volume("v3", handed("other/db/1", "gone")),
      volume("v4", { [VOLUME_LABEL.anonymous]: "gone" }),
      // A project name is any text before the last two parts.
      volume("v5", handed("shop/cache/12", "gone", "/cache")),
    ];
    const obs = observeStack("shop", [alive], [], volumes, []);
    expect(obs.handedOver).toEqual([
      { service: "db", number: 1, name: "v1", target: "/data" },
      { service: "cache", number: 12, name: "v5", target: "/cache" },
    ]);
    expect(observeStack("shop", [], [], [volume("v4", { [VOLUME_LABEL.anonymous]: "gone" })], []).handedOver).toBeUndefined();
  });
});
