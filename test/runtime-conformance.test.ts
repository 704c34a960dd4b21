// Runtime conformance with docker-compose 1.29 + dockerd: each stack in
// test/stacks/conformance is brought up by tscompose (its daemon, the embedded
// engine) and by docker-compose on a private dockerd, and the same probe
// (test/support/probe.ts) runs in every service's container on both sides.
// What the container sees (ids, capabilities, env, /etc/hosts, resolv.conf,
// limits, cgroup limits, mounts, files) must be the same after the documented
// normalizations; every remaining difference is listed below with its reason
// (and in docs/compat.md), and asserted, so it cannot change unnoticed.
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCli } from "./support/e2e.js";
import { diffProbes, normalizeProbe, parseProbe, probeCommand, type ProbeTargets, type SectionDiff } from "./support/probe.js";
import { startPeer, type Peer } from "./support/peer.js";
import { startStackSuite, stopStackSuite, type StackSuite } from "./support/stack.js";

const stacksDir = resolve(import.meta.dirname, "stacks", "conformance");
const stackFiles = readdirSync(stacksDir).filter((f) => f.endsWith(".yml")).sort();

let suite: StackSuite | undefined;
let peer: Peer | undefined;

beforeAll(async () => {
  suite = await startStackSuite("runtime-conformance", ["busybox"]);
  peer = await startPeer(suite.registry, ["busybox"]);
}, 300_000);

afterAll(async () => {
  const theirs = peer ? await peer.leftovers() : [];
  await peer?.stop();
  expect(await stopStackSuite(suite, ["-v", "-t", "0"])).toEqual([]);
  expect(theirs).toEqual([]);
}, 180_000);

// Asynchronous, so the worker keeps answering vitest while a long `up` runs.
async function ours(args: string[]): Promise<string> {
  const run = spawnCli(suite!.daemon, args, { cwd: stacksDir });
  const code = await run.exited(240_000);
  if (code !== 0) throw new Error(`tscompose ${args.slice(0, 6).join(" ")} exited ${code}: ${run.stderr()}`);
  return run.stdout();
}

interface StackFile {
  services: Record<string, { hostname?: string }>;
  "x-probe": Record<string, ProbeTargets>;
}

/**
 * Differences that remain after normalization, each with its reason (also in
 * docs/compat.md). Asserted exactly: a fix, or a new difference, fails the
 * test until this list says so.
 */
interface ExpectedDifference extends Partial<SectionDiff> {
  stack: string;
  service: string;
  section: string;
  reason: string;
}

const EXPECTED: ExpectedDifference[] = [
  {
    stack: "storage.yml",
    service: "app",
    section: "mounts",
    onlyOurs: ["/app-config ro,relatime ext4"],
    reason: "docker-compose 1.29 ignores a service's configs outside swarm; compose v2 mounts them at /<name> read-only, as tscompose does",
  },
  {
    stack: "storage.yml",
    service: "app",
    section: "files",
    onlyOurs: ["-rw-r--r-- 0:0 12 /app-config", "listen 8080"],
    reason: "docker-compose 1.29 ignores a service's configs outside swarm (see the mounts above)",
  },
];

function expectedFor(stack: string, service: string): Record<string, SectionDiff> {
  const out: Record<string, SectionDiff> = {};
  for (const e of EXPECTED.filter((x) => x.stack === stack && x.service === service)) {
    out[e.section] = { onlyOurs: e.onlyOurs ?? [], onlyTheirs: e.onlyTheirs ?? [], reordered: e.reordered ?? false };
  }
  return out;
}

describe("what containers see matches docker-compose 1.29 on dockerd", () => {
  for (const file of stackFiles) {
    it(file, async () => {
      const stack = parse(readFileSync(join(stacksDir, file), "utf8")) as StackFile;
      const project = `rc${file.replace(/\.yml$/, "").replace(/[^a-z0-9]/g, "")}${process.pid}`;
      const compose = ["-p", project, "-f", file];
      suite!.projects.push({ name: project, cwd: stacksDir });
      try {
        await ours([...compose, "up", "-d"]);
        await peer!.compose([...compose, "up", "-d"], stacksDir);
        // The positive control of the leftover check in afterAll: it sees the stack while it is up.
        expect(await peer!.leftovers()).toContainEqual(expect.stringMatching(/^container: /));
        for (const [service, spec] of Object.entries(stack.services)) {
          const targets = stack["x-probe"][service];
          if (!targets) throw new Error(`${file}: x-probe has no entry for ${service}`);
          const command = [...compose, "exec", "-T", service, ...probeCommand(targets)];
          const mine = parseProbe(await ours(command));
          const theirs = parseProbe(await peer!.compose(command, stacksDir));
          // The probe ran to its end on both sides: a shell that stopped early would compare two empty sections as equal.
          expect(Object.keys(mine)).toEqual(Object.keys(theirs));
          expect(mine.files, `${service}: the probe's last section`).toBeDefined();
          // The names are the stack's own: both sides must resolve them, or equal "bad address" lines would pass.
          for (const line of [...(mine.resolve ?? []), ...(theirs.resolve ?? [])]) expect(line).toMatch(/^\S+: PING \S+ \(\d+\.\d+\.\d+\.\d+\)/);
          const defaultHostname = spec.hostname === undefined;
          if (defaultHostname) {
            // Both default to the first 12 hex digits of the container id (normalized away below).
            expect(mine.hostname?.[0]).toMatch(/^[0-9a-f]{12}$/);
            expect(theirs.hostname?.[0]).toMatch(/^[0-9a-f]{12}$/);
          }
          const differences = diffProbes(
            normalizeProbe(mine, { defaultHostname, embeddedDns: "gateway" }),
            normalizeProbe(theirs, { defaultHostname, embeddedDns: { address: "127.0.0.11" } }),
          );
          expect({ service, differences }).toEqual({ service, differences: expectedFor(file, service) });
        }
      } finally {
        await ours([...compose, "down", "-v", "-t", "0"]).catch(() => undefined);
        await peer!.compose([...compose, "down", "-v", "-t", "0"], stacksDir).catch(() => undefined);
      }
    }, 600_000);
  }
});
