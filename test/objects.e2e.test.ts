// volume and network commands end to end, and the stack's `volumes`: the real
// CLI against a real daemon on the embedded engine, with a stack whose
// container mounts a named and an anonymous volume and is attached to its own
// network and to an external one. What a container uses is never removed (rm
// and prune, running or stopped), `down` keeps an external network, and
// nothing is left on the host at the end.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDaemon } from "./support/daemon.js";
import { jsonLines } from "./support/e2e.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let suite: StackSuite;
let d: TestDaemon;
const project = `tob${process.pid}`;
const ext = `ext${randomBytes(3).toString("hex")}`;

const STACK = `
services:
  app:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    volumes: ["data:/data", "/anon"]
    networks: [back, outside]
volumes:
  data: {}
networks:
  back: {}
  outside:
    external: true
    name: ${ext}
`;

function cli(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  return d.cli(["-p", project, ...args], { cwd: suite.work, input });
}

function ok(args: string[], input?: string): string {
  const r = cli(args, input);
  if (r.code !== 0) throw new Error(`${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const lines = (text: string): string[] => text.split("\n").filter(Boolean);
const volumeNames = (): string[] => lines(ok(["volume", "ls", "-q"]));
const networkNames = (): string[] => lines(ok(["network", "ls", "--format", "{{.Name}}"]));
const appId = (): string => lines(ok(["ps", "-a", "-q"]))[0] ?? "";

beforeAll(async () => {
  suite = await startStackSuite("objects");
  d = suite.daemon;
  writeFileSync(join(suite.work, "compose.yaml"), STACK);
  // The external network exists before up, as compose requires.
  expect(ok(["network", "create", "--label", "role=external", ext])).toMatch(/^[0-9a-f]{64}\n$/);
  suite.projects.push({ name: project, cwd: suite.work });
  ok(["up", "-d"]);
}, 300_000);

afterAll(async () => {
  const left = await stopStackSuite(suite, ["-v", "-t", "1"]);
  expect(left).toEqual([]);
}, 180_000);

describe("volume", () => {
  it("create, ls (table, -q, json, filters) and inspect", () => {
    expect(ok(["volume", "create", "--label", "team=a", "--label", "flag", "v1"])).toBe("v1\n");
    const table = ok(["volume", "ls"]);
    expect(lines(table)[0]).toBe("DRIVER    VOLUME NAME");
    expect(lines(table)).toContain("local     v1");
    expect(lines(table)).toContain(`local     ${project}_data`);

    const json = jsonLines<Record<string, unknown>>(ok(["volume", "ls", "--format", "json"]));
    const v1 = json.find((v) => v.Name === "v1");
    expect(v1).toMatchObject({ Driver: "local", Scope: "local", Labels: "team=a,flag=" });
    expect(String(v1?.Mountpoint)).toMatch(/\/volumes\/v1\/_data$/);

    expect(lines(ok(["volume", "ls", "-q", "--filter", "label=team=a"]))).toEqual(["v1"]);
    expect(lines(ok(["volume", "ls", "-q", "--filter", "label=team=b"]))).toEqual([]);
    // -f is docker's short --filter here (the project file is --file after `volume ls`).
    expect(lines(ok(["volume", "ls", "-q", "-f", "label=team=a"]))).toEqual(["v1"]);
    // The same name again is that volume; with other labels, a conflict.
    expect(ok(["volume", "create", "--label", "team=a", "--label", "flag", "v1"])).toBe("v1\n");
    expect(cli(["volume", "create", "--label", "team=b", "v1"])).toMatchObject({ code: 1, stderr: expect.stringMatching(/already exists with different labels/) });
    expect(lines(ok(["volume", "ls", "-q", "--filter", "label=team", "--filter", "label=flag"]))).toEqual(["v1"]);
    const dangling = lines(ok(["volume", "ls", "-q", "--filter", "dangling=true"]));
    expect(dangling).toContain("v1");
    expect(dangling).not.toContain(`${project}_data`);
    expect(lines(ok(["volume", "ls", "-q", "--filter", "dangling=false"]))).toContain(`${project}_data`);

    const [inspected] = JSON.parse(ok(["volume", "inspect", "v1"])) as Record<string, unknown>[];
    expect(inspected).toMatchObject({ Name: "v1", Driver: "local", Labels: { team: "a", flag: "" }, Scope: "local" });
    expect(Number.isNaN(Date.parse(String(inspected?.CreatedAt)))).toBe(false);
    expect(ok(["volume", "inspect", "-f", "{{.Name}} {{.Labels.team}}", "v1"])).toBe("v1 a\n");
  });

  it("bad input is an error and creates nothing", () => {
    const before = volumeNames();
    expect(cli(["volume", "ls", "--filter", "colour=red"])).toMatchObject({ code: 1, stderr: expect.stringMatching(/invalid filter 'colour'/) });
    expect(cli(["volume", "ls", "--filter", "dangling=maybe"]).code).toBe(1);
    expect(cli(["volume", "create", "--driver", "nfs", "v2"]).code).toBe(1);
    expect(cli(["volume", "create", "--label", "=x", "v2"]).code).toBe(1);
    expect(cli(["volume", "create", "../escape"]).code).toBe(1);
    const missing = cli(["volume", "inspect", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no such volume/);
    expect(volumeNames()).toEqual(before);
  });

  it("rm refuses a volume a running container uses, with docker's text", () => {
    const r = cli(["volume", "rm", `${project}_data`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`volume is in use - [${appId()}]`);
    expect(volumeNames()).toContain(`${project}_data`);
  });

  it("prune keeps used volumes; without -a it keeps named ones; asks first without -f", () => {
    const anonymous = volumeNames().filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(anonymous).toHaveLength(1);
    // Answering no (or nothing) removes nothing.
    expect(ok(["volume", "prune"], "n\n")).toContain("Are you sure you want to continue? [y/N]");
    expect(volumeNames()).toContain("v1");
    const pruned = ok(["volume", "prune", "-f"]);
    expect(pruned).toContain("Total reclaimed space:");
    expect(pruned).not.toContain("v1");
    expect(volumeNames()).toEqual(expect.arrayContaining(["v1", `${project}_data`, ...anonymous]));
    const all = ok(["volume", "prune", "-a", "-f"]);
    // du's count (allocated blocks), so an empty volume is its directory's block, not docker's 0B.
    expect(all).toMatch(/^Deleted Volumes:\nv1\n\nTotal reclaimed space: [\d.]+k?B\n$/);
    expect(volumeNames()).toEqual(expect.arrayContaining([`${project}_data`, ...anonymous]));
    expect(volumeNames()).not.toContain("v1");
  });

  it("rm removes an unused volume, -f makes a missing one fine", () => {
    ok(["volume", "create", "gone"]);
    expect(ok(["volume", "rm", "gone"])).toBe("gone\n");
    expect(volumeNames()).not.toContain("gone");
    expect(cli(["volume", "rm", "gone"]).code).toBe(1);
    expect(cli(["volume", "rm", "-f", "gone"]).code).toBe(0);
  });

  it("the stack's volumes lists the project's volumes", () => {
    ok(["volume", "create", "other"]);
    const out = ok(["volumes"]);
    expect(lines(out)).toEqual(["DRIVER    VOLUME NAME", `local     ${project}_data`]);
    expect(lines(ok(["volumes", "-q", "app"]))).toEqual([`${project}_data`]);
    ok(["volume", "rm", "other"]);
  });
});

describe("network", () => {
  it("create with a subnet, gateway, internal and labels; ls and inspect", () => {
    const third = 200 + (randomBytes(1)[0] ?? 0) % 50;
    const id = ok(["network", "create", "--subnet", `192.168.${third}.0/24`, "--gateway", `192.168.${third}.254`, "--internal", "--label", "team=n", "n1"]).trim();
    const table = lines(ok(["network", "ls"]));
    expect(table[0]).toMatch(/^NETWORK ID {5}NAME\s+DRIVER {4}SCOPE$/);
    expect(table.some((l) => l.startsWith(`${id.slice(0, 12)}   n1 `) && /bridge\s+local$/.test(l))).toBe(true);
    expect(lines(ok(["network", "ls", "-q", "--no-trunc", "--filter", "label=team=n"]))).toEqual([id]);
    const [json] = jsonLines<Record<string, unknown>>(ok(["network", "ls", "--format", "json", "--filter", "name=n1"]));
    expect(json).toMatchObject({ ID: id.slice(0, 12), Name: "n1", Driver: "bridge", Scope: "local", Internal: "true", Labels: "team=n" });
    const [inspected] = JSON.parse(ok(["network", "inspect", "n1"])) as Record<string, unknown>[];
    expect(inspected).toMatchObject({ Name: "n1", Id: id, Driver: "bridge", Internal: true, Labels: { team: "n" }, IPAM: { Config: [{ Subnet: `192.168.${third}.0/24`, Gateway: `192.168.${third}.254` }] } });
    const [back] = JSON.parse(ok(["network", "inspect", `${project}_back`])) as { Containers: Record<string, { Name: string }> }[];
    expect(Object.keys(back?.Containers ?? {})).toEqual([appId()]);
  });

  it("bad input is an error and creates nothing", () => {
    const before = networkNames();
    expect(cli(["network", "create", "--driver", "overlay", "n2"]).code).toBe(1);
    expect(cli(["network", "create", "--subnet", "not-a-cidr", "n2"]).code).toBe(1);
    expect(cli(["network", "create", "--gateway", "10.9.9.1", "n2"]).code).toBe(1);
    expect(cli(["network", "ls", "--filter", "colour=red"]).code).toBe(1);
    expect(cli(["network", "inspect", "nope"])).toMatchObject({ code: 1, stderr: expect.stringMatching(/network nope not found/) });
    expect(networkNames()).toEqual(before);
  });

  it("rm refuses a network a container is attached to", () => {
    const r = cli(["network", "rm", `${project}_back`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`network ${project}_back id [0-9a-f]{64} has active endpoints`));
    expect(networkNames()).toContain(`${project}_back`);
  });

  it("prune removes only unused networks", () => {
    expect(ok(["network", "prune", "-f"])).toBe("Deleted Networks:\nn1\n\n");
    expect(networkNames()).toEqual(expect.arrayContaining([`${project}_back`, ext]));
    expect(networkNames()).not.toContain("n1");
  });

  it("connect refuses a network the container is on already; disconnect one it is not on (-f lets that pass)", () => {
    // What connect and disconnect do is checked in test/networks-ipam.e2e.test.ts.
    const again = cli(["network", "connect", `${project}_back`, appId()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already attached to network/);
    const absent = cli(["network", "disconnect", `no${ext}`, appId()]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/not attached to network/);
    expect(cli(["network", "disconnect", "-f", `no${ext}`, appId()]).code).toBe(0);
  });
});

describe("the stack's images", () => {
  it("lists each container's image as compose does, agreeing with docker-style images", () => {
    // Without a project flag, `images` stays docker's: the other code path, over the image store itself.
    const docker = jsonLines<{ Repository: string; Tag: string; ID: string; Size: string }>(d.cli(["images", "--format", "json"], { cwd: suite.work }).stdout);
    const busybox = docker.find((i) => i.Repository === "busybox" && i.Tag === "latest");
    expect(busybox).toBeDefined();
    const table = lines(ok(["images"]));
    expect(table[0]).toMatch(/^CONTAINER\s+REPOSITORY\s+TAG\s+IMAGE ID\s+SIZE$/);
    expect(table.slice(1).map((l) => l.split(/\s+/))).toEqual([[`${project}-app-1`, "busybox", "latest", busybox?.ID, busybox?.Size]]);
    expect(ok(["images", "-q", "app"])).toBe(`${busybox?.ID}\n`);
    const [json] = JSON.parse(ok(["images", "--format", "json"])) as Record<string, unknown>[];
    expect(json).toMatchObject({ ContainerName: `${project}-app-1`, Repository: "busybox", Tag: "latest" });
    expect(String(json?.ID)).toContain(busybox?.ID ?? "none");
    expect(lines(ok(["images", "nosuchservice"]))).toHaveLength(1);
    expect(cli(["images", "--digests"]).code).toBe(1);
  });
});

interface DfRow {
  Type: string;
  TotalCount: string;
  Active: string;
  Size: string;
  Reclaimable: string;
}
const df = (): Record<string, DfRow> => Object.fromEntries(lines(ok(["system", "df", "--format", "json"])).map((l) => [(JSON.parse(l) as DfRow).Type, JSON.parse(l) as DfRow]));
/** "1.5MB" back to bytes, to compare sizes without asserting docker's rounding. */
const bytes = (text: string): number => {
  const m = /^([\d.]+)(B|kB|MB|GB)/.exec(text);
  return m ? Number(m[1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as "B"] : NaN;
};

describe("system df", () => {
  it("counts images, containers and volumes, and what is reclaimable", () => {
    ok(["exec", "-T", "app", "sh", "-c", "head -c 300000 /dev/zero > /data/blob && head -c 200000 /dev/zero > /tmp/blob"]);
    const table = lines(ok(["system", "df"]));
    expect(table[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    expect(table[4]).toMatch(/^Build Cache\s+0\s+0\s+0B\s+0B$/);
    const rows = df();
    expect(rows.Images).toMatchObject({ TotalCount: "1", Active: "1", Reclaimable: "0B (0%)" });
    expect(bytes(rows.Images?.Size ?? "")).toBeGreaterThan(100_000);
    expect(rows.Containers).toMatchObject({ TotalCount: "1", Active: "1", Reclaimable: "0B (0%)" });
    expect(bytes(rows.Containers?.Size ?? "")).toBeGreaterThanOrEqual(200_000);
    expect(rows["Local Volumes"]).toMatchObject({ TotalCount: "2", Active: "2", Reclaimable: "0B (0%)" });
    expect(bytes(rows["Local Volumes"]?.Size ?? "")).toBeGreaterThanOrEqual(300_000);
    ok(["volume", "create", "spare"]);
    expect(df()["Local Volumes"]).toMatchObject({ TotalCount: "3", Active: "2" });
    ok(["volume", "rm", "spare"]);
  });
});

describe("with the stack stopped", () => {
  it("a stopped container's volumes and networks are still in use", () => {
    ok(["stop", "-t", "1"]);
    expect(df().Containers).toMatchObject({ TotalCount: "1", Active: "0", Reclaimable: expect.stringMatching(/\(100%\)$/) });
    expect(cli(["volume", "rm", `${project}_data`]).stderr).toContain(`volume is in use - [${appId()}]`);
    expect(cli(["network", "rm", `${project}_back`]).code).toBe(1);
    ok(["volume", "prune", "-a", "-f"]);
    ok(["network", "prune", "-f"]);
    expect(volumeNames()).toContain(`${project}_data`);
    expect(networkNames()).toEqual(expect.arrayContaining([`${project}_back`, ext]));
  });

  it("down keeps the external network; it can be removed after", () => {
    const anonymous = volumeNames().filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(anonymous).toHaveLength(1);
    ok(["down", "-v", "-t", "1"]);
    expect(networkNames()).toEqual([ext]);
    // down -v removes the containers' anonymous volumes with them, as compose does: nothing is left to prune.
    expect(volumeNames()).toEqual([]);
    expect(ok(["volume", "prune", "-f"])).toBe("Total reclaimed space: 0B\n");
    expect(ok(["network", "rm", ext])).toBe(`${ext}\n`);
    expect(networkNames()).toEqual([]);
  });
});

describe("system prune", () => {
  it("removes stopped containers, unused networks, anonymous volumes (--volumes) and images (-a); keeps named volumes", () => {
    ok(["network", "create", ext]);
    ok(["up", "-d"]);
    const id = appId();
    const anonymous = volumeNames().filter((n) => /^[0-9a-f]{64}$/.test(n));
    ok(["volume", "create", "keepme"]);
    // While it runs, nothing of it goes; the image stays (without -a only dangling ones would go).
    expect(ok(["system", "prune", "-f", "--volumes"])).toBe("Total reclaimed space: 0B\n");
    expect(ok(["system", "prune"], "n\n")).toContain("  - all stopped containers\n");
    ok(["stop", "-t", "1"]);
    const out = ok(["system", "prune", "-f", "--volumes"]);
    expect(out).toContain(`Deleted Containers:\n${id}\n\n`);
    expect(out).toMatch(/Deleted Networks:\n/);
    expect(out).toContain(`Deleted Volumes:\n${anonymous.join("\n")}\n\n`);
    expect(out).not.toContain("Deleted Images:");
    expect(lines(ok(["ps", "-a", "-q"]))).toEqual([]);
    expect(networkNames()).toEqual([]);
    expect(volumeNames().sort()).toEqual(["keepme", `${project}_data`].sort());
    const all = ok(["system", "prune", "-a", "-f"]);
    expect(all).toMatch(/Deleted Images:\nuntagged: busybox:latest\n(untagged: .*\n)*deleted: sha256:[0-9a-f]{64}\n/);
    expect(lines(d.cli(["images", "-q"], { cwd: suite.work }).stdout)).toEqual([]);
    ok(["volume", "rm", "keepme", `${project}_data`]);
  });
});
