// The client's API version check, against a real HTTP server on a unix
// socket standing in for daemons of this version, another one, and one from
// before the version header existed.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { API_VERSION, API_VERSION_HEADER } from "./api.js";
import { API_VERSION_MISMATCH, DaemonClient, DaemonError } from "./client.js";

const dir = mkdtempSync(join(tmpdir(), "tscompose-client-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A server answering every request with `{"version":"x","pid":1,"engine":"embedded"}` and the given version header (none: undefined). */
async function daemonSpeaking(version: string | undefined, name: string): Promise<{ server: Server; socket: string; paths: string[] }> {
  const socket = join(dir, `${name}.sock`);
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? "");
    if (version !== undefined) res.setHeader(API_VERSION_HEADER, version);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ version: "x", pid: 1, engine: "embedded" }));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { server, socket, paths };
}

const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe("DaemonClient's API version check", () => {
  it("reads the answers of a daemon of its own version, on /<version> paths", async () => {
    const d = await daemonSpeaking(API_VERSION, "same");
    try {
      const client = new DaemonClient(d.socket);
      expect(await client.json("GET", "/ping")).toEqual({ version: "x", pid: 1, engine: "embedded" });
      expect(await client.ping()).toEqual({ version: "x", pid: 1, engine: "embedded" });
      expect(d.paths).toEqual([`/${API_VERSION}/ping`, `/${API_VERSION}/ping`]);
    } finally {
      await close(d.server);
    }
  });

  it("refuses a daemon of another version with an error that says to restart it, from every kind of request", async () => {
    const d = await daemonSpeaking("v0", "other");
    try {
      const client = new DaemonClient(d.socket);
      const expected = { code: API_VERSION_MISMATCH, message: expect.stringMatching(/speaks API v0, this client v1: restart the daemon/) as unknown };
      await expect(client.json("GET", "/containers")).rejects.toMatchObject(expected);
      await expect(client.stream("GET", "/events").next()).rejects.toMatchObject(expected);
      await expect(client.upgrade("/containers/x/exec", { cmd: ["true"] })).rejects.toMatchObject(expected);
      // ping is "is anyone there": a daemon of another version is there, and the answer says so.
      await expect(client.ping()).rejects.toBeInstanceOf(DaemonError);
    } finally {
      await close(d.server);
    }
  });

  it("refuses a daemon that sends no version (older than the header)", async () => {
    const d = await daemonSpeaking(undefined, "old");
    try {
      await expect(new DaemonClient(d.socket).json("GET", "/stacks")).rejects.toThrow(/speaks an older API that does not state its version, this client v1/);
    } finally {
      await close(d.server);
    }
  });
});
