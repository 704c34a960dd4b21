// The stack file -> swarm ServiceSpec mapping (engine/swarm/service-spec.ts)
// the keys swarm refuses (engine/swarm/support.ts) and what relies on IPVS
// (engine/swarm/ipvs.ts), through the real
// loader: the values expected are docker's API units and names, written out
// here (what `docker stack deploy` sends for the same file).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type Docker from "dockerode";
import { serviceSpec, specHash } from "../engine/swarm/service-spec.js";
import { contentName } from "../engine/swarm/objects.js";
import { ipvsReliances, probeAnswer } from "../engine/swarm/ipvs.js";
import { SwarmSupportError, checkSwarmSupport, swarmProblems } from "../engine/swarm/support.js";
import { loadStack } from "../src/stack/load.js";
import type { StackSpec } from "../model/stack.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function load(yaml: string): StackSpec {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsw-spec-"));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, "compose.yaml"), yaml);
  fs.writeFileSync(path.join(dir, "page.html"), "hello\n");
  return loadStack({ files: [], envFiles: [], profiles: [], env: {}, cwd: dir, projectName: "shop" }).stack;
}

const REFS = { image: "reg:5000/app@sha256:abc", configs: { page: { id: "cfg1", name: "shop_page-0123456789ab" } }, secrets: { token: { id: "sec1", name: "shop_token-ba9876543210" } } };
const spec = (stack: StackSpec, name: string): Docker.ServiceSpec => serviceSpec(stack, stack.services[name]!, REFS);
const container = (s: Docker.ServiceSpec): Docker.ContainerSpec => (s.TaskTemplate as Docker.ContainerTaskSpec).ContainerSpec!;

const FULL = `
services:
  api:
    image: reg:5000/app
    entrypoint: ["/bin/app"]
    command: ["serve", "--port", "80"]
    user: "1000:1000"
    working_dir: /srv
    hostname: api-host
    environment:
      B: "2"
      A: "1"
      UNSET:
    labels:
      tier: backend
    healthcheck:
      test: ["CMD", "wget", "-q", "http://127.0.0.1/health"]
      interval: 2s
      timeout: 1s
      retries: 4
      start_period: 5s
    stop_grace_period: 20s
    ports:
      - target: 80
        published: 8080
        mode: host
      - "9000:90/udp"
    networks:
      back:
        aliases: [backend]
    configs:
      - source: page
        target: /srv/page.html
        mode: 0440
    secrets: [token]
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      labels:
        team: shop
      placement:
        constraints: ["node.role == worker"]
        preferences:
          - spread: node.labels.zone
        max_replicas_per_node: 2
      resources:
        limits: { cpus: "0.5", memory: 64M, pids: 100 }
        reservations: { cpus: "0.25", memory: 32M }
      restart_policy:
        condition: on-failure
        delay: 5s
        max_attempts: 3
        window: 1m
      update_config:
        parallelism: 2
        delay: 10s
        order: start-first
        failure_action: rollback
        monitor: 30s
      rollback_config:
        parallelism: 1
  agent:
    image: reg:5000/agent
    deploy:
      mode: global
  migrate:
    image: reg:5000/app
    deploy:
      mode: replicated-job
      replicas: 2
  sweep:
    image: reg:5000/app
    restart: always
    deploy:
      mode: global-job
networks:
  back:
    driver: overlay
configs:
  page:
    file: ./page.html
secrets:
  token:
    file: ./page.html
`;

describe("stack file -> swarm ServiceSpec", () => {
  const stack = load(FULL);
  const api = spec(stack, "api");

  it("names and labels as docker stack deploy writes them", () => {
    expect(api.Name).toBe("shop_api");
    expect(api.Labels).toMatchObject({ "com.docker.stack.namespace": "shop", "com.docker.stack.image": "reg:5000/app", team: "shop" });
    expect(container(api).Labels).toEqual({ "com.docker.stack.namespace": "shop", tier: "backend" });
    expect(container(api).Image).toBe("reg:5000/app@sha256:abc");
  });

  it("the process: entrypoint, command, user, dir, hostname, env sorted without unset names", () => {
    expect(container(api)).toMatchObject({ Command: ["/bin/app"], Args: ["serve", "--port", "80"], User: "1000:1000", Dir: "/srv", Hostname: "api-host", Env: ["A=1", "B=2"] });
    expect(container(api).StopGracePeriod).toBe(20e9);
  });

  it("health check durations in nanoseconds", () => {
    expect(container(api).HealthCheck).toEqual({ Test: ["CMD", "wget", "-q", "http://127.0.0.1/health"], Interval: 2e9, Timeout: 1e9, Retries: 4, StartPeriod: 5e9 });
  });

  it("modes: replicated with replicas, global, jobs (restarted on failure only)", () => {
    expect(api.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(spec(stack, "agent").Mode).toEqual({ Global: {} });
    const migrate = spec(stack, "migrate");
    expect(migrate.Mode).toEqual({ ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 2 } });
    expect(migrate.TaskTemplate?.RestartPolicy).toEqual({ Condition: "on-failure" });
    expect(spec(stack, "sweep").Mode).toEqual({ GlobalJob: {} });
    expect(spec(stack, "sweep").TaskTemplate?.RestartPolicy).toEqual({ Condition: "on-failure" });
  });

  it("placement, resources, restart policy", () => {
    expect(api.TaskTemplate?.Placement).toEqual({ Constraints: ["node.role == worker"], Preferences: [{ Spread: { SpreadDescriptor: "node.labels.zone" } }], MaxReplicas: 2 });
    expect(api.TaskTemplate?.Resources).toEqual({ Limits: { NanoCPUs: 5e8, MemoryBytes: 64 * 1024 * 1024, Pids: 100 }, Reservations: { NanoCPUs: 2.5e8, MemoryBytes: 32 * 1024 * 1024 } });
    expect(api.TaskTemplate?.RestartPolicy).toEqual({ Condition: "on-failure", Delay: 5e9, MaxAttempts: 3, Window: 60e9 });
  });

  it("update and rollback configs", () => {
    expect(api.UpdateConfig).toEqual({ Parallelism: 2, Delay: 10e9, FailureAction: "rollback", Monitor: 30e9, Order: "start-first" });
    expect(api.RollbackConfig).toEqual({ Parallelism: 1, Order: "stop-first" });
  });

  it("endpoint: dnsrr as written, ports with their publish mode; vip by default", () => {
    expect(api.EndpointSpec).toEqual({
      Mode: "dnsrr",
      Ports: [
        { Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "host" },
        { Protocol: "udp", TargetPort: 90, PublishedPort: 9000, PublishMode: "ingress" },
      ],
    });
    expect(spec(stack, "agent").EndpointSpec).toEqual({ Mode: "vip" });
  });

  it("networks by their stack name, the service's name as an alias; the default network for the others", () => {
    expect(api.TaskTemplate?.Networks).toEqual([{ Target: "shop_back", Aliases: ["api", "backend"] }]);
    expect(spec(stack, "agent").TaskTemplate?.Networks).toEqual([{ Target: "shop_default", Aliases: ["agent"] }]);
  });

  it("configs and secrets by id and content-hashed name, at their targets", () => {
    expect(container(api).Configs).toEqual([{ File: { Name: "/srv/page.html", UID: "0", GID: "0", Mode: 0o440 }, ConfigID: "cfg1", ConfigName: "shop_page-0123456789ab" }]);
    expect(container(api).Secrets).toEqual([{ File: { Name: "token", UID: "0", GID: "0", Mode: 0o444 }, SecretID: "sec1", SecretName: "shop_token-ba9876543210" }]);
    expect(contentName("shop_page", Buffer.from("hello\n"))).toBe("shop_page-5891b5b522d5");
    expect(contentName("shop_page", Buffer.from("hello!\n"))).not.toBe("shop_page-5891b5b522d5");
  });

  it("the spec hash: equal for an equal file, different when anything sent changes", () => {
    const again = spec(load(FULL), "api");
    expect(again.Labels?.["io.tscompose.swarm.spec-hash"]).toBe(api.Labels?.["io.tscompose.swarm.spec-hash"]);
    expect(specHash(again)).toBe(api.Labels?.["io.tscompose.swarm.spec-hash"]);
    const changed = spec(load(FULL.replace('A: "1"', 'A: "one"')), "api");
    expect(changed.Labels?.["io.tscompose.swarm.spec-hash"]).not.toBe(api.Labels?.["io.tscompose.swarm.spec-hash"]);
    expect(changed.Labels?.["io.tscompose.swarm.task-hash"]).not.toBe(api.Labels?.["io.tscompose.swarm.task-hash"]);
    // A replica count is not the task template: no rollout to wait for.
    const scaled = spec(load(FULL.replace("replicas: 3", "replicas: 4")), "api");
    expect(scaled.Labels?.["io.tscompose.swarm.task-hash"]).toBe(api.Labels?.["io.tscompose.swarm.task-hash"]);
  });

  it("restart: no without restart_policy leaves swarm's default; always is any", () => {
    const s = load("services:\n  a:\n    image: x\n  b:\n    image: x\n    restart: always\n");
    expect(spec(s, "a").TaskTemplate?.RestartPolicy).toBeUndefined();
    expect(spec(s, "b").TaskTemplate?.RestartPolicy).toEqual({ Condition: "any" });
  });
});

describe("keys swarm cannot honour", () => {
  it("refuses them all, naming each key, the first (with its place in the file when known) in the message", () => {
    const stack = load(`
services:
  a:
    build: .
  b:
    image: x
    network_mode: host
    privileged: true
  c:
    image: x
    ports:
      - "127.0.0.1:80:80"
      - "8000-8001:80"
`);
    const problems = swarmProblems(stack).map((p) => p.path.join("."));
    expect(problems).toEqual(["services.a.build", "services.b.network_mode", "services.b.privileged", "services.c.ports.0", "services.c.ports.1"]);
    let err: unknown;
    try {
      checkSwarmSupport(stack, (p) => (p.join(".") === "services.a.build" ? { file: "/x/compose.yaml", line: 4, column: 5 } : undefined));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SwarmSupportError);
    expect((err as SwarmSupportError).kind).toBe("invalid");
    expect((err as Error).message).toBe(
      "/x/compose.yaml:4:5: services.a.build: not supported on swarm: swarm nodes pull images: give the service an `image:` in a registry every node reaches (up builds, pushes it there, and deploys it by digest) (and 4 more)",
    );
  });

  it("build: needs an image naming the registry the built image is pushed to", () => {
    const stack = load(`
services:
  hub:
    build: .
    image: me/app
  short:
    build: .
    image: app:1
  reg:
    build: .
    image: registry.example:5000/me/app:1
  loop:
    build: .
    image: localhost/app
  explicit:
    build: .
    image: docker.io/me/app
`);
    const problems = swarmProblems(stack);
    expect(problems.map((p) => p.path.join("."))).toEqual(["services.hub.image", "services.short.image"]);
    expect(problems[0]?.reason).toMatch(/names none \(Docker Hub by default\): write the registry host/);
  });

  it("a stack without them passes", () => {
    expect(swarmProblems(load(FULL))).toEqual([]);
  });
});

describe("what relies on IPVS (VIPs, the ingress mesh)", () => {
  it("a VIP service another service shares a network with, and every ingress port; not dnsrr, host ports, lone services or jobs", () => {
    const stack = load(`
services:
  api:
    image: x
  web:
    image: x
    ports:
      - "8080:80"
      - target: 81
        published: 8081
        mode: host
    deploy:
      endpoint_mode: dnsrr
  db:
    image: x
    networks: [back]
    deploy:
      endpoint_mode: dnsrr
  cache:
    image: x
    networks: [back]
  lone:
    image: x
    networks: [solo]
  seed:
    image: x
    deploy:
      mode: replicated-job
networks:
  back: {}
  solo: {}
`);
    const found = ipvsReliances(stack);
    expect(found.map((r) => r.path.join("."))).toEqual(["services.api.deploy.endpoint_mode", "services.web.ports.0", "services.cache.deploy.endpoint_mode"]);
    expect(found[0]?.message).toMatch(/^service "api" is reached by name through a virtual IP \(endpoint_mode vip, the default\), .*no IP_VS: use endpoint_mode: dnsrr/);
    expect(found[1]?.message).toMatch(/^service "web" publishes port 8080:80 through the ingress routing mesh .*: use mode: host/);
  });

  it("a stack whose services all use dnsrr and host ports relies on nothing", () => {
    const stack = load(`
services:
  a:
    image: x
    ports: [{ target: 80, published: 8080, mode: host }]
    deploy: { endpoint_mode: dnsrr }
  b:
    image: x
    deploy: { endpoint_mode: dnsrr }
`);
    expect(ipvsReliances(stack)).toEqual([]);
  });

  it("the probe's answer: runc's words for a missing and for a non-executable file; nothing else tells", () => {
    expect(probeAnswer('starting container failed: OCI runtime create failed: exec: "/proc/net/ip_vs": stat /proc/net/ip_vs: no such file or directory: unknown')).toBe("absent");
    expect(probeAnswer('starting container failed: exec: "/proc/net/ip_vs": permission denied: unknown')).toBe("present");
    expect(probeAnswer("No such image: reg:5000/x")).toBeUndefined();
    expect(probeAnswer(undefined)).toBeUndefined();
  });
});
