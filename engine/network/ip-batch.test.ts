// Coalesced host-side `ip -batch` on the real kernel: concurrent container
// setups and teardowns share ip processes, and a request whose lines fail
// (carried past with -force, or fatal to the ip process) fails alone. Every
// object carries this run's random tag; afterAll checks nothing remains.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observeCommands, run } from "../sys/exec.js";
import { linkExists } from "./bridge.js";
import { ipBatch, IpBatchError } from "./ip-batch.js";
import { openNetworkManager } from "./manager.js";
import { netnsExists, setupEndpoints, teardown, type EndpointPlan } from "./sandbox.js";
import { canUseNamespaces, leftovers, testPool, testPrefixes } from "./testing.js";

const { tag, prefixes } = testPrefixes();
const gateways: string[] = [];
const bridge = `${prefixes.bridge}ib`;
const missingBridge = `${prefixes.bridge}no`;
let n = 0;

function container(onBridge = bridge): { netns: string; plan: EndpointPlan } {
  n++;
  return {
    netns: `${prefixes.netns}ib${n}`,
    plan: { bridge: onBridge, hostVeth: `${prefixes.veth}ib${n}`, ifname: "eth0", ip: `10.213.251.${10 + n}`, prefixLength: 24, gateway: "10.213.251.1", mac: `02:42:0a:d5:fb:${(10 + n).toString(16).padStart(2, "0")}`, defaultRoute: true },
  };
}

/** Records the ip processes started while `fn` runs: host-side batches and namespace-side ones. */
async function counting<T>(fn: () => Promise<T>): Promise<{ result: T; host: string[]; inside: number }> {
  const host: string[] = [];
  let inside = 0;
  const stop = observeCommands((cmd, args, input) => {
    if (cmd !== "ip") return;
    if (args.join(" ") === "-force -batch -") host.push(input ?? "");
    else if (args[0] === "-n") inside++;
  });
  try {
    return { result: await fn(), host, inside };
  } finally {
    stop();
  }
}

async function addrOf(netns: string): Promise<string> {
  return (await run("ip", ["-n", netns, "-4", "-o", "addr", "show", "dev", "eth0"])).stdout;
}

beforeAll(async () => {
  if (canUseNamespaces) await run("ip", ["link", "add", bridge, "type", "bridge"]);
});

afterAll(async () => {
  if (!canUseNamespaces) return;
  for (let i = 1; i <= n; i++) await teardown(`${prefixes.netns}ib${i}`, [`${prefixes.veth}ib${i}`]).catch(() => undefined);
  await run("ip", ["link", "del", bridge], { allowFailure: true });
  expect(await leftovers(prefixes, gateways)).toEqual([]);
});

describe.skipIf(!canUseNamespaces)("coalesced host-side ip batches", () => {
  it("twelve containers set up at once share one host-side ip process, and torn down at once another", async () => {
    const cs = Array.from({ length: 12 }, () => container());
    const up = await counting(() => Promise.all(cs.map((c) => setupEndpoints(c.netns, { create: true, loopback: true, endpoints: [c.plan] }))));
    expect(up.host).toHaveLength(1);
    expect(up.inside).toBe(12); // `-n` is global to an ip process: the namespace side stays one each
    for (const c of cs) {
      expect(linkExists(c.plan.hostVeth)).toBe(true);
      expect(await addrOf(c.netns)).toContain(`${c.plan.ip}/24`);
    }
    const master = await run("ip", ["-o", "link", "show", "master", bridge]);
    expect(master.stdout.trim().split("\n")).toHaveLength(12);

    const down = await counting(() => Promise.all(cs.map((c) => teardown(c.netns, [c.plan.hostVeth]))));
    expect(down.host).toHaveLength(1);
    for (const c of cs) {
      expect(netnsExists(c.netns)).toBe(false);
      expect(linkExists(c.plan.hostVeth)).toBe(false);
    }
  });

  it("requests made while ip runs wait, then all go into the next process together", async () => {
    const later: Promise<unknown>[] = [];
    const cs = Array.from({ length: 6 }, () => container());
    const first = cs[0]!;
    const rest = cs.slice(1);
    const got = await counting(async () => {
      // Observers run as a command starts: the rest arrive while the first process runs.
      const stop = observeCommands((cmd, args) => {
        if (cmd === "ip" && args[0] === "-force" && later.length === 0) {
          for (const c of rest) later.push(setupEndpoints(c.netns, { create: true, loopback: true, endpoints: [c.plan] }));
        }
      });
      try {
        await setupEndpoints(first.netns, { create: true, loopback: true, endpoints: [first.plan] });
        await Promise.all(later);
      } finally {
        stop();
      }
    });
    expect(got.host).toHaveLength(2);
    expect(got.host[0]).not.toContain(rest[0]!.netns);
    for (const c of rest) expect(got.host[1]).toContain(`netns add ${c.netns}\n`);
    for (const c of cs) expect(await addrOf(c.netns)).toContain(`${c.plan.ip}/24`);
    await Promise.all(cs.map((c) => teardown(c.netns, [c.plan.hostVeth])));
  });

  it("a bridge that does not exist fails only that container's setup (ip exits at that line): the rest are set up", async () => {
    const good1 = container();
    const bad = container(missingBridge);
    const good2 = container();
    const got = await counting(() =>
      Promise.allSettled([good1, bad, good2].map((c) => setupEndpoints(c.netns, { create: true, loopback: true, endpoints: [c.plan] }))),
    );
    const [r1, rBad, r2] = got.result;
    expect(r1?.status).toBe("fulfilled");
    expect(r2?.status).toBe("fulfilled");
    expect(rBad?.status).toBe("rejected");
    const err = (rBad as PromiseRejectedResult).reason as IpBatchError;
    expect(err).toBeInstanceOf(IpBatchError);
    expect(err.message).toContain(`line 2 "link add ${bad.plan.hostVeth} up master ${missingBridge} type veth`);
    expect(err.message).toContain(`argument "${missingBridge}" is wrong`);
    expect(err.message).not.toContain(good1.netns);
    expect(err.message).not.toContain(good2.netns);
    // ip died in the middle: good2, which never started, goes first into the next process (with
    // the failed caller's own teardown: its netns was created before the fatal line).
    expect(got.host[0]).toContain(`netns add ${good2.netns}`);
    expect(got.host[1]).toMatch(new RegExp(`^netns add ${good2.netns}\nlink add ${good2.plan.hostVeth} up master ${bridge} .*\nlink set ${good2.plan.hostVeth} type bridge_slave hairpin on\n`));
    expect(got.host.some((input) => input.split("\n").includes(`netns del ${bad.netns}`))).toBe(true);
    // The failed caller removed what it created; the others are whole.
    expect(netnsExists(bad.netns)).toBe(false);
    expect(linkExists(bad.plan.hostVeth)).toBe(false);
    for (const c of [good1, good2]) expect(await addrOf(c.netns)).toContain(`${c.plan.ip}/24`);
    await Promise.all([good1, good2].map((c) => teardown(c.netns, [c.plan.hostVeth])));
  });

  it("a line ip carries past (a name that is taken) fails only its own caller, named by line", async () => {
    const good1 = container();
    const taken = container();
    const good2 = container();
    await run("ip", ["link", "add", taken.plan.hostVeth, "type", "veth", "peer", "name", `${taken.plan.hostVeth}p`]);
    const got = await counting(() =>
      Promise.allSettled([good1, taken, good2].map((c) => setupEndpoints(c.netns, { create: true, loopback: true, endpoints: [c.plan] }))),
    );
    const [r1, rTaken, r2] = got.result;
    expect(r1?.status).toBe("fulfilled");
    expect(r2?.status).toBe("fulfilled");
    const err = (rTaken as PromiseRejectedResult).reason as IpBatchError;
    expect(err).toBeInstanceOf(IpBatchError);
    // ip carries on past the failing line within the request too (-force): the hairpin line then
    // fails on the device that has the name, and is reported as well.
    expect(err.failures.map((f) => f.lineNo)).toEqual([2, 3]);
    expect(err.message).toMatch(new RegExp(`^ip -batch failed: line 2 "link add ${taken.plan.hostVeth} [^"]*": RTNETLINK answers: File exists; line 3 "link set ${taken.plan.hostVeth} type bridge_slave hairpin on": `));
    // One process served all three setups (the failed caller's teardown comes after).
    expect(got.host[0]).toContain(`netns add ${good2.netns}`);
    expect(netnsExists(taken.netns)).toBe(false);
    for (const c of [good1, good2]) expect(await addrOf(c.netns)).toContain(`${c.plan.ip}/24`);
    await Promise.all([good1, good2].map((c) => teardown(c.netns, [c.plan.hostVeth])));
    expect(linkExists(taken.plan.hostVeth)).toBe(false); // teardown removes the name it was given, as before
  });

  it("maps each line's failure back to its own request across many requests in one process", async () => {
    const missing = `${prefixes.veth}gone`;
    const reqs = [
      [`link del ${missing}1`], // fails: line 1
      [`link add ${prefixes.veth}ok1 type veth peer name ${prefixes.veth}ok1p`, `link del ${prefixes.veth}ok1`], // fine
      [`link add ${prefixes.veth}ok2 type veth peer name ${prefixes.veth}ok2p`, `link set ${missing}2 up`, `link del ${prefixes.veth}ok2`], // fails: line 2
      [`link del ${missing}3`, `link del ${missing}4`], // fails: lines 1 and 2
    ];
    const got = await counting(() => Promise.all(reqs.map((lines) => ipBatch(lines, { allowFailure: true }))));
    expect(got.host).toHaveLength(1);
    expect(got.result.map((r) => r.failures.map((f) => [f.lineNo, f.line]))).toEqual([
      [[1, `link del ${missing}1`]],
      [],
      [[2, `link set ${missing}2 up`]],
      [
        [1, `link del ${missing}3`],
        [2, `link del ${missing}4`],
      ],
    ]);
    expect(got.result[3]?.stderr).toBe(`Cannot find device "${missing}3"\nCannot find device "${missing}4"`);
    // Without allowFailure the caller gets an error naming its own line, the others their results.
    const settled = await Promise.allSettled([ipBatch([`link del ${missing}5`]), ipBatch([`link add ${prefixes.veth}ok3 type veth peer name ${prefixes.veth}ok3p`])]);
    expect(settled[0]?.status === "rejected" && String(settled[0].reason)).toBe(`IpBatchError: ip -batch failed: line 1 "link del ${missing}5": Cannot find device "${missing}5"`);
    expect(settled[1]?.status).toBe("fulfilled");
    expect(linkExists(`${prefixes.veth}ok3`)).toBe(true);
    await ipBatch([`link del ${prefixes.veth}ok3`]);
  });

  it("refuses lines ip would read differently (comments, continuations, embedded newlines)", async () => {
    for (const bad of ["link del x # y", "link del x \\", "link del x\nlink del y"]) {
      await expect(ipBatch([bad])).rejects.toThrow(/not allowed/);
    }
  });
});

describe.skipIf(!canUseNamespaces)("through the network manager", () => {
  it("eight containers created at once, then removed at once: every host-side line goes through the shared batches, and all are set up and gone", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "tsc-ipb-"));
    // No test here sends a DNS query: the upstream is never used.
    const m = await openNetworkManager({ stateDir, prefixes, pools: [await testPool([0, 15])], upstreamDns: [{ host: "127.0.0.1", port: 9 }], dnsSearch: [] });
    const ids = Array.from({ length: 8 }, (_, i) => `e${i}${tag}${"0".repeat(58)}`);
    let networkId: string | undefined;
    try {
      const net = await m.createNetwork({ name: `ib-${tag}`, labels: {}, driver: "bridge", internal: false, subnet: undefined, gateway: undefined });
      networkId = net.id;
      gateways.push(net.gateway);
      const up = await counting(() => Promise.all(ids.map((id, i) => m.createSandbox({ containerId: id, name: `p-s${i}-1`, networks: [{ network: net.name }] }))));
      expect(up.inside).toBe(8);
      // How many processes that takes depends on timing (how many requests meet while one ip
      // runs; the deterministic cases are above): at most one per container.
      expect(up.host.length).toBeLessThanOrEqual(8);
      expect(up.host.join("").match(/^netns add /gm)).toHaveLength(8);
      for (const sb of up.result) expect(await addrOf(sb.netns)).toContain(`${sb.endpoints[0]!.ipAddress}/`);
      const down = await counting(() => Promise.all(ids.map((id) => m.removeSandbox(id))));
      expect(down.host.join("").match(/^netns del /gm)).toHaveLength(8);
      for (const sb of up.result) expect(netnsExists(sb.netns)).toBe(false);
      await m.removeNetwork(net.id);
      networkId = undefined;
      console.log(`host-side ip processes for 8 containers: ${up.host.length} to create, ${down.host.length} to remove`);
    } finally {
      // After a failure too: afterAll's leak check must find nothing of ours.
      await Promise.all(ids.map((id) => m.removeSandbox(id).catch(() => undefined)));
      if (networkId !== undefined) await m.removeNetwork(networkId).catch(() => undefined);
      await m.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
