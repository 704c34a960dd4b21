// The TUI on a swarm stack (issue 19), end to end: a stack deployed through
// the daemon to a real 3-node swarm (test/fixtures/swarm-lab.ts), `tscompose
// tui` in a real terminal (tmux) driven by keys, read as a person reads the
// screen (as test/tui.e2e.test.ts does). The service shows with its tasks and
// their nodes; the nodes view lists the 3 nodes with their roles; the log pane
// follows the service's logs; = scales it (checked with the docker CLI on the
// manager), F forces an update (ForceUpdate and the version bumped), R rolls
// it back (its spec is the previous one again); a plain `up` then deploys the
// file's replicas again (compose's `up` resets a scale). Everything goes at the end,
// even on failure: the tmux session, the stack, the daemon, the lab.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSwarmLab, type SwarmLab } from "./fixtures/swarm-lab.js";
import { bin, buildOnce, cleanupDir, leaks, repo, testDaemon, type TestDaemon } from "./support/daemon.js";
import { isRoot, missing } from "./support/requires.js";
import { eventually } from "./support/wait.js";

const STACK = "tswtui";
const SERVICE = `${STACK}_web`;
const session = `tscompose-tui-swarm-test-${process.pid}`;
const outDir = join(repo, "test-output", "tui-swarm");
const canRun = isRoot && fs.existsSync("/usr/sbin/dockerd") && fs.existsSync("/usr/bin/docker-registry") && hasTmux();

function hasTmux(): boolean {
  try {
    execFileSync("tmux", ["-V"]);
    return true;
  } catch {
    return false;
  }
}

const tmux = (...args: string[]): string => execFileSync("tmux", args, { encoding: "utf8" });
const screen = (): string => tmux("capture-pane", "-p", "-t", session).trimEnd();
const keys = (...k: string[]): void => void tmux("send-keys", "-t", session, ...k);
const untilScreen = (what: string, ok: (s: string) => boolean, timeoutMs = 90_000): Promise<string> => eventually(screen, ok, timeoutMs, `the screen showing ${what}`);
/** Saves what the screen shows now, for a person to look at. */
const snapshot = (name: string): void => fs.writeFileSync(join(outDir, `${name}.txt`), screen());
/** The screen's lines of the web service's tasks that should run (not the `\_` history). */
const taskLines = (s: string): string[] => s.split("\n").filter((l) => new RegExp(`^.\\s+${SERVICE}\\.\\d+ `).test(l));

function stackFile(image: string): string {
  return `
name: ${STACK}
services:
  web:
    image: ${image}
    command: ["sh", "-c", "echo web-says-hello; exec sleep 3600"]
    stop_signal: SIGKILL
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      update_config: { parallelism: 3, delay: 0s, monitor: 1s }
      rollback_config: { parallelism: 3, delay: 0s, monitor: 1s }
`;
}

describe.skipIf(missing("root, dockerd, docker-registry and tmux for a swarm lab and a terminal", canRun))("the TUI on a swarm stack", () => {
  let lab: SwarmLab | undefined;
  let d: TestDaemon | undefined;
  let dir: string;
  const cli = (args: string[]) => (d as TestDaemon).cli(args, { cwd: dir });
  /** docker service inspect on the manager, one Go template. */
  const inspect = async (format: string): Promise<string> => (await (lab as SwarmLab).manager.docker(["service", "inspect", SERVICE, "--format", format])).stdout.trim();

  beforeAll(async () => {
    buildOnce();
    fs.mkdirSync(outDir, { recursive: true });
    lab = await startSwarmLab();
    d = testDaemon({});
    await d.start();
    dir = join(d.dir, STACK);
    fs.mkdirSync(dir);
    fs.writeFileSync(join(dir, "compose.yaml"), stackFile(lab.images.busybox as string));
    const up = d.cli(["--engine", "swarm", "-H", lab.manager.host, "up", "-d"], { cwd: dir });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const env = Object.entries({ ...d.env, LANG: "C.UTF-8", TERM: "xterm-256color" })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "env", "-i", ...env, process.execPath, bin, "tui");
  }, 300_000);

  afterAll(async () => {
    try {
      tmux("kill-session", "-t", session);
    } catch {
      // not started, or already gone
    }
    let left: string[] = [];
    let exited = true;
    try {
      if (d?.process) cli(["-p", STACK, "down"]);
      // A daemon that outlives SIGTERM (a followed log stream held it once) fails the suite, and is killed so that the lab still goes.
      exited = d ? await Promise.race([d.stop().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30_000))]) : true;
      if (!exited) await d?.stop("SIGKILL");
      left = d ? leaks(d) : [];
      if (d) cleanupDir(d);
    } finally {
      await lab?.stop();
    }
    if (lab) expect(await lab.leaks()).toEqual([]);
    expect(left).toEqual([]);
    expect(exited, "the daemon exited on SIGTERM").toBe(true);
  }, 180_000);

  it("shows the service with its tasks, each with its node, desired and current state", async () => {
    const nodes = (lab as SwarmLab).nodes.map((n) => n.name);
    const s = await untilScreen("web 2/2 with two running tasks", (x) => /▾ web +2\/2 +replicated/.test(x) && taskLines(x).filter((l) => / running +node n\d +desired running/.test(l)).length === 2);
    snapshot("01-services-tasks");
    expect(s).toMatch(new RegExp(`▾ ${STACK} +2/2 up +engine: swarm`));
    for (const line of taskLines(s)) expect(nodes).toContain(/node (n\d)/.exec(line)?.[1]);
    // The same tasks as the manager has them, on the same nodes.
    const theirs = (await (lab as SwarmLab).manager.docker(["service", "ps", SERVICE, "--filter", "desired-state=running", "--format", "{{.Name}} {{.Node}}"])).stdout.split("\n").filter(Boolean).sort();
    const ours = taskLines(s).map((l) => `${/(\S+_web\.\d+)/.exec(l)?.[1]} ${/node (\S+)/.exec(l)?.[1]}`).sort();
    expect(ours).toEqual(theirs);
  }, 120_000);

  it("the nodes view (5) lists the 3 nodes with their roles, and the footer names it", async () => {
    keys("5");
    const s = await untilScreen("the nodes view", (x) => x.includes("[5 Nodes]") && /HOSTNAME +ROLE/.test(x) && /^n3 /m.test(x));
    snapshot("02-nodes");
    expect(s).toMatch(/^n1 +manager +ready +active +Leader +\d/m);
    expect(s).toMatch(/^n2 +worker +ready +active +\d/m);
    expect(s).toMatch(/^n3 +worker +ready +active +\d/m);
    // Every task of the stack on some node: the counts add up to the 2 replicas.
    const counts = [...s.matchAll(/^n\d .* (\d+)(?: {2}.*)?$/gm)].map((m) => Number(m[1]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2);
    expect(s).toMatch(/5 nodes/);
  }, 120_000);

  it("the log pane follows the selected service's logs", async () => {
    keys("1", "/");
    for (const ch of "web") keys(ch);
    keys("Enter");
    await untilScreen("the filter applied", (x) => x.includes("filter:web"));
    keys("g", "Down");
    await untilScreen("the web service selected", (x) => x.split("\n").some((l) => l.startsWith("›") && /▾ web /.test(l)));
    const s = await untilScreen("web's output in the log pane", (x) => x.includes("web-says-hello"));
    snapshot("03-logs");
    expect(s).toMatch(new RegExp(`${SERVICE}\\.\\d+ +\\| web-says-hello`));
  }, 120_000);

  it("= scales the service to the N typed, after a confirmation", async () => {
    keys("=");
    await untilScreen("the prompt", (x) => x.includes(`scale ${STACK}/web to:`));
    keys("3", "Enter");
    await untilScreen("the question", (x) => x.includes(`scale ${STACK}/web from 2 to 3 replicas? [y/N]`));
    keys("y");
    await eventually(() => inspect("{{.Spec.Mode.Replicated.Replicas}}"), (r) => r === "3", 30_000, "3 replicas on the manager");
    await untilScreen("web 3/3", (x) => /▾ web +3\/3/.test(x) && taskLines(x).filter((l) => / running +node n\d/.test(l)).length === 3, 120_000);
    snapshot("04-scaled");
  }, 180_000);

  it("F forces an update: ForceUpdate and the service's version bumped, the tasks replaced", async () => {
    const [version, force] = (await inspect("{{.Version.Index}} {{.Spec.TaskTemplate.ForceUpdate}}")).split(" ").map(Number) as [number, number];
    const before = new Set((await (lab as SwarmLab).manager.docker(["service", "ps", SERVICE, "-q", "--filter", "desired-state=running"])).stdout.split("\n").filter(Boolean));
    keys("F");
    await untilScreen("the question", (x) => x.includes(`update --force ${STACK}/web: replace every task of it? [y/N]`));
    keys("y");
    const after = await eventually(
      () => inspect("{{.Version.Index}} {{.Spec.TaskTemplate.ForceUpdate}} {{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}"),
      (r) => r.split(" ")[2] === "completed",
      120_000,
      "the forced update completed",
    );
    const [v2, f2] = after.split(" ").map(Number) as [number, number];
    expect(f2).toBe(force + 1);
    expect(v2).toBeGreaterThan(version);
    const running = (await (lab as SwarmLab).manager.docker(["service", "ps", SERVICE, "-q", "--filter", "desired-state=running"])).stdout.split("\n").filter(Boolean);
    expect(running).toHaveLength(3);
    for (const id of running) expect(before.has(id)).toBe(false);
    await untilScreen("the update done", (x) => /▾ web +3\/3 +replicated +updated/.test(x));
    snapshot("05-force-updated");
  }, 180_000);

  it("R rolls the service back: its spec is the previous one again", async () => {
    const previous = await inspect("{{json .PreviousSpec}}");
    const current = await inspect("{{json .Spec}}");
    // The previous spec is the one before F: ForceUpdate one less (docker leaves a 0 out).
    const force = (spec: string): number => (JSON.parse(spec) as { TaskTemplate: { ForceUpdate?: number } }).TaskTemplate.ForceUpdate ?? 0;
    expect(force(current)).toBe(force(previous) + 1);
    keys("R");
    await untilScreen("the question", (x) => x.includes(`rollback ${STACK}/web to its previous spec? [y/N]`));
    keys("y");
    const back = await eventually(() => inspect("{{json .Spec}}"), (s) => force(s) === force(previous), 60_000, "the previous spec back");
    // The manager shows the current spec with its defaults filled in (RestartPolicy, Resources ...), the previous one without.
    expect(JSON.parse(back)).toMatchObject(JSON.parse(previous) as object);
    const s = await untilScreen("the rollback shown", (x) => /▾ web +3\/3 +replicated +rolled back/.test(x), 120_000);
    snapshot("06-rolled-back");
    expect(s).not.toMatch(/rollback paused|update paused/);
  }, 180_000);

  it("a plain up deploys the file's replicas again (the TUI's scale lasts until then, as compose's scale does)", async () => {
    expect(await inspect("{{.Spec.Mode.Replicated.Replicas}}")).toBe("3");
    const up = cli(["up", "-d"]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toContain(" Service web  Updated");
    expect(await inspect("{{.Spec.Mode.Replicated.Replicas}}")).toBe("2");
    await untilScreen("web 2/2", (x) => /▾ web +2\/2/.test(x) && taskLines(x).filter((l) => / running +node n\d/.test(l)).length === 2, 120_000);
  }, 180_000);
});
