// `tscompose up` end to end on the embedded engine: a real daemon, a real
// local registry as docker.io's mirror, real containers on runc with bridge
// networks, service DNS and a published port; then down, and nothing left.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./fixtures/ports.js";
import { repo } from "./support/daemon.js";
import { eventually } from "./support/wait.js";
import { jsonLines } from "./support/e2e.js";
import type { TestDaemon } from "./support/daemon.js";
import { startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let suite: StackSuite;
let daemon: TestDaemon;
let work: string;
let webPort: number;
const project = `tsc${process.pid}`;

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}


beforeAll(async () => {
  suite = await startStackSuite("up", ["busybox", "redis"]);
  ({ daemon, work } = suite);
  cpSync(join(repo, "examples/webapp"), join(work, "webapp"), { recursive: true });
  suite.projects.push({ name: project, cwd: join(work, "webapp") });
  webPort = await freePort();
}, 300_000);

afterAll(async () => expect(await stopStackSuite(suite, ["-v", "-t", "1"])).toEqual([]), 180_000);

describe("up on the embedded engine", () => {
  it("brings the webapp example up: pulled through the mirror, started in order, serving on its port", async () => {
    const cwd = join(work, "webapp");
    const up = daemon.cli(["-p", project, "up", "-d"], { cwd, env: { WEB_PORT: String(webPort) } });
    if (up.code !== 0 || /Error/.test(up.stderr + up.stdout)) console.log(up.stdout, up.stderr, daemon.log().slice(-3000));
    expect(up.stderr + up.stdout).not.toMatch(/Error/);
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(new RegExp(`Container ${project}-redis-1  Started`));
    expect(up.stdout).toMatch(new RegExp(`Container ${project}-web-1  Started`));

    const ps = daemon.cli(["-p", project, "ps", "--format", "json"], { cwd });
    const rows = jsonLines<{ Name: string; State: string; Service: string }>(ps.stdout);
    expect(rows.map((r) => `${r.Service}:${r.State}`).sort()).toEqual(["redis:running", "web:running", "worker:running"]);

    const res = await eventually(() => get(webPort, "/index.html"), (r) => r.status === 200);
    expect(res.body).toContain("Hello from tscompose");
  });

  it("the worker reaches redis by its service name", async () => {
    const cwd = join(work, "webapp");
    // The worker INCRs a counter in redis every 2 s; its nc output is the new value (":1", ":2", ...).
    const logs = await eventually(
      () => daemon.cli(["-p", project, "logs", "worker"], { cwd }).stdout,
      (out) => /:\d+/.test(out),
      60_000,
    );
    expect(logs).toMatch(/worker-1 +\| :\d+/);
  });

  it("a second up changes nothing", () => {
    const cwd = join(work, "webapp");
    const again = daemon.cli(["-p", project, "up", "-d"], { cwd, env: { WEB_PORT: String(webPort) } });
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/Creating|Starting|Removing/);
  });

  it("a stack file that does not load, or a service that does not exist, fails up with file:line:col and leaves what runs alone", () => {
    const cwd = join(work, "webapp");
    const ids = () => daemon.cli(["-p", project, "ps", "-q"], { cwd }).stdout.trim().split("\n").sort();
    const before = ids();
    expect(before).toHaveLength(3);
    // The daemon loads the files (the CLI does not): its error must still name the place.
    const broken = join(work, "broken");
    mkdirSync(broken, { recursive: true });
    const file = join(broken, "compose.yaml");
    const text = readFileSync(join(cwd, "compose.yaml"), "utf8").replace(/^services:\n/m, 'services:\n  bad:\n    image: busybox\n    ports: ["99999:80"]\n');
    writeFileSync(file, text);
    const line = text.split("\n").indexOf('    ports: ["99999:80"]') + 1;
    const bad = daemon.cli(["-p", project, "-f", file, "up", "-d"], { cwd, env: { WEB_PORT: String(webPort) } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${file}:${line}:13: services.bad.ports[0]: invalid port "99999:80"`);
    expect(bad.stdout).not.toMatch(/Creating|Starting|Removing|Stopping/);
    const unknown = daemon.cli(["-p", project, "up", "-d", "nosuch"], { cwd, env: { WEB_PORT: String(webPort) } });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("no such service: nosuch\n");
    const exitFrom = daemon.cli(["-p", project, "up", "--exit-code-from", "nosuch2"], { cwd, env: { WEB_PORT: String(webPort) } });
    expect([exitFrom.code, exitFrom.stderr]).toEqual([1, "no such service: nosuch2\n"]);
    expect(ids()).toEqual(before);
  });

  it("down removes containers and the network, and the port closes", async () => {
    const cwd = join(work, "webapp");
    const down = daemon.cli(["-p", project, "down", "-t", "2"], { cwd });
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(new RegExp(`Network ${project}_default  Removed`));
    const ps = daemon.cli(["-p", project, "ps", "-a", "-q"], { cwd });
    expect(ps.stdout.trim()).toBe("");
    await expect(get(webPort, "/")).rejects.toThrow();
  });
});

describe("up and down without -p", () => {
  it("take the project's name from the stack file: the daemon loads it, the CLI does not", () => {
    const named = `${project}n`;
    const cwd = join(work, "named");
    mkdirSync(cwd, { recursive: true });
    writeFileSync(join(cwd, "compose.yaml"), `name: ${named}\nservices:\n  one:\n    image: busybox\n    command: ["sleep", "300"]\n    stop_signal: KILL\n`);
    suite.projects.push({ name: named, cwd });
    const up = daemon.cli(["up", "-d"], { cwd });
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`Container ${named}-one-1  Started`);
    expect(daemon.cli(["-p", named, "ps", "--services"], { cwd }).stdout).toBe("one\n");
    const down = daemon.cli(["down"], { cwd });
    expect(down.code).toBe(0);
    expect(down.stdout).toContain(`Container ${named}-one-1  Removed`);
    expect(down.stdout).toContain(`Network ${named}_default  Removed`);
    expect(daemon.cli(["-p", named, "ps", "-a", "-q"], { cwd }).stdout).toBe("");
  });
});
