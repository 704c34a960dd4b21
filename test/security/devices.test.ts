// The device cgroup, as docker sets it: a container may create device nodes
// (CAP_MKNOD is in docker's default set), but open only the few devices the
// default rules allow (null, zero, full, random, urandom, tty, console, ptmx,
// pts). A node made for the host's disk must not open: with it a container
// could read or overwrite the host's file systems.
import { readdirSync, readFileSync } from "node:fs";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCli } from "../support/e2e.js";
import { startStackSuite, stopStackSuite } from "../support/stack.js";
import type { StackSuite } from "../support/stack.js";

let s: StackSuite;
const project = `tdv${process.pid}`;

async function sh(script: string, service = "box"): Promise<string> {
  const run = spawnCli(s.daemon, ["-p", project, "exec", "-T", service, "sh", "-c", script], { cwd: s.work });
  const code = await run.exited(120_000);
  if (code !== 0) throw new Error(`exec exited ${code}: ${run.stderr()}`);
  return run.stdout();
}

/** The host's first disk (not a loop device), as major:minor. */
function hostDisk(): { name: string; major: string; minor: string } {
  const name = readdirSync("/sys/block").find((b) => !b.startsWith("loop") && !b.startsWith("ram")) ?? "";
  const [major = "", minor = ""] = readFileSync(join("/sys/block", name, "dev"), "utf8").trim().split(":");
  return { name, major, minor };
}

beforeAll(async () => {
  s = await startStackSuite("devices", ["busybox"]);
  s.projects.push({ name: project, cwd: s.work });
  // loop-control (10:237) is not among the default rules (docker's nor runc's, which do allow tun):
  // only a `devices` entry lets these open it. Opened, it answers reads and writes with EINVAL, so
  // nothing on the host changes.
  const withDevice = (name: string, permissions: string) =>
    `  ${name}:\n    image: busybox\n    command: ["sleep", "3600"]\n    devices: ["/dev/loop-control:/dev/lc:${permissions}"]\n`;
  writeFileSync(join(s.work, "compose.yaml"), `services:\n  box:\n    image: busybox\n    command: ["sleep", "3600"]\n${withDevice("readonly", "r")}${withDevice("readwrite", "rw")}`);
  const up = spawnCli(s.daemon, ["-p", project, "up", "-d"], { cwd: s.work });
  if ((await up.exited(240_000)) !== 0) throw new Error(`up failed: ${up.stderr()}`);
}, 300_000);

afterAll(async () => {
  expect(await stopStackSuite(s)).toEqual([]);
}, 180_000);

describe("the device cgroup", () => {
  it("lets a container make a node for the host's disk but not open it; an allowed device made the same way opens", async () => {
    const disk = hostDisk();
    expect(disk.major).toMatch(/^\d+$/);
    // Positive control: the same steps for /dev/zero (1:5, allowed) read a byte.
    expect(await sh('mknod /tmp/z c 1 5 && head -c 1 /tmp/z | od -An -tx1 | tr -d " \\n"; echo " rc=$?"')).toBe("00 rc=0\n");
    const out = await sh(`mknod /tmp/disk b ${disk.major} ${disk.minor} && echo made; head -c 1 /tmp/disk >/dev/null 2>/tmp/err; echo "rc=$?"; cat /tmp/err`);
    expect(out).toMatch(/^made\nrc=1\n.*Operation not permitted/);
  }, 120_000);

  it("gives a device only the permissions its `devices` entry names", async () => {
    // Opened, the device refuses the read or write itself (EINVAL): the open was allowed.
    const opened = /Invalid argument/;
    expect(await sh("cat /dev/lc 2>&1; true", "readonly")).toMatch(opened);
    // r only: opening it for writing is refused by the device cgroup.
    expect(await sh("{ echo x > /dev/lc; } 2>&1; true", "readonly")).toMatch(/Operation not permitted/);
    // Positive control: with rw the same write opens it.
    expect(await sh("{ echo x > /dev/lc; } 2>&1; true", "readwrite")).toMatch(opened);
    // And the box without the entry cannot even read it.
    expect(await sh("mknod /tmp/lc c 10 237 && cat /tmp/lc 2>&1; true")).toMatch(/Operation not permitted/);
  }, 120_000);
});
