// The wire format, pinned: real answers of a real daemon's main routes (a
// stack up from the local registry) are checked against JSON Schemas of the
// types in src/daemon/api.ts. The schemas refuse unknown keys and require
// every key that is always there, so a field that appears, disappears or
// changes type on the wire fails here; the compile-time check at the end
// fails when api.ts and these schemas list different keys.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  ActionKind,
  ContainerFields,
  ContainerInspect,
  ContainerStats,
  ContainerTop,
  ContainerView,
  DiskUsageRow,
  LogEntry,
  NetworkView,
  PendingChange,
  PingResponse,
  StackDetail,
  StackSummary,
  VolumeView,
} from "../src/daemon/api.js";
import { API_VERSION, API_VERSION_HEADER } from "../src/daemon/api.js";
import { projectRefSchema, upOptionsSchema } from "../src/daemon/api-schema.js";
import { pushTestImage } from "./fixtures/push.js";
import { startRegistry } from "./fixtures/registry.js";
import type { TestRegistry } from "./fixtures/registry.js";
import { buildOnce, cleanupDir, leaks, testDaemon } from "./support/daemon.js";
import type { TestDaemon } from "./support/daemon.js";
import { eventually, jsonLines } from "./support/e2e.js";

const str = { type: "string" } as const;
const int = { type: "integer" } as const;
const num = { type: "number" } as const;
const bool = { type: "boolean" } as const;
const strings = { type: "array", items: str } as const;
const stringMap = { type: "object", additionalProperties: str } as const;
const health = { enum: ["starting", "healthy", "unhealthy"] } as const;

const containerProps = {
  id: str,
  name: str,
  image: str,
  imageId: str,
  labels: stringMap,
  state: { enum: ["created", "running", "paused", "restarting", "exited", "dead", "removing"] },
  pid: int,
  exitCode: int,
  oomKilled: bool,
  error: str,
  createdAt: str,
  startedAt: str,
  finishedAt: str,
  restartCount: int,
  stopRequested: bool,
  command: strings,
  tty: bool,
  openStdin: bool,
  ports: {
    type: "array",
    items: {
      type: "object",
      additionalProperties: false,
      required: ["containerPort", "protocol", "hostPort"],
      properties: { containerPort: int, protocol: { enum: ["tcp", "udp", "sctp"] }, hostPort: str, hostIp: str },
    },
  },
  networks: {
    type: "object",
    additionalProperties: {
      type: "object",
      additionalProperties: false,
      required: ["ipAddress", "aliases"],
      properties: { ipAddress: str, aliases: strings, macAddress: str },
    },
  },
  volumes: strings,
} as const;
const containerRequired = ["id", "name", "image", "imageId", "labels", "state", "oomKilled", "createdAt", "restartCount", "command", "ports", "networks"];

const containerViewSchema = {
  type: "object",
  additionalProperties: false,
  required: [...containerRequired, "project", "service", "number"],
  properties: { ...containerProps, project: str, service: str, number: int, health, engine: { enum: ["embedded", "docker"] } },
} as const;

const containerInspectSchema = {
  type: "object",
  additionalProperties: false,
  required: [...containerRequired, "healthLog"],
  properties: {
    ...containerProps,
    health,
    healthLog: {
      type: "array",
      items: { type: "object", additionalProperties: false, required: ["start", "end", "exitCode", "output"], properties: { start: str, end: str, exitCode: int, output: str } },
    },
  },
} as const;

const statsSchema = {
  type: "object",
  additionalProperties: false,
  required: ["time", "cpuUsageNs", "systemUsageNs", "onlineCpus", "memoryUsage", "memoryLimit", "pids", "blockRead", "blockWrite", "netRx", "netTx"],
  properties: { time: num, cpuUsageNs: num, systemUsageNs: num, onlineCpus: int, memoryUsage: num, memoryLimit: num, pids: int, blockRead: num, blockWrite: num, netRx: num, netTx: num },
} as const;

const statsSampleSchema = { type: "object", additionalProperties: false, required: ["id", "stats"], properties: { id: str, stats: statsSchema } } as const;

const topSchema = { type: "object", additionalProperties: false, required: ["titles", "processes"], properties: { titles: strings, processes: { type: "array", items: strings } } } as const;

const stackSummarySchema = {
  type: "object",
  additionalProperties: false,
  required: ["name", "status", "configFiles", "running", "total", "watching", "engine"],
  properties: { name: str, status: str, configFiles: strings, running: int, total: int, watching: bool, jobs: int, engine: { enum: ["embedded", "docker"] }, engineHost: str },
} as const;

const stackDetailSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name", "project", "options", "services"],
  properties: {
    name: str,
    project: projectRefSchema,
    options: upOptionsSchema,
    services: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "desired", "scheduled", "configHash", "config"],
        properties: { name: str, desired: int, scheduled: bool, image: str, configHash: str, config: { type: "object" } },
      },
    },
  },
} as const;

const pendingSchema = {
  type: "object",
  additionalProperties: false,
  required: ["services", "actions"],
  properties: {
    error: str,
    services: {
      type: "array",
      items: { type: "object", additionalProperties: false, required: ["name", "configHash", "config"], properties: { name: str, configHash: str, config: { type: "object" } } },
    },
    actions: strings,
  },
} as const;

const volumeSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name", "driver", "labels", "mountpoint", "createdAt", "scope", "usedBy"],
  properties: { name: str, driver: str, labels: stringMap, mountpoint: str, createdAt: str, scope: { const: "local" }, usedBy: strings },
} as const;

const networkSchema = {
  type: "object",
  additionalProperties: false,
  required: ["id", "name", "driver", "labels", "subnet", "gateway", "internal", "scope", "containers"],
  properties: {
    id: str,
    name: str,
    driver: str,
    labels: stringMap,
    subnet: str,
    gateway: str,
    internal: bool,
    scope: { const: "local" },
    subnet6: str,
    gateway6: str,
    containers: {
      type: "object",
      additionalProperties: { type: "object", additionalProperties: false, required: ["name", "ipv4Address"], properties: { name: str, ipv4Address: str, macAddress: str, ipv6Address: str } },
    },
  },
} as const;

const diskUsageSchema = {
  type: "object",
  additionalProperties: false,
  required: ["type", "total", "active", "size", "reclaimable"],
  properties: { type: { enum: ["Images", "Containers", "Local Volumes", "Build Cache"] }, total: int, active: int, size: num, reclaimable: num },
} as const;

const pingSchema = { type: "object", additionalProperties: false, required: ["version", "pid", "engine"], properties: { version: str, pid: int, engine: str } } as const;

const logEntrySchema = {
  type: "object",
  additionalProperties: false,
  required: ["stream", "time", "timestamp", "line"],
  properties: { stream: { enum: ["stdout", "stderr"] }, time: num, timestamp: str, line: str, partial: { const: true } },
} as const;

// Every ActionKind of api.ts, each once: a kind added there and not here (or gone there) fails the typecheck.
const ACTION_KINDS: Record<ActionKind, true> = {
  pull: true,
  build: true,
  "create-network": true,
  "create-volume": true,
  create: true,
  start: true,
  restart: true,
  stop: true,
  remove: true,
  wait: true,
  "remove-network": true,
  "remove-volume": true,
  "remove-image": true,
};
const actionKinds = Object.keys(ACTION_KINDS);
const streamMessageSchema = {
  oneOf: [
    {
      type: "object",
      additionalProperties: false,
      required: ["type", "id", "kind", "target", "name", "status"],
      properties: { type: { const: "action" }, id: str, kind: { enum: actionKinds }, target: str, name: str, status: { enum: ["started", "done", "failed", "skipped"] }, message: str },
    },
    {
      type: "object",
      additionalProperties: false,
      required: ["type", "image", "progress"],
      properties: {
        type: { const: "pull" },
        image: str,
        progress: { type: "object", additionalProperties: false, required: ["id", "status"], properties: { id: str, status: str, current: num, total: num } },
      },
    },
    {
      type: "object",
      additionalProperties: false,
      required: ["type", "service", "progress"],
      properties: {
        type: { const: "build" },
        service: str,
        progress: {
          oneOf: [
            {
              type: "object",
              additionalProperties: false,
              required: ["type", "id", "name", "state"],
              properties: { type: { const: "step" }, id: int, name: str, state: { enum: ["started", "cached", "done", "error"] }, durationMs: num, error: str },
            },
            { type: "object", additionalProperties: false, required: ["type", "id", "stream", "text"], properties: { type: { const: "output" }, id: int, stream: { enum: ["stdout", "stderr"] }, text: str } },
            { type: "object", additionalProperties: false, required: ["type", "message"], properties: { type: { const: "warning" }, message: str } },
          ],
        },
      },
    },
    { type: "object", additionalProperties: false, required: ["type", "message"], properties: { type: { enum: ["warning", "info"] }, message: str } },
    {
      type: "object",
      additionalProperties: false,
      required: ["type", "ok", "failed", "project"],
      properties: {
        type: { const: "result" },
        ok: bool,
        failed: { type: "array", items: { type: "object", additionalProperties: false, required: ["id", "target", "error"], properties: { id: str, target: str, error: str } } },
        project: str,
      },
    },
    { type: "object", additionalProperties: false, required: ["type", "message"], properties: { type: { const: "error" }, message: str, code: str } },
  ],
} as const;

const containerEventSchema = {
  type: "object",
  additionalProperties: false,
  required: ["type", "action", "id", "name", "labels", "time"],
  properties: {
    type: { const: "container" },
    action: { enum: ["create", "start", "die", "stop", "kill", "pause", "unpause", "destroy", "oom", "restart", "health_status"] },
    id: str,
    name: str,
    labels: stringMap,
    exitCode: int,
    status: health,
    time: num,
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true, strictTuples: false });
/** Every problem of `value` against `schema`, as "path message" lines: [] when it conforms. */
function violations(schema: object, value: unknown): string[] {
  const validate = ajv.compile(schema);
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}
const arrayOf = (items: object): object => ({ type: "array", items });

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function call(d: TestDaemon, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: d.socket, method, path: `/${API_VERSION}${path}`, headers: { "content-type": "application/json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A JSON answer, after checking its status and its version header. */
async function json(d: TestDaemon, path: string): Promise<unknown> {
  const a = await call(d, "GET", path);
  expect(a.status, `${path}: ${a.body}`).toBe(200);
  expect(a.headers[API_VERSION_HEADER]).toBe(API_VERSION);
  return JSON.parse(a.body);
}

const project = `wire${process.pid}`;
let registry: TestRegistry;
let d: TestDaemon;
let work: string;
let upMessages: unknown[] = [];

beforeAll(async () => {
  buildOnce();
  registry = await startRegistry();
  await pushTestImage(registry, "busybox");
  d = testDaemon({ mirror: registry.url });
  await d.start();
  work = mkdtempSync(join(tmpdir(), "tscompose-test-wire-"));
  writeFileSync(
    join(work, "compose.yaml"),
    [
      "services:",
      "  web:",
      "    image: busybox",
      `    command: ["sh", "-c", "echo hello; trap 'exit 0' TERM; sleep 3600 & wait"]`,
      "    ports: ['127.0.0.1::8080']",
      "    volumes: ['data:/data']",
      "    healthcheck:",
      "      test: ['CMD', 'true']",
      "      interval: 1s",
      "volumes:",
      "  data: {}",
      "",
    ].join("\n"),
  );
  const up = await call(d, "POST", "/stacks/up", {
    project: { files: [join(work, "compose.yaml")], projectName: project, envFiles: [], profiles: [], env: {}, cwd: work },
    options: { wait: true, waitTimeoutMs: 120_000 },
  });
  expect(up.status, up.body).toBe(200);
  upMessages = jsonLines<unknown>(up.body);
}, 300_000);

afterAll(async () => {
  if (d) {
    if (work) d.cli(["-p", project, "down", "-v", "-t", "1"], { cwd: work });
    await d.stop();
    expect(leaks(d)).toEqual([]);
    cleanupDir(d);
  }
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
}, 120_000);

describe("the daemon's answers match the wire types of api.ts", () => {
  it("POST /stacks/up streams progress messages, ending with a successful result", () => {
    expect(upMessages.map((m) => violations(streamMessageSchema, m)).flat()).toEqual([]);
    expect(upMessages.at(-1)).toEqual({ type: "result", ok: true, failed: [], project });
    expect(upMessages).toContainEqual(expect.objectContaining({ type: "action", kind: "start", status: "done", name: `${project}-web-1` }));
  });

  it("POST /stacks/up of a stack to build: the build action and the build's progress match too", async () => {
    const dir = join(work, "built");
    mkdirSync(join(dir, "app"), { recursive: true });
    writeFileSync(join(dir, "app", "Dockerfile"), "FROM busybox\nCOPY hello /hello\n");
    writeFileSync(join(dir, "app", "hello"), "hello\n");
    writeFileSync(join(dir, "compose.yaml"), `services:\n  app:\n    build: ./app\n    command: ["sleep", "3600"]\n`);
    const built = `${project}b`;
    try {
      const up = await call(d, "POST", "/stacks/up", { project: { files: [join(dir, "compose.yaml")], projectName: built, envFiles: [], profiles: [], env: {}, cwd: dir }, options: {} });
      expect(up.status, up.body).toBe(200);
      const messages = jsonLines<unknown>(up.body);
      expect(messages.map((m) => violations(streamMessageSchema, m)).flat()).toEqual([]);
      expect(messages.at(-1)).toEqual({ type: "result", ok: true, failed: [], project: built });
      expect(messages).toContainEqual(expect.objectContaining({ type: "action", kind: "build", status: "done" }));
      expect(messages).toContainEqual(expect.objectContaining({ type: "build", service: "app" }));
    } finally {
      d.cli(["-p", built, "down", "--rmi", "all", "-t", "1"], { cwd: dir });
    }
  }, 120_000);

  it("containers: the list, one container, its stats, its processes and its log", async () => {
    const list = (await json(d, `/containers?project=${project}&all=1`)) as ContainerView[];
    expect(violations(arrayOf(containerViewSchema), list)).toEqual([]);
    expect(list).toHaveLength(1);
    const web = list[0] as ContainerView;
    expect(web).toMatchObject({ project, service: "web", number: 1, state: "running" });
    expect(web.ports[0]).toMatchObject({ containerPort: 8080, protocol: "tcp", hostIp: "127.0.0.1" });
    expect(web.volumes).toEqual([`${project}_data`]);

    const inspected = await eventually(
      async () => (await json(d, `/containers/${web.id}`)) as ContainerInspect,
      (c) => c.healthLog.length > 0,
      60_000,
      "a health check's result",
    );
    expect(violations(containerInspectSchema, inspected)).toEqual([]);
    expect(inspected.health).toBe("healthy");

    expect(violations(statsSchema, await json(d, `/containers/${web.id}/stats`))).toEqual([]);
    const samples = await json(d, `/stats?project=${project}`);
    expect(violations(arrayOf(statsSampleSchema), samples)).toEqual([]);
    expect(samples).toHaveLength(1);
    const top = (await json(d, `/containers/${web.id}/top`)) as ContainerTop;
    expect(violations(topSchema, top)).toEqual([]);
    expect(top.processes.length).toBeGreaterThan(0);

    const logs = jsonLines<LogEntry>((await call(d, "GET", `/containers/${web.id}/logs`)).body);
    expect(logs.map((e) => violations(logEntrySchema, e)).flat()).toEqual([]);
    expect(logs.map((e) => e.line)).toContain("hello");
  }, 120_000);

  it("stacks: the list, a stack's detail and its pending change", async () => {
    const stacks = await json(d, "/stacks");
    expect(violations(arrayOf(stackSummarySchema), stacks)).toEqual([]);
    expect(stacks).toContainEqual(expect.objectContaining({ name: project, running: 1, total: 1 }));
    const detail = (await json(d, `/stacks/${project}/detail`)) as StackDetail;
    expect(violations(stackDetailSchema, detail)).toEqual([]);
    expect(detail.services.map((s) => s.name)).toEqual(["web"]);
    const pending = (await json(d, `/stacks/${project}/pending`)) as PendingChange;
    expect(violations(pendingSchema, pending)).toEqual([]);
    expect(pending.actions).toEqual([]);
  }, 60_000);

  it("volumes, networks, disk usage and ping", async () => {
    const volumes = (await json(d, "/volumes")) as VolumeView[];
    expect(violations(arrayOf(volumeSchema), volumes)).toEqual([]);
    expect(volumes.map((v) => v.name)).toContain(`${project}_data`);
    const networks = (await json(d, "/networks")) as NetworkView[];
    expect(violations(arrayOf(networkSchema), networks)).toEqual([]);
    expect(networks.map((n) => n.name)).toContain(`${project}_default`);
    expect(violations(arrayOf(diskUsageSchema), await json(d, "/system/df"))).toEqual([]);
    expect(violations(pingSchema, await json(d, "/ping"))).toEqual([]);
  }, 60_000);

  it("GET /events: container events as the engine reports them; errors carry the version header too", async () => {
    const events: unknown[] = [];
    // The daemon sends the stream's head with its first event: the answer is awaited after the restart.
    const req = request({ socketPath: d.socket, method: "GET", path: `/${API_VERSION}/events` });
    const answered = new Promise<IncomingMessage>((resolve, reject) => {
      req.on("response", resolve);
      req.on("error", reject);
    });
    req.end();
    let buffered = "";
    void answered.then((res) =>
      res.on("data", (c: Buffer) => {
        buffered += c.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const l of lines) if (l.trim() !== "") events.push(JSON.parse(l));
      }),
    );
    // The daemon subscribes as the request arrives, before it answers the ping sent after it; and
    // the start event the test waits for comes a whole stop (up to 1 s) after the restart is asked.
    await json(d, "/ping");
    const [web] = (await json(d, `/containers?project=${project}`)) as ContainerView[];
    expect((await call(d, "POST", `/containers/${web?.id}/restart?t=1`)).status).toBe(200);
    const seen = await eventually(
      () => Promise.resolve(events.filter((e) => (e as { type: string }).type === "container")),
      (es) => es.some((e) => (e as { action: string }).action === "start"),
      60_000,
      "the restarted container's start event",
    );
    const stream = await answered;
    expect(stream.headers[API_VERSION_HEADER]).toBe(API_VERSION);
    stream.destroy();
    expect(seen.map((e) => violations(containerEventSchema, e)).flat()).toEqual([]);

    const missing = await call(d, "GET", "/containers/no-such-container-wire");
    expect(missing.status).toBe(404);
    expect(missing.headers[API_VERSION_HEADER]).toBe(API_VERSION);
    const unknown = await call(d, "GET", "/no-such-route");
    expect(unknown.status).toBe(404);
    expect(unknown.headers[API_VERSION_HEADER]).toBe(API_VERSION);
  }, 120_000);
});

// Compile-time: each response schema lists exactly the keys of its type in api.ts.
type Props<S> = S extends { readonly properties: infer P } ? keyof P : never;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const RESPONSE_SCHEMAS_MATCH_TYPES: {
  fields: Same<keyof typeof containerProps, keyof ContainerFields>;
  view: Same<Props<typeof containerViewSchema>, keyof ContainerView>;
  inspect: Same<Props<typeof containerInspectSchema>, keyof ContainerInspect>;
  stats: Same<Props<typeof statsSchema>, keyof ContainerStats>;
  top: Same<Props<typeof topSchema>, keyof ContainerTop>;
  summary: Same<Props<typeof stackSummarySchema>, keyof StackSummary>;
  detail: Same<Props<typeof stackDetailSchema>, keyof StackDetail>;
  pending: Same<Props<typeof pendingSchema>, keyof PendingChange>;
  volume: Same<Props<typeof volumeSchema>, keyof VolumeView>;
  network: Same<Props<typeof networkSchema>, keyof NetworkView>;
  disk: Same<Props<typeof diskUsageSchema>, keyof DiskUsageRow>;
  ping: Same<Props<typeof pingSchema>, keyof PingResponse>;
  log: Same<Props<typeof logEntrySchema>, keyof LogEntry>;
} = { fields: true, view: true, inspect: true, stats: true, top: true, summary: true, detail: true, pending: true, volume: true, network: true, disk: true, ping: true, log: true };
