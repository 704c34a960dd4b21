// compose's lifecycle keys on the embedded engine, checked by what the
// containers see and leave behind: post_start hooks (plain and privileged)
// ran inside the container, a pre_stop hook wrote to a bind mount before
// `down` stopped it, an env_file of format raw arrived literally, label_file
// labels and annotations are in the container's runtime config, and an
// attached `up` leaves an `attach: false` service's output out while `logs`
// still has it.
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, spawnCli } from "./support/e2e.js";
import { projectCli, startStackSuite, stopStackSuite } from "./support/stack.js";
import type { StackSuite } from "./support/stack.js";

let s: StackSuite;
const project = `tlc${process.pid}`;

const stack = `
services:
  app:
    image: busybox
    command: ["sh", "-c", "echo app-says-hi; exec sleep 1000"]
    cap_drop: [ALL]
    volumes: ["./out:/out"]
    post_start:
      - command: sh -c 'echo started > /tmp/started; grep CapEff /proc/self/status > /tmp/caps-plain'
      - command: sh -c 'grep CapEff /proc/self/status > /tmp/caps-privileged'
        privileged: true
    pre_stop:
      - command: sh -c 'echo "stopped by $$WHO" >> /out/pre_stop'
        environment: { WHO: pre_stop }
    annotations: { com.example.note: hello }
    label_file: ./app.labels
    labels: { com.example.owner: labels-key }
    env_file:
      - path: ./raw.env
        format: raw
  quiet:
    image: busybox
    attach: false
    command: ["sh", "-c", "echo quiet-says-hi; exec sleep 1000"]
`;

const { cli, sh: shIn } = projectCli(() => s, project);
const inApp = (script: string): Promise<string> => shIn("app", script);

/** Every runtime config.json under the daemon's state dir whose annotations have `key`. */
function runtimeConfigsWith(key: string): { annotations: Record<string, string> }[] {
  const found: { annotations: Record<string, string> }[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = statSync(path, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory() && depth < 6 && name !== "snapshots" && name !== "content") walk(path, depth + 1);
      else if (name === "config.json" && st.isFile()) {
        const config = JSON.parse(readFileSync(path, "utf8")) as { annotations?: Record<string, string> };
        if (config.annotations && key in config.annotations) found.push({ annotations: config.annotations });
      }
    }
  };
  walk(s.daemon.stateDir, 0);
  return found;
}

beforeAll(async () => {
  s = await startStackSuite("lifecycle", ["busybox"]);
  s.projects.push({ name: project, cwd: s.work });
  mkdirSync(join(s.work, "out"));
  writeFileSync(join(s.work, "compose.yaml"), stack);
  writeFileSync(join(s.work, "app.labels"), "com.example.team=core\ncom.example.owner=label-file\n");
  writeFileSync(join(s.work, "raw.env"), "RAW=\"quoted $HOME\" # kept\n");
}, 300_000);

afterAll(async () => {
  expect(await stopStackSuite(s, ["-t", "0"])).toEqual([]);
}, 180_000);

describe("lifecycle keys", () => {
  it("runs post_start hooks in the container, privileged ones with every capability, and pre_stop before down stops it", async () => {
    await cli(["up", "-d"]);
    expect(await inApp("cat /tmp/started")).toBe("started\n");
    // cap_drop: ALL leaves the plain hook nothing; the privileged one has the full set.
    expect(await inApp("cat /tmp/caps-plain")).toMatch(/^CapEff:\s+0{16}\n$/);
    expect(await inApp("cat /tmp/caps-privileged")).toMatch(/^CapEff:\s+0*[1-9a-f][0-9a-f]*\n$/);

    expect(await inApp('printf %s "$RAW"')).toBe('"quoted $HOME" # kept');

    const [config] = runtimeConfigsWith("com.example.note");
    expect(config?.annotations["com.example.note"]).toBe("hello");
    const record = JSON.stringify(config?.annotations);
    expect(record).toContain("com.example.team");
    expect(record).toContain('\\"com.example.owner\\":\\"labels-key\\"');

    await cli(["down", "-t", "0"]);
    expect(readFileSync(join(s.work, "out", "pre_stop"), "utf8")).toBe("stopped by pre_stop\n");
  }, 600_000);

  it("an attached up leaves an attach: false service's output out; logs still has it", async () => {
    const up = spawnCli(s.daemon, ["-p", project, "up", "--no-color"], { cwd: s.work });
    try {
      await up.waitFor(/app-says-hi/, 180_000);
      // The positive control: quiet's container is running and printed its line.
      expect(await cli(["logs", "quiet"])).toContain("quiet-says-hi");
      expect(up.stdout()).toMatch(/Attaching to \S*app\S*\n/);
      const attached = up.stdout().slice(up.stdout().indexOf("Attaching to"));
      expect(attached).not.toContain("quiet");
    } finally {
      up.child.kill("SIGINT");
      await up.exited(120_000);
    }
    await cli(["down", "-t", "0"]);
  }, 600_000);

  it("logging none keeps no log and logs says so; local keeps one", async () => {
    const dir = join(s.work, "logging");
    mkdirSync(dir);
    writeFileSync(
      join(dir, "compose.yaml"),
      `services:
  nolog:
    image: busybox
    command: ["sh", "-c", "echo nolog-says-hi; exec sleep 1000"]
    logging: { driver: none }
  local:
    image: busybox
    command: ["sh", "-c", "echo local-says-hi; exec sleep 1000"]
    logging: { driver: local }
`,
    );
    const p = `${project}log`;
    s.projects.push({ name: p, cwd: dir });
    const run = async (args: string[]) => {
      const r = spawnCli(s.daemon, ["-p", p, ...args], { cwd: dir });
      return { code: await r.exited(240_000), stdout: r.stdout(), stderr: r.stderr() };
    };
    expect((await run(["up", "-d"])).code).toBe(0);
    // The positive control: the local driver's log has its line.
    await eventuallyContains(() => run(["logs", "local"]).then((r) => r.stdout), "local-says-hi");
    const nolog = await run(["logs", "nolog"]);
    expect(nolog.stdout).toBe("");
    expect(nolog.stderr).toContain("configured logging driver does not support reading");
    // It runs all the same.
    expect((await run(["exec", "-T", "nolog", "echo", "alive"])).stdout).toBe("alive\n");
    expect((await run(["down", "-t", "0"])).code).toBe(0);
  }, 600_000);

  it("develop.watch: initial_sync copies the path when watching starts, sync+exec runs its command after each sync", async () => {
    const dir = join(s.work, "watch");
    mkdirSync(join(dir, "src"), { recursive: true });
    writeFileSync(join(dir, "src", "first.txt"), "before-watch\n");
    writeFileSync(
      join(dir, "compose.yaml"),
      `services:
  dev:
    image: busybox
    command: ["sleep", "1000"]
    develop:
      watch:
        - path: ./src
          target: /app
          action: sync+exec
          initial_sync: true
          exec:
            command: sh -c 'ls /app | sort | tr "\\n" " " >> /tmp/exec-log; echo >> /tmp/exec-log'
`,
    );
    const p = `${project}w`;
    s.projects.push({ name: p, cwd: dir });
    const run = async (args: string[]) => {
      const r = spawnCli(s.daemon, ["-p", p, ...args], { cwd: dir });
      return { code: await r.exited(240_000), stdout: r.stdout(), stderr: r.stderr() };
    };
    expect((await run(["up", "-d", "--watch"])).code).toBe(0);
    const inDev = async (script: string) => (await run(["exec", "-T", "dev", "sh", "-c", script])).stdout;
    // A file written before watching started is in the container, and the exec ran after that sync.
    await eventually(() => inDev("cat /app/first.txt 2>/dev/null; cat /tmp/exec-log 2>/dev/null"), (o) => o.includes("before-watch\nfirst.txt"), 60_000, "initial sync", 500);
    writeFileSync(join(dir, "src", "second.txt"), "after\n");
    await eventually(() => inDev("cat /tmp/exec-log"), (o) => o.includes("first.txt second.txt"), 60_000, "sync+exec after an edit", 500);
    expect((await run(["down", "-t", "0"])).code).toBe(0);
  }, 600_000);
});

async function eventuallyContains(read: () => Promise<string>, text: string): Promise<void> {
  await eventually(read, (out) => out.includes(text), 60_000, text, 250);
}
