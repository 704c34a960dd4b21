// The tcp and http readiness probes against real loopback servers.
import { createServer as createHttpServer } from "node:http";
import type { Server } from "node:http";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeEngine } from "../../../engine/testsuite/fake-engine.js";
import type { ContainerInfo } from "../../../engine/types.js";
import { probeHost, readinessProbe } from "./readiness.js";

const container = (ip: string): ContainerInfo =>
  ({ id: "c1", name: "web-1", networks: { default: { ipAddress: ip, aliases: [], macAddress: undefined } } }) as unknown as ContainerInfo;
// tcp and http probes never touch the engine: an empty one.
const noEngine = new FakeEngine();
const run = (p: ReturnType<typeof readinessProbe>) => p.run(AbortSignal.timeout(2000));

let tcp: ReturnType<typeof createServer>;
let http: Server;
let closedPort: number;
const port = (s: { address(): AddressInfo | string | null }): number => (s.address() as AddressInfo).port;

beforeAll(async () => {
  tcp = createServer((sock) => sock.end());
  http = createHttpServer((req, res) => {
    res.statusCode = req.url === "/ok" ? 204 : 503;
    res.end();
  });
  await Promise.all([new Promise<void>((r) => tcp.listen(0, "127.0.0.1", r)), new Promise<void>((r) => http.listen(0, "127.0.0.1", r))]);
  // A port that was just free: listen, note it, close.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  closedPort = port(probe);
  await new Promise((r) => probe.close(r));
});
afterAll(() => {
  tcp.close();
  http.close();
});

describe("readiness probes", () => {
  it("tcp: succeeds on an accepting port, fails on a closed one", async () => {
    expect((await run(readinessProbe(noEngine, container("127.0.0.1"), { kind: "tcp", port: port(tcp) }, undefined))).exitCode).toBe(0);
    const closed = await run(readinessProbe(noEngine, container("127.0.0.1"), { kind: "tcp", port: closedPort }, undefined));
    expect(closed.exitCode).toBe(1);
    expect(closed.output).toMatch(/ECONNREFUSED/);
  });

  it("http: 2xx is ready, anything else is not, with the status in the output", async () => {
    const ok = await run(readinessProbe(noEngine, container("127.0.0.1"), { kind: "http", port: port(http), path: "/ok" }, undefined));
    expect(ok).toMatchObject({ exitCode: 0, output: expect.stringMatching(/HTTP 204/) as unknown });
    const no = await run(readinessProbe(noEngine, container("127.0.0.1"), { kind: "http", port: port(http), path: "/" }, undefined));
    expect(no).toMatchObject({ exitCode: 1, output: expect.stringMatching(/HTTP 503/) as unknown });
  });

  it("reaches a host-network container on loopback and reports a container without an address", async () => {
    expect(probeHost(container("10.1.2.3"), "host")).toBe("127.0.0.1");
    expect(probeHost(container("10.1.2.3"), undefined)).toBe("10.1.2.3");
    const none = await run(readinessProbe(noEngine, container(""), { kind: "tcp", port: 80 }, "none"));
    expect(none).toMatchObject({ exitCode: 1, output: expect.stringMatching(/no network address/) as unknown });
  });
});
