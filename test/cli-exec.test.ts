// exec, run, top, port, events and stats end to end: the real CLI against a
// real daemon on the embedded engine, a two-service busybox stack (web
// depends on db), through the attach protocol for exec and run. Exit codes,
// stdout/stderr kept apart, stdin byte-exact, a tty session typed into as a
// person would, one-off containers that leave nothing behind; and nothing
// left on the host at the end.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./fixtures/ports.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry } from "./fixtures/registry.js";
import type { TestRegistry } from "./fixtures/registry.js";
import { bin, buildOnce, cleanupDir, leaks, testDaemon } from "./support/daemon.js";
import type { TestDaemon } from "./support/daemon.js";
import { eventually, psAll, spawnCli } from "./support/e2e.js";
import { StopWaiting } from "./support/wait.js";

let registry: TestRegistry;
let daemon: TestDaemon;
let work: string;
let webPort: number;
const project = `tsx${process.pid}`;

const STACK = `
services:
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    # Not a one-shot: \`up\` starts it again after a clean stop.
    restart: unless-stopped
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]
    ports: ["127.0.0.1:\${WEB_PORT}:8080"]
    environment:
      GREETING: hello
    depends_on: [db]
`;

interface Result {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** The CLI with stdout as bytes and stderr too, whatever the exit code. */
function cli(args: string[], input?: Buffer | string): Result {
  const r = spawnSync(bin, ["-p", project, ...args], {
    cwd: work,
    env: { ...daemon.env, WEB_PORT: String(webPort) },
    input: input ?? "",
    timeout: 120_000,
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr.toString() };
}

function topOf(service: string): string {
  return cli(["top", service]).stdout.toString();
}

beforeAll(async () => {
  buildOnce();
  registry = await startRegistry();
  await pushTestImage(registry, "busybox");
  daemon = testDaemon({ mirror: registry.url });
  await daemon.start();
  work = mkdtempSync(join(tmpdir(), "tscompose-test-exec-"));
  writeFileSync(join(work, "compose.yaml"), STACK);
  webPort = await freePort();
  const up = cli(["up", "-d"]);
  if (up.code !== 0) console.log(up.stdout.toString(), up.stderr, daemon.log().slice(-3000));
  expect(up.code).toBe(0);
}, 300_000);

afterAll(async () => {
  if (daemon) {
    if (work) cli(["down", "-v", "-t", "1"]);
    await daemon.stop();
    const left = leaks(daemon);
    cleanupDir(daemon);
    expect(left).toEqual([]);
  }
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 180_000);

describe("exec", () => {
  it("passes the exit code through", () => {
    const r = cli(["exec", "-T", "web", "sh", "-c", "exit 7"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(7);
  });

  it("keeps stdout and stderr apart", () => {
    const r = cli(["exec", "-T", "web", "sh", "-c", "echo out; echo err >&2; echo out2"]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe("out\nout2\n");
    expect(r.stderr).toBe("err\n");
  });

  it("streams stdin byte for byte (cat echoes 1 MiB of random bytes)", () => {
    const data = randomBytes(1 << 20);
    const r = cli(["exec", "-T", "web", "cat"], data);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(data.length);
    expect(r.stdout.equals(data)).toBe(true);
  });

  it("applies -e, -u and -w, on top of the service's environment", () => {
    const r = cli(["exec", "-T", "-e", "FOO=bar", "-u", "65534", "-w", "/tmp", "web", "sh", "-c", 'echo "$FOO $(id -u) $(pwd) $GREETING"']);
    expect(r.stderr).toBe("");
    expect(r.stdout.toString()).toBe("bar 65534 /tmp hello\n");
  });

  it("passes options after the command to the command", () => {
    const r = cli(["exec", "-T", "web", "ls", "-d", "/var/www"]);
    expect(r.stdout.toString()).toBe("/var/www\n");
  });

  it("says so when the service has no running container", () => {
    const r = cli(["exec", "-T", "nope", "true"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('service "nope" is not running');
    const second = cli(["exec", "-T", "--index", "2", "web", "true"]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("not running container #2");
  });

  it("-d runs the command in the background", async () => {
    const r = cli(["exec", "-d", "web", "sh", "-c", "echo detached > /tmp/detached"]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe("");
    const seen = await eventually(() => cli(["exec", "-T", "web", "cat", "/tmp/detached"]).stdout.toString(), (s) => s === "detached\n", 10_000);
    expect(seen).toBe("detached\n");
  });

  it("ends the process when the client goes away", async () => {
    const cli = spawnCli(daemon, ["-p", project, "exec", "-T", "web", "sleep", "321"], { cwd: work });
    await eventually(() => topOf("web"), (t) => t.includes("sleep 321"), 20_000, "the exec running");
    cli.child.kill("SIGKILL");
    await eventually(() => topOf("web"), (t) => !t.includes("sleep 321"), 20_000, "the exec gone");
  });

  it("gives a terminal a tty: a person types `echo`, then `exit 3`", async () => {
    // `script` gives the CLI a pty as stdin and stdout, like a terminal emulator.
    const command = [bin, "-p", project, "exec", "web", "sh"].map((a) => `'${a}'`).join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: work, env: { ...daemon.env, WEB_PORT: String(webPort), TERM: "xterm" }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? 128)));
    const waitFor = (re: RegExp): Promise<void> => eventually(() => out, (o) => re.test(o), 20_000, `output matching ${re}`).then(() => undefined);
    try {
      await waitFor(/\/ # /); // the shell's prompt
      child.stdin.write("tty; echo hi-$((40+2))\r");
      // 42 only appears when the shell ran it (the echoed input shows "40+2").
      await waitFor(/hi-42/);
      expect(out).toMatch(/\/dev\/pts\/\d+/);
      child.stdin.write("exit 3\r");
      expect(await exited).toBe(3);
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);
});

describe("run", () => {
  it("--rm returns the exit code, keeps the streams apart and leaves no container", () => {
    const r = cli(["run", "--rm", "-T", "web", "sh", "-c", "echo run-out; echo run-err >&2; exit 5"]);
    expect(r.code).toBe(5);
    expect(r.stdout.toString()).toBe("run-out\n");
    expect(r.stderr).toContain("run-err");
    expect(psAll(daemon, project, work).filter((c) => c.Name.includes("-run-"))).toEqual([]);
  });

  it("gives the container the CLI's stdin, and its end is the container's (run -i, compose's default)", () => {
    // More than a pipe holds; text, as run's output comes from the container's log (lines).
    const text = Array.from({ length: 8000 }, (_, i) => `line ${i}\n`).join("");
    const r = cli(["run", "--rm", "-T", "web", "cat"], text);
    expect(r.stderr).not.toContain("Error");
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(text);
    const read = cli(["run", "--rm", "-T", "web", "sh", "-c", "read line; echo got $line"], "typed\n");
    expect(read.code).toBe(0);
    expect(read.stdout.toString()).toBe("got typed\n");
  });

  it("applies the command-line overrides and names the container like compose", () => {
    const r = cli(["run", "--rm", "-T", "-e", "FOO=1", "-u", "65534", "-w", "/tmp", "--entrypoint", "sh -c", "web", 'echo "$FOO $(id -u) $(pwd) $GREETING $(hostname)"']);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toMatch(/^1 65534 \/tmp hello \S+\n$/);
  });

  it("starts the service's dependencies first", () => {
    expect(cli(["stop", "db"]).code).toBe(0);
    expect(psAll(daemon, project, work).find((c) => c.Service === "db")?.State).toBe("exited");
    const r = cli(["run", "--rm", "-T", "web", "true"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Container ${project}-db-1  Started`);
    expect(psAll(daemon, project, work).find((c) => c.Service === "db")?.State).toBe("running");
    // --no-deps leaves a stopped dependency alone.
    expect(cli(["stop", "db"]).code).toBe(0);
    expect(cli(["run", "--rm", "-T", "--no-deps", "web", "true"]).code).toBe(0);
    expect(psAll(daemon, project, work).find((c) => c.Service === "db")?.State).toBe("exited");
    expect(cli(["start", "db"]).code).toBe(0);
  });

  it("-d prints the container's name and leaves it running, as a one-off of the service", async () => {
    const r = cli(["run", "-d", "web", "sleep", "5"]);
    expect(r.code).toBe(0);
    const name = r.stdout.toString().trim();
    expect(name).toMatch(new RegExp(`^${project}-web-run-[0-9a-f]{12}$`));
    expect(psAll(daemon, project, work).find((c) => c.Name === name)?.State).toBe("running");
    // top, exec and port address the service's replicas, never its one-offs.
    expect(cli(["top", "web"]).stdout.toString()).not.toContain(name);
    // It ends by itself; `down` at the end removes it with the rest.
    await eventually(() => psAll(daemon, project, work).find((c) => c.Name === name)?.State, (s) => s === "exited", 20_000);
  });
});

describe("top, port, events, stats", () => {
  it("top shows each container's processes", () => {
    const r = cli(["top"]);
    expect(r.code).toBe(0);
    const text = r.stdout.toString();
    expect(text).toContain(`${project}-web-1\nUID`);
    expect(text).toMatch(/UID +PID +PPID +C +STIME +TTY +TIME +CMD/);
    expect(text).toMatch(/httpd -f -p 8080/);
    expect(text).toContain(`${project}-db-1\n`);
  });

  it("port prints the published address", () => {
    const r = cli(["port", "web", "8080"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.toString()).toBe(`127.0.0.1:${webPort}\n`);
    const missing = cli(["port", "web", "9999"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no port 9999/tcp for container ${project}-web-1`);
  });

  it("events streams a start when a container is restarted", async () => {
    const events = spawnCli(daemon, ["-p", project, "events"], { cwd: work });
    try {
      // The subscription is not visible from outside: restart until a start shows up (a restart made
      // before the stream was subscribed is simply not seen, and the next one is).
      const out = await eventually(
        () => {
          const restart = cli(["restart", "-t", "1", "web"]);
          if (restart.code !== 0) throw new StopWaiting(`restart failed: ${restart.stderr}`);
          return events.stdout();
        },
        (s) => new RegExp(`container start [0-9a-f]+ \\(.*name=${project}-web-1`).test(s),
        60_000,
        "a container start event for web",
        500,
      );
      const line = out.split("\n").find((l) => l.includes(" container start ")) as string;
      expect(line).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} container start [0-9a-f]+ \(image=\S+, name=/);
      expect(out).not.toContain("com.docker.compose");
    } finally {
      events.child.kill("SIGINT");
      await events.exited(10_000).catch(() => events.child.kill("SIGKILL"));
    }
  }, 90_000);

  it("stats --no-stream shows memory, cpu and pids for each container", () => {
    const r = cli(["stats", "--no-stream"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.toString().trim().split("\n");
    expect(lines[0]).toMatch(/^CONTAINER ID +NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +PIDS$/);
    const web = lines.find((l) => l.includes(`${project}-web-1`)) as string;
    expect(web).toMatch(/\d+\.\d\d% +[\d.]+(B|KiB|MiB) \/ [\d.]+(MiB|GiB|TiB) +\d+\.\d\d% +\S+ \/ \S+ +\S+ \/ \S+ +[1-9]\d*$/);
    const mem = /\d+\.\d\d% +([\d.]+)(B|KiB|MiB|GiB) \//.exec(web);
    expect(Number(mem?.[1])).toBeGreaterThan(0);
    const json = cli(["stats", "--no-stream", "--format", "json", "db"]).stdout.toString().trim().split("\n");
    expect(json).toHaveLength(1);
    expect(JSON.parse(json[0] as string)).toMatchObject({ Name: `${project}-db-1` });
  });
});
