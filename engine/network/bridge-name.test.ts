// A network whose bridge the user names (com.docker.network.bridge.name) on
// the real kernel: the device has that name, the name is refused when it is
// taken or looks like one of ours, and such a network is isolated from the
// engine's other networks in both directions (its rules cannot rely on the
// bridge prefix), with a positive control on the same network.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NetworkInfo } from "../types.js";
import { BRIDGE_OPTION } from "./bridge-options.js";
import { openNetworkManager, type LinuxNetworkManager } from "./manager.js";
import { canUseNamespaces, fakeUpstream, inNs, leftovers, testPool, testPrefixes } from "./testing.js";
import type { SandboxInfo } from "./types.js";

const { tag, prefixes } = testPrefixes();
const NAMED = `tx${tag}b`;
const NAMED2 = `tx${tag}c`;

describe.skipIf(!canUseNamespaces)("a user-named bridge on the real kernel", () => {
  let stateDir: string;
  let m: LinuxNetworkManager;
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  const gateways: string[] = [];
  const sandboxes: SandboxInfo[] = [];

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "tsc-brname-"));
    upstream = await fakeUpstream({});
    m = await openNetworkManager({ stateDir, prefixes, pools: [await testPool()], upstreamDns: [upstream.upstream], dnsSearch: [] });
    await m.repair();
  });

  afterAll(async () => {
    if (m) {
      for (const sb of sandboxes) await m.removeSandbox(sb.containerId);
      for (const n of await m.listNetworks()) await m.removeNetwork(n.id);
      await m.close();
    }
    await upstream?.close();
    await rm(stateDir, { recursive: true, force: true });
    expect(existsSync(`/sys/class/net/${NAMED}`)).toBe(false);
    expect(existsSync(`/sys/class/net/${NAMED2}`)).toBe(false);
    expect(await leftovers(prefixes, gateways)).toEqual([]);
  });

  const spec = (name: string, bridge?: string): Parameters<LinuxNetworkManager["createNetwork"]>[0] => ({
    name,
    labels: {},
    driver: "bridge",
    internal: false,
    subnet: undefined,
    gateway: undefined,
    ...(bridge !== undefined ? { options: { [BRIDGE_OPTION.name]: bridge } } : {}),
  });

  it("names the bridge as asked, and refuses a name that is taken or has the engine's prefix", async () => {
    const named = await m.createNetwork(spec(`named-${tag}`, NAMED));
    gateways.push(named.gateway);
    expect(named.bridge).toBe(NAMED);
    expect(existsSync(`/sys/class/net/${NAMED}`)).toBe(true);
    await expect(m.createNetwork(spec(`again-${tag}`, NAMED))).rejects.toThrow(new RegExp(`bridge ${NAMED} is already used by network named-${tag}`));
    await expect(m.createNetwork(spec(`lo-${tag}`, "lo"))).rejects.toThrow(/the host already has a link named lo/);
    await expect(m.createNetwork(spec(`pfx-${tag}`, `${prefixes.bridge}abc`))).rejects.toThrow(/prefix of the engine's own bridge names/);
    await expect(m.createNetwork(spec(`long-${tag}`, "a-name-too-long-for-linux"))).rejects.toThrow(/not a valid interface name/);
    expect((await m.listNetworks()).map((n) => n.name)).toEqual([`named-${tag}`]);
  });

  it("isolates it from the engine's other networks both ways, named or not", async () => {
    const named = (await m.inspectNetwork(`named-${tag}`)) as NetworkInfo;
    const plain = await m.createNetwork(spec(`plain-${tag}`));
    const named2 = await m.createNetwork(spec(`named2-${tag}`, NAMED2));
    gateways.push(plain.gateway, named2.gateway);
    const sb = async (id: string, network: string): Promise<SandboxInfo> => {
      const s = await m.createSandbox({ containerId: `${id}${tag}` + "0".repeat(58), name: `p-${id}`, networks: [{ network }] });
      sandboxes.push(s);
      return s;
    };
    const x1 = await sb("x1", named.name);
    const x2 = await sb("x2", named.name);
    const y1 = await sb("y1", plain.name);
    const z1 = await sb("z1", named2.name);
    const ping = async (from: SandboxInfo, to: SandboxInfo): Promise<boolean> => (await inNs(from.netns, ["ping", "-c", "1", "-W", "1", to.endpoints[0]!.ipAddress], 4000)).code === 0;
    expect(await ping(x1, x2)).toBe(true); // positive control: the same network
    expect(await ping(x1, y1)).toBe(false);
    expect(await ping(y1, x1)).toBe(false);
    expect(await ping(x1, z1)).toBe(false);
    expect(await ping(z1, x1)).toBe(false);
  });
});
