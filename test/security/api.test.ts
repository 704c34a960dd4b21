// Hostile requests to a real daemon's socket: whatever a client sends (broken
// escapes, invalid JSON, huge bodies, wrong types, absurd numbers), the answer
// is a 4xx and the daemon goes on serving. Name validation itself (traversal
// names) belongs to the state layer; here only the parsing layer is tested.
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushTestImage } from "../fixtures/push.js";
import { startRegistry } from "../fixtures/registry.js";
import type { TestRegistry } from "../fixtures/registry.js";
import { bin, buildOnce, cleanupDir, leaks, testDaemon } from "../support/daemon.js";
import type { TestDaemon } from "../support/daemon.js";
import { eventually, jsonLines } from "../support/e2e.js";

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One raw HTTP request on the daemon's socket; the body as given (a string, a Buffer, or nothing). */
function raw(d: TestDaemon, method: string, path: string, body?: string | Buffer, headers: Record<string, string | number> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: d.socket, method, path, headers: { "content-type": "application/json", ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function alive(d: TestDaemon): Promise<void> {
  const ping = await raw(d, "GET", "/v1/ping");
  expect(ping.status).toBe(200);
  expect(d.process?.exitCode).toBeNull();
}

let d: TestDaemon;

beforeAll(async () => {
  buildOnce();
  d = testDaemon({});
  await d.start();
});

afterAll(async () => {
  if (d) {
    await d.stop();
    cleanupDir(d);
  }
});

describe("the daemon survives hostile requests", () => {
  it("answers 400 to an invalid percent-escape in a path parameter", async () => {
    for (const path of ["/v1/containers/%E0%A4%A/logs", "/v1/containers/%E0%A4%A", "/v1/stacks/%ff%/detail", "/v1/containers/%/stop"]) {
      const method = path.endsWith("stop") ? "POST" : "GET";
      const r = await raw(d, method, path);
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.body).message).toMatch(/percent-encoding/);
    }
    await alive(d);
  });

  it("answers 400 to an invalid percent-escape on the attach (upgrade) path", async () => {
    const r = await raw(d, "POST", "/v1/containers/%E0%A4%A/exec", JSON.stringify({ cmd: ["true"] }), { connection: "Upgrade", upgrade: "tscompose-attach" });
    expect(r.status).toBe(400);
    await alive(d);
  });
});

describe("request bodies and query values are checked before use", () => {
  it("answers 400 with the parser's message to invalid JSON", async () => {
    for (const path of ["/v1/stacks/up", "/v1/stacks/down"]) {
      const r = await raw(d, "POST", path, '{"project": ');
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.body).message).toMatch(/invalid JSON in the request body: /);
    }
    await alive(d);
  });

  it("answers 413 to a 50 MB body, on the HTTP and the attach paths", async () => {
    const big = Buffer.alloc(50 << 20, 0x20);
    const up = await raw(d, "POST", "/v1/stacks/up", big);
    expect(up.status).toBe(413);
    expect(JSON.parse(up.body).message).toMatch(/request body too large: the limit is 8388608 bytes/);
    // Without a Content-Length (chunked), counted as it arrives.
    const chunked = await raw(d, "POST", "/v1/stacks/down", big, { "transfer-encoding": "chunked" });
    expect(chunked.status).toBe(413);
    const run = await raw(d, "POST", "/v1/stacks/run", big, { connection: "Upgrade", upgrade: "tscompose-attach" });
    expect(run.status).toBe(413);
    await alive(d);
  });

  it("answers 400 naming the key to a body of the wrong shape", async () => {
    const cases: [string, unknown, RegExp][] = [
      ["/v1/stacks/up", [], /invalid UpRequest: the body must be object/],
      ["/v1/stacks/up", { project: { files: "compose.yaml", envFiles: [], profiles: [], env: {}, cwd: "/" }, options: {} }, /\/project\/files must be array/],
      ["/v1/stacks/down", { projectName: "p", options: { timeoutMs: null } }, /\/options\/timeoutMs must be number/],
      ["/v1/stacks/down", { projectName: "p", options: { timeoutMs: -5 } }, /\/options\/timeoutMs must be >= 0/],
      ["/v1/stacks/down", { projectName: "p", options: { rmi: "all" } }, /unknown key "rmi"/],
      ["/v1/stacks/down", { projectName: 7, options: {} }, /\/projectName must be string/],
    ];
    for (const [path, body, message] of cases) {
      const r = await raw(d, "POST", path, JSON.stringify(body));
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.parse(r.body).message).toMatch(message);
    }
    const exec = await raw(d, "POST", "/v1/containers/x/exec", JSON.stringify({ cmd: "ls" }), { connection: "Upgrade", upgrade: "tscompose-attach" });
    expect(exec.status).toBe(400);
    expect(JSON.parse(exec.body).message).toMatch(/\/cmd must be array/);
    await alive(d);
  });

  it("answers 400 to query values that are not what they say", async () => {
    const cases: [string, string][] = [
      ["POST", "/v1/containers/x/stop?t=abc"],
      ["POST", "/v1/containers/x/stop?t=10s"],
      ["POST", "/v1/containers/x/restart?t=-1"],
      ["GET", "/v1/containers/x/logs?tail=ten"],
      ["GET", "/v1/containers/x/logs?since=yesterday"],
      ["GET", "/v1/containers/x/logs?follow=yes"],
      ["GET", "/v1/containers?all=maybe"],
      ["DELETE", "/v1/containers/x?force=2"],
    ];
    for (const [method, path] of cases) {
      const r = await raw(d, method, path);
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.body).message).toMatch(/invalid query parameter/);
    }
    await alive(d);
  });
});

describe("the CLI parses durations and numbers strictly", () => {
  it("refuses down -t abc and -t 10s before sending anything", () => {
    for (const t of ["abc", "10s"]) {
      const r = d.cli(["-p", "strictnums", "down", "-t", t]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`argument '${t}' is invalid. "${t}" is not an integer`));
    }
    expect(d.log()).not.toMatch(/strictnums/);
  });
});

/** The daemon's resident memory, from /proc. */
function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

describe("streams respect back-pressure", () => {
  let registry: TestRegistry;
  let busy: TestDaemon;
  let work: string;
  const project = "slowreader";

  beforeAll(async () => {
    registry = await startRegistry();
    await pushTestImage(registry, "busybox");
    busy = testDaemon({ mirror: registry.url });
    await busy.start();
    work = mkdtempSync(join(tmpdir(), "tscompose-test-slowreader-"));
    writeFileSync(
      join(work, "compose.yaml"),
      [
        "services:",
        "  quiet:",
        "    image: busybox",
        `    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]`,
        "  oneline:",
        "    image: busybox",
        // 1 MiB without a newline, then silence.
        `    command: ["sh", "-c", "head -c 1048576 /dev/zero | tr '\\\\0' x; trap 'exit 0' TERM; sleep 3600 & wait"]`,
        "",
      ].join("\n"),
    );
    const up = busy.cli(["-p", project, "up", "-d"], { cwd: work });
    expect(up.code, up.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    if (busy) {
      busy.cli(["-p", project, "down", "-v", "-t", "1"], { cwd: work });
      await busy.stop();
      expect(leaks(busy)).toEqual([]);
      cleanupDir(busy);
    }
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it("an upload refused midway gets its answer, not a reset: cp of a tar onto a file, sent in two parts", async () => {
    // The daemon refuses at the tar's first bytes; unless it reads the rest
    // (as the client goes on sending it) before it answers and closes the
    // connection (one request per connection, as the CLI's), the client's next
    // write meets EPIPE and the answer is lost.
    const ps = jsonLines<{ ID: string; Service: string }>(busy.cli(["-p", project, "ps", "--format", "json"], { cwd: work }).stdout);
    const id = ps.find((c) => c.Service === "quiet")?.ID as string;
    writeFileSync(join(work, "big"), Buffer.alloc(1 << 20, 0x61));
    const tar = execFileSync("tar", ["-C", work, "-cf", "-", "big"], { maxBuffer: 4 << 20 });
    let sentAll = false;
    const answer = await new Promise<Answer & { afterAll: boolean }>((resolve, reject) => {
      const req = request({ agent: false, method: "PUT", socketPath: busy.socket, path: `/v1/containers/${id}/archive?path=${encodeURIComponent("/etc/passwd")}`, headers: { "content-type": "application/x-tar", "transfer-encoding": "chunked", connection: "close" } }, (res) => {
        const afterAll = sentAll;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), afterAll }));
      });
      req.on("error", reject);
      req.write(tar.subarray(0, 64 << 10));
      // The rest once the daemon has had time to refuse (a client on a slow link, or stdin still coming).
      setTimeout(() => {
        sentAll = true;
        req.end(tar.subarray(64 << 10));
      }, 1000);
    });
    // Answered (and so the connection closed) only once the whole body was sent: no write of the client's met a closed socket.
    expect(answer.afterAll).toBe(true);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(JSON.parse(answer.body).message).toMatch(/not a directory/);
    await alive(busy);
  });

  it("a logs client that does not read does not grow the daemon's memory (128 MiB log)", async () => {
    const ps = jsonLines<{ ID: string; Service: string }>(busy.cli(["-p", project, "ps", "--format", "json"], { cwd: work }).stdout);
    const id = ps.find((c) => c.Service === "quiet")?.ID as string;
    const log = execFileSync("find", [busy.stateDir, "-path", `*${id}*/ctr.log`], { encoding: "utf8" }).trim().split("\n")[0] as string;
    expect(log).toMatch(/ctr\.log$/);
    // 128 MiB of CRI records written straight into the log the engine reads (the container itself is silent).
    const line = `2026-01-01T00:00:00.000000000+00:00 stdout F ${"a".repeat(100)}\n`;
    const mib = Buffer.from(line.repeat(Math.floor((1 << 20) / line.length)));
    for (let i = 0; i < 128; i++) appendFileSync(log, mib);

    const pid = busy.process?.pid as number;
    const before = rssBytes(pid);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ socketPath: busy.socket, method: "GET", path: `/v1/containers/${id}/logs` }, resolve);
      req.on("error", reject);
      req.end();
    });
    expect(res.statusCode).toBe(200);
    res.pause(); // `logs | less`, and nobody scrolls
    let peak = before;
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 200));
      peak = Math.max(peak, rssBytes(pid));
    }
    res.destroy();
    const growth = peak - before;
    process.stdout.write(`daemon RSS: ${(before / 2 ** 20).toFixed(1)} MiB before, growth ${(growth / 2 ** 20).toFixed(1)} MiB while a client did not read a 128 MiB log\n`);
    expect(growth).toBeLessThan(64 * 2 ** 20);
    // And it still serves.
    expect((await raw(busy, "GET", "/v1/ping")).status).toBe(200);
  }, 120_000);

  it("a 1 MiB line without a newline travels as 16 KiB partial entries, and logs prints it as one line", async () => {
    const ps = jsonLines<{ ID: string; Service: string }>(busy.cli(["-p", project, "ps", "--format", "json"], { cwd: work }).stdout);
    const id = ps.find((c) => c.Service === "oneline")?.ID as string;
    const whole = "x".repeat(1 << 20);
    const entries = await eventually(
      async () => jsonLines<{ line: string; partial?: boolean }>((await raw(busy, "GET", `/v1/containers/${id}/logs`)).body),
      (es) => es.map((e) => e.line).join("") === whole,
      30_000,
      "the container's 1 MiB of output in its log",
    );
    expect(Math.max(...entries.map((e) => e.line.length))).toBe(16 * 1024);
    expect(entries.length).toBe(64);
    expect(entries.slice(0, -1).every((e) => e.partial === true)).toBe(true);
    // Not busy.cli: spawnSync's default maxBuffer is 1 MiB, one byte short.
    const logs = spawnSync(bin, ["-p", project, "logs", "--no-log-prefix", "oneline"], { cwd: work, env: busy.env, encoding: "utf8", maxBuffer: 8 << 20, timeout: 60_000 });
    expect(logs.status, logs.stderr).toBe(0);
    expect(logs.stdout).toBe(`${whole}\n`);
  }, 60_000);
});

describe("the socket", () => {
  it("is 0660, root's", () => {
    const st = statSync(d.socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
    expect(st.uid).toBe(0);
  });

  it("daemon --group refuses a group that does not exist and garbage, before creating anything", () => {
    for (const [group, message] of [
      ["tscompose-no-such-group", /invalid --group "tscompose-no-such-group": no such group/],
      ["12abc", /invalid --group "12abc": expected a group name or a numeric gid/],
    ] as const) {
      const stateDir = join(d.dir, `group-${group}`);
      const socket = join(d.dir, "group.sock");
      const r = spawnSync(process.execPath, [bin, "daemon", "--state-dir", stateDir, "--group", group], {
        env: { ...d.env, TSCOMPOSE_STATE_DIR: stateDir, TSCOMPOSE_SOCKET: socket },
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(socket)).toBe(false);
      expect(existsSync(stateDir)).toBe(false);
    }
  });
});
