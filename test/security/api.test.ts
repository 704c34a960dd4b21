// Hostile requests to a real daemon's socket: whatever a client sends (broken
// escapes, invalid JSON, huge bodies, wrong types, absurd numbers), the answer
// is a 4xx and the daemon goes on serving. Name validation itself (traversal
// names) belongs to the state layer; here only the parsing layer is tested.
import { request } from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOnce, cleanupDir, testDaemon } from "../support/daemon.js";
import type { TestDaemon } from "../support/daemon.js";

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
