// Beyond compose, end to end: x-tscompose restart_on_unhealthy restarts a
// container whose health check fails (only where asked), and readiness probes
// (tcp, http, log) gate depends_on: service_healthy and up --wait without a
// health check in the image. No timed assertions: we wait for states.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestDaemon } from "./support/daemon.js";
import { psRows, startStackSuite, stopStackSuite, until } from "./support/stack.js";
import type { PsRow, StackSuite } from "./support/stack.js";

let suite: StackSuite;
let daemon: TestDaemon;
let work: string;

/** Writes a stack file for a project of its own; returns the project name and the file. */
function stack(name: string, yaml: string[]): { project: string; file: string } {
  const project = `${name}${process.pid}`;
  suite.projects.push({ name: project, cwd: work });
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, yaml.join("\n") + "\n");
  return { project, file };
}

const row = (rows: PsRow[], service: string): PsRow | undefined => rows.find((r) => r.Service === service);

beforeAll(async () => {
  suite = await startStackSuite("health");
  ({ daemon, work } = suite);
}, 300_000);

afterAll(async () => expect(await stopStackSuite(suite)).toEqual([]), 120_000);

describe("restart_on_unhealthy", () => {
  it("restarts a container that turns unhealthy, and leaves one without the option unhealthy and running", async () => {
    // Healthy for about two seconds after each start, then the check fails for good.
    const sick = [
      "    image: busybox",
      "    command: ['sh', '-c', 'touch /tmp/ok; sleep 2; rm /tmp/ok; sleep 600']",
      "    healthcheck: { test: [CMD, test, -f, /tmp/ok], interval: 300ms, timeout: 2s, retries: 2 }",
      // sleep ignores SIGTERM: without this every restart would wait out the default 10 s grace.
      "    stop_grace_period: 500ms",
    ];
    const { project, file } = stack("heal", ["services:", "  healer:", ...sick, "    x-tscompose: { restart_on_unhealthy: true }", "  plain:", ...sick]);
    const up = daemon.cli(["-p", project, "-f", file, "up", "-d", "--wait"], { cwd: work });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const rows = await until(
      () => psRows(daemon, project, work),
      (r) => (row(r, "healer")?.RestartCount ?? 0) >= 2 && row(r, "plain")?.Health === "unhealthy",
    );
    expect(row(rows, "plain")).toMatchObject({ State: "running", RestartCount: 0 });
    // The restarted one comes back and is checked afresh.
    await until(
      () => psRows(daemon, project, work),
      (r) => row(r, "healer")?.State === "running" && ["starting", "healthy"].includes(row(r, "healer")?.Health ?? ""),
    );
    expect(daemon.log()).toContain("restarting unhealthy container");
  });
});

describe("readiness", () => {
  // Each server starts listening / logging only after a delay: a dependant
  // that started before readiness would fail its one attempt.
  const services = [
    "services:",
    "  tcp:",
    "    image: busybox",
    "    command: ['sh', '-c', 'sleep 2; exec nc -ll -p 7000 -e true']",
    "    x-tscompose: { readiness: { tcp: 7000, interval: 200ms } }",
    "  web:",
    "    image: busybox",
    "    command: ['sh', '-c', 'mkdir -p /www && echo hi > /www/index.html && sleep 2 && exec httpd -f -p 8080 -h /www']",
    "    x-tscompose: { readiness: { http: 8080/index.html, interval: 200ms } }",
    "  logger:",
    "    image: busybox",
    "    command: ['sh', '-c', 'sleep 2; echo server is Ready to accept connections; sleep 600']",
    "    x-tscompose: { readiness: { log: 'Ready to accept' } }",
    "  client:",
    "    image: busybox",
    "    command: ['sh', '-c', 'echo | nc tcp 7000 && wget -q -O - http://web:8080/index.html | grep -q hi']",
    "    depends_on:",
    "      tcp: { condition: service_healthy }",
    "      web: { condition: service_healthy }",
    "      logger: { condition: service_healthy }",
  ];

  it("gates depends_on: service_healthy and up --wait on tcp, http and log probes", () => {
    const { project, file } = stack("ready", services);
    const up = daemon.cli(["-p", project, "-f", file, "up", "-d", "--wait"], { cwd: work });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const rows = psRows(daemon, project, work);
    // The client's one attempt found both servers answering.
    expect(row(rows, "client")).toMatchObject({ State: "exited", ExitCode: 0 });
    for (const s of ["tcp", "web", "logger"]) expect(row(rows, s), s).toMatchObject({ State: "running", Health: "healthy" });
  });

  it("up --wait fails with the service's name when a probe never succeeds", () => {
    const { project, file } = stack("never", [
      "services:",
      "  mute:",
      "    image: busybox",
      "    command: ['sleep', '600']",
      "    x-tscompose: { readiness: { tcp: 7001, interval: 200ms } }",
    ]);
    const up = daemon.cli(["-p", project, "-f", file, "up", "-d", "--wait", "--wait-timeout", "3"], { cwd: work });
    expect(up.code).not.toBe(0);
    expect(up.stderr + up.stdout).toMatch(/mute/);
    expect(row(psRows(daemon, project, work), "mute")).toMatchObject({ State: "running", Health: "starting" });
  });
});

describe("up --wait", () => {
  it("fails when a container exits non-zero with no restart policy while it waits, naming it; a one-shot exiting 0 is done", () => {
    const { project, file } = stack("waitfail", [
      "services:",
      "  once:",
      "    image: busybox",
      "    command: ['true']",
      "  broken:",
      "    image: busybox",
      "    command: ['sh', '-c', 'sleep 1; exit 7']",
      // Ready only after broken has exited: --wait is still waiting when it does.
      "  server:",
      "    image: busybox",
      "    command: ['sh', '-c', 'sleep 4; exec nc -ll -p 7000 -e true']",
      "    x-tscompose: { readiness: { tcp: 7000, interval: 200ms } }",
    ]);
    const up = daemon.cli(["-p", project, "-f", file, "up", "-d", "--wait", "--wait-timeout", "120"], { cwd: work });
    expect(up.code).not.toBe(0);
    expect(up.stderr + up.stdout).toMatch(/broken-1 exited \(7\)/);
    expect(up.stderr + up.stdout).not.toMatch(/once-1 exited/);
  });

  it("up --wait SERVICE waits for that service and its dependencies only, as compose does", () => {
    const sleeper = `    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]`;
    const { project, file } = stack("waitsome", [
      "services:",
      "  db:",
      "    image: busybox",
      sleeper,
      "  web:",
      "    image: busybox",
      sleeper,
      "    depends_on: [db]",
      "  other:",
      "    image: busybox",
      sleeper,
    ]);
    const up = daemon.cli(["-p", project, "-f", file, "up", "-d", "--wait", "--wait-timeout", "30", "web"], { cwd: work });
    expect({ code: up.code, stderr: up.stderr }).toMatchObject({ code: 0 });
    // `other` was not asked for: not started, and not waited for.
    expect(psRows(daemon, project, work).map((r) => `${r.Service}:${r.State}`).sort()).toEqual(["db:running", "web:running"]);
  });
});
