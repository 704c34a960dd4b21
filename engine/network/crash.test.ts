// kill -9 in the middle of creating a network or a sandbox, then repair():
// the child process (crash-child.ts) pauses at a hook after kernel objects
// exist but before they are recorded; we SIGKILL it there, open the state
// ourselves (taking over the dead owner's lock) and check that repair()
// removes exactly the orphaned objects and brings the healthy ones back.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../sys/exec.js";
import type { PausePoint } from "./hooks.js";
import { openNetworkManager } from "./manager.js";
import { canUseNamespaces, CRASH_CONFIG_ENV, fakeUpstream, type CrashChildConfig, inNs, leftovers, nslookupAddresses, stopChild, testPool, testPrefixes } from "./testing.js";

const { tag, prefixes } = testPrefixes();
const keeperId = `aa${tag}${"1".repeat(58)}`;
const victimId = `bb${tag}${"2".repeat(58)}`;

async function links(): Promise<string[]> {
  return (await readdir("/sys/class/net")).filter((l) => l.startsWith(prefixes.bridge) || l.startsWith(prefixes.veth));
}

describe.skipIf(!canUseNamespaces)("kill -9 during network operations, then repair()", () => {
  let stateDir: string;
  let upstream: Awaited<ReturnType<typeof fakeUpstream>>;
  let pool: Awaited<ReturnType<typeof testPool>>;
  let child: ChildProcess | undefined;
  const gateways: string[] = [];

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "tsc-crash-"));
    upstream = await fakeUpstream({});
    pool = await testPool([0, 15]);
  });

  afterAll(async () => {
    await stopChild(child);
    const m = await openNetworkManager({ stateDir, prefixes, pools: [pool], upstreamDns: [upstream.upstream], dnsSearch: [] });
    await m.repair();
    await m.removeSandbox(keeperId);
    await m.removeSandbox(victimId);
    for (const n of await m.listNetworks()) await m.removeNetwork(n.id);
    await m.close();
    await upstream.close();
    await rm(stateDir, { recursive: true, force: true });
    expect(await leftovers(prefixes, gateways)).toEqual([]);
  });

  /** Runs the child until it reports the pause point, then kills it with SIGKILL. */
  async function crashAt(pauseAt: PausePoint): Promise<void> {
    const cfg: CrashChildConfig = { stateDir, prefixes, pool, upstream: upstream.upstream, keeperId, victimId, pauseAt };
    const bin = join(process.cwd(), "node_modules", ".bin", "vite-node");
    child = spawn(bin, [join(import.meta.dirname, "crash-child.ts")], { env: { ...process.env, [CRASH_CONFIG_ENV]: JSON.stringify(cfg) }, stdio: ["ignore", "pipe", "pipe"] });
    const c = child;
    let err = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not pause at ${pauseAt}: ${err}`)), 60_000);
      c.stdout?.resume();
      c.stderr?.on("data", (d: Buffer) => {
        err += d.toString();
        if (err.includes(`paused at ${pauseAt}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`child exited (${code}) before pausing: ${err}`));
      });
    });
    await stopChild(c);
  }

  it.each(["network:bridge-created", "network:rules-added"] as const)("a network never recorded is removed (killed at %s)", async (point) => {
    await crashAt(point);
    const m = await openNetworkManager({ stateDir, prefixes, pools: [pool], upstreamDns: [upstream.upstream], dnsSearch: [] });
    try {
      const a = await m.inspectNetwork("crash-a");
      expect(a).toBeDefined();
      gateways.push(a!.gateway);
      const orphan = (await links()).find((l) => l.startsWith(prefixes.bridge) && l !== a!.bridge);
      expect(orphan, "the killed child left its bridge").toBeDefined();
      if (point === "network:rules-added") expect((await run("iptables-save", [])).stdout).toContain(orphan!);

      const report = await m.repair();
      expect(report.removed).toContain(`bridge ${orphan!}`);
      expect(report.removed.some((r) => r.startsWith("IPAM subnet"))).toBe(true);
      expect(await links()).not.toContain(orphan);
      expect((await run("iptables-save", [])).stdout).not.toContain(orphan!);
      expect(Object.keys((JSON.parse(await readFile(join(stateDir, "ipam.json"), "utf8")) as { networks: object }).networks)).toEqual([a!.id]);
      expect((await m.listNetworks()).map((n) => n.name)).toEqual(["crash-a"]);
      // The healthy network works: its DNS server is back and knows the keeper.
      const keeper = (await m.inspectSandbox(keeperId))!;
      const r = await inNs(keeper.netns, ["nslookup", "keeper", a!.gateway], 8000);
      expect(nslookupAddresses(r.stdout)).toEqual([keeper.endpoints[0]!.ipAddress]);
    } finally {
      await m.close();
    }
  });

  it("a sandbox whose netns and veth exist but which was never recorded is removed, its address freed", async () => {
    await crashAt("sandbox:endpoints-created");
    const victimNs = `${prefixes.netns}${victimId.slice(0, 12)}`;
    expect(await readdir("/var/run/netns")).toContain(victimNs);
    const m = await openNetworkManager({ stateDir, prefixes, pools: [pool], upstreamDns: [upstream.upstream], dnsSearch: [] });
    try {
      const keeper = (await m.inspectSandbox(keeperId))!;
      const ipamBefore = JSON.parse(await readFile(join(stateDir, "ipam.json"), "utf8")) as { networks: Record<string, { addresses: Record<string, string> }> };
      expect(Object.values(ipamBefore.networks).flatMap((n) => Object.values(n.addresses))).toContain(victimId);

      const report = await m.repair();
      expect(report.removed).toContain(`netns ${victimNs}`);
      expect(report.removed.some((r) => r.startsWith("veth "))).toBe(true);
      expect(await readdir("/var/run/netns")).not.toContain(victimNs);
      expect((await links()).filter((l) => l.startsWith(prefixes.veth))).toEqual([keeper.endpoints[0]!.hostVeth]);
      const ipam = JSON.parse(await readFile(join(stateDir, "ipam.json"), "utf8")) as { networks: Record<string, { addresses: Record<string, string> }> };
      expect(Object.values(ipam.networks).flatMap((n) => Object.values(n.addresses))).toEqual([keeperId]);
      const a = (await m.inspectNetwork("crash-a"))!;
      const r = await inNs(keeper.netns, ["nslookup", "victim", a.gateway], 8000);
      expect(nslookupAddresses(r.stdout)).toEqual([]);
    } finally {
      await m.close();
    }
  });
});
