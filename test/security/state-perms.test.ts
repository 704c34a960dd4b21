// The state dir as another local user sees it (uid 65534 "nobody", no groups):
// after a daemon started and a container runs, nothing of it can be listed or
// read: not the state dir, not a container's record or config.json (its
// environment: secrets), not its writable layer (where a setuid-root binary
// made by the container would wait, Docker's CVE-2021-41091), not a volume,
// not a blob. A state dir left with an older tscompose's loose modes is
// tightened when the daemon starts.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDaemon } from "../support/daemon.js";
import { psRows, startStackSuite, stopStackSuite, until } from "../support/stack.js";
import type { StackSuite } from "../support/stack.js";

let suite: StackSuite;
let daemon: TestDaemon;
let work: string;
const project = `perms${process.pid}`;

/** Runs a command as uid/gid 65534 without supplementary groups. */
function asNobody(cmd: string[]): { code: number; stderr: string; stdout: string } {
  const r = spawnSync("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "--", ...cmd], { encoding: "utf8" });
  return { code: r.status ?? 1, stderr: r.stderr, stdout: r.stdout };
}

/** Every path another user must not reach, each checked to exist (as root) so a denial is not a typo. */
function secrets() {
  const s = daemon.stateDir;
  const [id] = readdirSync(join(s, "runtime", "containers")).filter((n) => /^[0-9a-f]{64}$/.test(n));
  const [blob] = readdirSync(join(s, "content", "blobs", "sha256"));
  const paths = {
    stateDir: s,
    record: join(s, "runtime", "containers", id ?? "none", "record.json"),
    config: join(s, "runtime", "containers", id ?? "none", "config.json"),
    upper: join(s, "snapshots", "containers", id ?? "none", "upper"),
    upperFile: join(s, "snapshots", "containers", id ?? "none", "upper", "tmp", "made-by-container"),
    volume: join(s, "volumes", `${project}_data`, "_data"),
    volumeFile: join(s, "volumes", `${project}_data`, "_data", "secret.txt"),
    blob: join(s, "content", "blobs", "sha256", blob ?? "none"),
    stacks: join(s, "stacks", `${project}.json`),
    daemonPid: join(s, "daemon.pid"),
  };
  for (const p of Object.values(paths)) expect(existsSync(p), p).toBe(true);
  return paths;
}

function expectNobodyDenied(): void {
  for (const [what, path] of Object.entries(secrets())) {
    const isDir = statSync(path).isDirectory();
    const r = asNobody(isDir ? ["ls", "-a", path] : ["cat", path]);
    expect({ what, failed: r.code !== 0, stdout: r.stdout }).toEqual({ what, failed: true, stdout: "" });
    expect(r.stderr, what).toMatch(/Permission denied/);
  }
}

beforeAll(async () => {
  suite = await startStackSuite("perms");
  ({ daemon, work } = suite);
  suite.projects.push({ name: project, cwd: work });
  // mkdtemp made the test's own dir 0700: open it, so the state dir's modes are the only barrier.
  chmodSync(daemon.dir, 0o755);
  writeFileSync(
    join(work, "compose.yaml"),
    [
      "services:",
      "  app:",
      "    image: busybox",
      "    environment: { API_TOKEN: s3cret-token }",
      "    command: ['sh', '-c', 'echo s3cret > /data/secret.txt; echo x > /tmp/made-by-container; trap \"exit 0\" TERM; sleep 3600 & wait']",
      "    volumes: ['data:/data']",
      "volumes:",
      "  data: {}",
      "",
    ].join("\n"),
  );
  const up = daemon.cli(["-p", project, "up", "-d", "--wait"], { cwd: work });
  expect(up.code, up.stdout + up.stderr).toBe(0);
  await until(() => existsSync(join(daemon.stateDir, "volumes", `${project}_data`, "_data", "secret.txt")), (ok) => ok);
}, 300_000);

afterAll(async () => expect(await stopStackSuite(suite, ["-v", "-t", "0"])).toEqual([]), 120_000);

describe("the state dir as another local user (uid 65534)", () => {
  it("the harness works: nobody can list the test's directory and read a world-readable file", () => {
    expect(asNobody(["ls", daemon.dir]).code).toBe(0);
    expect(asNobody(["cat", "/etc/hostname"]).code).toBe(0);
  });

  it("cannot list or read the state dir, records, config.json, the writable layer, a volume or a blob", () => {
    expectNobodyDenied();
  });

  it("the modes: state dir 0711, its subtrees 0700, records and bundles 0600", () => {
    const p = secrets();
    const mode = (f: string): string => (statSync(f).mode & 0o7777).toString(8);
    expect(mode(p.stateDir)).toBe("711");
    for (const name of readdirSync(p.stateDir)) {
      const st = statSync(join(p.stateDir, name));
      if (st.isDirectory()) expect({ name, mode: mode(join(p.stateDir, name)) }).toEqual({ name, mode: "700" });
      else if (st.isFile()) expect({ name, mode: mode(join(p.stateDir, name)) }).toEqual({ name, mode: "600" });
    }
    expect(mode(p.record)).toBe("600");
    expect(mode(p.config)).toBe("600");
    expect(mode(p.stacks)).toBe("600");
  });

  it("an older state dir with 0755 dirs and 0644 files is tightened when the daemon starts, containers untouched", async () => {
    const before = psRows(daemon, project, work);
    expect(before.map((r) => r.State)).toEqual(["running"]);
    await daemon.stop();
    const s = daemon.stateDir;
    chmodSync(s, 0o755);
    for (const name of readdirSync(s)) {
      const st = statSync(join(s, name));
      if (st.isDirectory()) chmodSync(join(s, name), 0o755);
      else if (st.isFile()) chmodSync(join(s, name), 0o644);
    }
    for (const dir of ["runtime/containers", "snapshots", "snapshots/containers", "volumes", "content", "content/blobs", "content/blobs/sha256"]) chmodSync(join(s, dir), 0o755);
    // Loose as an old tscompose left it: nobody can walk in (the check of this test's premise).
    expect(asNobody(["ls", join(s, "snapshots", "containers")]).code).toBe(0);

    await daemon.start();
    expect(daemon.log()).toContain("state dir modes tightened");
    expectNobodyDenied();
    const after = psRows(daemon, project, work);
    expect(after.map((r) => [r.ID, r.State])).toEqual(before.map((r) => [r.ID, r.State]));
  }, 120_000);
});
