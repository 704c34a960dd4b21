// teardown() on the real kernel: deleting a container's namespace takes its
// veth pairs with it (one command, no per-link unregister), and when a process
// still holds the namespace, the host ends are deleted explicitly all the same.
import { readlinkSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observeCommands, run } from "../sys/exec.js";
import { linkExists } from "./bridge.js";
import { netnsExists, setupEndpoints, teardown } from "./sandbox.js";
import type { EndpointPlan } from "./sandbox.js";
import { canUseNamespaces, spawnInNs, stopChild, testPrefixes } from "./testing.js";
import { eventually } from "../../test/support/wait.js";

const { prefixes } = testPrefixes();
const bridge = `${prefixes.bridge}sb`;
let n = 0;

function endpoint(): { netns: string; plan: EndpointPlan } {
  n++;
  return {
    netns: `${prefixes.netns}sb${n}`,
    plan: { bridge, hostVeth: `${prefixes.veth}sb${n}`, ifname: "eth0", ip: `10.213.250.${10 + n}`, prefixLength: 24, gateway: "10.213.250.1", mac: `02:42:0a:d5:fa:${(10 + n).toString(16).padStart(2, "0")}`, defaultRoute: true },
  };
}

beforeAll(async () => {
  if (canUseNamespaces) await run("ip", ["link", "add", bridge, "type", "bridge"]);
});

afterAll(async () => {
  if (canUseNamespaces) await run("ip", ["link", "del", bridge], { allowFailure: true });
});

describe.skipIf(!canUseNamespaces)("teardown", () => {
  it("deleting the namespace takes the pair with it: one command, no link deleted by hand", async () => {
    const { netns, plan } = endpoint();
    await setupEndpoints(netns, { create: true, loopback: true, endpoints: [plan] });
    expect(linkExists(plan.hostVeth)).toBe(true);
    const commands: string[] = [];
    const stop = observeCommands((cmd, args, input) => commands.push(`${cmd} ${args.join(" ")} < ${input ?? ""}`));
    try {
      await teardown(netns, [plan.hostVeth]);
    } finally {
      stop();
    }
    expect(commands).toEqual([`ip -force -batch - < netns del ${netns}\n`]);
    expect(linkExists(plan.hostVeth)).toBe(false);
    expect(netnsExists(netns)).toBe(false);
  });

  it("a namespace a process still holds: its name goes, and the host end is deleted explicitly", async () => {
    const { netns, plan } = endpoint();
    await setupEndpoints(netns, { create: true, loopback: true, endpoints: [plan] });
    const holder = spawnInNs(netns, "sleep", ["30"]);
    try {
      // In the namespace once its /proc/<pid>/ns/net is the named namespace's inode.
      const ino = statSync(`/var/run/netns/${netns}`).ino;
      await eventually(() => readlinkSync(`/proc/${holder.pid}/ns/net`), (link) => link === `net:[${ino}]`, 5000, "the holder in the namespace", 20);
      await teardown(netns, [plan.hostVeth]);
      expect(linkExists(plan.hostVeth)).toBe(false);
      expect(netnsExists(netns)).toBe(false);
      expect(holder.exitCode).toBe(null); // still running, in a namespace nobody names any more
    } finally {
      await stopChild(holder);
    }
  });
});
