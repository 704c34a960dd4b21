// The Swarm engine on a real 3-node swarm (test/fixtures/swarm-lab.ts): a
// stack with two services, an overlay network, a config, a secret, a job and
// depends_on service_healthy, deployed by SwarmDeployer and checked with the
// docker CLI (docker stack services/ps read it as one of theirs), across nodes
// (placement, dnsrr name resolution over the overlay), on redeploy (nothing
// touched), on a changed config (rolled under a new name, the old removed),
// rolling updates (stop-first by default, start-first for a changed secret,
// parallelism 1, health-gated), a drained node (its tasks move), and removed
// leaving nothing on any node. VIPs and the ingress mesh need IP_VS, which
// this kernel lacks: the services use endpoint_mode dnsrr, and a stack that
// relies on either gets a warning naming the key (a node asked).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SwarmDeployer, type SwarmProgress, type SwarmTask } from "../engine/swarm/deployer.js";
import { loadStack } from "../src/stack/load.js";
import { startSwarmLab, type LabNode, type SwarmLab } from "./fixtures/swarm-lab.js";
import { isRoot, missing } from "./support/requires.js";
import { eventually } from "./support/wait.js";

const execFileP = promisify(execFile);
const STACK = "tsw";
const canRun = isRoot && fs.existsSync("/usr/sbin/dockerd") && fs.existsSync("/usr/bin/docker-registry");

function stackFile(image: string): string {
  return `
name: ${STACK}
services:
  db:
    image: ${image}
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    configs:
      - source: page
        target: /www/index.html
    secrets: [token]
    ports:
      - target: 80
        published: 8080
        mode: host
    healthcheck:
      test: ["CMD", "test", "-s", "/run/secrets/token"]
      interval: 1s
      retries: 5
    networks: [back]
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      placement:
        max_replicas_per_node: 1
  web:
    image: ${image}
    command: ["sleep", "3600"]
    environment:
      ROLE: web
    depends_on:
      db:
        condition: service_healthy
      seed:
        condition: service_completed_successfully
    networks: [back]
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      placement:
        max_replicas_per_node: 1
        constraints: ["node.role == worker"]
  seed:
    image: ${image}
    command: ["echo", "seeded"]
    networks: [back]
    deploy:
      mode: replicated-job
      endpoint_mode: dnsrr
      # On the node the deployer reaches: remove takes its finished container too.
      placement:
        constraints: ["node.role == manager"]
networks:
  back:
    driver: overlay
    attachable: true
configs:
  page:
    file: ./page.html
secrets:
  token:
    file: ./token.txt
`;
}

/** When a task entered its current state; RFC 3339 with a varying count of fraction digits does not sort as text. */
const sinceMs = (t: SwarmTask): number => Date.parse(t.since);

/** Per slot of `service` that an update replaced: [slot, its newest shut-down task, its running task] (swarm keeps a slot's task history). */
function replacedSlots(tasks: SwarmTask[], service: string): [number, SwarmTask, SwarmTask][] {
  const out: [number, SwarmTask, SwarmTask][] = [];
  for (const slot of new Set(tasks.filter((t) => t.service === service).map((t) => t.slot as number))) {
    const of = tasks.filter((t) => t.service === service && t.slot === slot).sort((a, b) => sinceMs(b) - sinceMs(a));
    const now = of.find((t) => t.desiredState === "running" && t.state === "running");
    const old = of.find((t) => t.desiredState === "shutdown" && t !== now);
    if (now && old) out.push([slot, old, now]);
  }
  return out;
}

describe.skipIf(missing("root, dockerd and docker-registry for a swarm lab", canRun))("swarm engine on a 3-node lab", () => {
  let lab: SwarmLab;
  let dir: string;
  let swarm: SwarmDeployer;
  const events: SwarmProgress[] = [];
  const load = () => loadStack({ files: [], envFiles: [], profiles: [], env: {}, cwd: dir }).stack;
  const onProgress = (e: SwarmProgress) => events.push(e);
  const nodeOf = (name: string): LabNode => lab.nodes.find((n) => n.name === name) as LabNode;
  /** The stack's containers of one service on one node (the node's own dockerd). */
  const containersOn = async (n: LabNode, service: string): Promise<string[]> =>
    (await n.docker(["ps", "-q", "--filter", `label=com.docker.swarm.service.name=${STACK}_${service}`])).stdout.split("\n").filter(Boolean);
  const versions = async () => Object.fromEntries((await swarm.services(STACK)).map((s) => [s.service, s.version]));

  beforeAll(async () => {
    lab = await startSwarmLab();
    console.log(`swarm lab of ${lab.nodes.length} nodes started in ${lab.startMs} ms`);
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tsw-stack-"));
    await fsp.writeFile(path.join(dir, "compose.yaml"), stackFile(lab.images.busybox as string));
    await fsp.writeFile(path.join(dir, "page.html"), "first page\n");
    await fsp.writeFile(path.join(dir, "token.txt"), "s3cret\n");
    swarm = await SwarmDeployer.connect({ host: lab.manager.host });
  }, 180_000);

  afterAll(async () => {
    await lab?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
    if (lab) expect(await lab.leaks()).toEqual([]);
  }, 120_000);

  it("deploys: dependants after their dependencies are healthy or complete, waits until converged", async () => {
    const t0 = Date.now();
    const result = await swarm.deploy(load(), { onProgress, timeoutMs: 120_000 });
    console.log(`deploy of 3 services converged in ${Date.now() - t0} ms`);
    expect(result.services).toEqual({ db: "created", web: "created", seed: "created" });
    const at = (pred: (e: SwarmProgress) => boolean) => events.findIndex(pred);
    const webCreated = at((e) => e.kind === "service" && e.service === "web" && e.action === "created");
    expect(webCreated).toBeGreaterThan(at((e) => e.kind === "converged" && e.service === "db"));
    expect(webCreated).toBeGreaterThan(at((e) => e.kind === "converged" && e.service === "seed"));
    const tasks = await swarm.ps(STACK);
    const running = (svc: string) => tasks.filter((t) => t.service === svc && t.desiredState === "running" && t.state === "running");
    expect(running("db")).toHaveLength(2);
    expect(running("web")).toHaveLength(2);
    expect(tasks.filter((t) => t.service === "seed" && t.state === "complete")).toHaveLength(1);
  }, 240_000);

  it("spreads tasks over the nodes as placement says", async () => {
    const tasks = (await swarm.ps(STACK)).filter((t) => t.desiredState === "running");
    const dbNodes = tasks.filter((t) => t.service === "db").map((t) => t.node);
    expect(new Set(dbNodes).size).toBe(2);
    const webNodes = tasks.filter((t) => t.service === "web").map((t) => t.node);
    expect(new Set(webNodes).size).toBe(2);
    // node.role == worker: never the manager, n1.
    expect(webNodes).not.toContain(lab.manager.name);
  });

  it("is a stack to the docker CLI: docker stack services and ps", async () => {
    const services = (await lab.manager.docker(["stack", "services", STACK, "--format", "{{.Name}} {{.Replicas}}"])).stdout.trim().split("\n").sort();
    expect(services).toEqual([`${STACK}_db 2/2 (max 1 per node)`, expect.stringMatching(new RegExp(`^${STACK}_seed \\d/1 \\(1/1 completed\\)$`)), `${STACK}_web 2/2 (max 1 per node)`]);
    const ps = (await lab.manager.docker(["stack", "ps", STACK, "--format", "{{.Name}} {{.Node}} {{.CurrentState}}"])).stdout.trim().split("\n");
    expect(ps.filter((l) => l.startsWith(`${STACK}_db.`) && / Running /.test(l))).toHaveLength(2);
    expect((await lab.manager.docker(["stack", "ls", "--format", "{{.Name}} {{.Services}}"])).stdout.trim()).toBe(`${STACK} 3`);
  });

  it("a service reaches another by name across nodes over the overlay network (dnsrr)", async () => {
    const tasks = (await swarm.ps(STACK)).filter((t) => t.desiredState === "running");
    const dbNodes = new Set(tasks.filter((t) => t.service === "db").map((t) => t.node));
    // Every db task's address, read on its own node.
    const dbIps: string[] = [];
    for (const n of lab.nodes) {
      for (const id of await containersOn(n, "db")) {
        dbIps.push((await n.docker(["inspect", "-f", `{{(index .NetworkSettings.Networks "${STACK}_back").IPAddress}}`, id])).stdout.trim());
      }
    }
    expect(dbIps).toHaveLength(2);
    // A web task on a node where a db task is not, if there is one; else any: one of the two db tasks is elsewhere.
    const webTask = tasks.find((t) => t.service === "web" && !dbNodes.has(t.node)) ?? tasks.find((t) => t.service === "web");
    const webNode = nodeOf(webTask?.node as string);
    const [web] = await containersOn(webNode, "web");
    const sh = (cmd: string) => webNode.docker(["exec", web as string, "sh", "-c", cmd]);
    const lookup = (await sh("nslookup db 127.0.0.11")).stdout;
    for (const ip of dbIps) expect(lookup).toContain(ip);
    for (const ip of dbIps) expect((await sh(`timeout 3 wget -q -O- http://${ip}/index.html`)).stdout).toBe("first page\n");
    expect((await sh("timeout 3 wget -q -O- http://db/index.html")).stdout).toBe("first page\n");
    expect((await sh("echo $ROLE")).stdout).toBe("web\n");
  }, 60_000);

  it("a host-mode port answers on each node running a task, and only there", async () => {
    const tasks = (await swarm.ps(STACK)).filter((t) => t.service === "db" && t.desiredState === "running");
    const withDb = new Set(tasks.map((t) => t.node));
    // From the lab's bridge namespace: outside every node, as a client on the LAN.
    const fetchFrom = (ip: string) => execFileP("nsenter", [`--net=/run/netns/${lab.bridgeNetns}`, "curl", "-s", "-m", "3", `http://${ip}:8080/index.html`]);
    for (const n of lab.nodes) {
      if (withDb.has(n.name)) expect((await fetchFrom(n.ip)).stdout).toBe("first page\n");
      else await expect(fetchFrom(n.ip)).rejects.toThrow();
    }
    expect(withDb.size).toBe(2);
  }, 60_000);

  it("redeploy without a change touches nothing", async () => {
    const before = await versions();
    const result = await swarm.deploy(load(), { timeoutMs: 60_000 });
    expect(result.services).toEqual({ db: "unchanged", web: "unchanged", seed: "unchanged" });
    expect(await versions()).toEqual(before);
  }, 120_000);

  it("a changed config rolls: a new name, the service updated to it, the old config removed", async () => {
    const configsBefore = (await lab.manager.docker(["config", "ls", "--format", "{{.Name}}"])).stdout.trim().split("\n");
    expect(configsBefore).toHaveLength(1);
    const before = await versions();
    await fsp.writeFile(path.join(dir, "page.html"), "second page\n");
    const result = await swarm.deploy(load(), { timeoutMs: 120_000 });
    expect(result.services).toEqual({ db: "updated", web: "unchanged", seed: "unchanged" });
    const after = await versions();
    expect(after.web).toBe(before.web);
    expect(after.db).toBeGreaterThan(before.db as number);
    const configsAfter = (await lab.manager.docker(["config", "ls", "--format", "{{.Name}}"])).stdout.trim().split("\n");
    expect(configsAfter).toHaveLength(1);
    expect(configsAfter[0]).not.toBe(configsBefore[0]);
    expect(configsAfter[0]).toMatch(new RegExp(`^${STACK}_page-[0-9a-f]{12}$`));
    const tasks = (await swarm.ps(STACK)).filter((t) => t.service === "web" && t.desiredState === "running");
    const webNode = nodeOf(tasks[0]?.node as string);
    const [web] = await containersOn(webNode, "web");
    expect((await webNode.docker(["exec", web as string, "sh", "-c", "timeout 3 wget -q -O- http://db/index.html"])).stdout).toBe("second page\n");
    // swarm's default update: stop-first, one task at a time, each replaced slot's old task shut down before its new one ran (healthy).
    const replaced = replacedSlots(await swarm.ps(STACK), "db");
    expect(replaced).toHaveLength(2);
    for (const [, old, now] of replaced) expect(sinceMs(old) < sinceMs(now), `${old.name}: shut down ${old.since}, new running ${now.since}`).toBe(true);
  }, 180_000);

  it("a changed secret rolls start-first, parallelism 1: each new task runs (healthy) before the old one stops", async () => {
    const file = path.join(dir, "compose.yaml");
    const good = await fsp.readFile(file, "utf8");
    const startFirst = good.replace(
      "    deploy:\n      replicas: 2\n      endpoint_mode: dnsrr\n      placement:\n        max_replicas_per_node: 1\n  web:",
      "    deploy:\n      replicas: 2\n      endpoint_mode: dnsrr\n      update_config:\n        parallelism: 1\n        order: start-first\n      placement:\n        max_replicas_per_node: 1\n  web:",
    );
    expect(startFirst).not.toBe(good);
    const secretsBefore = (await lab.manager.docker(["secret", "ls", "--format", "{{.Name}}"])).stdout.trim().split("\n");
    // The file keeps start-first from here on: what runs is what it says (the rollback test below builds on it).
    await fsp.writeFile(file, startFirst);
    await fsp.writeFile(path.join(dir, "token.txt"), "rotated\n");
    const result = await swarm.deploy(load(), { timeoutMs: 180_000 });
    expect(result.services).toEqual({ db: "updated", web: "unchanged", seed: "unchanged" });
    const secretsAfter = (await lab.manager.docker(["secret", "ls", "--format", "{{.Name}}"])).stdout.trim().split("\n");
    expect(secretsAfter).toHaveLength(1);
    expect(secretsAfter[0]).not.toBe(secretsBefore[0]);
    const replaced = replacedSlots(await swarm.ps(STACK), "db");
    expect(replaced).toHaveLength(2);
    for (const [, old, now] of replaced) expect(sinceMs(now) < sinceMs(old), `${old.name}: new running ${now.since}, old shut down ${old.since}`).toBe(true);
    // The running tasks read the new secret.
    const t = (await swarm.ps(STACK)).find((x) => x.service === "db" && x.desiredState === "running");
    const n = nodeOf(t?.node as string);
    const [db] = await containersOn(n, "db");
    expect((await n.docker(["exec", db as string, "cat", "/run/secrets/token"])).stdout).toBe("rotated\n");
  }, 240_000);

  it("scale and logs", async () => {
    await swarm.scale(STACK, "web", 1);
    await eventually(() => swarm.services(STACK), (s) => s.find((x) => x.service === "web")?.running === 1, 60_000, "web at 1 replica");
    const lines: string[] = [];
    for await (const e of swarm.logs(STACK, "seed")) lines.push(`${e.task} ${e.line}`);
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^${STACK}_seed\\.\\w+ seeded$`))]);
  }, 90_000);

  it("a drained node's tasks move to the others", async () => {
    const onNode = async (node: string) => (await swarm.ps(STACK)).filter((t) => t.service === "db" && t.desiredState === "running" && t.node === node);
    const dbNodes = new Set((await swarm.ps(STACK)).filter((t) => t.service === "db" && t.desiredState === "running").map((t) => t.node as string));
    // A node with a db task: its replica has a free node to go to (max 1 per node, 3 nodes).
    const drained = [...dbNodes][0] as string;
    expect((await onNode(drained)).length).toBe(1);
    await lab.manager.docker(["node", "update", "--availability", "drain", drained]);
    try {
      const moved = await eventually(
        () => swarm.ps(STACK),
        (ts) => {
          const db = ts.filter((t) => t.service === "db" && t.desiredState === "running");
          return db.length === 2 && db.every((t) => t.state === "running" && t.node !== drained);
        },
        90_000,
        `db's tasks off ${drained}`,
      );
      expect(new Set(moved.filter((t) => t.service === "db" && t.desiredState === "running").map((t) => t.node)).size).toBe(2);
      expect(await containersOn(nodeOf(drained), "db")).toEqual([]);
    } finally {
      await lab.manager.docker(["node", "update", "--availability", "active", drained]);
    }
  }, 120_000);

  it("an update whose tasks never turn healthy is rolled back, and deploy says so", async () => {
    const file = path.join(dir, "compose.yaml");
    const good = await fsp.readFile(file, "utf8");
    const bad = good
      .replace('test: ["CMD", "test", "-s", "/run/secrets/token"]', 'test: ["CMD", "false"]')
      .replace("        order: start-first\n", "        order: start-first\n        failure_action: rollback\n        monitor: 5s\n");
    expect(bad).not.toBe(good);
    await fsp.writeFile(file, bad);
    try {
      await expect(swarm.deploy(load(), { timeoutMs: 120_000 })).rejects.toThrow(/tsw_db: update rollback completed/);
    } finally {
      await fsp.writeFile(file, good);
    }
    // Rolled back to the spec of the file as it is again: nothing to do, the old rollback is history.
    const result = await swarm.deploy(load(), { timeoutMs: 60_000 });
    expect(result.services.db).toBe("unchanged");
    const running = (await swarm.ps(STACK)).filter((t) => t.service === "db" && t.desiredState === "running" && t.state === "running");
    expect(running).toHaveLength(2);
  }, 240_000);

  it("remove orphans: a service taken out of the file goes, the others stay untouched", async () => {
    const before = await versions();
    const file = path.join(dir, "compose.yaml");
    const full = await fsp.readFile(file, "utf8");
    // web is the one service nothing depends on.
    await fsp.writeFile(file, full.replace(/\n {2}web:\n[\s\S]*?(?=\n {2}seed:)/, ""));
    try {
      const result = await swarm.deploy(load(), { removeOrphans: true, timeoutMs: 60_000, onProgress });
      expect(result.services).toEqual({ db: "unchanged", seed: "unchanged" });
      const after = await versions();
      expect(Object.keys(after).sort()).toEqual(["db", "seed"]);
      expect(after.db).toBe(before.db);
      expect(events).toContainEqual({ kind: "service", service: "web", action: "removed" });
    } finally {
      await fsp.writeFile(file, full);
    }
  }, 120_000);

  it("a stack relying on a VIP or the ingress mesh is warned, naming the key and what to use; a node was asked", async () => {
    // Positive control of the probe: a file every container has is "present" (the probe can say so), /proc/net/ip_vs is not.
    expect(await swarm.probeFile("/proc/net/dev", lab.images.busybox as string)).toBe("present");
    const vipDir = await fsp.mkdtemp(path.join(os.tmpdir(), "tsw-vip-"));
    try {
      await fsp.writeFile(
        path.join(vipDir, "compose.yaml"),
        `name: tswvip\nservices:\n  api:\n    image: ${lab.images.busybox as string}\n    command: ["sleep", "3600"]\n    ports: ["8090:80"]\n  client:\n    image: ${lab.images.busybox as string}\n    command: ["sleep", "3600"]\n    deploy:\n      endpoint_mode: dnsrr\n`,
      );
      const loaded = loadStack({ files: [], envFiles: [], profiles: [], env: {}, cwd: vipDir });
      const seen: SwarmProgress[] = [];
      await swarm.deploy(loaded.stack, { wait: false, locate: loaded.locate, onProgress: (e) => seen.push(e) });
      const warnings = seen.flatMap((e) => (e.kind === "warning" ? [e.message] : []));
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatch(/compose\.yaml:\d+:\d+: services\.api\.deploy\.endpoint_mode: service "api" is reached by name through a virtual IP .*no IP_VS: use endpoint_mode: dnsrr/);
      expect(warnings[1]).toMatch(/compose\.yaml:6:\d+: services\.api\.ports\.0: service "api" publishes port 8090:80 through the ingress routing mesh .*: use mode: host/);
      // The probe's service is gone.
      expect((await lab.manager.docker(["service", "ls", "--format", "{{.Name}}"])).stdout).not.toContain("tscompose-probe-");
    } finally {
      await swarm.remove("tswvip");
      await fsp.rm(vipDir, { recursive: true, force: true });
    }
  }, 120_000);

  it("a probe service a dead daemon left (its time over) goes at the next deploy, with its container; one still in its time stays", async () => {
    const image = lab.images.busybox as string;
    /** A probe service as probeFile makes it, run to its end, its time (the probe-until label) as given. */
    const probe = async (name: string, until: Date): Promise<string> => {
      const id = (
        await lab.manager.docker(["service", "create", "-d", "--name", name, "--label", `io.tscompose.swarm.probe-until=${until.toISOString()}`, "--mode", "replicated-job", "--restart-condition", "none", "--constraint", "node.role == manager", image, "/proc/net/ip_vs"])
      ).stdout.trim();
      await eventually(() => lab.manager.docker(["service", "ps", name, "--format", "{{.CurrentState}}"]), (r) => /^(Failed|Rejected|Complete)/.test(r.stdout.trim()), 60_000, `${name}'s task over`);
      return id;
    };
    const containersOf = async (serviceId: string): Promise<string> => (await lab.manager.docker(["ps", "-aq", "--filter", `label=com.docker.swarm.service.id=${serviceId}`])).stdout.trim();
    const stale = await probe("tscompose-probe-deadbeef", new Date(Date.now() - 60_000));
    const live = await probe("tscompose-probe-0a11ve00", new Date(Date.now() + 10 * 60_000));
    try {
      // Positive control: the dead daemon's probe left its service and its task's container on the manager.
      expect(await containersOf(stale)).not.toBe("");
      await swarm.deploy(load(), { timeoutMs: 120_000 });
      const names = (await lab.manager.docker(["service", "ls", "--format", "{{.Name}}"])).stdout;
      expect(names).not.toContain("tscompose-probe-deadbeef");
      expect(names).toContain("tscompose-probe-0a11ve00");
      expect(await containersOf(stale)).toBe("");
    } finally {
      await lab.manager.docker(["service", "rm", live]);
      // Its container stays (a job's, as above); swarm may be removing it at the same time.
      const left = await containersOf(live);
      if (left) await lab.manager.docker(["rm", "-f", ...left.split("\n")]).catch(() => undefined);
      await eventually(() => containersOf(live), (c) => c === "", 30_000, "the live probe's container gone");
    }
  }, 180_000);

  it("remove leaves nothing on any node", async () => {
    // Positive control: the finished job's container is on the manager before remove.
    expect((await lab.manager.docker(["ps", "-aq", "--filter", `label=com.docker.swarm.service.name=${STACK}_seed`])).stdout.trim()).not.toBe("");
    await swarm.remove(STACK, { onProgress });
    expect((await lab.manager.docker(["stack", "ls", "--format", "{{.Name}}"])).stdout.trim()).toBe("");
    for (const kind of ["service", "config", "secret"]) expect((await lab.manager.docker([kind, "ls", "-q"])).stdout.trim()).toBe("");
    for (const n of lab.nodes) {
      await eventually(
        async () => (await n.docker(["ps", "-a", "--filter", `label=com.docker.stack.namespace=${STACK}`, "--format", "{{.Names}} {{.Status}}"])).stdout.trim() + (await n.docker(["network", "ls", "-q", "--filter", `name=${STACK}_`])).stdout.trim(),
        // Swarm 20.10 keeps a finished job's container after its service is removed; remove takes it on the manager, where seed ran.
        (left) => left === "",
        60_000,
        `nothing of ${STACK} left on ${n.name}`,
      );
    }
  }, 120_000);
});
