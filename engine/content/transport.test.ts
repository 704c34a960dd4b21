// Transport behaviour that the registry client tests do not reach through
// resolve(): the https -> http fallback of insecure registries, and backoff.
import { afterAll, beforeAll, expect, test } from "vitest";
import { startFakeRegistry, type FakeRegistry } from "../../test/fixtures/fake-registry.js";
import { loopbackOnlyDispatcher } from "../../test/fixtures/loopback.js";
import { Authorizer } from "./auth.js";
import { noCredentials } from "./credentials.js";
import type { Endpoint } from "./hosts.js";
import { Transport } from "./transport.js";

const net = loopbackOnlyDispatcher();
let fake: FakeRegistry;

beforeAll(async () => {
  fake = await startFakeRegistry((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  });
});
afterAll(async () => {
  await fake.stop();
  await net.close();
});

const transport = (): Transport =>
  new Transport({
    authorizer: new Authorizer(noCredentials, () => Promise.reject(new Error("no tokens"))),
    dispatcher: net.dispatcher,
    insecureDispatcher: net.dispatcher,
  });

test("an insecure registry without TLS is reached over http once the https handshake fails", async () => {
  const t = transport();
  const endpoint: Endpoint = { url: `https://${fake.host}`, host: fake.host, credentialHost: fake.host, mirror: false, skipTlsVerify: true, httpFallback: true };
  const res = await t.request(endpoint, { method: "GET", path: "/v2/", scopes: [], what: "probe" });
  await res.body.dump();
  expect(res.status).toBe(200);
  expect(res.url.href).toBe(`http://${fake.host}/v2/`);
  // Remembered: the next request goes to http directly.
  expect(t.baseUrl(endpoint)).toBe(`http://${fake.host}`);
});

test("a secure registry never falls back to http", async () => {
  const endpoint: Endpoint = { url: `https://${fake.host}`, host: fake.host, credentialHost: fake.host, mirror: false, skipTlsVerify: false, httpFallback: false };
  await expect(transport().request(endpoint, { method: "GET", path: "/v2/", scopes: [], what: "probe" })).rejects.toThrow(
    new RegExp(`^probe: GET https://${fake.host}/v2/ failed: `),
  );
});

test("backoff doubles, is capped, and honours Retry-After", () => {
  const t = new Transport({ authorizer: new Authorizer(noCredentials, () => Promise.reject(new Error("x"))), dispatcher: net.dispatcher, insecureDispatcher: net.dispatcher, retry: { baseDelayMs: 100, maxDelayMs: 1000 } });
  for (let i = 0; i < 20; i++) {
    expect(t.backoff(0)).toBeGreaterThanOrEqual(50);
    expect(t.backoff(0)).toBeLessThanOrEqual(100);
    expect(t.backoff(2)).toBeGreaterThanOrEqual(200);
    expect(t.backoff(10)).toBeLessThanOrEqual(1000);
  }
  expect(t.backoff(0, "2")).toBe(1000);
  expect(t.backoff(0, "0.5")).toBe(500);
});
